/**
 * The release and stream importers as a user runs them: `node bin/vstore import-tar | import-npm |
 * import-fast-export` in real processes, on real archives made here with `tar -czf` / `tar -cJf`, plain
 * folders, a fake `npm` first on PATH that serves real `.tgz` files, and a real git history piped through
 * `git fast-export`. Each test works in its own temp dir (so they never share a store lock).
 */
import test, { type ExecutionContext } from 'ava'
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { branch, commit, deleteFile, expectedFileVersions, git, gitBytes, gitShowMany, makeGitRepo, merge, setExecutable, switchTo, writeFile, writeSymlink, type GitRepo } from '../helpers/git.js'
import { BIN, CLI_ENVIRONMENT, describeRun, PROCESS_TIMEOUT_MILLISECONDS, runVstore, type Run, failsWith, succeeds } from '../helpers/cli.js'
import { makeTempDir } from '../helpers/tmp.js'

// ---------------------------------------------------------------------------------------------------------
// Processes

const BASE_ENVIRONMENT = CLI_ENVIRONMENT

/** Runs `node bin/vstore ...args` to its end. */
const vstore = runVstore

function inStore(store: string, ...args: string[]): Run {
  return vstore(['--store', store, ...args])
}


function parseJsonText<T>(t: ExecutionContext, text: string): T {
  try {
    return JSON.parse(text) as T
  } catch (error) {
    t.fail(`not JSON: ${text.slice(0, 500)}`)
    throw error
  }
}

function parseJson<T>(t: ExecutionContext, run: Run): T {
  return parseJsonText<T>(t, succeeds(t, run))
}

interface ImportSummary {
  textCount: number
  newTextCount: number
  duplicateTextCount: number
  rawByteLength: number
  newRawByteLength: number
  groupCount: number
  storedByteLength: number
  storeByteLength: number
  seconds: number
}

/** An import run with `--json`: exit 0, the summary JSON on stdout, and on stderr nothing but JSON progress lines. */
function importedJson(t: ExecutionContext, run: Run): ImportSummary {
  t.is(run.status, 0, describeRun(run))
  for (const line of run.stderr.split('\n').filter(line => line !== '')) {
    const event = parseJsonText<Record<string, unknown>>(t, line)
    t.is(event['event'], 'progress', line)
  }
  const summary = parseJsonText<ImportSummary>(t, run.stdout.toString('utf8'))
  t.is(typeof summary.seconds, 'number')
  return summary
}

const SUMMARY_LINE = /^imported (\d+) texts \((\d+) new, (\d+) stored once\): \d+(?:\.\d+)? (?:B|KiB|MiB) in, (\d+) groups?, store now \d+(?:\.\d+)? (?:B|KiB|MiB) \((?:\d+\.\d|-):1\), \d+\.\d s, \d+\.\d MB\/s\n$/

interface IndexRow {
  file: string
  rev: string
  pack: string
  groupOffset: number
  recordStart: number
  recordEnd: number
  textByteLength: number
  hash: string
  parents: string[]
}

function dumpIndex(t: ExecutionContext, store: string): IndexRow[] {
  return parseJson<IndexRow[]>(t, inStore(store, 'dump-index', '--json'))
}

/** The rows as sorted `file@rev <- parents` lines: a compact, comparable view of what a store holds. */
function keyLines(rows: readonly IndexRow[]): string[] {
  return rows.map(row => `${row.file}@${row.rev} <- ${row.parents.join(',')}`).sort()
}

/** Every pack file's bytes, by name. */
function packBytes(store: string): Map<string, Buffer> {
  return new Map(readdirSync(join(store, 'packs')).sort().map(name => [name, readFileSync(join(store, 'packs', name))]))
}

/**
 * `extract --batch` of `specs` in one process: each spec's bytes, or undefined when it answered "missing".
 * Parses `SPEC SIZE\n<bytes>\n` by the announced size, so binary texts holding line feeds are fine.
 */
function extractBatch(t: ExecutionContext, store: string, specs: readonly string[]): Map<string, Buffer | undefined> {
  const run = vstore(['--store', store, 'extract', '--batch'], { input: specs.map(spec => `${spec}\n`).join('') })
  t.is(run.status, 0, describeRun(run))
  t.is(run.stderr, '')
  const out = run.stdout
  const texts = new Map<string, Buffer | undefined>()
  let offset = 0
  for (const spec of specs) {
    const lineEnd = out.indexOf(0x0a, offset)
    if (lineEnd < 0) {
      t.fail(`extract --batch ended before ${spec}`)
      return texts
    }
    const header = out.subarray(offset, lineEnd).toString('utf8')
    if (header === `${spec} missing`) {
      texts.set(spec, undefined)
      offset = lineEnd + 1
      continue
    }
    const match = /^(.*) (\d+)$/.exec(header)
    if (match === null || match[1] !== spec) {
      t.fail(`extract --batch: expected a header for ${spec}, got ${JSON.stringify(header)}`)
      return texts
    }
    const byteLength = Number(match[2])
    texts.set(spec, out.subarray(lineEnd + 1, lineEnd + 1 + byteLength))
    t.is(out[lineEnd + 1 + byteLength], 0x0a, `a line feed after the bytes of ${spec}`)
    offset = lineEnd + 1 + byteLength + 1
  }
  t.is(offset, out.length, 'nothing after the last answer')
  return texts
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

// ---------------------------------------------------------------------------------------------------------
// Releases

/** Deterministic bytes of every value (NUL, CR, LF, invalid UTF-8 among them). */
function pseudoRandomBytes(byteLength: number, seed: number): Buffer {
  const bytes = Buffer.alloc(byteLength)
  let state = seed >>> 0
  for (let i = 0; i < byteLength; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    bytes[i] = state >>> 24
  }
  return bytes
}

function sourceFile(version: number, lineCount = 80): string {
  return Array.from({ length: lineCount }, (_, i) => i % 17 === version
    ? `int line${i} = ${version}; /* edited in version ${version} */\n`
    : `int line${i} = ${i}; /* a line long enough to be worth a copy in a delta */\n`).join('')
}

const README = '# proj\n\nThe same bytes in every release.\n'
const BLOB_1 = pseudoRandomBytes(20_000, 1)
const BLOB_3 = Buffer.concat([BLOB_1.subarray(0, 15_000), pseudoRandomBytes(700, 3), BLOB_1.subarray(15_000)])

type Tree = Readonly<Record<string, string | Buffer>>

interface ReleaseSpec {
  /** The archive's (or folder's) file name; the revision is this name without its extension. */
  readonly fileName: string
  readonly rev: string
  readonly kind: 'tar.gz' | 'tar.xz' | 'folder'
  /** The folder every path lies in inside the archive; none for a folder release. */
  readonly top?: string
  readonly files: Tree
}

/**
 * Four releases of one project, each file's story chosen to test one rule: README.md never changes;
 * src/main.c changes every time and goes back to its first bytes in 1.3; src/gone.c is missing from 1.1 and
 * back (changed) in 1.2; data/blob.bin is binary, unchanged in 1.1; src/new.c appears in 1.1;
 * docs/only-first.txt is only in 1.0; empty.txt (empty) appears in 1.2; src/added.c appears in 1.3.
 */
const RELEASES: readonly ReleaseSpec[] = [
  {
    fileName: 'proj-1.0.tar.gz', rev: 'proj-1.0', kind: 'tar.gz', top: 'proj-1.0',
    files: { 'README.md': README, 'src/main.c': sourceFile(1), 'src/gone.c': sourceFile(2, 30), 'data/blob.bin': BLOB_1, 'docs/only-first.txt': 'only in 1.0\n' },
  },
  {
    fileName: 'proj-1.1.tar.xz', rev: 'proj-1.1', kind: 'tar.xz', top: 'proj-1.1',
    files: { 'README.md': README, 'src/main.c': sourceFile(3), 'data/blob.bin': BLOB_1, 'src/new.c': sourceFile(4, 20) },
  },
  {
    fileName: 'proj-1.2', rev: 'proj-1.2', kind: 'folder',
    files: { 'README.md': README, 'src/main.c': sourceFile(5), 'src/gone.c': sourceFile(6, 30), 'data/blob.bin': BLOB_3, 'src/new.c': sourceFile(4, 20), 'empty.txt': '' },
  },
  {
    fileName: 'proj-1.3.tgz', rev: 'proj-1.3', kind: 'tar.gz', top: 'package',
    files: { 'README.md': README, 'src/main.c': sourceFile(1), 'src/gone.c': sourceFile(6, 30), 'data/blob.bin': BLOB_3, 'src/new.c': sourceFile(7, 20), 'empty.txt': '', 'src/added.c': 'int added;\n' },
  },
]

function writeTree(root: string, files: Tree): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), content)
  }
}

