/** `vstore repair`: rebuilds a damaged index, rewrites every text that still reads back, and lists what was dropped. */
import { Store } from '../../vstore.js'
import type { CommandModule } from '../command.js'
import { renderRepair } from '../render.js'
import { checkStorePath, withStore } from '../store-access.js'
import { progressOptions, startProgress, writeSummary } from '../write.js'

const repair: CommandModule = {
  name: 'repair',
  synopsis: '[--quiet] [--json]',
  positionals: [0, 0],
  summary: [
    'after verify finds damage: rebuild a damaged index, keep every text that still',
    'reads back, drop the rest, and say exactly which keys were dropped',
  ],
  details: [
    'A damaged index is rebuilt first from every entry that can still be read (the keys whose entries are',
    'damaged too are dropped and listed). Then every text that rebuilds and matches its hash is rewritten',
    'into new packs (as pack does), if a pack is damaged; the keys',
    'that cannot be read are dropped, and a kept text whose parent was dropped takes that parent\'s nearest',
    'kept ancestors as its parents. Prints each dropped key and each changed parent list. Killed at any',
    'point, it leaves the store as it was or as repaired. A store that verify finds whole is left alone.',
  ],
  options: { quiet: 'no progress line and no report', json: 'the report as JSON: lostKeys, reparented, sizes' },
  example: 'vstore verify || vstore repair',
  async run(command, { output }) {
    const started = performance.now()
    // The index first (a writer refuses a damaged one), then the packs, through the rebuilt index.
    await checkStorePath(command.store, '--store', false)
    const index = await Store.repairIndex(command.store)
    const progress = await startProgress(command, output)
    let packs
    try {
      packs = await withStore(command, 'write', store => store.repair(progressOptions(progress)))
    } finally {
      progress?.stop()
    }
    const repaired = packs
    await writeSummary(command, output, { ...repaired, index }, started, seconds => renderRepair(index, repaired, seconds))
    return 0
  },
}

export default repair
