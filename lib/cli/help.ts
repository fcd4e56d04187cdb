/** Renders the help: the overview of every command, and one command's usage, options and example, from the command modules. */
import type { CommandModule } from './command.js'
import { GLOBAL_OPTION_HELP, OPTIONS, type OptionName, type OptionSpec } from './options.js'

/** Where the overview's second column starts: a synopsis longer than this gets a line of its own. */
const SUMMARY_COLUMN = 40
/** Where an option's description starts. */
const OPTION_COLUMN = 17

const EXIT_STATUS = 'Exit status: 0 ok, 2 usage, 3 not found, 4 corrupt or unsupported data, 5 store locked, 6 other errors, 1 bug.'

/** `--ref REF`, `-q, --quiet`: an option as help shows it. */
function optionLabel(name: OptionName): string {
  const spec: OptionSpec = OPTIONS[name]
  return `${spec.short === undefined ? '' : `-${spec.short}, `}--${name}${spec.placeholder === undefined ? '' : ` ${spec.placeholder}`}`
}

function optionLine(name: OptionName, description: string): string {
  const label = `  ${optionLabel(name)}`
  return label.length < OPTION_COLUMN ? `${label.padEnd(OPTION_COLUMN)}${description}` : `${label}\n${' '.repeat(OPTION_COLUMN)}${description}`
}

/** help runs on no store, so it alone takes no --store. */
function takesStore(command: CommandModule): boolean {
  return command.name !== 'help'
}

/** `usage: vstore [--store DIR] NAME SYNOPSIS`. */
export function usageLine(command: CommandModule): string {
  const store = takesStore(command) ? '[--store DIR] ' : ''
  return `usage: vstore ${store}${command.name}${command.synopsis === '' ? '' : ` ${command.synopsis}`}`
}

/** The overview `vstore --help` and `vstore help` print: every command of `commands` in a line or two, and the global options. */
export function renderOverview(commands: readonly CommandModule[]): string {
  const lines = ['usage: vstore [--store DIR] COMMAND [ARGS]', '', 'Commands:']
  for (const command of commands) {
    const head = `  ${command.name}${command.synopsis === '' ? '' : ` ${command.synopsis}`}`
    const [first = '', ...more] = command.summary
    if (head.length < SUMMARY_COLUMN) lines.push(`${head.padEnd(SUMMARY_COLUMN)}${first}`)
    else lines.push(head, `${' '.repeat(SUMMARY_COLUMN)}${first}`)
    for (const line of more) lines.push(`${' '.repeat(SUMMARY_COLUMN)}${line}`)
  }
  lines.push('', 'Options:')
  for (const name of ['store', 'codec', 'profile', 'help', 'version'] as const) lines.push(optionLine(name, GLOBAL_OPTION_HELP[name]))
  lines.push('', 'vstore help COMMAND (or vstore COMMAND --help) shows one command\'s options and an example.', '', EXIT_STATUS)
  return `${lines.join('\n')}\n`
}

/** One command's help: its usage line, what it does, every option it takes, and an example. */
export function renderCommandHelp(command: CommandModule): string {
  const lines = [usageLine(command), '', ...command.summary, ...(command.details === undefined ? [] : ['', ...command.details])]
  const options = Object.entries(command.options) as [OptionName, string][]
  if (takesStore(command)) options.push(['store', GLOBAL_OPTION_HELP.store])
  if (options.length > 0) lines.push('', 'Options:', ...options.map(([option, description]) => optionLine(option, description)))
  lines.push('', 'Example:', `  ${command.example}`)
  return `${lines.join('\n')}\n`
}