/** Makes the release in `dir` (with the real tar command, or as a plain folder) and returns its path. */
function makeRelease(dir: string, release: ReleaseSpec): string {
  const path = join(dir, release.fileName)
  if (release.kind === 'folder') {
    writeTree(path, release.files)
    return path
  }
  const work = join(dir, 'work', release.fileName)
  writeTree(join(work, release.top ?? ''), release.files)
  execFileSync('tar', [release.kind === 'tar.gz' ? '-czf' : '-cJf', path, '-C', work, release.top ?? '.'])
  return path
}

interface ExpectedKey {
  readonly file: string
  readonly rev: string
  readonly parents: readonly string[]
  readonly text: Buffer
}

/**
 * The texts a release import should make, worked out independently: a file makes a text in a release when
 * its bytes differ from its last stored version (in any earlier release), with that version as its parent.
 * Also, for each release, the key holding each of its files' bytes.
 */
function expectedHistory(releases: readonly ReleaseSpec[]): { keys: ExpectedKey[]; versionAt: Map<string, Map<string, string>> } {
  const keys: ExpectedKey[] = []
  const last = new Map<string, { rev: string; text: Buffer }>()
  const versionAt = new Map<string, Map<string, string>>()
  for (const release of releases) {
    const versions = new Map<string, string>()
    for (const [file, content] of Object.entries(release.files)) {
      const text = Buffer.from(content)
      const previous = last.get(file)
      if (previous === undefined || !previous.text.equals(text)) {
        keys.push({ file, rev: release.rev, parents: previous === undefined ? [] : [previous.rev], text })
        last.set(file, { rev: release.rev, text })
      }
      versions.set(file, (last.get(file) as { rev: string }).rev)
    }
    versionAt.set(release.rev, versions)
  }
  return { keys, versionAt }
}

function keyLinesOf(keys: readonly ExpectedKey[]): string[] {
  return keys.map(key => `${key.file}@${key.rev} <- ${key.parents.join(',')}`).sort()
}

interface TarFixture {
  readonly dir: string
  /** The four releases' paths, in order. */
  readonly paths: readonly string[]
  /** A store holding releases 1.0, 1.1 and 1.2 (imported with --json), and that run's summary. */
  readonly store: string
  readonly firstRun: Run
}

async function tarFixture(t: ExecutionContext): Promise<TarFixture> {
  const dir = await makeTempDir(t, 'vstore-import-tar-')
  const paths = RELEASES.map(release => makeRelease(join(dir, 'releases'), release))
  const store = join(dir, 'store')
  const firstRun = inStore(store, 'import-tar', ...paths.slice(0, 3), '--json')
  return { dir, paths, store, firstRun }
}

// ---------------------------------------------------------------------------------------------------------
// import-tar

test('import-tar of a .tar.gz, a .tar.xz and a folder makes one linear history per file', async t => {
  const { store, firstRun } = await tarFixture(t)
  const { keys } = expectedHistory(RELEASES.slice(0, 3))
  const summary = importedJson(t, firstRun)
  t.like(summary, { textCount: keys.length, newTextCount: keys.length, duplicateTextCount: 0 })
  t.is(summary.rawByteLength, keys.reduce((sum, key) => sum + key.text.length, 0))
  t.deepEqual(keyLines(dumpIndex(t, store)), keyLinesOf(keys))

  // Exact logs, newest first; the single top folder of each archive is stripped from the file ids.
  t.is(succeeds(t, inStore(store, 'log', 'src/main.c')), 'proj-1.2 proj-1.1\nproj-1.1 proj-1.0\nproj-1.0\n')
  t.is(succeeds(t, inStore(store, 'log', 'README.md')), 'proj-1.0\n', 'an unchanged file has one revision')
  t.is(succeeds(t, inStore(store, 'log', 'src/gone.c')), 'proj-1.2 proj-1.0\nproj-1.0\n', 'missing from 1.1, it continues from its 1.0 version')
  t.is(succeeds(t, inStore(store, 'log', 'data/blob.bin')), 'proj-1.2 proj-1.0\nproj-1.0\n')
  t.is(succeeds(t, inStore(store, 'log', 'src/new.c')), 'proj-1.1\n')
  t.is(succeeds(t, inStore(store, 'log', 'docs/only-first.txt')), 'proj-1.0\n')
  t.is(succeeds(t, inStore(store, 'log', 'empty.txt')), 'proj-1.2\n')
  t.deepEqual(parseJson<unknown>(t, inStore(store, 'log', 'src/gone.c', '--json')), [{ rev: 'proj-1.2', parents: ['proj-1.0'] }, { rev: 'proj-1.0', parents: [] }])
  for (const topFolder of ['proj-1.0/README.md', 'proj-1.1/src/main.c']) {
    failsWith(t, inStore(store, 'log', topFolder), 3, 'VSTORE_NOT_FOUND')
  }
  t.regex(succeeds(t, inStore(store, 'verify', '--full')), /^ok: 11 texts in \d+ groups? verified, every text rebuilt\n$/)
})

test('import-tar: extract gives each release\'s bytes of each of its files', async t => {
  const { store, firstRun } = await tarFixture(t)
  t.is(firstRun.status, 0, describeRun(firstRun))
  const { versionAt } = expectedHistory(RELEASES.slice(0, 3))
  const wanted: { spec: string; text: Buffer }[] = []
  for (const release of RELEASES.slice(0, 3)) {
    for (const [file, content] of Object.entries(release.files)) {
      wanted.push({ spec: `${file}@${versionAt.get(release.rev)?.get(file) ?? '?'}`, text: Buffer.from(content) })
    }
  }
  const texts = extractBatch(t, store, wanted.map(item => item.spec))
  for (const { spec, text } of wanted) t.true(texts.get(spec)?.equals(text) === true, `${spec}: ${texts.get(spec)?.length} bytes, expected ${text.length}`)
  // One-key extract too, of the binary file and the empty one.
  t.true(inStore(store, 'extract', 'data/blob.bin@proj-1.2').stdout.equals(BLOB_3))
  t.true(inStore(store, 'extract', 'data/blob.bin@proj-1.0').stdout.equals(BLOB_1))
  const empty = inStore(store, 'extract', 'empty.txt@proj-1.2')
  t.is(empty.status, 0, describeRun(empty))
  t.is(empty.stdout.length, 0)
  // 1.1 made no text of README.md: its bytes there are those of proj-1.0.
  failsWith(t, inStore(store, 'extract', 'README.md@proj-1.1'), 3, 'VSTORE_NOT_FOUND')
})

test('import-tar again with a 4th release adds only that release\'s changed files', async t => {
  const { store, paths, firstRun } = await tarFixture(t)
  t.is(firstRun.status, 0, describeRun(firstRun))
  const before = dumpIndex(t, store)
  const all = expectedHistory(RELEASES)
  const added = all.keys.filter(key => key.rev === 'proj-1.3')
  // main.c (back to its 1.0 bytes), new.c, added.c.
  t.deepEqual(added.map(key => key.file).sort(), ['src/added.c', 'src/main.c', 'src/new.c'])

  // A copy of the store, to import only the new release into.
  const onlyNew = join(dirname(store), 'only-new')
  cpSync(store, onlyNew, { recursive: true })

  const summary = importedJson(t, inStore(store, 'import-tar', ...paths, '--json'))
  // main.c@1.3 repeats main.c@1.0, from an earlier batch: a version of its own file, so it is found.
  t.like(summary, { textCount: added.length, newTextCount: added.length, duplicateTextCount: 1 })
  t.is(summary.newRawByteLength, added.reduce((sum, key) => sum + key.text.length, 0))
  const after = dumpIndex(t, store)
  t.deepEqual(keyLines(after), keyLinesOf(all.keys))
  // What was stored is untouched, row for row.
  for (const row of before) t.deepEqual(after.find(other => other.file === row.file && other.rev === row.rev), row)
  t.is(succeeds(t, inStore(store, 'log', 'src/main.c')), 'proj-1.3 proj-1.2\nproj-1.2 proj-1.1\nproj-1.1 proj-1.0\nproj-1.0\n')
  t.is(succeeds(t, inStore(store, 'log', 'src/added.c')), 'proj-1.3\n')
  // main.c@1.3 has the bytes of main.c@1.0, and points at them.
  const location = (row: IndexRow | undefined): string => (row === undefined ? 'none' : `${row.pack}@${row.groupOffset}:${row.recordStart}`)
  t.is(location(after.find(row => row.file === 'src/main.c' && row.rev === 'proj-1.3')), location(after.find(row => row.file === 'src/main.c' && row.rev === 'proj-1.0')))
  t.true(inStore(store, 'extract', 'src/main.c@proj-1.3').stdout.equals(Buffer.from(sourceFile(1))))

  // A third run of the same list adds nothing.
  t.like(importedJson(t, inStore(store, 'import-tar', ...paths, '--json')), { textCount: 0, newTextCount: 0, groupCount: 0 })
  t.deepEqual(dumpIndex(t, store), after)

  // Importing the 4th release alone continues each file from its newest stored version, the same way.
  t.like(importedJson(t, inStore(onlyNew, 'import-tar', paths[3] as string, '--json')), { newTextCount: added.length })
  t.deepEqual(keyLines(dumpIndex(t, onlyNew)), keyLinesOf(all.keys))
})

