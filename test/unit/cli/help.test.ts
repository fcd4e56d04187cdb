import test from 'ava'
import { PassThrough } from 'node:stream'
import { parseCommandLine } from '../../../lib/cli/args.js'
import type { CommandModule } from '../../../lib/cli/command.js'
import { COMMAND_NAMES, loadAllCommands, loadCommand } from '../../../lib/cli/commands/index.js'
import { renderCommandHelp, renderOverview, usageLine } from '../../../lib/cli/help.js'
import { run, type Output } from '../../../lib/cli/main.js'
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

/** Runs `vstore ...argv` in this process; its exit status and what it wrote on stdout and stderr. */
async function runCli(argv: readonly string[]): Promise<{ status: number; stdout: string; stderr: string[] }> {
  const chunks: Buffer[] = []
  const stderr: string[] = []
  const quiet = { update() {}, stop() {} }
  const output: Output = {
    async write(bytes) { chunks.push(Buffer.from(bytes)) },
    error(line) { stderr.push(line) },
    terminalProgress: async () => quiet,
    jsonProgress: async () => quiet,
  }
  const status = await run(argv, output, new PassThrough())
  return { status, stdout: Buffer.concat(chunks).toString('utf8'), stderr }
}

/** The overview's lines for `name`: the line that starts with it and the summary lines under it. */
function overviewEntry(overview: string, name: string): string {
  const lines = overview.split('\n')
  const start = lines.findIndex(line => line === `  ${name}` || line.startsWith(`  ${name} `))
  if (start === -1) return ''
  let end = start + 1
  while (end < lines.length && /^ {40}\S/.test(lines[end] as string)) end++
  return lines.slice(start, end).join('\n')
}

test('every command of the table has a usage line and an example, and help X prints what X --help prints', async t => {
  t.deepEqual(MODULES.map(module => module.name), [...COMMAND_NAMES], 'each module is the one its name in the table loads')
  const overview = await runCli(['help'])
  for (const module of MODULES) {
    const { name } = module
    t.is(await loadCommand(name), module, name)
    t.true(module.summary.length > 0 && module.summary.every(line => line.trim() !== ''), `${name} has a summary`)
    t.regex(module.example, new RegExp(`\\bvstore (--store \\S+ )?${name}\\b`), `${name}'s example runs ${name}`)
    const help = await runCli(['help', name])
    t.is(help.status, 0, name)
    t.deepEqual(help.stderr, [], name)
    t.true(help.stdout.startsWith(`${usageLine(module)}\n\n${module.summary.join('\n')}\n`), help.stdout)
    t.true(help.stdout.endsWith(`\nExample:\n  ${module.example}\n`), help.stdout)
    for (const argv of [[name, '--help'], [name, '-h'], ['--help', name]]) t.deepEqual(await runCli(argv), help, argv.join(' '))
    // The overview names the command, its summary beside or under it.
    const entry = overviewEntry(overview.stdout, name)
    for (const line of module.summary) t.true(entry.includes(line), `the overview's ${name}: ${entry}`)
  }
})
