/** `vstore log`: the revisions of one file, newest first, with their parents and the origin a revision names. */
import { VstoreError } from '../../vstore.js'
import type { CommandModule } from '../command.js'
import { checkId } from '../keys.js'
import { renderJson } from '../render.js'
import { withStore } from '../store-access.js'

const log: CommandModule = {
  name: 'log',
  synopsis: 'FILE [--json]',
  positionals: [1, 1],
  summary: ['revisions of FILE, newest first, with their parents (and `from FILE@REV`', 'where a revision names the version of another file it was moved or copied from)'],
  options: { json: 'the revisions as JSON: rev, parents, and origin where there is one' },
  example: 'vstore log src/main.c',
  async run(command, { output }) {
    return withStore(command, 'read', async store => {
      const file = checkId(command.positionals[0] as string, 'file id', command.positionals[0] as string)
      const revisions = (await store.revisions(file)).reverse()
      if (revisions.length === 0) throw new VstoreError('VSTORE_NOT_FOUND', 'no revisions of this file', file)
      const rows = []
      for (const rev of revisions) {
        const { parents, origin } = await store.getEntry(file, rev)
        rows.push({ rev, parents, ...(origin === undefined ? {} : { origin: `${origin.file}@${origin.rev}` }) })
      }
      if (command.json) await output.write(renderJson(rows))
      else for (const { rev, parents, origin } of rows) await output.write(`${rev}${parents.length > 0 ? ` ${parents.join(' ')}` : ''}${origin === undefined ? '' : ` from ${origin}`}\n`)
      return 0
    })
  },
}

export default log
