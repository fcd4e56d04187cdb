/**
 * A real import killed with SIGKILL at several moments, then checked and run again to completion.
 *
 * The history: a git repository of 40 files × 30 commits of line-based text (two of the files are byte copies
 * of two others, so some texts are stored once), written in one `git fast-import` so that it is quick to
 * make. Each import is a child process, killed (with its git children: the whole process group) once the
 * store's disk state shows it has reached a given point: the insert has started (tmp/ exists), or groups
 * are being appended to packs/.
 *
 * After every kill: `vstore verify` exits 0 (opening the store is all the repair there is), and every key in
 * `dump-index --json` is an expected key, with its expected parents present, and extracts byte-identical to
 * the source. Then a run to completion must add exactly the missing keys, and afterwards every key is there
 * and correct, verify is clean, each distinct content hash lives at exactly one pack location, and the packs
 * hold no group that no key names.
 *
 * The CLI commits only every 256 MiB of new text, so a kill there usually leaves the store as it was: the
 * first test holds either way. The second test drives the same insert through the public API in a child
 * process with a 2 MiB checkpoint, so that kills land between (and during) commits.
 */
import test, { type ExecutionContext } from 'ava'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { seededRandom } from '../helpers/random.js'
import { makeTempDir } from '../helpers/tmp.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const BIN = join(ROOT, 'bin', 'vstore')
const API_URL = pathToFileURL(join(ROOT, 'dist', 'lib', 'vstore.js')).href
/** A single process that runs longer than this fails the test rather than hanging it. */
const PROCESS_TIMEOUT_MILLISECONDS = 60_000

const FILE_COUNT = 40
const COPY_COUNT = 2
const VERSION_COUNT = 30
const MIN_TEXT_BYTE_LENGTH = 10_000
const MAX_TEXT_BYTE_LENGTH = 34_000

