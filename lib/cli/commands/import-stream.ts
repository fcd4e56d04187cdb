/** `vstore import-stream`: stores the texts of a record stream read from stdin. */
import type { CommandModule } from '../command.js'
import { CREATES_STORE, WRITER_OPTIONS } from '../options.js'
import { textLimit } from '../store-access.js'
import { runImport } from '../write.js'

const importStream: CommandModule = {
  name: 'import-stream',
  synopsis: '[--quiet] [--json]',
  positionals: [0, 0],
  summary: ['insert a record stream from stdin'],
  details: [CREATES_STORE],
  options: WRITER_OPTIONS,
  example: 'vstore --store ../other export-stream | vstore import-stream',
  async run(command, { output, stdin }) {
    const { decodeRecordStream } = await import('../../import/record-stream.js')
    return runImport(command, output, () => decodeRecordStream(stdin, { where: 'stdin', maxTextByteLength: textLimit(command) }))
  },
}

export default importStream
