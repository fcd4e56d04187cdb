/** `vstore dump-index`: the index entries (key → pack, offset, bytes to read), of all files or those with a prefix. */
import type { IndexDumpRow } from '../../vstore.js'
import type { CommandModule } from '../command.js'
import { renderJson } from '../render.js'
import { withStore } from '../store-access.js'

/**
 * One entry as a line: `FILE@REV → PACK@OFFSET read N record A..B [base depth D read N] text N sha256/B H [parents ...] [origin FILE@REV]`,
 * where H is the first B bytes of the text's SHA-256 the entry keeps (20, or 4 for a short text).
 */
function indexLine(row: IndexDumpRow): string {
  const base = row.baseDepth > 0 ? ` base depth ${row.baseDepth} read ${row.baseReadByteLength}` : ''
  return `${row.file}@${row.rev} → ${row.pack}@${row.groupOffset} read ${row.readByteLength} record ${row.recordStart}..${row.recordEnd}${base} `
    + `text ${row.textByteLength} sha256/${row.hash.length / 2} ${row.hash}${row.parents.length > 0 ? ` parents ${row.parents.join(' ')}` : ''}${row.origin === undefined ? '' : ` origin ${row.origin}`}\n`
}

const dumpIndex: CommandModule = {
  name: 'dump-index',
  synopsis: '[--prefix FILE] [--json]',
  positionals: [0, 0],
  summary: ['show index entries (key → pack, offset, lengths)'],
  options: { prefix: 'only the files whose id starts with this', json: 'the entries as JSON' },
  example: 'vstore dump-index --prefix src/',
  async run(command, { output }) {
    return withStore(command, 'read', async store => {
      const rows = []
      for await (const row of store.dumpIndex(command.prefix)) rows.push(row)
      if (command.json) await output.write(renderJson(rows))
      else for (const row of rows) await output.write(indexLine(row))
      return 0
    })
  },
}

export default dumpIndex