test('import-tar prints one summary line, nothing with --quiet, and progress only on a terminal', async t => {
  const { dir, paths } = await tarFixture(t)
  const { keys } = expectedHistory(RELEASES)
  const plain = succeeds(t, inStore(join(dir, 'plain'), 'import-tar', ...paths))
  const match = SUMMARY_LINE.exec(plain)
  if (match === null) return t.fail(`summary line: ${JSON.stringify(plain)}`)
  t.is(Number(match[1]), keys.length)
  t.is(Number(match[2]), keys.length)
  t.is(Number(match[3]), 1, 'main.c@1.3 holds the bytes of main.c@1.0')

  t.is(succeeds(t, inStore(join(dir, 'quiet'), 'import-tar', ...paths, '--quiet')), '')
  t.deepEqual(keyLines(dumpIndex(t, join(dir, 'quiet'))), keyLinesOf(keys))

  // On a terminal (a pseudo-terminal from script(1)), a live progress line comes before the summary.
  const probe = spawnSync('script', ['--version'])
  if (probe.status !== 0) return t.log('no script(1) here: the terminal case is not checked')
  const command = [process.execPath, BIN, '--store', join(dir, 'tty'), 'import-tar', ...paths].map(arg => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ')
  const tty = spawnSync('script', ['-qec', command, '/dev/null'], { env: BASE_ENVIRONMENT, timeout: PROCESS_TIMEOUT_MILLISECONDS })
  const screen = tty.stdout.toString('utf8')
  t.is(tty.status, 0, screen)
  t.regex(screen, /writing .*100%/)
  t.true(screen.includes(`imported ${keys.length} texts (${keys.length} new, 1 stored once)`), screen)
})

test('import-tar --rev names each release', async t => {
  const { dir, paths } = await tarFixture(t)
  const store = join(dir, 'named')
  importedJson(t, inStore(store, 'import-tar', paths[0] as string, paths[1] as string, '--rev', 'v1', '--rev', 'v2@beta', '--json'))
  t.is(succeeds(t, inStore(store, 'log', 'src/main.c')), 'v2@beta v1\nv1\n')
  t.is(succeeds(t, inStore(store, 'log', 'README.md')), 'v1\n')
  t.true(inStore(store, 'extract', 'src/main.c@v2@beta').stdout.equals(Buffer.from(sourceFile(3))))
  t.true(inStore(store, 'extract', 'src/main.c@v1').stdout.equals(Buffer.from(sourceFile(1))))
  // One --rev per archive, or none.
  failsWith(t, inStore(join(dir, 'usage'), 'import-tar', paths[0] as string, paths[1] as string, '--rev', 'v1'), 2, 'VSTORE_USAGE')
  t.false(existsSync(join(dir, 'usage')))
  // Two archives that give the same revision are refused, and nothing is stored.
  const twice = failsWith(t, inStore(join(dir, 'twice'), 'import-tar', paths[0] as string, paths[1] as string, '--rev', 'v1', '--rev', 'v1'), 6, 'VSTORE_IMPORT')
  t.true(twice.includes(paths[1] as string), twice)
  t.false(existsSync(join(dir, 'twice')), 'a failed first import leaves no store')
})

test('import-tar of a corrupt archive exits 6 naming it, and leaves the store as it was before that release', async t => {
  const { dir, paths, store, firstRun } = await tarFixture(t)
  t.is(firstRun.status, 0, describeRun(firstRun))
  const good = readFileSync(paths[3] as string)
  const xz = readFileSync(paths[1] as string)
  const broken = join(dir, 'broken')
  mkdirSync(broken)
  const corrupt: { name: string; bytes: Buffer }[] = [
    { name: 'cut-1.3.tgz', bytes: good.subarray(0, Math.floor(good.length * 0.6)) },
    { name: 'flipped-1.3.tgz', bytes: (() => { const bytes = Buffer.from(good); for (let i = 40; i < bytes.length - 20; i += 97) bytes[i] = (bytes[i] as number) ^ 0x5a; return bytes })() },
    { name: 'cut-1.1.tar.xz', bytes: xz.subarray(0, Math.floor(xz.length * 0.5)) },
    { name: 'not-a-tar-1.4.tar', bytes: Buffer.from('this is not a tar archive at all, just text that goes on long enough\n'.repeat(20)) },
  ]
  const keysBefore = dumpIndex(t, store)
  const packsBefore = packBytes(store)
  const onlyFirst = join(dir, 'only-first')
  succeeds(t, inStore(onlyFirst, 'import-tar', paths[0] as string))
  for (const { name, bytes } of corrupt) {
    const path = join(broken, name)
    writeFileSync(path, bytes)
    // After the three good releases, so their texts (already stored) pass through first.
    const line = failsWith(t, inStore(store, 'import-tar', ...paths.slice(0, 3), path), 6, 'VSTORE_IMPORT')
    t.true(line.includes(path), `${name}: ${line}`)
    t.deepEqual(dumpIndex(t, store), keysBefore, name)
    t.deepEqual(packBytes(store), packsBefore, `${name}: the packs are byte for byte as before`)
    // Into a new store: the release before the corrupt one is kept, and the error says so.
    const fresh = join(dir, `fresh-${name}`)
    const freshLine = failsWith(t, inStore(fresh, 'import-tar', paths[0] as string, path), 6, 'VSTORE_IMPORT')
    t.true(freshLine.includes('the releases before it are stored'), freshLine)
    t.deepEqual(keyLines(dumpIndex(t, fresh)), keyLines(dumpIndex(t, onlyFirst)), `${name}: the first release, whole`)
    t.regex(succeeds(t, inStore(fresh, 'verify')), /^ok: /)
    // Alone into a new store: nothing is stored, and no store is left behind.
    const alone = join(dir, `alone-${name}`)
    failsWith(t, inStore(alone, 'import-tar', path), 6, 'VSTORE_IMPORT')
    t.false(existsSync(alone), name)
  }
  t.regex(succeeds(t, inStore(store, 'verify')), /^ok: 11 texts/)
})

test('import-tar of a tarball holding ../evil exits 6 with VSTORE_IMPORT, stores the releases before it and nothing of it', async t => {
  const { dir, paths, store, firstRun } = await tarFixture(t)
  t.is(firstRun.status, 0, describeRun(firstRun))
  // tar -P keeps the `..` in the member name.
  const work = join(dir, 'evil-work')
  writeTree(join(work, 'inside'), { 'evil-1.0/ok.txt': 'fine\n', 'evil-1.0/src/also-ok.c': sourceFile(9) })
  writeFileSync(join(work, 'evil.txt'), 'outside the release\n')
  const evil = join(dir, 'evil-1.0.tar.gz')
  execFileSync('tar', ['-P', '-czf', evil, 'evil-1.0/ok.txt', '../evil.txt', 'evil-1.0/src/also-ok.c'], { cwd: join(work, 'inside'), stdio: 'ignore' })
  t.true(execFileSync('tar', ['-tzf', evil], { stdio: ['ignore', 'pipe', 'ignore'] }).toString('utf8').split('\n').includes('../evil.txt'))

  const line = failsWith(t, inStore(store, 'import-tar', ...paths, evil), 6, 'VSTORE_IMPORT')
  t.true(line.includes(`${evil}:../evil.txt`), line)
  // The store is as it was before that release: 1.3, before it in the list, is stored; nothing of it is.
  const complete = join(dir, 'complete')
  succeeds(t, inStore(complete, 'import-tar', ...paths))
  t.deepEqual(keyLines(dumpIndex(t, store)), keyLines(dumpIndex(t, complete)))
  t.false(dumpIndex(t, store).some(row => row.file.includes('evil')))
  const fresh = join(dir, 'fresh')
  failsWith(t, inStore(fresh, 'import-tar', evil), 6, 'VSTORE_IMPORT')
  t.false(existsSync(fresh))
})

test('import-tar refuses an older release after a newer one: exit 2 naming both, nothing written; --allow-older takes it', async t => {
  const dir = await makeTempDir(t)
  const zstd = (version: string, code: string): ReleaseSpec => ({
    fileName: `zstd-${version}.tar.gz`, rev: `zstd-${version}`, kind: 'tar.gz', top: `zstd-${version}`,
    files: { README: README, 'lib/zstd.c': code, [`notes-${version}.txt`]: `${version}\n` },
  })
  const older = makeRelease(join(dir, 'releases'), zstd('1.5.5', sourceFile(1)))
  const newer = makeRelease(join(dir, 'releases'), zstd('1.5.6', sourceFile(2)))
  const store = join(dir, 'store')
  succeeds(t, inStore(store, 'import-tar', newer))
  const [keysBefore, packsBefore] = [dumpIndex(t, store), packBytes(store)]

  const line = failsWith(t, inStore(store, 'import-tar', older), 2, 'VSTORE_USAGE')
  t.true(line.includes('zstd-1.5.5') && line.includes('zstd-1.5.6'), line)
  t.deepEqual(dumpIndex(t, store), keysBefore)
  t.deepEqual(packBytes(store), packsBefore, 'the packs are byte for byte as before')
  // Listed before the newer one in the same command: the stored 1.5.6 still comes first.
  failsWith(t, inStore(store, 'import-tar', older, newer), 2, 'VSTORE_USAGE')
  t.deepEqual(dumpIndex(t, store), keysBefore)

  // Out of order on one command line, into a new store: refused before anything is read, and no store is left.
  const fresh = join(dir, 'fresh')
  const freshLine = failsWith(t, inStore(fresh, 'import-tar', newer, older), 2, 'VSTORE_USAGE')
  t.true(freshLine.includes('zstd-1.5.5') && freshLine.includes('zstd-1.5.6'), freshLine)
  t.false(existsSync(fresh))
  failsWith(t, inStore(fresh, 'import-tar', newer, join(dir, 'missing', 'zstd-1.5.4.tar.gz')), 2, 'VSTORE_USAGE')

  // Asked for explicitly, the older release is taken, its changed files descending from the newer one.
  t.like(importedJson(t, inStore(store, 'import-tar', older, '--allow-older', '--json')), { newTextCount: 2 })
  t.is(succeeds(t, inStore(store, 'log', 'lib/zstd.c')), 'zstd-1.5.5 zstd-1.5.6\nzstd-1.5.6\n')
  // A release whose name has no version cannot be placed, so it is let through.
  const nightly = join(dir, 'nightly')
  succeeds(t, inStore(nightly, 'import-tar', newer))
  t.like(importedJson(t, inStore(nightly, 'import-tar', older, '--rev', 'nightly', '--json')), { newTextCount: 2 })
})

// ---------------------------------------------------------------------------------------------------------
// import-npm, through a fake npm first on PATH

/**
 * Stands in for `npm view NAME versions --json`, `npm view SPEC version dist.integrity dist.shasum --json`
 * (SPEC = NAME@VERSION or NAME@>=0.0.0) and `npm pack NAME@VERSION --pack-destination DIR --json`, serving the
 * .tgz files of registry.json. It logs each call (arguments, one JSON array a line) to calls.log.
 */
const FAKE_NPM = `'use strict'
const fs = require('fs')
const path = require('path')
const root = __dirname
const registry = JSON.parse(fs.readFileSync(path.join(root, 'registry.json'), 'utf8'))
const args = process.argv.slice(2)
fs.appendFileSync(path.join(root, 'calls.log'), JSON.stringify(args) + '\\n')
const print = value => { process.stdout.write(JSON.stringify(value, null, 2) + '\\n'); process.exit(0) }
const fail = message => {
  process.stderr.write('npm error code E404\\nnpm error ' + message + '\\n')
  process.stdout.write(JSON.stringify({ error: { code: 'E404', summary: message } }))
  process.exit(1)
}
const split = spec => { const at = spec.indexOf('@', 1); return at === -1 ? [spec, undefined] : [spec.slice(0, at), spec.slice(at + 1)] }
if (args[0] === 'view') {
  const [name, selector] = split(args[1])
  const pkg = registry[name]
  if (pkg === undefined) fail('404 Not Found - GET https://registry.invalid/' + name)
  const fields = args.slice(2).filter(arg => arg !== '--json')
  const all = Object.keys(pkg)
  if (fields.join() === 'versions') print(all.length === 1 ? all[0] : all)
  const versions = selector !== undefined && selector in pkg ? [selector] : all.filter(v => !v.includes('-'))
  const items = versions.map(v => Object.fromEntries(fields.map(f => [f, f === 'version' ? v : f === 'dist.integrity' ? pkg[v].integrity : f === 'dist.shasum' ? pkg[v].shasum : undefined])))
  print(items.length === 1 ? items[0] : items)
}
if (args[0] === 'pack') {
  const [name, version] = split(args[1])
  const destination = args[args.indexOf('--pack-destination') + 1]
  const release = registry[name] && registry[name][version]
  if (release === undefined) fail('No matching version found for ' + args[1])
  const filename = name.replace('@', '').replace('/', '-') + '-' + version + '.tgz'
  fs.copyFileSync(release.file, path.join(destination, filename))
  print([{ id: name + '@' + version, name, version, filename, integrity: release.integrity, shasum: release.shasum, files: [] }])
}
fail('unknown command ' + args.join(' '))
`

type Packages = Readonly<Record<string, Readonly<Record<string, Tree>>>>

const FAKEPKG: Readonly<Record<string, Tree>> = {
  '1.0.0': { 'package.json': '{ "name": "fakepkg", "version": "1.0.0" }\n', 'index.js': sourceFile(1, 40), 'lib/util.js': sourceFile(2, 40), 'README.md': '# fakepkg\n' },
  '1.1.0': { 'package.json': '{ "name": "fakepkg", "version": "1.1.0" }\n', 'index.js': sourceFile(3, 40), 'lib/util.js': sourceFile(2, 40), 'README.md': '# fakepkg\n' },
  '1.2.0-beta.1': { 'package.json': '{ "name": "fakepkg", "version": "1.2.0-beta.1" }\n', 'index.js': 'beta\n', 'lib/util.js': 'beta\n', 'README.md': 'beta\n' },
  '2.0.0': { 'package.json': '{ "name": "fakepkg", "version": "2.0.0" }\n', 'index.js': sourceFile(3, 40), 'lib/util.js': sourceFile(5, 40), 'README.md': '# fakepkg\n', 'lib/new.js': 'new in 2\n' },
}

const SCOPED: Readonly<Record<string, Tree>> = {
  '0.1.0': { 'package.json': '{ "name": "@scope/tool", "version": "0.1.0" }\n', 'bin/tool.js': '#!/usr/bin/env node\nconsole.log("tool")\n' },
}

interface FakeNpm {
  /** The environment whose PATH finds the fake npm first (and node, for its script). */
  readonly env: NodeJS.ProcessEnv
  readonly cacheDir: string
  /** Each npm call's arguments so far, oldest first. */
  calls(): string[][]
  clearCalls(): void
}

/** Publishes each version's files as a real `package/…` .tgz (tar -czf) behind a fake npm on PATH. */
async function fakeNpm(t: ExecutionContext, packages: Packages): Promise<FakeNpm> {
  const root = await makeTempDir(t, 'vstore-import-npm-')
  const registry: Record<string, Record<string, { file: string; integrity: string; shasum: string }>> = {}
  for (const [name, versions] of Object.entries(packages)) {
    const published: Record<string, { file: string; integrity: string; shasum: string }> = {}
    for (const [version, files] of Object.entries(versions)) {
      const fileName = `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`
      const work = join(root, 'work', fileName)
      writeTree(join(work, 'package'), files)
      mkdirSync(join(root, 'tarballs'), { recursive: true })
      const file = join(root, 'tarballs', fileName)
      execFileSync('tar', ['-czf', file, '-C', work, 'package'])
      const bytes = readFileSync(file)
      published[version] = {
        file,
        integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
        shasum: createHash('sha1').update(bytes).digest('hex'),
      }
    }
    registry[name] = published
  }
  const bin = join(root, 'bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'registry.json'), JSON.stringify(registry))
  writeFileSync(join(bin, 'fake-npm.cjs'), FAKE_NPM)
  writeFileSync(join(bin, 'npm'), `#!/bin/sh\nexec '${process.execPath}' "$(dirname "$0")/fake-npm.cjs" "$@"\n`)
  chmodSync(join(bin, 'npm'), 0o755)
  const callsPath = join(bin, 'calls.log')
  return {
    env: { ...BASE_ENVIRONMENT, PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`, XDG_CACHE_HOME: join(root, 'xdg-cache'), HOME: root },
    cacheDir: join(root, 'cache'),
    calls: () => (existsSync(callsPath) ? readFileSync(callsPath, 'utf8').split('\n').filter(line => line !== '').map(line => JSON.parse(line) as string[]) : []),
    clearCalls: () => writeFileSync(callsPath, ''),
  }
}

function npmRun(npm: FakeNpm, store: string, ...args: string[]): Run {
  return vstore(['--store', store, 'import-npm', ...args, '--cache', npm.cacheDir], { env: npm.env })
}

test('import-npm: a range\'s stable versions in semver order, ids NAME/path, revisions NAME@VERSION', async t => {
  const npm = await fakeNpm(t, { fakepkg: FAKEPKG, '@scope/tool': SCOPED })
  const store = join(await makeTempDir(t), 'store')
  const summary = importedJson(t, npmRun(npm, store, 'fakepkg@^1', '@scope/tool', '--json'))
  // fakepkg 1.0.0 (4 files) and 1.1.0 (package.json, index.js); the beta is no stable version; @scope/tool 0.1.0 (2 files).
  t.like(summary, { textCount: 8, newTextCount: 8 })
  t.deepEqual(keyLines(dumpIndex(t, store)), [
    '@scope/tool/bin/tool.js@@scope/tool@0.1.0 <- ',
    '@scope/tool/package.json@@scope/tool@0.1.0 <- ',
    'fakepkg/README.md@fakepkg@1.0.0 <- ',
    'fakepkg/index.js@fakepkg@1.0.0 <- ',
    'fakepkg/index.js@fakepkg@1.1.0 <- fakepkg@1.0.0',
    'fakepkg/lib/util.js@fakepkg@1.0.0 <- ',
    'fakepkg/package.json@fakepkg@1.0.0 <- ',
    'fakepkg/package.json@fakepkg@1.1.0 <- fakepkg@1.0.0',
  ])
  t.is(succeeds(t, inStore(store, 'log', 'fakepkg/index.js')), 'fakepkg@1.1.0 fakepkg@1.0.0\nfakepkg@1.0.0\n')
  t.is(succeeds(t, inStore(store, 'log', 'fakepkg/lib/util.js')), 'fakepkg@1.0.0\n')
  t.true(inStore(store, 'extract', 'fakepkg/index.js@fakepkg@1.1.0').stdout.equals(Buffer.from(sourceFile(3, 40))))
  t.true(inStore(store, 'extract', 'fakepkg/index.js@fakepkg@1.0.0').stdout.equals(Buffer.from(sourceFile(1, 40))))
  t.true(inStore(store, 'extract', '@scope/tool/bin/tool.js@@scope/tool@0.1.0').stdout.equals(Buffer.from(SCOPED['0.1.0']?.['bin/tool.js'] ?? '')))
  // Each tarball was fetched once with npm pack, and kept in the cache under npm's name.
  const packs = npm.calls().filter(args => args[0] === 'pack').map(args => args[1])
  t.deepEqual(packs.sort(), ['@scope/tool@0.1.0', 'fakepkg@1.0.0', 'fakepkg@1.1.0'])
  t.deepEqual(readdirSync(npm.cacheDir).filter(name => name.endsWith('.tgz')).sort(), ['fakepkg-1.0.0.tgz', 'fakepkg-1.1.0.tgz', 'scope-tool-0.1.0.tgz'])
  t.false(existsSync(join(npm.env['XDG_CACHE_HOME'] as string)), 'the default cache is not touched when --cache is given')
})

test('import-npm again with the cache and no new versions adds nothing and fetches nothing', async t => {
  const npm = await fakeNpm(t, { fakepkg: FAKEPKG })
  const store = join(await makeTempDir(t), 'store')
  const first = npmRun(npm, store, 'fakepkg@^1')
  t.is(first.status, 0, describeRun(first))
  t.regex(first.stdout.toString('utf8'), SUMMARY_LINE)
  // Without --json or --quiet each download is noted on stderr (its counter is checked in the test below).
  t.deepEqual(first.stderr.split('\n').map(line => line.replace(/ \(\d+\/\d+\)$/, '')), ['fetched fakepkg@1.0.0', 'fetched fakepkg@1.1.0', ''])
  const rowsBefore = dumpIndex(t, store)

  npm.clearCalls()
  const again = npmRun(npm, store, 'fakepkg@^1', '--json')
  t.like(importedJson(t, again), { textCount: 0, newTextCount: 0, groupCount: 0 })
  t.deepEqual(npm.calls().filter(args => args[0] === 'pack'), [], 'the cached tarballs are used')
  t.deepEqual(dumpIndex(t, store), rowsBefore)
  const quiet = npmRun(npm, store, 'fakepkg@^1', '--quiet')
  t.is(succeeds(t, quiet), '')

  // A damaged cached tarball (a killed download, say) fails its integrity check and is fetched again.
  const cached = join(npm.cacheDir, 'fakepkg-1.0.0.tgz')
  const cachedBytes = readFileSync(cached)
  writeFileSync(cached, cachedBytes.subarray(0, cachedBytes.length >> 1))
  npm.clearCalls()
  t.like(importedJson(t, npmRun(npm, store, 'fakepkg@^1', '--json')), { newTextCount: 0 })
  t.deepEqual(npm.calls().filter(args => args[0] === 'pack').map(args => args[1]), ['fakepkg@1.0.0'])
  t.true(readFileSync(cached).equals(cachedBytes))

  // All versions: only 2.0.0 is fetched and adds texts, each continuing from its 1.1.0 (or 1.0.0) version.
  npm.clearCalls()
  const all = npmRun(npm, store, 'fakepkg')
  t.is(all.status, 0, describeRun(all))
  t.regex(all.stderr, /^fetched fakepkg@2\.0\.0 \(\d\/3\)\n$/)
  const match = SUMMARY_LINE.exec(all.stdout.toString('utf8'))
  t.is(match?.[2], '3', 'package.json, lib/util.js and lib/new.js changed in 2.0.0; index.js did not')
  t.deepEqual(npm.calls().filter(args => args[0] === 'pack').map(args => args[1]), ['fakepkg@2.0.0'])
  t.is(succeeds(t, inStore(store, 'log', 'fakepkg/lib/util.js')), 'fakepkg@2.0.0 fakepkg@1.0.0\nfakepkg@1.0.0\n')
  t.is(succeeds(t, inStore(store, 'log', 'fakepkg/index.js')), 'fakepkg@1.1.0 fakepkg@1.0.0\nfakepkg@1.0.0\n')
  t.is(succeeds(t, inStore(store, 'log', 'fakepkg/lib/new.js')), 'fakepkg@2.0.0\n')
})

// Regression: NpmProgressEvent.index counts from 1; the CLI once added 1 again.
test('import-npm notes each download as "fetched NAME@VERSION (i/n)", i counting from 1 to n', async t => {
  const npm = await fakeNpm(t, { fakepkg: FAKEPKG })
  const store = join(await makeTempDir(t), 'store')
  const run = npmRun(npm, store, 'fakepkg@^1')
  t.is(run.status, 0, describeRun(run))
  t.is(run.stderr, 'fetched fakepkg@1.0.0 (1/2)\nfetched fakepkg@1.1.0 (2/2)\n')
})

test('import-npm refuses versions older than the stored ones unless --allow-older', async t => {
  const npm = await fakeNpm(t, { fakepkg: FAKEPKG })
  const store = join(await makeTempDir(t), 'store')
  t.like(importedJson(t, npmRun(npm, store, 'fakepkg@2', '--json')), { newTextCount: 5 })
  const keysBefore = dumpIndex(t, store)
  const line = failsWith(t, npmRun(npm, store, 'fakepkg@^1', '--quiet'), 2, 'VSTORE_USAGE')
  t.true(line.includes('fakepkg@1.0.0') && line.includes('fakepkg@2.0.0'), line)
  t.deepEqual(dumpIndex(t, store), keysBefore)
  // README.md of 1.0.0 holds 2.0.0's bytes: no text; the rest of 1.0.0 (3) and of 1.1.0 (2) are new.
  t.like(importedJson(t, npmRun(npm, store, 'fakepkg@^1', '--allow-older', '--json')), { newTextCount: 5 })
  t.is(succeeds(t, inStore(store, 'log', 'fakepkg/index.js')), 'fakepkg@1.1.0 fakepkg@1.0.0\nfakepkg@1.0.0 fakepkg@2.0.0\nfakepkg@2.0.0\n')
})

test('import-npm of a range no stable version matches exits 3, and a failing npm exits 6', async t => {
  const npm = await fakeNpm(t, { fakepkg: FAKEPKG })
  const dir = await makeTempDir(t)
  const line = failsWith(t, npmRun(npm, join(dir, 'none'), 'fakepkg@>=3'), 3, 'VSTORE_NOT_FOUND')
  t.true(line.includes('fakepkg@>=3'), line)
  t.false(existsSync(join(dir, 'none')))
  const missing = failsWith(t, npmRun(npm, join(dir, 'missing'), 'no-such-package'), 6, 'VSTORE_IMPORT')
  t.true(missing.includes('no-such-package'), missing)
  t.false(existsSync(join(dir, 'missing')))
})

// ---------------------------------------------------------------------------------------------------------
// import-git

test('import-git of a repository without commits imports nothing, exits 0 and leaves no store; --ref main still fails', async t => {
  const repo = await makeGitRepo(t)
  const dir = await makeTempDir(t)
  const store = join(dir, 'store')
  const summary = succeeds(t, inStore(store, 'import-git', repo.dir))
  t.regex(summary, /^imported 0 texts \(0 new, 0 stored once\): 0 B in, 0 groups, store now 0 B \(-:1\), /)
  t.false(existsSync(store), 'a first import that stores nothing leaves no store, as a failed one does')
  t.like(importedJson(t, inStore(store, 'import-git', repo.dir, '--all', '--json')), { textCount: 0, newTextCount: 0, storeByteLength: 0 })
  t.false(existsSync(store))
  // A store that existed stays, as it was.
  succeeds(t, inStore(store, 'init'))
  t.like(importedJson(t, inStore(store, 'import-git', repo.dir, '--json')), { textCount: 0 })
  t.regex(succeeds(t, inStore(store, 'verify')), /^ok: 0 texts/)
  // A ref the repository does not have is an error that names it.
  const fresh = join(dir, 'fresh')
  const line = failsWith(t, inStore(fresh, 'import-git', repo.dir, '--ref', 'main'), 6, 'VSTORE_IMPORT')
  t.true(line.includes("'main'"), line)
  t.false(existsSync(fresh))
})

test('import-git gives a moved file its origin, which log shows; --no-renames gives none', async t => {
  const repo = await makeGitRepo(t)
  const body = Array.from({ length: 30 }, (_, i) => `line ${i} of the tool\n`).join('')
  writeFile(repo, 'tool.c', body)
  const first = commit(repo, 'add tool.c')
  deleteFile(repo, 'tool.c')
  writeFile(repo, 'src/tool.c', `${body}one more line\n`)
  const moved = commit(repo, 'move it under src/')
  const dir = await makeTempDir(t)
  succeeds(t, inStore(join(dir, 'renames'), 'import-git', repo.dir, '--quiet'))
  t.is(succeeds(t, inStore(join(dir, 'renames'), 'log', 'src/tool.c')), `${moved} from tool.c@${first}\n`)
  succeeds(t, inStore(join(dir, 'plain'), 'import-git', repo.dir, '--no-renames', '--quiet'))
  t.is(succeeds(t, inStore(join(dir, 'plain'), 'log', 'src/tool.c')), `${moved}\n`)
})

// ---------------------------------------------------------------------------------------------------------
// Symlinks: not stored (a text has no mode), but counted in the summary

/** The summary line of an import that skipped `count` symlinks (paths), and the texts it imported. */
function symlinksSkipped(t: ExecutionContext, run: Run): { textCount: number; skippedSymlinkCount: number } {
  const line = succeeds(t, run)
  const match = /^imported (\d+) texts .*, \d+\.\d MB\/s(?:, (\d+) symlinks? skipped)?\n$/.exec(line)
  if (match === null) {
    t.fail(`summary line: ${JSON.stringify(line)}`)
    return { textCount: -1, skippedSymlinkCount: -1 }
  }
  return { textCount: Number(match[1]), skippedSymlinkCount: Number(match[2] ?? 0) }
}

test('import-git and import-fast-export count the symlinks they skip, each path once', async t => {
  const repo = await makeGitRepo(t)
  writeFile(repo, 'README.md', README)
  writeSymlink(repo, 'link', 'README.md')
  writeSymlink(repo, 'docs/up', '../README.md')
  commit(repo, 'two symlinks')
  // The link gets another target: a new version of the same path, still one symlink skipped.
  deleteFile(repo, 'link')
  writeSymlink(repo, 'link', 'docs')
  writeFile(repo, 'b.txt', 'b\n')
  commit(repo, 'retarget')
  const dir = await makeTempDir(t)

  t.deepEqual(symlinksSkipped(t, inStore(join(dir, 'git'), 'import-git', repo.dir)), { textCount: 2, skippedSymlinkCount: 2 })
  const summary = importedJson(t, inStore(join(dir, 'git-json'), 'import-git', repo.dir, '--json'))
  t.like(summary, { newTextCount: 2, skippedSymlinkCount: 2 })
  t.deepEqual(dumpIndex(t, join(dir, 'git-json')).map(row => row.file).sort(), ['README.md', 'b.txt'])

  const stream = gitBytes(repo.dir, ['fast-export', '--all', '--show-original-ids', '--use-done-feature'])
  const fromStream = join(dir, 'fast-export')
  t.deepEqual(symlinksSkipped(t, vstore(['--store', fromStream, 'import-fast-export'], { input: stream })), { textCount: 2, skippedSymlinkCount: 2 })
  t.like(importedJson(t, vstore(['--store', fromStream, 'import-fast-export', '--json'], { input: stream })), { newTextCount: 0, skippedSymlinkCount: 2 })

  // Without symlinks the line is as before, and the JSON field is 0.
  const plain = await makeGitRepo(t)
  writeFile(plain, 'a.txt', 'a\n')
  commit(plain, 'no symlink')
  t.regex(succeeds(t, inStore(join(dir, 'plain'), 'import-git', plain.dir)), SUMMARY_LINE)
  t.like(importedJson(t, inStore(join(dir, 'plain-json'), 'import-git', plain.dir, '--json')), { skippedSymlinkCount: 0 })
})

test('import-tar counts the symlinks of a tar, a zip and a folder, each file id once', async t => {
  const dir = await makeTempDir(t)
  const work = join(dir, 'work')
  writeTree(join(work, 'p-1.0'), { 'README.md': README })
  symlinkSync('README.md', join(work, 'p-1.0', 'link'))
  writeTree(join(work, 'p-1.1'), { 'README.md': `${README}1.1\n`, 'docs/guide.md': 'guide\n' })
  symlinkSync('README.md', join(work, 'p-1.1', 'link'))
  symlinkSync('guide.md', join(work, 'p-1.1', 'docs', 'latest.md'))
  writeTree(join(work, 'p-1.2'), { 'README.md': `${README}1.2\n` })
  symlinkSync('README.md', join(work, 'p-1.2', 'link'))
  const tarPath = join(dir, 'p-1.0.tar.gz')
  execFileSync('tar', ['-czf', tarPath, '-C', work, 'p-1.0'])
  const folderPath = join(work, 'p-1.1')
  const zipPath = join(dir, 'p-1.2.zip')
  // -y stores a symlink as one (Unix mode 120777), not the file it points at.
  execFileSync('zip', ['-qry', zipPath, 'p-1.2'], { cwd: work })

  t.deepEqual(symlinksSkipped(t, inStore(join(dir, 'tar'), 'import-tar', tarPath)), { textCount: 1, skippedSymlinkCount: 1 })
  t.deepEqual(symlinksSkipped(t, inStore(join(dir, 'zip'), 'import-tar', zipPath)), { textCount: 1, skippedSymlinkCount: 1 })
  t.deepEqual(symlinksSkipped(t, inStore(join(dir, 'folder'), 'import-tar', folderPath)), { textCount: 2, skippedSymlinkCount: 2 })
  // link is in all three releases (under three top folders): one file id.
  const all = join(dir, 'all')
  t.deepEqual(symlinksSkipped(t, inStore(all, 'import-tar', tarPath, folderPath, zipPath)), { textCount: 4, skippedSymlinkCount: 2 })
  t.like(importedJson(t, inStore(all, 'import-tar', tarPath, folderPath, zipPath, '--json')), { newTextCount: 0, skippedSymlinkCount: 2 })
  t.deepEqual([...new Set(dumpIndex(t, all).map(row => row.file))].sort(), ['README.md', 'docs/guide.md'])
})

// ---------------------------------------------------------------------------------------------------------
// import-fast-export

test('import-fast-export of git fast-export --all matches git show, and import-git of the same repo', async t => {
  const repo = await makeGitRepo(t)
  const binary = pseudoRandomBytes(9000, 7)
  writeFile(repo, 'README.md', sourceFile(1))
  writeFile(repo, 'src/a.c', sourceFile(2, 120))
  writeFile(repo, 'dir with space/café.txt', 'accents: café\n')
  writeFile(repo, 'data.bin', binary)
  writeFile(repo, 'run.sh', '#!/bin/sh\necho run\n')
  writeSymlink(repo, 'link', 'README.md')
  const c1 = commit(repo, 'c1: root')
  writeFile(repo, 'README.md', sourceFile(2))
  const c2 = commit(repo, 'c2: readme')
  git(repo.dir, 'tag', '-a', 'v1', '-m', 'release one', c2)
  branch(repo, 'feature')
  writeFile(repo, 'src/a.c', sourceFile(2, 120).replace('int line3 = 3;', 'int line3 = 333;'))
  writeFile(repo, 'feature.txt', 'from the feature branch\n')
  commit(repo, 'c3: feature')
  switchTo(repo, 'main')
  writeFile(repo, 'src/a.c', sourceFile(2, 120).replace('int line100 = 100;', 'int line100 = -100;'))
  setExecutable(repo, 'run.sh', true)
  deleteFile(repo, 'data.bin')
  commit(repo, 'c4: main')
  merge(repo, 'feature', 'c5: merge feature')
  writeFile(repo, 'data.bin', Buffer.concat([binary, Buffer.from('more')]))
  writeFile(repo, 'dir with space/café.txt', 'accents: café, naïve\n')
  commit(repo, 'c6: after the merge')
  branch(repo, 'side', c1)
  writeFile(repo, 'README.md', 'a side branch that is never merged\n')
  commit(repo, 'c7: side')
  switchTo(repo, 'main')

  // --use-done-feature: the stream's end is checked (without it, the import warns that it cannot be).
  const stream = gitBytes(repo.dir, ['fast-export', '--all', '--show-original-ids', '--use-done-feature'])
  const dir = await makeTempDir(t)
  const fromStream = join(dir, 'from-stream')
  const run = vstore(['--store', fromStream, 'import-fast-export', '--json'], { input: stream })
  const summary = importedJson(t, run)
  const rows = dumpIndex(t, fromStream)
  t.is(summary.newTextCount, rows.length)
  // The texts both importers should make, worked out from whole trees (test/helpers/git.ts), for both tips.
  const expected = new Map([...expectedFileVersions(repo, 'main'), ...expectedFileVersions(repo, 'side')])
  t.deepEqual(keyLines(rows), [...expected].map(([key, parents]) => `${key} <- ${parents.join(',')}`).sort())

  // Every key extracts as git show REV:PATH gives it.
  const specs = rows.map(row => `${row.file}@${row.rev}`)
  const texts = extractBatch(t, fromStream, specs)
  const blobs = gitShowMany(repo, rows.map(row => ({ rev: row.rev, path: row.file })))
  rows.forEach((row, index) => {
    t.true(texts.get(specs[index] as string)?.equals(blobs[index] as Buffer) === true, `${row.file}@${row.rev}`)
    t.is(row.hash, sha256(blobs[index] as Buffer).slice(0, row.hash.length), `${row.file}@${row.rev} hash`)
  })
  t.false(rows.some(row => row.file === 'link'), 'a symlink is not a file')

  // import-git --all of the same repository: the same keys, parents and contents.
  const fromGit = join(dir, 'from-git')
  importedJson(t, inStore(fromGit, 'import-git', repo.dir, '--all', '--json'))
  const view = (list: readonly IndexRow[]): string[] => list.map(row => `${row.file}@${row.rev} <- ${row.parents.join(',')} ${row.hash} ${row.textByteLength}`).sort()
  t.deepEqual(view(rows), view(dumpIndex(t, fromGit)))

  // The stream on stdin with --quiet: nothing on stdout; the same store again adds nothing.
  t.is(succeeds(t, vstore(['--store', fromStream, 'import-fast-export', '--quiet'], { input: stream })), '')
  t.like(importedJson(t, vstore(['--store', fromStream, 'import-fast-export', '--json'], { input: stream })), { newTextCount: 0 })
  t.deepEqual(dumpIndex(t, fromStream), rows)
})

/** A repository of two commits of `a.txt`, and `git fast-export --all --show-original-ids` of it with `extra` options. */
async function twoCommitStream(t: ExecutionContext, ...extra: string[]): Promise<{ repo: GitRepo; stream: Buffer }> {
  const repo = await makeGitRepo(t)
  writeFile(repo, 'a.txt', sourceFile(1))
  commit(repo, 'one')
  writeFile(repo, 'a.txt', sourceFile(2))
  commit(repo, 'two')
  return { repo, stream: gitBytes(repo.dir, ['fast-export', '--all', '--show-original-ids', ...extra]) }
}

test('import-fast-export of a truncated stream exits 6 and stores nothing', async t => {
  const { stream } = await twoCommitStream(t)
  const store = join(await makeTempDir(t), 'store')
  // Cut 100 bytes into the second blob's data.
  const secondBlob = stream.indexOf('\nblob\n', stream.indexOf('\ncommit '))
  const cut = stream.indexOf('\ndata ', secondBlob) + 100
  t.true(secondBlob > 0 && cut > secondBlob + 100)
  failsWith(t, vstore(['--store', store, 'import-fast-export'], { input: stream.subarray(0, cut) }), 6, 'VSTORE_IMPORT')
  t.false(existsSync(store))
})

test('import-fast-export of a stream that declares feature done and ends without done exits 6 and stores nothing', async t => {
  const { repo, stream } = await twoCommitStream(t, '--use-done-feature')
  t.true(stream.subarray(0, 13).toString('latin1') === 'feature done\n' && stream.subarray(-5).toString('latin1') === 'done\n')
  const withoutDone = stream.subarray(0, stream.length - 'done\n'.length)
  const store = join(await makeTempDir(t), 'store')
  failsWith(t, vstore(['--store', store, 'import-fast-export'], { input: withoutDone }), 6, 'VSTORE_IMPORT')
  t.false(existsSync(store))
  // Into a store that holds the first commit: it stays as it was.
  succeeds(t, inStore(store, 'import-git', repo.dir, '--ref', 'HEAD~1', '--quiet'))
  const [keysBefore, packsBefore] = [dumpIndex(t, store), packBytes(store)]
  failsWith(t, vstore(['--store', store, 'import-fast-export', '--quiet'], { input: withoutDone }), 6, 'VSTORE_IMPORT')
  t.deepEqual(dumpIndex(t, store), keysBefore)
  t.deepEqual(packBytes(store), packsBefore)
  t.like(importedJson(t, vstore(['--store', store, 'import-fast-export', '--json'], { input: stream })), { newTextCount: 1 })
})

test('import-fast-export warns once on stderr that a stream without feature done has an end it cannot check', async t => {
  const repo = await makeGitRepo(t)
  writeFile(repo, 'a.txt', sourceFile(1))
  commit(repo, 'one')
  const stream = gitBytes(repo.dir, ['fast-export', '--all', '--show-original-ids'])
  const dir = await makeTempDir(t)
  const run = vstore(['--store', join(dir, 'plain'), 'import-fast-export'], { input: stream })
  t.is(run.status, 0, describeRun(run))
  t.regex(run.stdout.toString('utf8'), SUMMARY_LINE)
  t.regex(run.stderr, /^vstore: warning \(fast-export@\d+\): [^\n]*--use-done-feature[^\n]*\n$/)
  // --quiet: nothing at all; --json: the warning is a JSON line among the progress lines.
  t.is(succeeds(t, vstore(['--store', join(dir, 'quiet'), 'import-fast-export', '--quiet'], { input: stream })), '')
  const json = vstore(['--store', join(dir, 'json'), 'import-fast-export', '--json'], { input: stream })
  t.is(json.status, 0, describeRun(json))
  const events = json.stderr.split('\n').filter(line => line !== '').map(line => parseJsonText<Record<string, unknown>>(t, line))
  t.deepEqual(events.filter(event => event['event'] !== 'progress').map(event => [event['event'], typeof event['where'], typeof event['message']]), [['warning', 'string', 'string']])
  // A stream that ends with done (without declaring the feature) has an end of its own: no warning.
  const withDone = Buffer.concat([stream, Buffer.from('done\n')])
  t.regex(succeeds(t, vstore(['--store', join(dir, 'done'), 'import-fast-export'], { input: withDone })), SUMMARY_LINE)
})

/** Writes a tag object signed with a made-up PGP block (git checks no signature on its way in) and points refs/tags/NAME at it. */
function fakeSignedTag(repo: { dir: string }, name: string, target: string): void {
  const tagObject = [
    `object ${target}`, 'type commit', `tag ${name}`, 'tagger Vstore Test <test@vstore.invalid> 1704067200 +0000', '',
    `${name}, signed`, '-----BEGIN PGP SIGNATURE-----', '', 'iQEzBAABCAAdFiEEbm90IGEgcmVhbCBzaWduYXR1cmUsIGp1c3QgYnl0ZXM=', '=vsto',
    '-----END PGP SIGNATURE-----', '',
  ].join('\n')
  const id = gitBytes(repo.dir, ['mktag'], { input: tagObject }).toString('utf8').trim()
  git(repo.dir, 'update-ref', `refs/tags/${name}`, id)
}

test('the README\'s fast-export command line imports a history with a signed tag and has its end checked', async t => {
  const repo = await makeGitRepo(t)
  writeFile(repo, 'README.md', sourceFile(1))
  writeFile(repo, 'src/a.c', sourceFile(2, 60))
  const c1 = commit(repo, 'one')
  writeFile(repo, 'README.md', sourceFile(3))
  commit(repo, 'two')
  git(repo.dir, 'tag', '-a', 'v1', '-m', 'annotated', c1)
  fakeSignedTag(repo, 'v2-signed', git(repo.dir, 'rev-parse', 'HEAD'))
  t.true(git(repo.dir, 'cat-file', '-p', 'v2-signed').includes('-----BEGIN PGP SIGNATURE-----'))

  // git itself: without --signed-tags it gives up at a signed tag, after the commits are out.
  const refused = spawnSync('git', ['fast-export', '--all', '--show-original-ids'], { cwd: repo.dir, env: BASE_ENVIRONMENT })
  t.is(refused.status, 128)
  t.regex(refused.stderr.toString('utf8'), /signed tag/)

  // The README's line, word for word, run by bash in a folder whose bin/vstore is this one, on this repository.
  const readme = readFileSync(join(dirname(BIN), '..', 'README.md'), 'utf8')
  const commandLine = readme.split('\n').find(line => line.startsWith('git fast-export'))?.replace(/\s+#.*$/, '')
  if (commandLine === undefined) return t.fail('README.md has no git fast-export line')
  t.true(commandLine.includes('--use-done-feature') && commandLine.includes('--signed-tags='), commandLine)
  const cwd = await makeTempDir(t)
  mkdirSync(join(cwd, 'bin'))
  symlinkSync(BIN, join(cwd, 'bin', 'vstore'))
  const environment = { ...BASE_ENVIRONMENT, GIT_DIR: join(repo.dir, '.git'), PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}` }
  const shell = (line: string): Run => {
    const result = spawnSync('bash', ['-o', 'pipefail', '-c', line], { cwd, env: environment, timeout: PROCESS_TIMEOUT_MILLISECONDS })
    return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr.toString('utf8') }
  }
  t.regex(succeeds(t, shell(commandLine)), SUMMARY_LINE)
  const fromGit = join(cwd, 'from-git')
  succeeds(t, inStore(fromGit, 'import-git', repo.dir, '--all', '--quiet'))
  t.deepEqual(keyLines(dumpIndex(t, join(cwd, '.vstore'))), keyLines(dumpIndex(t, fromGit)))

  // The same line without --signed-tags: git stops at the signed tag before done, and vstore says so.
  const withoutStrip = shell(`${commandLine.replace(/ --signed-tags=\S+/, '').replace('./bin/vstore', './bin/vstore --store cut')}; exit \${PIPESTATUS[1]}`)
  t.is(withoutStrip.status, 6, describeRun(withoutStrip))
  t.true(withoutStrip.stderr.split('\n').some(line => line.startsWith('vstore: VSTORE_IMPORT (')), withoutStrip.stderr)
  t.false(existsSync(join(cwd, 'cut')))
})

test('--max-text-size: a release with a longer text exits 4 with one VSTORE_LIMIT line naming it and stores nothing; a larger size takes it', async t => {
  const dir = await makeTempDir(t)
  const release = join(dir, 'proj-1.0')
  mkdirSync(join(release, 'src'), { recursive: true })
  writeFileSync(join(release, 'src', 'small.c'), 'x'.repeat(1000))
  writeFileSync(join(release, 'src', 'big.c'), 'y'.repeat(3000))
  const store = join(dir, 'store')
  const refused = inStore(store, 'import-tar', release, '--max-text-size', '2KiB')
  failsWith(t, refused, 4, 'VSTORE_LIMIT')
  t.regex(refused.stderr, /^vstore: VSTORE_LIMIT \([^)]*big\.c[^)]*\): 3000 bytes, over the limit of 2048 bytes/)
  t.false(existsSync(store), 'a refused first import leaves no store')
  failsWith(t, inStore(store, 'import-tar', release, '--max-text-size', 'lots'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'import-tar', release, '--max-text-size', '2GiB'), 2, 'VSTORE_USAGE')
  succeeds(t, inStore(store, 'import-tar', release, '--max-text-size', '3000', '--quiet'))
  t.is(inStore(store, 'extract', 'big.c@proj-1.0').stdout.toString('utf8'), 'y'.repeat(3000))
})

