/** `vstore init`: creates an empty store, or says that the store is there already. */
import type { CommandModule } from '../command.js'
import { GLOBAL_OPTION_HELP } from '../options.js'
import { checkStorePath, withStore } from '../store-access.js'

const init: CommandModule = {
  name: 'init',
  synopsis: '',
  positionals: [0, 0],
  summary: ['create an empty store'],
  details: ['Refuses a folder that holds other files; in a store already, says so and changes nothing.'],
  options: { codec: GLOBAL_OPTION_HELP.codec, profile: GLOBAL_OPTION_HELP.profile },
  example: 'vstore --store ~/stores/jq init',
  async run(command, { output }) {
    const existed = await checkStorePath(command.store, '--store', true)
    // A store that is there already is still opened: one in use exits 5, one of another format 4.
    await withStore(command, 'create', async () => undefined)
    await output.write(existed ? `vstore already initialized in ${command.store}\n` : `initialized vstore in ${command.store}\n`)
    return 0
  },
}

export default init
