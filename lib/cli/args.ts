import { parseArgs } from 'node:util'
import { VstoreError } from '../errors.js'
import { COMMANDS, GLOBAL_OPTIONS, OPTIONS, type OptionName } from './commands.js'

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
  readonly batch: boolean
  readonly full: boolean
  readonly stat: boolean
  readonly json: boolean
  readonly quiet: boolean
  /**
   * Set for a request for help (`vstore help [COMMAND]`, `vstore [COMMAND] --help`, or no command at all):
   * the command whose help to print, or undefined for the overview. Nothing is run.
   */
  readonly help: { readonly command: string | undefined } | undefined
  /** `--version` or `-v`, with no command: print the versions, run nothing. */
  readonly version: boolean
}

function isGlobal(option: OptionName): option is (typeof GLOBAL_OPTIONS)[number] {
  return (GLOBAL_OPTIONS as readonly OptionName[]).includes(option)
}

/** Named coder settings (`--profile`): the default, and the slower, smaller archive profile (DESIGN.md). */
const PROFILES: Readonly<Record<string, string>> = { default: 'brotli:9:24', archive: 'brotli:11:24' }

function usage(message: string): VstoreError {
  return new VstoreError('VSTORE_USAGE', `${message} (see vstore --help)`, 'command line')
}

/**
 * Parses the command line (without `node` and the script).
 * @throws VSTORE_USAGE for an unknown command or option, or a wrong number of arguments.
 */
export function parseCommandLine(argv: readonly string[]): Command {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: OPTIONS,
    })
  } catch (error) {
    throw usage(error instanceof Error ? error.message : String(error))
  }
  const { values, positionals } = parsed
  const [name, ...rest] = positionals
  const version = values.version === true && values.help !== true
  if (version && name !== undefined) throw usage(`--version takes no command (got "${name}")`)
  // `vstore help X` and `vstore X --help` ask for X's help; `vstore`, `vstore help` and `vstore --help` for the overview.
  const helpRequested = !version && (values.help === true || name === undefined || name === 'help')
  // `vstore help --help` is help's own help, as `vstore X --help` is X's.
  const helpTopic = name === 'help' ? rest[0] ?? (values.help === true ? 'help' : undefined) : name
  if (name === 'help' && rest.length > 1) throw usage(`help takes 0 to 1 arguments, got ${rest.length}`)
  const commandName = name ?? 'help'
  const spec = helpTopic === undefined || !Object.hasOwn(COMMANDS, helpTopic) ? undefined : COMMANDS[helpTopic]
  if (helpTopic !== undefined && spec === undefined) throw usage(`unknown command "${helpTopic}"`)
  const command: Command = {
    name: commandName,
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
    batch: values.batch === true,
    full: values.full === true,
    stat: values.stat === true,
    json: values.json === true,
    quiet: values.quiet === true,
    help: helpRequested ? { command: helpTopic } : undefined,
    version,
  }
  if (helpRequested || version || spec === undefined) return command
  const [min, max] = spec.positionals
  if (rest.length < min || rest.length > max) {
    const wanted = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`
    throw usage(`${command.name} takes ${wanted} argument${max === 1 ? '' : 's'}, got ${rest.length}`)
  }
  for (const option of Object.keys(OPTIONS) as OptionName[]) {
    if (isGlobal(option) || values[option] === undefined) continue
    if (!Object.hasOwn(spec.options, option)) throw usage(`${command.name} does not take --${option}`)
  }
  if (values.profile !== undefined && !Object.hasOwn(PROFILES, values.profile)) throw usage(`--profile ${JSON.stringify(values.profile)} is not one of ${Object.keys(PROFILES).join(', ')}`)
  if (values.profile !== undefined && values.codec !== undefined) throw usage('--profile and --codec exclude each other')
  if (command.name === 'extract' && command.batch === (rest.length === 1)) throw usage('extract takes FILE@REV or --batch')
  if (command.all && command.refs.length > 0) throw usage('--all and --ref exclude each other')
  if (command.revs.length > 0 && command.revs.length !== rest.length) throw usage(`--rev is given ${command.revs.length} times for ${rest.length} archives`)
  for (const ref of command.refs) if (ref === '' || /[\0\r\n]/.test(ref)) throw usage(`--ref ${JSON.stringify(ref)} is not a revision`)
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
  if (!Number.isSafeInteger(byteLength)) throw usage(`${option} ${JSON.stringify(text)} is not a size (bytes, or a number with KiB, MiB, GiB, kB, MB or GB)`)
  return byteLength
}

/**
 * Splits `FILE@REV` at its last `@` (file ids may contain `@`).
 * @throws VSTORE_USAGE when there is no `@`, or the file or revision is empty.
 */
export function parseKeySpec(spec: string): { file: string; rev: string } {
  const at = spec.lastIndexOf('@')
  if (at <= 0 || at === spec.length - 1) {
    throw new VstoreError('VSTORE_USAGE', 'expected FILE@REV (the last @ separates the revision)', JSON.stringify(spec))
  }
  return { file: spec.slice(0, at), rev: spec.slice(at + 1) }
}

/** Revision prefixes shorter than this are taken only as whole revision ids. */
export const MIN_REVISION_PREFIX = 7