test('import-git a commit at a time packs the store by itself (a line says so); --no-auto-pack leaves one pack growing', async t => {
  const repo = await makeGitRepo(t)
  const revs: string[] = []
  for (let i = 1; i <= 11; i++) {
    writeFile(repo, 'numbers.txt', Array.from({ length: i * 300 }, (_, n) => `${n}\n`).join(''))
    writeFile(repo, 'log.txt', Array.from({ length: i }, (_, n) => `entry ${n}\n`).join(''))
    revs.push(commit(repo, `commit ${i}`))
  }
  const work = await makeTempDir(t)
  const packCount = (store: string) => readdirSync(join(store, 'packs')).length
  const packed: string[] = []
  for (const [name, extra] of [['auto', []], ['manual', ['--no-auto-pack']]] as const) {
    const store = join(work, name)
    for (const rev of revs) {
      const out = succeeds(t, runVstore(['--store', store, 'import-git', repo.dir, '--ref', rev, ...extra]))
      if (/^packed automatically: \d+ texts rewritten/m.test(out)) packed.push(`${name} ${rev}`)
    }
    t.regex(succeeds(t, runVstore(['--store', store, 'verify', '--full'])), /^ok: 22 texts/)
  }
  // Ten inserts' packs of the lowest tier are merged into one at the tenth; the eleventh has its own.
  t.deepEqual(packed, [`auto ${revs[9]}`])
  t.is(packCount(join(work, 'auto')), 2)
  t.is(packCount(join(work, 'manual')), 1)
})
