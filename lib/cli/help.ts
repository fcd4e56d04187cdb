import { COMMANDS, GLOBAL_OPTION_HELP, OPTIONS, type CommandSpec, type OptionName, type OptionSpec } from './commands.js'

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

function usageLine(name: string, spec: CommandSpec): string {
  const store = name === 'help' ? '' : '[--store DIR] '
  return `usage: vstore ${store}${name}${spec.synopsis === '' ? '' : ` ${spec.synopsis}`}`
}

/** The overview `vstore --help` and `vstore help` print: every command in a line or two, and the global options. */
export function renderOverview(): string {
  const lines = ['usage: vstore [--store DIR] COMMAND [ARGS]', '', 'Commands:']
  for (const [name, spec] of Object.entries(COMMANDS)) {
    const head = `  ${name}${spec.synopsis === '' ? '' : ` ${spec.synopsis}`}`
    const [first = '', ...more] = spec.summary
    if (head.length < SUMMARY_COLUMN) lines.push(`${head.padEnd(SUMMARY_COLUMN)}${first}`)
    else lines.push(head, `${' '.repeat(SUMMARY_COLUMN)}${first}`)
    for (const line of more) lines.push(`${' '.repeat(SUMMARY_COLUMN)}${line}`)
  }
  lines.push('', 'Options:')
  for (const name of ['store', 'codec', 'profile', 'help', 'version'] as const) lines.push(optionLine(name, GLOBAL_OPTION_HELP[name]))
  lines.push('', 'vstore help COMMAND (or vstore COMMAND --help) shows one command\'s options and an example.', '', EXIT_STATUS)
  return `${lines.join('\n')}\n`
}

/**
 * One command's help: its usage line, what it does, every option it takes, and an example.
 * @throws RangeError for a name that is not a command (the parser refuses those first).
 */
export function renderCommandHelp(name: string): string {
  const spec = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (spec === undefined) throw new RangeError(`no command ${name}`)
  const lines = [usageLine(name, spec), '', ...spec.summary, ...(spec.details === undefined ? [] : ['', ...spec.details])]
  const options = Object.entries(spec.options) as [OptionName, string][]
  if (name !== 'help') options.push(['store', GLOBAL_OPTION_HELP.store])
  if (options.length > 0) lines.push('', 'Options:', ...options.map(([option, description]) => optionLine(option, description)))
  lines.push('', 'Example:', `  ${spec.example}`)
  return `${lines.join('\n')}\n`
}
