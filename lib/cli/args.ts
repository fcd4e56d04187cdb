/** The whole command line parsed in one synchronous call, against every command of the table loaded up front (for tests and tools; main loads only the command it runs). */
import type { CommandModule } from './command.js'
import { checkCommandLine, readCommandLine, type Command } from './command-line.js'
import { loadAllCommands } from './commands/index.js'

export { parseByteLength, type Command } from './command-line.js'
export { MIN_REVISION_PREFIX, parseKeySpec } from './keys.js'

/** Every command's module by name. Nothing under lib/ imports this file, so no command waits on its own loading. */
const MODULES: ReadonlyMap<string, CommandModule> = new Map((await loadAllCommands()).map(module => [module.name, module]))

/**
 * Parses the command line (without `node` and the script) as `vstore` does: readCommandLine, then, for a
 * command to run, checkCommandLine with its module.
 * @throws VSTORE_USAGE for an unknown command or option, or arguments the command does not take.
 */
export function parseCommandLine(argv: readonly string[]): Command {
  const line = readCommandLine(argv)
  const { command } = line
  if (command.help !== undefined || command.version) return command
  const module = MODULES.get(command.name)
  if (module === undefined) throw new Error(`vstore bug: command ${command.name} parsed but not in the table`)
  return checkCommandLine(line, module)
}
