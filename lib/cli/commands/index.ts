/** The table of commands: each name, in the order the overview lists them, and the module that declares and runs it. */
import type { CommandModule } from '../command.js'

/**
 * Each command's module, loaded only when it runs or its help is shown: `vstore extract` loads extract's
 * module and what it imports, none of the importers or the other commands.
 */
const MODULES: Readonly<Record<string, () => Promise<{ default: CommandModule }>>> = {
  init: () => import('./init.js'),
  'import-git': () => import('./import-git.js'),
  'import-tar': () => import('./import-tar.js'),
  'import-npm': () => import('./import-npm.js'),
  'import-fast-export': () => import('./import-fast-export.js'),
  fetch: () => import('./fetch.js'),
  'export-stream': () => import('./export-stream.js'),
  'import-stream': () => import('./import-stream.js'),
  pack: () => import('./pack.js'),
  extract: () => import('./extract.js'),
  diff: () => import('./diff.js'),
  annotate: () => import('./annotate.js'),
  log: () => import('./log.js'),
  stats: () => import('./stats.js'),
  verify: () => import('./verify.js'),
  repair: () => import('./repair.js'),
  upgrade: () => import('./upgrade.js'),
  'dump-group': () => import('./dump-group.js'),
  'dump-index': () => import('./dump-index.js'),
  help: () => import('./help.js'),
}

/** Every command's name, in the order the overview lists them. */
export const COMMAND_NAMES: readonly string[] = Object.keys(MODULES)

export function isCommandName(name: string): boolean {
  return Object.hasOwn(MODULES, name)
}

/** The module of the command `name`. @throws Error for a name not in the table (the parser refuses those first). */
export async function loadCommand(name: string): Promise<CommandModule> {
  const load = Object.hasOwn(MODULES, name) ? MODULES[name] : undefined
  if (load === undefined) throw new Error(`vstore bug: no command ${name} in the table`)
  const { default: module } = await load()
  if (module.name !== name) throw new Error(`vstore bug: the table's ${name} loads the module of ${module.name}`)
  return module
}

/** Every command's module, in the table's order (for the overview, and to check the table whole). */
export async function loadAllCommands(): Promise<CommandModule[]> {
  return Promise.all(COMMAND_NAMES.map(loadCommand))
}
