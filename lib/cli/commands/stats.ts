/** `vstore stats`: the store's sizes, counts and read costs. */
import type { CommandModule } from '../command.js'
import { renderJson, renderStats } from '../render.js'
import { withStore } from '../store-access.js'

const stats: CommandModule = {
  name: 'stats',
  synopsis: '[--json]',
  positionals: [0, 0],
  summary: ['sizes, counts and read costs'],
  options: { json: 'the figures as JSON' },
  example: 'vstore stats --json',
  async run(command, { output }) {
    return withStore(command, 'read', async store => {
      const figures = await store.stats()
      await output.write(command.json ? renderJson(figures) : renderStats(figures))
      return 0
    })
  },
}

export default stats
