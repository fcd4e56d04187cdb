// The contract suites run against the local implementations: pack files on disk, and the LevelDB index.
import { mkdtemp, mkdir, rm, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openLevelDb } from '../../lib/index/leveldb.js'
import { indexPath, packPath, packsPath } from '../../lib/store/layout.js'
import { LevelDbStoreIndex } from '../../lib/store/leveldb-index.js'
import { LocalPackSet } from '../../lib/store/local-packs.js'
import { createIndex } from '../../lib/store/open-store.js'
import { packSetContract } from './pack-set-contract.js'
import { storeIndexContract } from './store-index-contract.js'

packSetContract('local packs', {
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'vstore-contract-packs-'))
    await mkdir(packsPath(dir))
    return {
      open: (states, options) => LocalPackSet.open(dir, states, options),
      deletePack: packId => rm(packPath(dir, packId)),
      truncatePack: (packId, byteLength) => truncate(packPath(dir, packId), byteLength),
      dispose: () => rm(dir, { recursive: true, force: true }),
    }
  },
})

storeIndexContract('LevelDB index', {
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'vstore-contract-index-'))
    await createIndex(dir)
    return {
      open: async () => LevelDbStoreIndex.open(await openLevelDb(indexPath(dir), `${dir}/index`, { create: false }), { dir, files: indexPath(dir) }),
      dispose: () => rm(dir, { recursive: true, force: true }),
    }
  },
})
