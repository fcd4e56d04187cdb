/**
 * The command line's one table: every option the parser knows, and every command with its arguments, the
 * options it takes (each with what it does there), what it does, and an example. The parser (args.ts) and
 * the help (help.ts) both read it, so a command's help cannot leave out an option the command takes.
 */

/** An option as node's `parseArgs` takes it, with the name its value has in help. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly multiple?: boolean
  readonly short?: string
  /** What a string option's value stands for in help: `--ref REF`. */
  readonly placeholder?: string
}

/** Every option of every command. */
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

export interface CommandSpec {
  /** What follows the command's name on its usage line: its arguments and main options. */
  readonly synopsis: string
  /** Fewest and most arguments after the command's name. */
  readonly positionals: readonly [min: number, max: number]
  /** What it does, in lines of the overview's second column. */
  readonly summary: readonly string[]
  /** More for the command's own help: output formats, exit statuses. */
  readonly details?: readonly string[]
  /** Each option the command takes, with what it does there; the parser refuses any other. */
  readonly options: Readonly<Partial<Record<CommandOptionName, string>>>
  /** One command line as a user would type it. */
  readonly example: string
}

const QUIET = 'no progress line and no summary'
const JSON_SUMMARY = 'the summary as JSON on stdout, and progress as JSON lines on stderr'
/** The options of every command that writes texts into its store (created if missing). */
const WRITER_OPTIONS = {
  quiet: QUIET,
  json: JSON_SUMMARY,
  codec: GLOBAL_OPTION_HELP.codec,
  profile: GLOBAL_OPTION_HELP.profile,
  'max-text-size': 'the longest text to store (default 64MiB, at most 1GiB − 64KiB); a longer one stops the command, storing nothing of it (exit 4)',
} as const
const ALLOW_OLDER = 'import a release older than one before it or than what is stored (it becomes a child of the newer one)'
const ONLY_FILE = 'only this file\'s texts (repeatable)'
/** What every command that writes texts says of its store. */
const CREATES_STORE = 'The store is created on first use, in a new or empty folder only.'

