/** `vstore export-stream`: writes the store's texts (or some files' texts) to stdout as a record stream. */
import type { CommandModule } from '../command.js'
import { givenFiles } from '../keys.js'
import { ONLY_FILE } from '../options.js'
import { withStore } from '../store-access.js'

const exportStream: CommandModule = {
  name: 'export-stream',
  synopsis: '[--file F ...]',
  positionals: [0, 0],
  summary: [
    'write the store\'s texts (or those of the files given) as a record stream',
    '(formats/record-stream.md) to stdout; origins (moves) are left out, with a warning',
  ],
  options: { file: ONLY_FILE },
  example: 'vstore export-stream | vstore --store ../copy import-stream',
  async run(command, { output }) {
    const { encodeRecordStream, exportRecords } = await import('../../import/record-stream.js')
    return withStore(command, 'read', async store => {
      // Checked before the first byte goes out: a stream cut by an error would only fail at the reader.
      const files = await givenFiles(command.files, store, 'no such file')
      let leftOut = 0
      for await (const bytes of encodeRecordStream(exportRecords(store, files, () => leftOut++))) await output.write(bytes)
      if (leftOut > 0) output.error(`vstore: warning (export-stream): ${leftOut} origin${leftOut === 1 ? '' : 's'} left out (a record stream has no place for them; fetch keeps them)`)
      return 0
    })
  },
}

export default exportStream
