/**
 * A benchmark corpus on disk, so that every system measured reads the same bytes:
 *
 *   .corpora/<name>/manifest.jsonl   one line per file version, parents before children:
 *                                    {"file","rev","parents":[...],"sha256","byteLength"}, and "origin"
 *                                    ({"file","rev"}) for a file's first version moved from another
 *   .corpora/<name>/blobs/<sha256>   each distinct content once
 *   .corpora/<name>/source.json      where it came from (free-form, written by the fetcher)
 *
 * Order in the manifest is history order (the order the fetcher produced the versions: releases in
 * version order, or commits parents-first), the order `xz -9` of "the whole history" uses.
 *
 * Below the corpus format: what the two fetchers (`fetch-npm-corpus.ts`, `fetch-git-corpus.ts`) share.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, realpathSync } from 'node:fs'
import { access, appendFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { describeError, exitStatusFor } from '../lib/cli/exit.js'
import { VstoreError } from '../lib/errors.js'

export interface CorpusEntry {
  readonly file: string
  readonly rev: string
  readonly parents: readonly string[]
  readonly sha256: string
  readonly byteLength: number
  /** The version of another file this one was moved from (a rename the fetcher detected), if any. */
  readonly origin?: { readonly file: string; readonly rev: string }
}

/** The repository root (scripts run from dist/scripts/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** Where corpora live: `.corpora/` at the repository root (git-ignored), or $VSTORE_CORPORA. */
export function corporaRoot(): string {
  return resolve(process.env.VSTORE_CORPORA ?? join(REPO_ROOT, '.corpora'))
}

export function corpusDir(name: string): string {
  return join(corporaRoot(), name)
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

/** Reads a corpus manifest. */
export async function readManifest(dir: string): Promise<CorpusEntry[]> {
  const entries: CorpusEntry[] = []
  const lines = createInterface({ input: createReadStream(join(dir, 'manifest.jsonl')), crlfDelay: Infinity })
  for await (const line of lines) if (line.trim() !== '') entries.push(JSON.parse(line) as CorpusEntry)
  return entries
}

export async function readBlob(dir: string, sha256: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(join(dir, 'blobs', sha256)))
}

/** Every version with its text, in manifest order. */
export async function* readCorpus(dir: string): AsyncGenerator<CorpusEntry & { text: Uint8Array }> {
  for (const entry of await readManifest(dir)) yield { ...entry, text: await readBlob(dir, entry.sha256) }
}

/**
 * Writes a corpus: blobs as they come, the manifest at the end (renamed into place, so a corpus
 * with a manifest is whole).
 */
export class CorpusWriter {
  private readonly lines: string[] = []
  private readonly written = new Set<string>()

  constructor(readonly dir: string) {}

  /** Returns the text's sha256 (hex), its blob's name. */
  async add(entry: { file: string; rev: string; parents: readonly string[]; text: Uint8Array; origin?: { file: string; rev: string } | undefined }): Promise<string> {
    const sha256 = sha256Hex(entry.text)
    if (!this.written.has(sha256)) {
      await mkdir(join(this.dir, 'blobs'), { recursive: true })
      const path = join(this.dir, 'blobs', sha256)
      if (!(await exists(path))) {
        await writeFile(`${path}.tmp`, entry.text)
        await rename(`${path}.tmp`, path)
      }
      this.written.add(sha256)
    }
    this.lines.push(JSON.stringify({
      file: entry.file, rev: entry.rev, parents: entry.parents, sha256, byteLength: entry.text.length, ...(entry.origin === undefined ? {} : { origin: entry.origin }),
    }))
    return sha256
  }

