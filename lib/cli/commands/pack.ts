/** `vstore pack`: rewrites every text of the store into new groups and packs, as one import of the whole history would. */
import type { CommandModule } from '../command.js'
import { GLOBAL_OPTION_HELP, JSON_SUMMARY, QUIET } from '../options.js'
import { formatBytes } from '../render.js'
import { withStore } from '../store-access.js'
import { progressOptions, startProgress, writeSummary } from '../write.js'

const pack: CommandModule = {
  name: 'pack',
  synopsis: '[--quiet] [--json]',
  positionals: [0, 0],
  summary: [
    'rewrite every text into new groups and packs, as one import of the whole',
    'history would (after many small imports); with --codec, recode them all',
  ],
  options: { quiet: QUIET, json: JSON_SUMMARY, codec: GLOBAL_OPTION_HELP.codec, profile: GLOBAL_OPTION_HELP.profile },
  example: 'vstore pack --profile archive',
  async run(command, { output }) {
    const started = performance.now()
    const progress = await startProgress(command, output)
    let summary
    try {
      summary = await withStore(command, 'write', async store => {
        const result = await store.pack(progressOptions(progress))
        return { ...result, storeByteLength: (await store.stats()).storeByteLength }
      })
    } finally {
      progress?.stop()
    }
    const packed = summary
    await writeSummary(command, output, packed, started, seconds => `packed ${packed.textCount} texts (${formatBytes(packed.rawByteLength)}): `
      + `${packed.oldGroupCount} → ${packed.groupCount} groups, packs ${formatBytes(packed.oldPackByteLength)} → ${formatBytes(packed.packByteLength)}, `
      + `store now ${formatBytes(packed.storeByteLength)}, ${seconds.toFixed(1)} s\n`)
    return 0
  },
}

export default pack
