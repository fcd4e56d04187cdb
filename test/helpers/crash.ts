/**
 * What the crash tests share (test/integration/kill-resume.test.ts, test/integration/crash-harness.test.ts)
 * with scripts/crash-harness.ts, so none of it uses ava: problems come back as lists of sentences, which a
 * test asserts empty and the script counts.
 *
 * - A synthetic git history made with one `git fast-import`, with every text an import must produce known
 *   in advance (`path@commit` → bytes and parents).
 * - Running a child in its own process group and killing the whole group (the import's git children too)
 *   with SIGKILL, after a delay or at a moment the caller polls for.
 * - Checks of a store in any state a crash can leave: `checkStoreWithCli` (`vstore verify`, `dump-index
 *   --json`, `extract --batch`, one process each) and `checkStoreWithApi` (the same through the public API
 *   in this process, several times faster); `completeProblems` for a store an import has finished.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { seededRandom } from '../../scripts/stats.js'
import { Store } from '../../lib/vstore.js'

/** The repository root (this file is dist/test/helpers/crash.js). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const BIN = join(ROOT, 'bin', 'vstore')
/** A child that inserts through the public API: see test/helpers/import-child.ts. */
export const IMPORT_CHILD = join(ROOT, 'dist', 'test', 'helpers', 'import-child.js')

