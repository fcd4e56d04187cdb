/** `vstore verify`: checks every checksum of the store (and, with --full, rebuilds every text), naming the keys each problem affects. */
import { Store, VstoreError } from '../../vstore.js'
import type { CommandModule } from '../command.js'
import { renderJson, renderVerify } from '../render.js'
import { openStore } from '../store-access.js'

const verify: CommandModule = {
  name: 'verify',
  synopsis: '[--full] [--json]',
  positionals: [0, 0],
  summary: [
    'check every group\'s and index value\'s checksum (and which groups',
    'a damaged base breaks); --full also rebuilds every text',
  ],
  details: ['Exit status 4 when it finds a problem; the report names the keys each one affects.'],
  options: { full: 'also rebuild every text and check it against its hash', json: 'the report as JSON' },
  example: 'vstore verify --full',
  async run(command, { output }) {
    let store: Store
    try {
      store = await openStore(command, 'read')
    } catch (error) {
      // An index LevelDB will not open: say which keys its files still name (all unreadable now).
      if (!(error instanceof VstoreError && (error.code === 'VSTORE_CORRUPT' || error.code === 'VSTORE_IO') && error.where.endsWith('/index'))) throw error
      const report = await Store.verifyUnopenable(command.store, error)
      await output.write(command.json ? renderJson(report) : renderVerify(report))
      return 4
    }
    try {
      const report = await store.verify({ full: command.full })
      await output.write(command.json ? renderJson(report) : renderVerify(report))
      return report.problems.length === 0 ? 0 : 4
    } finally {
      await store.close()
    }
  },
}

export default verify