  async finish(source: unknown): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    await writeFile(join(this.dir, 'source.json'), `${JSON.stringify(source, null, 2)}\n`)
    const tmp = join(this.dir, 'manifest.jsonl.tmp')
    await writeFile(tmp, '')
    for (let i = 0; i < this.lines.length; i += 1000) await appendFile(tmp, `${this.lines.slice(i, i + 1000).join('\n')}\n`)
    await rename(tmp, join(this.dir, 'manifest.jsonl'))
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

// ---------------------------------------------------------------------------------------------------------
// What fetch-npm-corpus and fetch-git-corpus share: options, pin files, the counting writer, the summary and
// the command line.

/** The options of both fetchers. */
export interface FetchOptions {
  /** The corpus name: `.corpora/<name>/` and the pin file `<name>.json`. */
  readonly name: string
  /** Re-resolve what the pin file fixed (specs or ref). */
  readonly update?: boolean
  /** Default `scripts/corpora/`. */
  readonly pinDir?: string
  /** Default `.corpora/<name>/`; replaced when the new corpus is whole. */
  readonly corpusDir?: string
  readonly now?: () => Date
  /** Progress, one line at a time; default stderr. */
  readonly log?: (line: string) => void
}

/** `scripts/corpora/` of this checkout, wherever it is run from. */
export const DEFAULT_PIN_DIR = join(REPO_ROOT, 'scripts', 'corpora')

/** Corpus names become folder and file names: letters, digits, `.`, `_`, `-`; not `cache`. */
export function checkCorpusName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name) || name === 'cache') {
    throw new VstoreError('VSTORE_USAGE', 'a corpus name is letters, digits, ".", "_" and "-" (and not "cache")', name)
  }
}

/** A parsed JSON file; `undefined` when there is none. @throws VstoreError `VSTORE_IO`, `VSTORE_CORRUPT` (not JSON). */
export async function tryReadJson(path: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined
    throw new VstoreError('VSTORE_IO', 'cannot read', path, { cause: error })
  }
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new VstoreError('VSTORE_CORRUPT', 'not JSON', path, { cause: error })
  }
}

/** Writes JSON with a trailing newline, through a temp file so a killed run leaves the old file whole. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`)
  await rename(`${path}.tmp`, path)
}

export interface FetchStart<Pin> {
  readonly pinPath: string
  /** The pin file, decoded; `undefined` when there is none yet. */
  readonly pin: Pin | undefined
  /** Where the corpus goes. */
  readonly dir: string
  readonly now: () => Date
  readonly log: (line: string) => void
  /** `Date.now()` when the fetch started. */
  readonly started: number
}

/**
 * What every fetch begins with: the name checked, the pin file read (`decodePin` narrows it), the defaults.
 * @throws VstoreError `VSTORE_USAGE` for a bad name; `VSTORE_IO` or `VSTORE_CORRUPT` for an unreadable pin.
 */
export async function startFetch<Pin>(options: FetchOptions, decodePin: (value: unknown, where: string) => Pin): Promise<FetchStart<Pin>> {
  const started = Date.now()
  checkCorpusName(options.name)
  const pinPath = join(options.pinDir ?? DEFAULT_PIN_DIR, `${options.name}.json`)
  const pinValue = await tryReadJson(pinPath)
  return {
    pinPath,
    pin: pinValue === undefined ? undefined : decodePin(pinValue, pinPath),
    dir: options.corpusDir ?? corpusDir(options.name),
    now: options.now ?? (() => new Date()),
    log: options.log ?? ((line: string) => process.stderr.write(`${line}\n`)),
    started,
  }
}

export interface CorpusSummary {
  readonly name: string
  readonly dir: string
  readonly pinPath: string
  /** Releases (npm) or commits (git). */
  readonly revisionCount: number
  readonly fileVersionCount: number
  readonly fileCount: number
  readonly rawByteLength: number
  readonly blobCount: number
  readonly blobByteLength: number
  /** Tarball bytes (npm); 0 for git. */
  readonly sourceByteLength: number
  readonly downloadedCount: number
  readonly elapsedMilliseconds: number
}

/**
 * A CorpusWriter that counts what goes through it and writes into `<dir>.partial/`, which `finish` swaps in
 * for `dir`: a failed or killed run leaves the previous corpus as it was.
 */
export class CountingWriter {
  private readonly writer: CorpusWriter
  private readonly partialDir: string
  private readonly blobs = new Set<string>()
  private readonly files = new Set<string>()
  fileVersionCount = 0
  rawByteLength = 0
  blobByteLength = 0

  private constructor(readonly dir: string) {
    this.partialDir = `${dir}.partial`
    this.writer = new CorpusWriter(this.partialDir)
  }

  /** Empties `<dir>.partial/` (left by a killed run) and returns a writer into it. */
  static async create(dir: string): Promise<CountingWriter> {
    const writer = new CountingWriter(dir)
    await rm(writer.partialDir, { recursive: true, force: true })
    return writer
  }

  async add(record: { file: string; rev: string; parents: readonly string[]; text: Uint8Array; origin?: { file: string; rev: string } | undefined }): Promise<void> {
    const sha256 = await this.writer.add(record)
    this.fileVersionCount++
    this.rawByteLength += record.text.length
    this.files.add(record.file)
    if (!this.blobs.has(sha256)) {
      this.blobs.add(sha256)
      this.blobByteLength += record.text.length
    }
  }

