/** `vstore log`: the revisions of one file, newest first, with their parents. */
import { VstoreError } from '../../vstore.js'
import type { CommandModule } from '../command.js'
import { checkId } from '../keys.js'
import { renderJson } from '../render.js'
import { withStore } from '../store-access.js'

const log: CommandModule = {
  name: 'log',
  synopsis: 'FILE [--json]',
  positionals: [1, 1],
  summary: ['revisions of FILE, newest first, with their parents'],
  options: { json: 'the revisions as JSON: rev, parents' },
  example: 'vstore log src/main.c',
  async run(command, { output }) {
    return withStore(command, 'read', async store => {
      const file = checkId(command.positionals[0] as string, 'file id', command.positionals[0] as string)
      const revisions = (await store.revisions(file)).reverse()
      if (revisions.length === 0) throw new VstoreError('VSTORE_NOT_FOUND', 'no revisions of this file', file)
      const rows = []
      for (const rev of revisions) rows.push({ rev, parents: await store.parents(file, rev) })
      if (command.json) await output.write(renderJson(rows))
      else for (const { rev, parents } of rows) await output.write(`${rev}${parents.length > 0 ? ` ${parents.join(' ')}` : ''}\n`)
      return 0
    })
  },
}

export default log