/** Every command, in the order the overview lists them. */
export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  init: {
    synopsis: '',
    positionals: [0, 0],
    summary: ['create an empty store'],
    details: ['Refuses a folder that holds other files; in a store already, says so and changes nothing.'],
    options: { codec: GLOBAL_OPTION_HELP.codec, profile: GLOBAL_OPTION_HELP.profile },
    example: 'vstore --store ~/stores/jq init',
  },
  'import-git': {
    synopsis: 'REPO [--ref REF ...|--all] [--paths REGEX] [--quiet] [--json]',
    positionals: [1, 1],
    summary: ['store every version of every file of a git history'],
    details: ['Each new version is keyed (path, full commit id) by the commit that made it.', CREATES_STORE],
    options: {
      ref: 'a branch, tag or commit whose whole history to import (repeatable; default HEAD)',
      all: 'every branch and tag',
      paths: 'only the paths this regular expression matches',
      ...WRITER_OPTIONS,
    },
    example: 'vstore import-git ../jq --ref master',
  },
  'import-tar': {
    synopsis: 'ARCHIVE|DIR ... [--rev REV ...] [--allow-older] [--quiet] [--json]',
    positionals: [1, Infinity],
    summary: [
      'releases in the order given (.tar, .tar.gz, .tgz, .tar.xz, .zip, a folder);',
      'revision = archive name without its extension, or --rev per archive',
    ],
    details: [
      'A file is keyed by its path inside the release, its single top folder stripped. A release older than',
      'one before it, or than the store\'s newest version of a file it changes, is refused (exit 2).',
      CREATES_STORE,
    ],
    options: { rev: 'the revision of each archive, in order (once per archive)', 'allow-older': ALLOW_OLDER, ...WRITER_OPTIONS },
    example: 'vstore import-tar zstd-1.5.5.tar.gz zstd-1.5.6.tar.gz',
  },
  'import-npm': {
    synopsis: 'NAME[@RANGE] ... [--cache DIR] [--allow-older] [--quiet] [--json]',
    positionals: [1, Infinity],
    summary: ['every stable version in semver order (revision NAME@VERSION), through npm'],
    details: ['Versions older than the store\'s newest version of a file they change are refused (exit 2).', CREATES_STORE],
    options: { cache: 'where downloaded tarballs are kept (default $XDG_CACHE_HOME/vstore/npm or ~/.cache/vstore/npm)', 'allow-older': ALLOW_OLDER, ...WRITER_OPTIONS },
    example: 'vstore import-npm express lodash@^4',
  },
  'import-fast-export': {
    synopsis: '[--quiet] [--json]',
    positionals: [0, 0],
    summary: ['a git fast-export stream on stdin (git, brz, hg exporters)'],
    details: [CREATES_STORE],
    options: WRITER_OPTIONS,
    example: 'git fast-export --all --show-original-ids --signed-tags=strip --use-done-feature | vstore import-fast-export',
  },
  fetch: {
    synopsis: 'SRC-STORE [--file F ...] [--quiet] [--json]',
    positionals: [1, 1],
    summary: ['copy the texts this store lacks from another (of the files given)'],
    details: ['Well-filled groups of the source are copied whole; the source is only read, from a snapshot.', CREATES_STORE],
    options: { file: ONLY_FILE, ...WRITER_OPTIONS },
    example: 'vstore fetch ../other-store --file src/main.c',
  },
  'export-stream': {
    synopsis: '[--file F ...]',
    positionals: [0, 0],
    summary: [
      'write the store\'s texts (or those of the files given) as a record stream',
      '(formats/record-stream.md) to stdout',
    ],
    options: { file: ONLY_FILE },
    example: 'vstore export-stream | vstore --store ../copy import-stream',
  },
  'import-stream': {
    synopsis: '[--quiet] [--json]',
    positionals: [0, 0],
    summary: ['insert a record stream from stdin'],
    details: [CREATES_STORE],
    options: WRITER_OPTIONS,
    example: 'vstore --store ../other export-stream | vstore import-stream',
  },
  pack: {
    synopsis: '[--quiet] [--json]',
    positionals: [0, 0],
    summary: [
      'rewrite every text into new groups and packs, as one import of the whole',
      'history would (after many small imports); with --codec, recode them all',
    ],
    options: { quiet: QUIET, json: JSON_SUMMARY, codec: GLOBAL_OPTION_HELP.codec, profile: GLOBAL_OPTION_HELP.profile },
    example: 'vstore pack --profile archive',
  },
  extract: {
    synopsis: 'FILE@REV | --batch',
    positionals: [0, 1],
    summary: [
      'write one version\'s bytes to stdout (REV: id or unique prefix of 7+;',
      'the last @ splits, unless an exact key splits at an earlier one);',
      '--batch: FILE@REV lines on stdin, answered as git cat-file --batch does',
    ],
    details: [
      '--batch answers each line of stdin, in order, with "FILE@REV SIZE\\n<bytes>\\n" or "FILE@REV missing\\n"',
      '(an empty line too: " missing\\n", as from git); a line longer than any key (8,193 bytes) with its',
      'first 64 bytes: "<bytes>… missing\\n"; a stored key that cannot be read (a damaged group) with',
      '"FILE@REV error CODE\\n", its error on stderr, and the batch goes on. It exits with the highest',
      'exit status of the errors it answered (4 for VSTORE_CORRUPT), or 0.',
    ],
    options: { batch: 'read FILE@REV lines on stdin and answer each one' },
    example: 'vstore extract src/main.c@1a2b3c4',
  },
  diff: {
    synopsis: 'FILE@A FILE@B [--stat]',
    positionals: [2, 2],
    summary: [
      'unified diff between two versions (of one file or two), as patch applies it;',
      '--stat: lines inserted and deleted',
    ],
    options: { stat: 'lines inserted and deleted, as git diff --stat counts them' },
    example: 'vstore diff src/main.c@1a2b3c4 src/main.c@5d6e7f8 | patch -p1',
  },
  annotate: {
    synopsis: 'FILE@REV [--json]',
    positionals: [1, 1],
    summary: ['each line with the revision that introduced it (like git blame)'],
    options: { json: 'the lines as JSON: rev, lineNumber, text' },
    example: 'vstore annotate src/main.c@1a2b3c4',
  },
  log: {
    synopsis: 'FILE [--json]',
    positionals: [1, 1],
    summary: ['revisions of FILE, newest first, with their parents'],
    options: { json: 'the revisions as JSON: rev, parents' },
    example: 'vstore log src/main.c',
  },
  stats: {
    synopsis: '[--json]',
    positionals: [0, 0],
    summary: ['sizes, counts and read costs'],
    options: { json: 'the figures as JSON' },
    example: 'vstore stats --json',
  },
  verify: {
    synopsis: '[--full] [--json]',
    positionals: [0, 0],
    summary: [
      'check every group\'s and index value\'s checksum (and which groups',
      'a damaged base breaks); --full also rebuilds every text',
    ],
    details: ['Exit status 4 when it finds a problem; the report names the keys each one affects.'],
    options: { full: 'also rebuild every text and check it against its hash', json: 'the report as JSON' },
    example: 'vstore verify --full',
  },
  repair: {
    synopsis: '[--quiet] [--json]',
    positionals: [0, 0],
    summary: [
      'after verify finds damage: rebuild a damaged index, keep every text that still',
      'reads back, drop the rest, and say exactly which keys were dropped',
    ],
    details: [
      'A damaged index is rebuilt first from every entry that can still be read (the keys whose entries are',
      'damaged too are dropped and listed). Then every text that rebuilds and matches its hash is rewritten',
      'into new packs (as pack does), if a pack is damaged; the keys',
      'that cannot be read are dropped, and a kept text whose parent was dropped takes that parent\'s nearest',
      'kept ancestors as its parents. Prints each dropped key and each changed parent list. Killed at any',
      'point, it leaves the store as it was or as repaired. A store that verify finds whole is left alone.',
    ],
    options: { quiet: 'no progress line and no report', json: 'the report as JSON: lostKeys, reparented, sizes' },
    example: 'vstore verify || vstore repair',
  },
  'dump-group': {
    synopsis: '[PACK@OFFSET] [--json]',
    positionals: [0, 1],
    summary: ['list groups, or show one group\'s records and delta instructions'],
    options: { json: 'the list or the group as JSON' },
    example: 'vstore dump-group 1@8',
  },
  'dump-index': {
    synopsis: '[--prefix FILE] [--json]',
    positionals: [0, 0],
    summary: ['show index entries (key → pack, offset, lengths)'],
    options: { prefix: 'only the files whose id starts with this', json: 'the entries as JSON' },
    example: 'vstore dump-index --prefix src/',
  },
  help: {
    synopsis: '[COMMAND]',
    positionals: [0, 1],
    summary: ['this overview, or one command\'s usage, options and an example'],
    options: {},
    example: 'vstore help extract',
  },
}