const ENVIRONMENT: NodeJS.ProcessEnv = (() => {
  const environment: NodeJS.ProcessEnv = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' }
  for (const name of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR']) delete environment[name]
  return environment
})()

// ---------------------------------------------------------------------------------------------------------
// The history

const WORDS = [
  'alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike',
  'november', 'oscar', 'papa', 'return', 'const', 'if', 'else', 'value', 'index', '{', '}', '=', '+', '42', '(x)',
]

interface History {
  readonly repo: string
  /** `path@commit` → the text's bytes and parents, for every text an import must make. */
  readonly texts: ReadonlyMap<string, { readonly text: Buffer; readonly parents: readonly string[] }>
  /** Texts whose bytes another text has too. */
  readonly duplicateTextCount: number
}

function pathOf(file: number): string {
  return file < FILE_COUNT - COPY_COUNT ? `dir${file % 4}/file${String(file).padStart(2, '0')}.txt` : `copies/of-file${String(file - (FILE_COUNT - COPY_COUNT)).padStart(2, '0')}.txt`
}

/**
 * Builds the repository with one `git fast-import` (no compression, no deltas: it is thrown away). Every
 * commit edits every file: a stamp line always changes, plus 5–40 random line edits; the last COPY_COUNT
 * files hold the bytes of the first ones.
 */
function buildHistory(dir: string): History {
  const random = seededRandom(2024)
  const pick = (end: number): number => Math.floor(random() * end)
  const line = (): string => {
    const words: string[] = []
    for (let i = 4 + pick(9); i > 0; i--) words.push(WORDS[pick(WORDS.length)] as string)
    return `${words.join(' ')}\n`
  }
  const originals = FILE_COUNT - COPY_COUNT
  const lines: string[][] = []
  for (let file = 0; file < originals; file++) {
    const target = MIN_TEXT_BYTE_LENGTH + pick(MAX_TEXT_BYTE_LENGTH - MIN_TEXT_BYTE_LENGTH)
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
  for (let version = 0; version < VERSION_COUNT; version++) {
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
    for (let copy = 0; copy < COPY_COUNT; copy++) texts.push(texts[copy] as Buffer)
    contents.push(texts)
    parts.push(Buffer.from(`commit refs/heads/main\nmark :${version + 1}\ncommitter Vstore Test <test@vstore.invalid> ${1_700_000_000 + 60 * version} +0000\ndata 12\nversion ${String(version).padStart(3, '0')}\n`))
    texts.forEach((text, file) => {
      parts.push(Buffer.from(`M 100644 inline ${pathOf(file)}\ndata ${text.length}\n`), text, Buffer.from('\n'))
    })
  }
  execFileSync('git', ['init', '-q', '-b', 'main', dir], { env: ENVIRONMENT })
  execFileSync('git', ['-c', 'core.compression=0', '-c', 'pack.compression=0', 'fast-import', '--quiet', '--depth=0'], {
    cwd: dir, env: ENVIRONMENT, input: Buffer.concat(parts), maxBuffer: 64 * 1024 * 1024,
  })
  const commits = execFileSync('git', ['rev-list', '--reverse', 'main'], { cwd: dir, env: ENVIRONMENT }).toString('utf8').trim().split('\n')
  if (commits.length !== VERSION_COUNT) throw new Error(`fast-import made ${commits.length} commits`)
  const texts = new Map<string, { text: Buffer; parents: string[] }>()
  contents.forEach((versionTexts, version) => {
    versionTexts.forEach((text, file) => {
      texts.set(`${pathOf(file)}@${commits[version] as string}`, { text, parents: version === 0 ? [] : [commits[version - 1] as string] })
    })
  })
  return { repo: dir, texts, duplicateTextCount: COPY_COUNT * VERSION_COUNT }
}

// The history is shared by the tests, so it lives in a temp dir of the file, not of a test.
let historyValue: History | undefined
let historyDir: string | undefined
test.before(t => {
  historyDir = mkdtempSync(join(tmpdir(), 'vstore-kill-resume-'))
  const started = performance.now()
  historyValue = buildHistory(join(historyDir, 'repo'))
  let byteLength = 0
  for (const { text } of historyValue.texts.values()) byteLength += text.length
  t.log(`history: ${historyValue.texts.size} texts, ${(byteLength / 1e6).toFixed(1)} MB, made in ${((performance.now() - started) / 1000).toFixed(1)} s`)
})
test.after.always(() => {
  if (historyDir !== undefined) rmSync(historyDir, { recursive: true, force: true })
})

function history(): History {
  if (historyValue === undefined) throw new Error('the history was not built')
  return historyValue
}

// ---------------------------------------------------------------------------------------------------------
// Processes

interface Run {
  readonly status: number | null
  readonly stdout: Buffer
  readonly stderr: string
}

function vstore(args: readonly string[], input = ''): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT, env: ENVIRONMENT, input, maxBuffer: 512 * 1024 * 1024, timeout: PROCESS_TIMEOUT_MILLISECONDS,
  })
  if (result.error !== undefined) throw result.error
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8') }
}

function describeRun(run: Run): string {
  return `exit ${run.status}\nstdout: ${run.stdout.toString('utf8').slice(0, 1000)}\nstderr: ${run.stderr.slice(0, 2000)}`
}

interface Attempt {
  /** `killed`: SIGKILL came before the end; `finished`: the import ended (exit 0) before the moment came. */
  readonly outcome: 'killed' | 'finished'
  readonly milliseconds: number
  readonly stdout: string
}

/**
 * Runs `node ...args` in its own process group and, once `moment()` returns true (polled every 5 ms),
 * kills the group with SIGKILL. A run that ends by itself must exit 0.
 */
