/** Parses the command line: the options every command shares first, then the rules of the command it names. */
import { parseArgs } from 'node:util'
import { VstoreError } from '../errors.js'
import type { CommandModule } from './command.js'
import { isCommandName } from './commands/index.js'
import { GLOBAL_OPTIONS, OPTIONS, type OptionName } from './options.js'

export interface Command {
  readonly name: string
  readonly store: string
  readonly positionals: readonly string[]
  readonly refs: readonly string[]
  readonly revs: readonly string[]
  readonly files: readonly string[]
  readonly cache: string | undefined
  readonly all: boolean
  /** Import releases older than ones before them or stored (import-tar, import-npm). */
  readonly allowOlder: boolean
  readonly paths: string | undefined
  readonly prefix: string | undefined
  readonly codec: string | undefined
  /** `--max-text-size`, in bytes: the longest text a writing command stores (Store's maxTextByteLength). */
  readonly maxTextByteLength: number | undefined
  /** `--no-auto-pack`: the write leaves packing to `vstore pack` (Store's autoPack off). */
  readonly noAutoPack: boolean
  /** `--no-renames`: import-git gives moved files no origin (git's rename detection off). */
  readonly noRenames: boolean
  readonly batch: boolean
  readonly full: boolean
  readonly stat: boolean
  readonly json: boolean
  readonly quiet: boolean
  /**
   * Set for a request for help (`vstore help [COMMAND]`, `vstore [COMMAND] --help`, or no command at all):
   * the command whose help to print, or undefined for the overview. Nothing else is run.
   */
  readonly help: { readonly command: string | undefined } | undefined
  /** `--version` or `-v`, with no command: print the versions, run nothing. */
  readonly version: boolean
}

/** A command line read by readCommandLine, for checkCommandLine to hold to its command's rules. */
export interface CommandLine {
  readonly command: Command
  /** The options given, in the order of OPTIONS. */
  readonly given: readonly OptionName[]
  /** `--profile` as given. */
  readonly profile: string | undefined
}

function isGlobal(option: OptionName): option is (typeof GLOBAL_OPTIONS)[number] {
  return (GLOBAL_OPTIONS as readonly OptionName[]).includes(option)
}

/** Named coder settings (`--profile`): the default, and the slower, smaller archive profile (DESIGN.md). */
const PROFILES: Readonly<Record<string, string>> = { default: 'brotli:9:24', archive: 'brotli:11:24' }

/** A mistake on the command line. */
export function usageError(message: string): VstoreError {
  return new VstoreError('VSTORE_USAGE', `${message} (see vstore --help)`, 'command line')
}

/**
 * Reads the command line (without `node` and the script) against every option any command takes, and finds
 * the command it names, or the help or version it asks for; a command's own rules are checkCommandLine's.
 * @throws VSTORE_USAGE for an unknown command or option, or a malformed value.
 */
export function readCommandLine(argv: readonly string[]): CommandLine {
  let parsed
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: OPTIONS })
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error))
  }
  const { values, positionals } = parsed
  const [name, ...rest] = positionals
  const version = values.version === true && values.help !== true
  if (version && name !== undefined) throw usageError(`--version takes no command (got "${name}")`)
  // `vstore help X` and `vstore X --help` ask for X's help; `vstore`, `vstore help` and `vstore --help` for the overview.
  const helpRequested = !version && (values.help === true || name === undefined || name === 'help')
  // `vstore help --help` is help's own help, as `vstore X --help` is X's.
  const helpTopic = name === 'help' ? rest[0] ?? (values.help === true ? 'help' : undefined) : name
  if (name === 'help' && rest.length > 1) throw usageError(`help takes 0 to 1 arguments, got ${rest.length}`)
  if (helpTopic !== undefined && !isCommandName(helpTopic)) throw usageError(`unknown command "${helpTopic}"`)
  const command: Command = {
    name: name ?? 'help',
    store: values.store ?? '.vstore',
    positionals: rest,
    refs: values.ref ?? [],
    revs: values.rev ?? [],
    files: values.file ?? [],
    cache: values.cache,
    all: values.all === true,
    allowOlder: values['allow-older'] === true,
    paths: values.paths,
    prefix: values.prefix,
    codec: values.codec ?? (values.profile === undefined ? undefined : PROFILES[values.profile]),
    maxTextByteLength: values['max-text-size'] === undefined ? undefined : parseByteLength(values['max-text-size'], '--max-text-size'),
    noAutoPack: values['no-auto-pack'] === true,
    noRenames: values['no-renames'] === true,
    batch: values.batch === true,
    full: values.full === true,
    stat: values.stat === true,
    json: values.json === true,
    quiet: values.quiet === true,
    help: helpRequested ? { command: helpTopic } : undefined,
    version,
  }
  const given = (Object.keys(OPTIONS) as OptionName[]).filter(option => values[option] !== undefined)
  return { command, given, profile: values.profile }
}

/**
 * Holds a command line that runs a command (not a help or version request) to that command's rules: its
 * number of arguments, the options it lists, --profile, then the module's own `check`.
 * @throws VSTORE_USAGE
 */
export function checkCommandLine(line: CommandLine, module: CommandModule): Command {
  const { command, given, profile } = line
  const [min, max] = module.positionals
  const count = command.positionals.length
  if (count < min || count > max) {
    const wanted = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`
    throw usageError(`${command.name} takes ${wanted} argument${max === 1 ? '' : 's'}, got ${count}`)
  }
  for (const option of given) {
    if (!isGlobal(option) && !Object.hasOwn(module.options, option)) throw usageError(`${command.name} does not take --${option}`)
  }
  if (profile !== undefined && !Object.hasOwn(PROFILES, profile)) throw usageError(`--profile ${JSON.stringify(profile)} is not one of ${Object.keys(PROFILES).join(', ')}`)
  if (profile !== undefined && given.includes('codec')) throw usageError('--profile and --codec exclude each other')
  module.check?.(command)
  return command
}

const BYTE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3 }

/**
 * A size as people write it: `1048576`, `64MiB`, `1.5 GiB`, `100MB` (KiB, MiB, GiB are powers of 1,024;
 * kB, MB, GB of 1,000), in whole bytes.
 * @throws VSTORE_USAGE for anything else, a part of a byte included.
 */
export function parseByteLength(text: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = BYTE_UNITS[(match?.[2] ?? '').toLowerCase()]
  // A part of a byte (`1.5`, `0.3KiB`) is a mistake, not a size to round.
  const byteLength = match === null || unit === undefined ? Number.NaN : Number(match[1]) * unit
  if (!Number.isSafeInteger(byteLength)) throw usageError(`${option} ${JSON.stringify(text)} is not a size (bytes, or a number with KiB, MiB, GiB, kB, MB or GB)`)
  return byteLength
}
