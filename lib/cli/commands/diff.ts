/** `vstore diff`: a unified diff (or its --stat) between two stored versions, as patch -p1 applies it. */
import { diffStat, unifiedDiff } from '../../vstore.js'
import type { CommandModule } from '../command.js'
import { resolveKey } from '../keys.js'
import { renderDiffStat } from '../render.js'
import { withStore } from '../store-access.js'

const diff: CommandModule = {
  name: 'diff',
  synopsis: 'FILE@A FILE@B [--stat]',
  positionals: [2, 2],
  summary: [
    'unified diff between two versions (of one file or two), as patch applies it;',
    '--stat: lines inserted and deleted',
  ],
  options: { stat: 'lines inserted and deleted, as git diff --stat counts them' },
  example: 'vstore diff src/main.c@1a2b3c4 src/main.c@5d6e7f8 | patch -p1',
  async run(command, { output }) {
    return withStore(command, 'read', async store => {
      const [a, b] = [await resolveKey(store, command.positionals[0] as string), await resolveKey(store, command.positionals[1] as string)]
      const [textA, textB] = [await store.get(a.file, a.rev), await store.get(b.file, b.rev)]
      if (command.stat) {
        await output.write(renderDiffStat(a.file === b.file ? a.file : `${a.file} => ${b.file}`, diffStat(textA, textB)))
        return 0
      }
      const patch = unifiedDiff(textA, textB, { oldLabel: `a/${a.file}`, newLabel: `b/${b.file}`, oldNote: a.rev, newNote: b.rev })
      if (patch !== undefined) await output.write(patch)
      return 0
    })
  },
}

export default diff
