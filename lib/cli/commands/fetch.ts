/** `vstore fetch`: copies into the store the texts another store has and it lacks. */
import { Store } from '../../vstore.js'
import type { CommandModule } from '../command.js'
import { givenFiles } from '../keys.js'
import { CREATES_STORE, ONLY_FILE, WRITER_OPTIONS } from '../options.js'
import { checkStorePath } from '../store-access.js'
import { runWrite } from '../write.js'

const fetch: CommandModule = {
  name: 'fetch',
  synopsis: 'SRC-STORE [--file F ...] [--quiet] [--json]',
  positionals: [1, 1],
  summary: ['copy the texts this store lacks from another (of the files given)'],
  details: ['Well-filled groups of the source are copied whole; the source is only read, from a snapshot.', CREATES_STORE],
  options: { file: ONLY_FILE, ...WRITER_OPTIONS },
  example: 'vstore fetch ../other-store --file src/main.c',
  async run(command, { output }) {
    // The source is only read, from a copy of its index: a writer busy on it never blocks the fetch.
    const sourcePath = command.positionals[0] as string
    await checkStorePath(sourcePath, 'SRC-STORE', false)
    const source = await Store.open(sourcePath, { readOnly: true })
    try {
      const files = await givenFiles(command.files, source, 'no such file in the source store')
      return await runWrite(command, output, (target, options) => target.fetch(source, { ...options, ...(files === undefined ? {} : { files }) }))
    } finally {
      await source.close()
    }
  },
}

export default fetch
