/** `vstore help`: the overview of every command, or one command's usage, options and an example. */
import type { CommandModule } from '../command.js'
import { renderCommandHelp, renderOverview } from '../help.js'
import { loadAllCommands, loadCommand } from './index.js'

const help: CommandModule = {
  name: 'help',
  synopsis: '[COMMAND]',
  positionals: [0, 1],
  summary: ['this overview, or one command\'s usage, options and an example'],
  options: {},
  example: 'vstore help extract',
  async run(command, { output }) {
    // `vstore help X`, `vstore X --help`: the parser has checked that X is a command of the table.
    const topic = command.help?.command
    await output.write(topic === undefined ? renderOverview(await loadAllCommands()) : renderCommandHelp(await loadCommand(topic)))
    return 0
  },
}

export default help
