/** Every option the command line knows, and the descriptions of options several commands share. */

/** An option as node's `parseArgs` takes it, with the name its value has in help. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly multiple?: boolean
  readonly short?: string
  /** What a string option's value stands for in help: `--ref REF`. */
  readonly placeholder?: string
}

/**
 * Every option of every command: the parser reads any of them, then refuses one the command does not list
 * (command-line.ts), so a command's help (help.ts) names exactly the options it takes.
 */
export const OPTIONS = {
  store: { type: 'string', placeholder: 'DIR' },
  ref: { type: 'string', multiple: true, placeholder: 'REF' },
  rev: { type: 'string', multiple: true, placeholder: 'REV' },
  file: { type: 'string', multiple: true, placeholder: 'F' },
  cache: { type: 'string', placeholder: 'DIR' },
  all: { type: 'boolean' },
  'allow-older': { type: 'boolean' },
  paths: { type: 'string', placeholder: 'REGEX' },
  prefix: { type: 'string', placeholder: 'FILE' },
  codec: { type: 'string', placeholder: 'C' },
  'max-text-size': { type: 'string', placeholder: 'SIZE' },
  'no-auto-pack': { type: 'boolean' },
  'no-renames': { type: 'boolean' },
  profile: { type: 'string', placeholder: 'P' },
  batch: { type: 'boolean' },
  full: { type: 'boolean' },
  stat: { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies Record<string, OptionSpec>

export type OptionName = keyof typeof OPTIONS

/** Options that go with any command (or none), so no command lists them. */
export const GLOBAL_OPTIONS = ['store', 'help', 'version'] as const satisfies readonly OptionName[]

/** An option a command may list. */
export type CommandOptionName = Exclude<OptionName, (typeof GLOBAL_OPTIONS)[number]>

/** What each global option does (and --codec and --profile, which the overview shows once for all commands). */
export const GLOBAL_OPTION_HELP: Readonly<Record<(typeof GLOBAL_OPTIONS)[number] | 'codec' | 'profile', string>> = {
  store: 'the store (default ./.vstore)',
  codec: 'entropy coder for new groups: brotli[:quality[:lgwin]] (default brotli:9:24), lzma[:preset], zlib[:level], none',
  profile: 'default (brotli:9:24) or archive (brotli:11:24: about 8 % smaller, imports several times slower)',
  help: 'this text; with a command, that command\'s help',
  version: 'the version of vstore and of the store format it writes',
}

export const QUIET = 'no progress line and no summary'
export const JSON_SUMMARY = 'the summary as JSON on stdout, and progress as JSON lines on stderr'
/** The options of every command that writes texts into its store (created if missing). */
export const WRITER_OPTIONS = {
  quiet: QUIET,
  json: JSON_SUMMARY,
  codec: GLOBAL_OPTION_HELP.codec,
  profile: GLOBAL_OPTION_HELP.profile,
  'max-text-size': 'the longest text to store (default 64MiB, at most 1GiB − 64KiB); a longer one stops the command, storing nothing of it (exit 4)',
  'no-auto-pack': 'no automatic packing after this write: the texts go into the newest pack, and the store stays as they leave it (a bulk load that runs `vstore pack` at the end)',
} as const
export const ALLOW_OLDER = 'import a release older than one before it or than what is stored (it becomes a child of the newer one)'
export const ONLY_FILE = 'only this file\'s texts (repeatable)'
/** What every command that writes texts says of its store. */
export const CREATES_STORE = 'The store is created on first use, in a new or empty folder only.'
