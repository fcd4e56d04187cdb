import { parseArgs } from 'node:util'
import { VstoreError } from '../errors.js'

export const USAGE = `usage: vstore [--store DIR] COMMAND [ARGS]

Commands:
  init                                  create an empty store
  import-git REPO [--ref REF ...|--all] [--paths REGEX] [--quiet] [--json]
                                        store every version of every file of a git history
  import-tar ARCHIVE|DIR ... [--rev REV ...] [--allow-older] [--quiet] [--json]
                                        releases in the order given (.tar, .tar.gz, .tgz, .tar.xz, .zip, a folder);
                                        revision = archive name without its extension, or --rev per archive;
                                        a release older than one before it, or than the store's newest version
                                        of a file it changes, is refused unless --allow-older
  import-npm NAME[@RANGE] ... [--cache DIR] [--allow-older] [--quiet] [--json]
                                        every stable version in semver order (revision NAME@VERSION), through npm;
                                        versions older than the store's newest are refused unless --allow-older
  import-fast-export [--quiet] [--json] a git fast-export stream on stdin (git, brz, hg exporters)
  fetch SRC-STORE [--file F ...] [--quiet] [--json]
                                        copy the texts this store lacks from another (of the files given)
  export-stream [--file F ...]          write the store's texts (or those of the files given) as a record stream
                                        (formats/record-stream.md) to stdout
  import-stream [--quiet] [--json]      insert a record stream from stdin
  pack [--quiet] [--json]               rewrite every text into new groups and packs, as one import of the whole
                                        history would (after many small imports); with --codec, recode them all
  extract FILE@REV                      write one version's bytes to stdout (REV: id or unique prefix of 7+;
                                        the last @ splits, unless an exact key splits at an earlier one)
  extract --batch                       read FILE@REV lines on stdin; write "FILE@REV SIZE\\n<bytes>\\n" or "FILE@REV missing\\n"
  diff FILE@A FILE@B [--stat]           unified diff between two versions (of one file or two), as patch applies it;
                                        --stat: lines inserted and deleted
  annotate FILE@REV [--json]            each line with the revision that introduced it (like git blame)
  log FILE                              revisions of FILE, newest first, with their parents
  stats [--json]                        sizes, counts and read costs
  verify [--full] [--json]              check every group's and index value's checksum (and which groups
                                        a damaged base breaks); --full also rebuilds every text
  dump-group [PACK@OFFSET] [--json]     list groups, or show one group's records and delta instructions
  dump-index [--prefix FILE] [--json]   show index entries (key → pack, offset, lengths)

Options:
  --store DIR    the store (default ./.vstore)
  --codec C      entropy coder for new groups: brotli[:quality[:lgwin]] (default brotli:9:24), lzma[:preset], zlib[:level], none
  --profile P    default (brotli:9:24) or archive (brotli:11:24: about 8 % smaller, imports several times slower)
  -h, --help     this text

Exit status: 0 ok, 2 usage, 3 not found, 4 corrupt or unsupported data, 5 store locked, 6 other errors, 1 bug.`

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
  readonly batch: boolean
  readonly full: boolean
  readonly stat: boolean
  readonly json: boolean
  readonly quiet: boolean
  readonly help: boolean
}

const COMMANDS: Record<string, { readonly positionals: readonly [min: number, max: number]; readonly options: readonly string[] }> = {
  init: { positionals: [0, 0], options: ['codec', 'profile'] },
  'import-git': { positionals: [1, 1], options: ['ref', 'all', 'paths', 'quiet', 'json', 'codec', 'profile'] },
  'import-tar': { positionals: [1, Infinity], options: ['rev', 'allow-older', 'quiet', 'json', 'codec', 'profile'] },
  'import-npm': { positionals: [1, Infinity], options: ['cache', 'allow-older', 'quiet', 'json', 'codec', 'profile'] },
  'import-fast-export': { positionals: [0, 0], options: ['quiet', 'json', 'codec', 'profile'] },
  'export-stream': { positionals: [0, 0], options: ['file'] },
  fetch: { positionals: [1, 1], options: ['file', 'quiet', 'json', 'codec', 'profile'] },
  'import-stream': { positionals: [0, 0], options: ['quiet', 'json', 'codec', 'profile'] },
  pack: { positionals: [0, 0], options: ['quiet', 'json', 'codec', 'profile'] },
  extract: { positionals: [0, 1], options: ['batch'] },
  diff: { positionals: [2, 2], options: ['stat'] },
  annotate: { positionals: [1, 1], options: ['json'] },
  log: { positionals: [1, 1], options: ['json'] },
  stats: { positionals: [0, 0], options: ['json'] },
  verify: { positionals: [0, 0], options: ['json', 'full'] },
  'dump-group': { positionals: [0, 1], options: ['json'] },
  'dump-index': { positionals: [0, 0], options: ['prefix', 'json'] },
  help: { positionals: [0, 1], options: [] },
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
      options: {
        store: { type: 'string' },
        ref: { type: 'string', multiple: true },
        rev: { type: 'string', multiple: true },
        file: { type: 'string', multiple: true },
        cache: { type: 'string' },
        all: { type: 'boolean' },
        'allow-older': { type: 'boolean' },
        paths: { type: 'string' },
        prefix: { type: 'string' },
        codec: { type: 'string' },
        profile: { type: 'string' },
        batch: { type: 'boolean' },
        full: { type: 'boolean' },
        stat: { type: 'boolean' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (error) {
    throw usage(error instanceof Error ? error.message : String(error))
  }
  const { values, positionals } = parsed
  const [name, ...rest] = positionals
  const help = values.help === true || name === undefined || name === 'help'
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
    batch: values.batch === true,
    full: values.full === true,
    stat: values.stat === true,
    json: values.json === true,
    quiet: values.quiet === true,
    help,
  }
  if (help) return command
  const spec = COMMANDS[command.name]
  if (spec === undefined) throw usage(`unknown command "${command.name}"`)
  const [min, max] = spec.positionals
  if (rest.length < min || rest.length > max) {
    const wanted = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`
    throw usage(`${command.name} takes ${wanted} argument${max === 1 ? '' : 's'}, got ${rest.length}`)
  }
  for (const option of ['ref', 'rev', 'file', 'cache', 'all', 'allow-older', 'paths', 'prefix', 'codec', 'profile', 'batch', 'full', 'stat', 'json', 'quiet'] as const) {
    if (values[option] !== undefined && !spec.options.includes(option)) throw usage(`${command.name} does not take --${option}`)
  }
  if (values.profile !== undefined && !Object.hasOwn(PROFILES, values.profile)) throw usage(`--profile ${JSON.stringify(values.profile)} is not one of ${Object.keys(PROFILES).join(', ')}`)
  if (values.profile !== undefined && values.codec !== undefined) throw usage('--profile and --codec exclude each other')
  if (command.name === 'extract' && command.batch === (rest.length === 1)) throw usage('extract takes FILE@REV or --batch')
  if (command.all && command.refs.length > 0) throw usage('--all and --ref exclude each other')
  if (command.revs.length > 0 && command.revs.length !== rest.length) throw usage(`--rev is given ${command.revs.length} times for ${rest.length} archives`)
  for (const ref of command.refs) if (ref === '' || /[\0\r\n]/.test(ref)) throw usage(`--ref ${JSON.stringify(ref)} is not a revision`)
  return command
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
