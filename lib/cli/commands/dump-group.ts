/** `vstore dump-group`: lists the store's groups, or shows one group's records and delta instructions. */
import { VstoreError } from '../../vstore.js'
import type { CommandModule } from '../command.js'
import { renderGroupDump, renderGroupList, renderJson } from '../render.js'
import { withStore } from '../store-access.js'

const dumpGroup: CommandModule = {
  name: 'dump-group',
  synopsis: '[PACK@OFFSET] [--json]',
  positionals: [0, 1],
  summary: ['list groups, or show one group\'s records and delta instructions'],
  options: { json: 'the list or the group as JSON' },
  example: 'vstore dump-group 1@8',
  async run(command, { output }) {
    return withStore(command, 'read', async store => {
      const spec = command.positionals[0]
      if (spec === undefined) {
        const groups = []
        for await (const group of store.groups()) groups.push(group)
        await output.write(command.json ? renderJson(groups) : renderGroupList(groups))
        return 0
      }
      const match = /^(?:packs\/)?(\d+)(?:\.vpk)?@(\d+)$/.exec(spec)
      if (!match) throw new VstoreError('VSTORE_USAGE', 'expected PACK@OFFSET, e.g. 1@8 or packs/000001.vpk@8', spec)
      const dump = await store.dumpGroup(Number(match[1]), Number(match[2]))
      await output.write(command.json ? renderJson(dump) : renderGroupDump(dump))
      return 0
    })
  },
}

export default dumpGroup
