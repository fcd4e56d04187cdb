import test from 'ava'
import { parseCommandLine } from '../../../lib/cli/args.js'
import type { CommandModule } from '../../../lib/cli/command.js'
import { COMMAND_NAMES, loadAllCommands } from '../../../lib/cli/commands/index.js'
import { renderCommandHelp, renderOverview } from '../../../lib/cli/help.js'
import { GLOBAL_OPTIONS, OPTIONS, type OptionName } from '../../../lib/cli/options.js'
import { VstoreError } from '../../../lib/errors.js'

/** Every command's module, in the table's order. */
const MODULES: readonly CommandModule[] = await loadAllCommands()
const COMMANDS: ReadonlyMap<string, CommandModule> = new Map(MODULES.map(module => [module.name, module]))

function moduleOf(name: string): CommandModule {
  const module = COMMANDS.get(name)
  if (module === undefined) throw new Error(`no command ${name}`)
  return module
}

/** A value each string option accepts with every command that takes it. */
const VALUES: Readonly<Partial<Record<OptionName, string>>> = {
  ref: 'main', rev: 'v1', file: 'src/main.c', cache: 'cache', paths: '^src/', prefix: 'src/', codec: 'zlib', profile: 'archive', 'max-text-size': '64MiB',
}

/** `NAME ARGS... [--OPTION [VALUE]]`, with arguments that parse on their own, so that only the option decides. */
function commandLine(name: string, option?: OptionName): string[] {
  const [min] = moduleOf(name).positionals
  // extract takes FILE@REV or --batch, not both.
  const positionals = name === 'extract' ? (option === 'batch' ? [] : ['src/main.c@1a2b3c4']) : Array.from({ length: min }, () => 'src/main.c@1a2b3c4')
  if (option === undefined) return [name, ...positionals]
  const value = VALUES[option]
  return [name, ...positionals, `--${option}`, ...(value === undefined ? [] : [value])]
}

/** Whether the Options section of `help` lists `--option`. */
function listsOption(help: string, option: OptionName): boolean {
  const section = /\nOptions:\n((?:.+\n)+)/.exec(help)?.[1] ?? ''
  return new RegExp(`^ {2}(?:-\\w, )?--${option}\\b`, 'm').test(section)
}

function parses(argv: readonly string[]): boolean {
  try {
    parseCommandLine(argv)
    return true
  } catch (error) {
    if (error instanceof VstoreError && error.code === 'VSTORE_USAGE') return false
    throw error
  }
}

test('the parser takes exactly the options each command\'s help names', t => {
  const globals: readonly OptionName[] = GLOBAL_OPTIONS
  for (const name of COMMAND_NAMES) {
    // help runs no command: it takes no options of its own.
    if (name === 'help') continue
    t.true(parses(commandLine(name)), commandLine(name).join(' '))
    const help = renderCommandHelp(moduleOf(name))
    for (const option of Object.keys(OPTIONS) as OptionName[]) {
      if (globals.includes(option)) continue
      t.is(parses(commandLine(name, option)), listsOption(help, option), `vstore ${commandLine(name, option).join(' ')} against vstore help ${name}`)
    }
    t.true(listsOption(help, 'store'), name)
  }
})

test('a help request names a command of the table, or none for the overview', t => {
  for (const name of COMMAND_NAMES) {
    t.deepEqual(parseCommandLine(['help', name]).help, { command: name })
    t.deepEqual(parseCommandLine([name, '--help']).help, { command: name })
    t.true(renderOverview(MODULES).includes(`\n  ${name}`), name)
  }
  t.deepEqual(parseCommandLine([]).help, { command: undefined })
  t.deepEqual(parseCommandLine(['--help']).help, { command: undefined })
  t.throws(() => parseCommandLine(['help', 'nosuch']), { instanceOf: VstoreError, code: 'VSTORE_USAGE' } as const)
  t.throws(() => parseCommandLine(['nosuch', '-h']), { instanceOf: VstoreError, code: 'VSTORE_USAGE' } as const)
})
