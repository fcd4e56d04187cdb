/** `vstore upgrade`: converts a store of an older format to this build's, as its next write would. */
import type { CommandModule } from '../command.js'
import { renderJson } from '../render.js'
import { withStore } from '../store-access.js'

const upgrade: CommandModule = {
  name: 'upgrade',
  synopsis: '[--json]',
  positionals: [0, 0],
  summary: ['convert a store written by an older build to this build\'s store format'],
  details: [
    'Readers read older formats as they are, and the first write to such a store converts it anyway; this',
    'command does only the conversion: one atomic, synced rewrite of the index (the packs stay as they are).',
    'Killed at any point, it leaves the store as it was or converted. A store of this format is left alone.',
  ],
  options: { json: 'the formats before and after as JSON: { "from": 2, "to": 3 }' },
  example: 'vstore upgrade --store old-store',
  async run(command, { output }) {
    const { from, to } = await withStore(command, 'write', store => store.upgrade())
    if (command.json) await output.write(renderJson({ from, to }))
    else await output.write(from === to ? `store format ${to}: nothing to upgrade\n` : `upgraded the store from format ${from} to ${to}\n`)
    return 0
  },
}

export default upgrade