  get blobCount(): number {
    return this.blobs.size
  }

  get fileCount(): number {
    return this.files.size
  }

  async finish(source: unknown): Promise<void> {
    await this.writer.finish(source)
    await rm(this.dir, { recursive: true, force: true })
    await rename(this.partialDir, this.dir)
  }

  /** The summary of the finished corpus; the counts are this writer's. */
  summary(start: FetchStart<unknown>, name: string, counts: Pick<CorpusSummary, 'revisionCount' | 'sourceByteLength' | 'downloadedCount'>): CorpusSummary {
    return {
      name,
      dir: this.dir,
      pinPath: start.pinPath,
      ...counts,
      fileVersionCount: this.fileVersionCount,
      fileCount: this.fileCount,
      rawByteLength: this.rawByteLength,
      blobCount: this.blobCount,
      blobByteLength: this.blobByteLength,
      elapsedMilliseconds: Date.now() - start.started,
    }
  }
}

export function formatBytes(byteLength: number): string {
  if (byteLength < 1000) return `${byteLength} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let value = byteLength
  let unit = -1
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}

export function describeSummary(summary: CorpusSummary, revisionWord: string): string {
  return `${summary.name}: ${summary.revisionCount} ${revisionWord}, ${summary.fileCount} files, ${summary.fileVersionCount} file versions, `
    + `${summary.rawByteLength} raw bytes (${formatBytes(summary.rawByteLength)}), ${summary.blobCount} distinct blobs (${formatBytes(summary.blobByteLength)})`
    + `${summary.sourceByteLength > 0 ? `, ${formatBytes(summary.sourceByteLength)} of tarballs (${summary.downloadedCount} downloaded)` : ''}`
    + `, ${(summary.elapsedMilliseconds / 1000).toFixed(1)} s → ${summary.dir}`
}

/**
 * Runs a command and returns its stdout.
 * @throws VstoreError `VSTORE_IMPORT` (where = `where`) naming the command and the first line of its stderr
 *   (npm's `warn` and `notice` lines skipped).
 */
export function runCommand(command: string, args: readonly string[], where: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, [...args], { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error === null) return resolvePromise(stdout)
      const firstLine = stderr.split('\n').find(line => line.trim() !== '' && !/^npm (warn|notice)/i.test(line)) ?? error.message
      reject(new VstoreError('VSTORE_IMPORT', `${command} ${args.join(' ')}: ${firstLine.trim()}`, where, { cause: error }))
    })
  })
}

type ArgumentOptions = NonNullable<ParseArgsConfig['options']>
const HELP = { help: { type: 'boolean', short: 'h' } } as const satisfies ArgumentOptions

/** What `parseArgs` gives for `options` (and `--help`, `-h`) with positionals allowed. */
export type CommandLine<Options extends ArgumentOptions> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: Options & typeof HELP }>>

/**
 * A script's arguments by `parseArgs` (positionals allowed); `undefined` when `--help` was given, after
 * printing `usage`. @throws VstoreError `VSTORE_USAGE` for what `parseArgs` refuses.
 */
export function parseCommandLine<Options extends ArgumentOptions>(argv: readonly string[], options: Options, usage: string): CommandLine<Options> | undefined {
  let parsed: CommandLine<Options>
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { ...options, ...HELP } })
  } catch (error) {
    throw new VstoreError('VSTORE_USAGE', `${(error as Error).message}; ${usage}`, 'arguments', { cause: error })
  }
  if ('help' in parsed.values && parsed.values.help === true) {
    process.stdout.write(`${usage}\n`)
    return undefined
  }
  return parsed
}

/** Whether the module at `moduleUrl` (its `import.meta.url`) is the program node was started with. */
export function isMainModule(moduleUrl: string): boolean {
  const invokedAs = process.argv[1]
  return invokedAs !== undefined && moduleUrl === pathToFileURL(realpathSync(invokedAs)).href
}

/** Runs a script's main: prints a VstoreError as one line and exits with the CLI's status for it. */
export async function runMain(program: string, main: () => Promise<void>): Promise<void> {
  try {
    await main()
  } catch (error) {
    process.stderr.write(`${describeError(error).replace(/^vstore:/, `${program}:`)}\n`)
    process.exitCode = exitStatusFor(error)
  }
}