/** No user or system git config, no prompts, and no GIT_DIR-style variables from a surrounding hook. */
export const GIT_ENVIRONMENT: NodeJS.ProcessEnv = (() => {
  const environment: NodeJS.ProcessEnv = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' }
  for (const name of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR']) delete environment[name]
  return environment
})()

// ---------------------------------------------------------------------------------------------------------
// A synthetic history

const WORDS = [
  'alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike',
  'november', 'oscar', 'papa', 'return', 'const', 'if', 'else', 'value', 'index', '{', '}', '=', '+', '42', '(x)',
]

export interface SyntheticHistoryOptions {
  /** Files in every commit; the last `copyCount` of them hold the bytes of the first ones. */
  readonly fileCount: number
  readonly copyCount: number
  /** Commits, each of which changes every file. */
  readonly versionCount: number
  /** Each file's first version is this long, give or take a line. */
  readonly minTextByteLength: number
  readonly maxTextByteLength: number
  readonly seed: number
}

export interface ExpectedText {
  readonly text: Buffer
  readonly parents: readonly string[]
}

export interface SyntheticHistory {
  readonly repo: string
  /** Commit ids, oldest first (branch `main` is the last). */
  readonly commits: readonly string[]
  /** `path@commit` → the text's bytes and parents, for every text an import must make. */
  readonly texts: ReadonlyMap<string, ExpectedText>
  /** Texts whose bytes another text has too. */
  readonly duplicateTextCount: number
  /** Bytes of all texts. */
  readonly rawByteLength: number
}

function pathOf(file: number, options: SyntheticHistoryOptions): string {
  const originals = options.fileCount - options.copyCount
  return file < originals ? `dir${file % 4}/file${String(file).padStart(2, '0')}.txt` : `copies/of-file${String(file - originals).padStart(2, '0')}.txt`
}

/**
 * Builds a linear history in a new repository at `dir` with one `git fast-import` (no compression, no
 * deltas: it is thrown away). Every commit edits every file: a stamp line always changes, plus 5–40 random
 * line edits; the last `copyCount` files hold the bytes of the first ones, so some texts are stored once.
 */
export function buildSyntheticHistory(dir: string, options: SyntheticHistoryOptions): SyntheticHistory {
  const random = seededRandom(options.seed)
  const pick = (end: number): number => Math.floor(random() * end)
  const line = (): string => {
    const words: string[] = []
    for (let i = 4 + pick(9); i > 0; i--) words.push(WORDS[pick(WORDS.length)] as string)
    return `${words.join(' ')}\n`
  }
  const originals = options.fileCount - options.copyCount
  const lines: string[][] = []
  for (let file = 0; file < originals; file++) {
    const target = options.minTextByteLength + pick(options.maxTextByteLength - options.minTextByteLength)
    const fileLines: string[] = []
    for (let byteLength = 0; byteLength < target;) {
      const next = line()
      fileLines.push(next)
      byteLength += next.length
    }
    lines.push(fileLines)
  }
  const contents: Buffer[][] = [] // [version][file]
  const parts: Buffer[] = []
  for (let version = 0; version < options.versionCount; version++) {
    const texts: Buffer[] = []
    for (let file = 0; file < originals; file++) {
      const fileLines = lines[file] as string[]
      if (version > 0) {
        for (let edit = 5 + pick(36); edit > 0; edit--) {
          const at = 1 + pick(fileLines.length - 1)
          const kind = random()
          if (kind < 0.4) fileLines[at] = line()
          else if (kind < 0.7) fileLines.splice(at, 0, line())
          else if (fileLines.length > 10) fileLines.splice(at, 1)
        }
      }
      fileLines[0] = `stamp: file ${file} version ${version}\n`
      texts.push(Buffer.from(fileLines.join('')))
    }
    for (let copy = 0; copy < options.copyCount; copy++) texts.push(texts[copy] as Buffer)
    contents.push(texts)
    parts.push(Buffer.from(`commit refs/heads/main\nmark :${version + 1}\ncommitter Vstore Test <test@vstore.invalid> ${1_700_000_000 + 60 * version} +0000\ndata 12\nversion ${String(version).padStart(3, '0')}\n`))
    texts.forEach((text, file) => {
      parts.push(Buffer.from(`M 100644 inline ${pathOf(file, options)}\ndata ${text.length}\n`), text, Buffer.from('\n'))
    })
  }
  execFileSync('git', ['init', '-q', '-b', 'main', dir], { env: GIT_ENVIRONMENT })
  execFileSync('git', ['-c', 'core.compression=0', '-c', 'pack.compression=0', 'fast-import', '--quiet', '--depth=0'], {
    cwd: dir, env: GIT_ENVIRONMENT, input: Buffer.concat(parts), maxBuffer: 64 * 1024 * 1024,
  })
  const commits = execFileSync('git', ['rev-list', '--reverse', 'main'], { cwd: dir, env: GIT_ENVIRONMENT }).toString('utf8').trim().split('\n')
  if (commits.length !== options.versionCount) throw new Error(`fast-import made ${commits.length} commits, expected ${options.versionCount}`)
  const texts = new Map<string, ExpectedText>()
  let rawByteLength = 0
  contents.forEach((versionTexts, version) => {
    versionTexts.forEach((text, file) => {
      texts.set(`${pathOf(file, options)}@${commits[version] as string}`, { text, parents: version === 0 ? [] : [commits[version - 1] as string] })
      rawByteLength += text.length
    })
  })
  return { repo: dir, commits, texts, duplicateTextCount: options.copyCount * options.versionCount, rawByteLength }
}

// ---------------------------------------------------------------------------------------------------------
// Children that are killed

export interface KillableRun {
  /** `killed`: SIGKILL reached it while it ran; `exited`: it ended by itself first (see code and signal). */
  readonly outcome: 'killed' | 'exited'
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  /** From the spawn to the close of its pipes. */
  readonly milliseconds: number
  readonly stdout: Buffer
  readonly stderr: string
  /** Whatever `beforeKill` returned, called just before the signal was sent (undefined if none was). */
  readonly atKill?: unknown
  /** It ran past `timeoutMilliseconds` and was killed for it. */
  readonly timedOut: boolean
}

export interface KillOptions {
  /** Send SIGKILL this long after the spawn (a timer: about a millisecond late at most on an idle loop). */
  readonly killAfterMilliseconds?: number
  /** Or once this returns true, polled every `pollMilliseconds` (default 5). */
  readonly moment?: () => boolean
  readonly pollMilliseconds?: number
  /** Called just before the signal, for a look at the disk as the kill lands. */
  readonly beforeKill?: () => unknown
  /** A child that runs longer than this is killed and reported as `killed` with `timedOut`. */
  readonly timeoutMilliseconds: number
}

/**
 * Runs `node ...args` from the repository root in its own process group and kills the group with
 * SIGKILL when the delay passes or the moment comes, whichever is given, unless it ends first.
 */
export async function runKillable(args: readonly string[], options: KillOptions): Promise<KillableRun> {
  const started = performance.now()
  const child = spawn(process.execPath, args, { cwd: ROOT, env: GIT_ENVIRONMENT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  const stdout: Buffer[] = []
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  let exited = false
  let killed = false
  let timedOut = false
  let atKill: unknown
  const killGroup = (): void => {
    if (killed || exited) return
    if (options.beforeKill !== undefined) atKill = options.beforeKill()
    killed = true
    try {
      process.kill(-(child.pid as number), 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
  const timers: NodeJS.Timeout[] = []
  if (options.killAfterMilliseconds !== undefined) timers.push(setTimeout(killGroup, options.killAfterMilliseconds))
  if (options.moment !== undefined) {
    const moment = options.moment
    timers.push(setInterval(() => { if (moment()) killGroup() }, options.pollMilliseconds ?? 5))
  }
  timers.push(setTimeout(() => { timedOut = true; killGroup() }, options.timeoutMilliseconds))
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve => {
    child.on('exit', () => { exited = true })
    child.on('close', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }))
  })
  for (const timer of timers) clearTimeout(timer)
  const milliseconds = performance.now() - started
  const outcome = killed && signal === 'SIGKILL' ? 'killed' : 'exited'
  return { outcome, code, signal, milliseconds, stdout: Buffer.concat(stdout), stderr, timedOut, ...(killed ? { atKill } : {}) }
}

/** Bytes of all pack files of the store now (0 without a packs/ folder). */
export function packFileBytes(store: string): number {
  let total = 0
  for (const byteLength of packByteLengths(store).values()) total += byteLength
  return total
}

/** `packs/<name>` → its byte length, for every file in the store's packs/ folder now. */
export function packByteLengths(store: string): Map<string, number> {
  const dir = join(store, 'packs')
  const byteLengths = new Map<string, number>()
  if (!existsSync(dir)) return byteLengths
  for (const name of readdirSync(dir).sort()) {
    try {
      byteLengths.set(`packs/${name}`, statSync(join(dir, name)).size)
    } catch {
      // Removed between the listing and the stat.
    }
  }
  return byteLengths
}

// ---------------------------------------------------------------------------------------------------------
// Checks of a store in any state

export interface IndexRow {
  readonly file: string
  readonly rev: string
  readonly pack: string
  readonly groupOffset: number
  readonly recordStart: number
  readonly textByteLength: number
  readonly hash: string
  readonly parents: readonly string[]
}

export interface GroupListItem {
  readonly packId: number
  readonly groupOffset: number
  readonly header: { readonly storedByteLength: number; readonly headerByteLength: number }
}

export interface StoreCheck {
  /** The store's keys (`file@rev`), in index order; empty when there is no store. */
  readonly keys: readonly string[]
  readonly rows: readonly IndexRow[]
  /** Whether a store was there to open (an import killed before it made one leaves none). */
  readonly exists: boolean
  /** One sentence per thing wrong; empty when the state is one a crash may leave. */
  readonly problems: readonly string[]
}

export interface SyncRun {
  readonly status: number | null
  readonly stdout: Buffer
  readonly stderr: string
}

/** `node bin/vstore ...args`, waited for. */
export function vstoreSync(args: readonly string[], options: { input?: string; timeoutMilliseconds: number }): SyncRun {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT, env: GIT_ENVIRONMENT, input: options.input ?? '', maxBuffer: 512 * 1024 * 1024, timeout: options.timeoutMilliseconds,
  })
  if (result.error !== undefined) throw result.error
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8') }
}

export function describeRun(run: { status?: number | null; code?: number | null; signal?: string | null; stdout: Buffer; stderr: string }): string {
  const status = run.status ?? run.code ?? run.signal ?? 'none'
  return `exit ${status}; stdout: ${run.stdout.toString('utf8').slice(0, 500)}; stderr: ${run.stderr.slice(0, 1500)}`
}

/** Problems with the index rows themselves: keys that are not the history's, wrong parents, parents missing. */
function rowProblems(rows: readonly IndexRow[], texts: ReadonlyMap<string, ExpectedText>): string[] {
  const problems: string[] = []
  const indexed = new Set(rows.map(row => `${row.file}@${row.rev}`))
  for (const row of rows) {
    const key = `${row.file}@${row.rev}`
    const expected = texts.get(key)
    if (expected === undefined) problems.push(`${key} is not a key of the history`)
    else if (expected.parents.join(' ') !== row.parents.join(' ')) problems.push(`${key} has parents [${row.parents.join(' ')}], expected [${expected.parents.join(' ')}]`)
    for (const parent of row.parents) if (!indexed.has(`${row.file}@${parent}`)) problems.push(`${key}: its parent ${parent} is not stored`)
  }
  return problems.length <= 5 ? problems : [...problems.slice(0, 5), `… ${problems.length} such problems in all`]
}

/**
 * Parses `vstore extract --batch` output for `specs` and compares each text with the history's.
 * Returns problems (at most a few per kind, then a count).
 */
export function batchExtractProblems(out: Buffer, specs: readonly string[], texts: ReadonlyMap<string, ExpectedText>): string[] {
  const problems: string[] = []
  let offset = 0
  let wrong = 0
  for (const spec of specs) {
    const lineEnd = out.indexOf(0x0a, offset)
    const header = lineEnd < 0 ? '' : out.subarray(offset, lineEnd).toString('utf8')
    const match = /^(.*) (\d+)$/.exec(header)
    if (lineEnd < 0 || match === null || match[1] !== spec) return [...problems, `extract --batch answered ${JSON.stringify(header.slice(0, 200))} for ${spec}`]
    const byteLength = Number(match[2])
    const text = out.subarray(lineEnd + 1, lineEnd + 1 + byteLength)
    if (!text.equals(texts.get(spec)?.text ?? Buffer.alloc(0))) {
      wrong++
      if (wrong <= 3) problems.push(`${spec} extracts ${byteLength} bytes that differ from the source`)
    }
    offset = lineEnd + 1 + byteLength + 1
  }
  if (wrong > 3) problems.push(`… ${wrong} keys in all extract bytes that differ from the source`)
  if (offset !== out.length) problems.push(`extract --batch wrote ${out.length - offset} bytes past the last answer`)
  return problems
}

/**
 * The CLI's view of a store in any state: `vstore verify` exits 0 with `ok: N texts`; every key of `dump-index
 * --json` is the history's, with its parents, which are indexed too; `extract --batch` of every key gives the
 * source's bytes. A store that does not exist (exit 3 from verify) passes with no keys.
 */
export function checkStoreWithCli(store: string, texts: ReadonlyMap<string, ExpectedText>, timeoutMilliseconds: number): StoreCheck {
  const verify = vstoreSync(['--store', store, 'verify'], { timeoutMilliseconds })
  if (verify.status === 3 && !existsSync(join(store, 'index'))) return { keys: [], rows: [], exists: false, problems: [] }
  const problems: string[] = []
  if (verify.status !== 0 || verify.stderr !== '') problems.push(`vstore verify: ${describeRun(verify)}`)
  const dump = vstoreSync(['--store', store, 'dump-index', '--json'], { timeoutMilliseconds })
  if (dump.status !== 0) return { keys: [], rows: [], exists: true, problems: [...problems, `vstore dump-index: ${describeRun(dump)}`] }
  const rows = JSON.parse(dump.stdout.toString('utf8')) as IndexRow[]
  if (verify.status === 0 && !verify.stdout.toString('utf8').startsWith(`ok: ${rows.length} texts`)) {
    problems.push(`vstore verify says ${JSON.stringify(verify.stdout.toString('utf8').trim())}, dump-index lists ${rows.length} keys`)
  }
  problems.push(...rowProblems(rows, texts))
  const keys = rows.map(row => `${row.file}@${row.rev}`)
  if (keys.length > 0) {
    const extract = vstoreSync(['--store', store, 'extract', '--batch'], { input: keys.map(key => `${key}\n`).join(''), timeoutMilliseconds })
    if (extract.status !== 0) problems.push(`vstore extract --batch: ${describeRun({ ...extract, stdout: Buffer.alloc(0) })}`)
    else problems.push(...batchExtractProblems(extract.stdout, keys, texts))
  }
  return { keys, rows, exists: true, problems }
}

/** A thrown value as one line: its code (a VstoreError's) or name, its `where`, its message. */
export function describeThrown(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const { code, where } = error as { code?: unknown; where?: unknown }
  return `${code === undefined ? error.name : String(code)}${where === undefined || where === '' ? '' : ` (${String(where)})`}: ${error.message}`
}

/**
 * The same checks as `checkStoreWithCli` through the public API in this process: `Store.open` (no create:
 * opening is all the repair there is), `verify()` with no problems, `dumpIndex()`, and `getMany` of every
 * key. The store is closed again before this returns.
 */
export async function checkStoreWithApi(store: string, texts: ReadonlyMap<string, ExpectedText>): Promise<StoreCheck> {
  let opened: Store
  try {
    opened = await Store.open(store)
  } catch (error) {
    if ((error as { code?: unknown }).code === 'VSTORE_NOT_FOUND' && !existsSync(join(store, 'index'))) return { keys: [], rows: [], exists: false, problems: [] }
    return { keys: [], rows: [], exists: true, problems: [`Store.open: ${describeThrown(error)}`] }
  }
  const problems: string[] = []
  const rows: IndexRow[] = []
  try {
    const report = await opened.verify()
    for (const problem of report.problems.slice(0, 5)) problems.push(`verify: ${problem.code} (${problem.where}): ${problem.message}`)
    if (report.problems.length > 5) problems.push(`verify: … ${report.problems.length} problems in all`)
    for await (const row of opened.dumpIndex()) rows.push(row)
    if (report.textCount !== rows.length) problems.push(`verify counted ${report.textCount} texts, dumpIndex lists ${rows.length}`)
    problems.push(...rowProblems(rows, texts))
    let wrong = 0
    let seen = 0
    for await (const { file, rev, text } of opened.getMany(rows.map(({ file, rev }) => ({ file, rev })))) {
      seen++
      const expected = texts.get(`${file}@${rev}`)?.text
      if (expected === undefined || !Buffer.from(text.buffer, text.byteOffset, text.byteLength).equals(expected)) {
        wrong++
        if (wrong <= 3) problems.push(`${file}@${rev} extracts ${text.length} bytes that differ from the source`)
      }
    }
    if (wrong > 3) problems.push(`… ${wrong} keys in all extract bytes that differ from the source`)
    if (seen !== rows.length) problems.push(`getMany gave ${seen} texts for ${rows.length} keys`)
  } catch (error) {
    problems.push(`reading the store: ${describeThrown(error)}`)
  } finally {
    await opened.close()
  }
  return { keys: rows.map(row => `${row.file}@${row.rev}`), rows, exists: true, problems }
}

/**
 * After an import ran to completion: every key of the history is there and no other; each content is at
 * exactly one `pack@groupOffset:recordStart` within a file (a batch finds a file's stored versions; the
 * same content in other files may be stored once per import run that met it); every group in the packs is named by a key; and
 * each pack file ends at its last group (no uncommitted tail, no pack that no key names).
 */
export function completeProblems(
  store: string, history: Pick<SyntheticHistory, 'texts' | 'duplicateTextCount'>, rows: readonly IndexRow[], groups: readonly GroupListItem[],
): string[] {
  const problems: string[] = []
  const present = new Set(rows.map(row => `${row.file}@${row.rev}`))
  const missing = [...history.texts.keys()].filter(key => !present.has(key))
  if (missing.length > 0) problems.push(`${missing.length} keys missing after a completed import, e.g. ${missing.slice(0, 3).join(', ')}`)
  if (present.size !== rows.length) problems.push(`${rows.length - present.size} keys listed twice`)
  const locationsByHash = new Map<string, Set<string>>()
  for (const row of rows) {
    const locations = locationsByHash.get(row.hash) ?? new Set<string>()
    locations.add(`${row.pack}@${row.groupOffset}:${row.recordStart}`)
    locationsByHash.set(row.hash, locations)
  }
  const inFile = new Map<string, Set<string>>()
  for (const row of rows) {
    const key = JSON.stringify([row.file, row.hash])
    const locations = inFile.get(key) ?? new Set<string>()
    locations.add(`${row.pack}@${row.groupOffset}:${row.recordStart}`)
    inFile.set(key, locations)
  }
  for (const [key, locations] of inFile) {
    const [file, hash] = JSON.parse(key) as [string, string]
    if (locations.size > 1) problems.push(`content ${hash} of ${file} is stored at ${[...locations].join(' ')}`)
  }
  if (locationsByHash.size !== history.texts.size - history.duplicateTextCount) {
    problems.push(`${locationsByHash.size} distinct contents, expected ${history.texts.size - history.duplicateTextCount}`)
  }
  const packName = (packId: number): string => `packs/${String(packId).padStart(6, '0')}.vpk`
  const named = new Set(rows.map(row => `${row.pack}@${row.groupOffset}`))
  for (const group of groups) if (!named.has(`${packName(group.packId)}@${group.groupOffset}`)) problems.push(`group ${packName(group.packId)}@${group.groupOffset} is named by no key`)
  const packEnds = new Map<string, number>()
  for (const group of groups) {
    const end = group.groupOffset + group.header.headerByteLength + group.header.storedByteLength
    packEnds.set(packName(group.packId), Math.max(end, packEnds.get(packName(group.packId)) ?? 0))
  }
  const onDisk = packByteLengths(store)
  for (const [name, byteLength] of onDisk) if (packEnds.get(name) !== byteLength) problems.push(`${name} has ${byteLength} bytes, its last group ends at ${packEnds.get(name) ?? 'none'}`)
  for (const name of packEnds.keys()) if (!onDisk.has(name)) problems.push(`${name} holds groups but is not on disk`)
  return problems
}

/** `completeProblems` with the groups listed by `vstore dump-group --json`. */
export function completeProblemsWithCli(store: string, history: Pick<SyntheticHistory, 'texts' | 'duplicateTextCount'>, rows: readonly IndexRow[], timeoutMilliseconds: number): string[] {
  const run = vstoreSync(['--store', store, 'dump-group', '--json'], { timeoutMilliseconds })
  if (run.status !== 0) return [`vstore dump-group: ${describeRun(run)}`]
  return completeProblems(store, history, rows, JSON.parse(run.stdout.toString('utf8')) as GroupListItem[])
}

/** `completeProblems` with the groups listed by `Store.groups()`. */
export async function completeProblemsWithApi(store: string, history: Pick<SyntheticHistory, 'texts' | 'duplicateTextCount'>, rows: readonly IndexRow[]): Promise<string[]> {
  const groups: GroupListItem[] = []
  try {
    const opened = await Store.open(store)
    try {
      for await (const group of opened.groups()) groups.push(group)
    } finally {
      await opened.close()
    }
  } catch (error) {
    return [`listing groups: ${describeThrown(error)}`]
  }
  return completeProblems(store, history, rows, groups)
}