async function runUntil(t: ExecutionContext, args: readonly string[], moment?: () => boolean): Promise<Attempt> {
  const started = performance.now()
  const child = spawn(process.execPath, args, { cwd: ROOT, env: ENVIRONMENT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  const stdout: Buffer[] = []
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  let killed = false
  const killGroup = (): void => {
    killed = true
    try {
      process.kill(-(child.pid as number), 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
  const poll = setInterval(() => {
    if (killed) return
    if (performance.now() - started > PROCESS_TIMEOUT_MILLISECONDS) {
      killGroup()
      return
    }
    if (moment?.() === true) killGroup()
  }, 5)
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve => {
    child.on('close', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }))
  })
  clearInterval(poll)
  const milliseconds = performance.now() - started
  if (signal === 'SIGKILL' && killed) {
    t.true(milliseconds < PROCESS_TIMEOUT_MILLISECONDS, `${args.join(' ')} ran for ${milliseconds} ms`)
    return { outcome: 'killed', milliseconds, stdout: '' }
  }
  t.is(code, 0, `exit ${code ?? signal}: ${stderr.slice(0, 2000)}`)
  return { outcome: 'finished', milliseconds, stdout: Buffer.concat(stdout).toString('utf8') }
}

/** Bytes of all pack files of the store now. */
function packFileBytes(store: string): number {
  const dir = join(store, 'packs')
  if (!existsSync(dir)) return 0
  let total = 0
  for (const name of readdirSync(dir)) {
    try {
      total += statSync(join(dir, name)).size
    } catch {
      // Removed between the listing and the stat.
    }
  }
  return total
}

/** The moment the insert has been under way for `delayMilliseconds`: its tmp/ folder exists (reading phase). */
function insertStarted(store: string, delayMilliseconds: number): () => boolean {
  let seenAt: number | undefined
  return () => {
    if (seenAt === undefined && existsSync(join(store, 'tmp'))) seenAt = performance.now()
    return seenAt !== undefined && performance.now() - seenAt >= delayMilliseconds
  }
}

/** The moment the pack files have grown `growthCount` times since this call (groups are being appended). */
function packsGrew(store: string, growthCount: number): () => boolean {
  let last = packFileBytes(store)
  let growths = 0
  return () => {
    const now = packFileBytes(store)
    if (now > last) growths++
    last = now
    return growths >= growthCount
  }
}

// ---------------------------------------------------------------------------------------------------------
// Checks

interface IndexRow {
  file: string
  rev: string
  pack: string
  groupOffset: number
  recordStart: number
  hash: string
  parents: string[]
}

interface GroupListItem {
  packId: number
  groupOffset: number
  header: { storedByteLength: number; headerByteLength: number }
}

function parseJson<T>(t: ExecutionContext, run: Run): T {
  t.is(run.status, 0, describeRun(run))
  return JSON.parse(run.stdout.toString('utf8')) as T
}

/**
 * What any state of the store must satisfy, killed or not: verify exits 0; every indexed key is one of the
 * history's, with its parents, each of which is indexed too; and every key extracts byte-identical to the
 * source. Returns the indexed rows.
 */
function checkStore(t: ExecutionContext, store: string, label: string): IndexRow[] {
  const { texts } = history()
  const verify = vstore(['--store', store, 'verify'])
  t.is(verify.status, 0, `${label}: ${describeRun(verify)}`)
  t.is(verify.stderr, '', label)
  const rows = parseJson<IndexRow[]>(t, vstore(['--store', store, 'dump-index', '--json']))
  t.regex(verify.stdout.toString('utf8'), new RegExp(`^ok: ${rows.length} texts`), label)
  const indexed = new Set(rows.map(row => `${row.file}@${row.rev}`))
  let wrongKeys = 0
  for (const row of rows) {
    const expected = texts.get(`${row.file}@${row.rev}`)
    if (expected === undefined || expected.parents.join(' ') !== row.parents.join(' ')) wrongKeys++
    for (const parent of row.parents) if (!indexed.has(`${row.file}@${parent}`)) wrongKeys++
  }
  t.is(wrongKeys, 0, `${label}: keys that are not the history's, or whose parents are missing`)
  if (rows.length === 0) return rows

  const specs = rows.map(row => `${row.file}@${row.rev}`)
  const run = vstore(['--store', store, 'extract', '--batch'], specs.map(spec => `${spec}\n`).join(''))
  t.is(run.status, 0, `${label}: ${describeRun(run)}`)
  const out = run.stdout
  let offset = 0
  let wrongTexts = 0
  for (const spec of specs) {
    const lineEnd = out.indexOf(0x0a, offset)
    const header = out.subarray(offset, lineEnd).toString('utf8')
    const match = /^(.*) (\d+)$/.exec(header)
    if (lineEnd < 0 || match === null || match[1] !== spec) {
      t.fail(`${label}: extract --batch answered ${JSON.stringify(header.slice(0, 200))} for ${spec}`)
      return rows
    }
    const byteLength = Number(match[2])
    const text = out.subarray(lineEnd + 1, lineEnd + 1 + byteLength)
    if (!text.equals(texts.get(spec)?.text ?? Buffer.alloc(0))) wrongTexts++
    offset = lineEnd + 1 + byteLength + 1
  }
  t.is(wrongTexts, 0, `${label}: keys whose bytes differ from the source`)
  t.is(offset, out.length, label)
  return rows
}

/**
 * After an import ran to completion: every key is there, each distinct content hash is at exactly one
 * `pack@groupOffset:recordStart`, every group in the packs is named by a key, and each pack file ends at
 * its last group (no uncommitted tail, no pack that no key names).
 */
function checkComplete(t: ExecutionContext, store: string, rows: readonly IndexRow[]): void {
  const { texts, duplicateTextCount } = history()
  t.deepEqual(rows.map(row => `${row.file}@${row.rev}`).sort(), [...texts.keys()].sort(), 'every expected key, and no other')
  const locationsByHash = new Map<string, Set<string>>()
  for (const row of rows) {
    const locations = locationsByHash.get(row.hash) ?? new Set<string>()
    locations.add(`${row.pack}@${row.groupOffset}:${row.recordStart}`)
    locationsByHash.set(row.hash, locations)
  }
  const storedTwice = [...locationsByHash].filter(([, locations]) => locations.size > 1)
  t.deepEqual(storedTwice.map(([hash, locations]) => `${hash}: ${[...locations].join(' ')}`), [], 'a content hash stored at two places')
  t.is(locationsByHash.size, texts.size - duplicateTextCount, 'distinct contents')

  const groups = parseJson<GroupListItem[]>(t, vstore(['--store', store, 'dump-group', '--json']))
  const packName = (packId: number): string => `packs/${String(packId).padStart(6, '0')}.vpk`
  const named = new Set(rows.map(row => `${row.pack}@${row.groupOffset}`))
  t.deepEqual(groups.map(group => `${packName(group.packId)}@${group.groupOffset}`).filter(group => !named.has(group)), [], 'groups no key names')
  const packEnds = new Map<string, number>()
  for (const group of groups) {
    const end = group.groupOffset + group.header.headerByteLength + group.header.storedByteLength
    packEnds.set(packName(group.packId), Math.max(end, packEnds.get(packName(group.packId)) ?? 0))
  }
  const onDisk = new Map(readdirSync(join(store, 'packs')).map(name => [`packs/${name}`, statSync(join(store, 'packs', name)).size]))
  t.deepEqual(onDisk, packEnds, 'pack files on disk: each ends at its last group, and no other files')
}

// ---------------------------------------------------------------------------------------------------------
// The tests

test.serial('vstore import-git killed with SIGKILL while reading and while writing, then run again to completion', async t => {
  const { repo, texts } = history()
  const store = join(await makeTempDir(t, 'vstore-kill-cli-'), 'store')
  const importArgs = [BIN, '--store', store, 'import-git', repo, '--json']
  // The first run makes the store; each later moment is measured from a store just checked (so opened).
  const moments: { label: string; moment: () => () => boolean }[] = [
    { label: 'reading, 150 ms after the insert began (a new store)', moment: () => insertStarted(store, 150) },
    { label: 'writing, at the first group appended', moment: () => packsGrew(store, 1) },
    { label: 'writing, at the second pack growth', moment: () => packsGrew(store, 2) },
  ]
  let present = 0
  for (const { label, moment } of moments) {
    const attempt = await runUntil(t, importArgs, moment())
    const rows = checkStore(t, store, `after a kill ${label}`)
    t.log(`${label}: ${attempt.outcome} after ${Math.round(attempt.milliseconds)} ms; ${rows.length} keys committed`)
    t.true(rows.length >= present, 'a kill never loses committed keys')
    present = rows.length
  }

  const final = await runUntil(t, importArgs)
  t.is(final.outcome, 'finished')
  const summary = JSON.parse(final.stdout) as { textCount: number; newTextCount: number }
  t.is(summary.textCount, texts.size)
  t.is(summary.newTextCount, texts.size - present, 'the last run adds exactly the keys that were missing')
  t.log(`completed in ${Math.round(final.milliseconds)} ms`)
  checkComplete(t, store, checkStore(t, store, 'after the import completed'))
})

/** Inserts importGit(repo) through the public API with a small checkpoint; prints the summary as JSON. */
const API_IMPORT = `
const [apiUrl, store, repo, checkpointByteLength] = process.argv.slice(2)
const { Store, importGit } = await import(apiUrl)
const opened = await Store.open(store, { create: true })
try {
  const summary = await opened.insert(importGit(repo), { checkpointByteLength: Number(checkpointByteLength) })
  process.stdout.write(JSON.stringify(summary))
} finally {
  await opened.close()
}
`

test.serial('an insert with checkpoints killed with SIGKILL keeps what it committed, and the rerun adds only the rest', async t => {
  const { repo, texts } = history()
  const dir = await makeTempDir(t, 'vstore-kill-api-')
  const store = join(dir, 'store')
  const script = join(dir, 'import.mjs')
  writeFileSync(script, API_IMPORT)
  const importArgs = [script, API_URL, store, repo, String(2 * 1024 * 1024)]
  const moments: { label: string; moment: () => () => boolean }[] = [
    { label: 'at the first pack growth (a new store)', moment: () => packsGrew(store, 1) },
    { label: 'at the second pack growth of the rerun', moment: () => packsGrew(store, 2) },
    { label: 'at the fifth pack growth of the rerun', moment: () => packsGrew(store, 5) },
  ]
  let present = 0
  for (const { label, moment } of moments) {
    const attempt = await runUntil(t, importArgs, moment())
    const rows = checkStore(t, store, `after a kill ${label}`)
    t.log(`${label}: ${attempt.outcome} after ${Math.round(attempt.milliseconds)} ms; ${rows.length} of ${texts.size} keys committed`)
    t.true(rows.length >= present, 'a kill never loses committed keys')
    present = rows.length
  }

  const final = await runUntil(t, importArgs)
  t.is(final.outcome, 'finished')
  const summary = JSON.parse(final.stdout) as { textCount: number; newTextCount: number }
  t.is(summary.textCount, texts.size)
  t.is(summary.newTextCount, texts.size - present, 'the last run adds exactly the keys that were missing')
  checkComplete(t, store, checkStore(t, store, 'after the insert completed'))
})

// Regression: a new store's index is built beside its place and renamed in whole, so an import killed
// while it makes the store leaves no store, or one that opens.
test.serial('an import killed while it makes a new store leaves no store, or one that opens', async t => {
  const { repo } = history()
  const dir = await makeTempDir(t, 'vstore-kill-create-')
  const needRepair: string[] = []
  for (let attempt = 1; attempt <= 2; attempt++) {
    const store = join(dir, `store-${attempt}`)
    const child = spawn(process.execPath, [BIN, '--store', store, 'import-git', repo, '--quiet'], { cwd: ROOT, env: ENVIRONMENT, detached: true, stdio: 'ignore' })
    const closed = new Promise<void>(resolve => child.on('close', () => resolve()))
    // A busy wait: the window is a few milliseconds wide, narrower than a timer's resolution.
    const started = performance.now()
    while (!existsSync(join(store, 'index')) && performance.now() - started < 10_000) { /* poll */ }
    try {
      process.kill(-(child.pid as number), 'SIGKILL')
    } catch {
      // Already gone.
    }
    await closed
    const verify = vstore(['--store', store, 'verify'])
    // 0: a store that opens; 3 (VSTORE_NOT_FOUND): no store was made. Anything else needs a repair.
    if (verify.status !== 0 && verify.status !== 3) {
      needRepair.push(`attempt ${attempt}: exit ${verify.status} ${verify.stderr.trim()}; index/ holds ${existsSync(join(store, 'index')) ? readdirSync(join(store, 'index')).sort().join(', ') : 'nothing'}`)
    }
    // What repairs it today: anything that opens the store with create (init, or the import run again).
    const again = vstore(['--store', store, 'init'])
    t.is(again.status, 0, `attempt ${attempt}: init: ${describeRun(again)}`)
    t.is(vstore(['--store', store, 'verify']).status, 0, `attempt ${attempt}: verify after init`)
  }
  t.deepEqual(needRepair, [], 'stores that a killed import left unopenable')
})
