/**
 * The CLI as a user runs it: `node bin/vstore ...` in real processes, against a real git history built here
 * (8 commits, a branch merged, a file whose name holds `@` and a space, a binary file, an empty file, a
 * duplicate text). Outputs are checked against `git show`, against each other (stats vs dump-index vs
 * dump-group), and, for the stable texts (usage, stats layout, usage error lines), against golden files in
 * test/cli/golden/ (`UPDATE_GOLDEN=1` rewrites them).
 *
 * Every test is serial: the store takes a process-wide lock, so two CLI processes on one store at the same
 * time would make each other exit 5. Tests that damage or lock a store work on their own copy.
 */
import test, { type ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { branch, commit, deleteFile, git, gitShow, merge, switchTo, writeFile, type GitRepo } from '../helpers/git.js'
import { CLI_ENVIRONMENT, describeRun, PROCESS_TIMEOUT_MILLISECONDS, ROOT, runProcess, runVstore, type Run, failsWith, succeeds } from '../helpers/cli.js'
import { pseudoRandomBytes } from '../helpers/random.js'
import { STORE_FORMAT_VERSION } from '../../lib/vstore.js'
import { COMMAND_NAMES, loadAllCommands } from '../../lib/cli/commands/index.js'

// ---------------------------------------------------------------------------------------------------------
// Paths and processes

const MAIN_URL = pathToFileURL(join(ROOT, 'dist', 'lib', 'cli', 'main.js')).href
const API_URL = pathToFileURL(join(ROOT, 'dist', 'lib', 'vstore.js')).href
const GOLDEN_DIR = join(ROOT, 'test', 'cli', 'golden')

const scratch = mkdtempSync(join(tmpdir(), 'vstore-cli-'))
test.after.always(() => rmSync(scratch, { recursive: true, force: true }))

/** No git config of the machine, and no repository above the scratch dir (so a non-repository stays one). */
const ENVIRONMENT = CLI_ENVIRONMENT

/** Runs `node bin/vstore ...args` to its end, in the scratch dir. */
function vstore(args: readonly string[], options: { cwd?: string; input?: string | Uint8Array } = {}): Run {
  return runVstore(args, { cwd: options.cwd ?? scratch, ...(options.input === undefined ? {} : { input: options.input }) })
}

/** Runs `node ...args` to its end; a process that hangs fails the test instead of the whole run. */
function runNode(args: readonly string[], options: { cwd?: string; input?: string | Uint8Array; env?: NodeJS.ProcessEnv } = {}): Run {
  return runProcess(process.execPath, args, { ...options, cwd: options.cwd ?? scratch })
}

/** `vstore --store DIR ...args`. */
function inStore(store: string, ...args: string[]): Run {
  return vstore(['--store', store, ...args])
}


function parseJson<T>(t: ExecutionContext, run: Run): T {
  const text = succeeds(t, run)
  try {
    return JSON.parse(text) as T
  } catch (error) {
    t.fail(`not JSON: ${text.slice(0, 500)}`)
    throw error
  }
}

/** Compares `actual` with test/cli/golden/<name>, or rewrites the file when UPDATE_GOLDEN=1. */
function matchesGolden(t: ExecutionContext, name: string, actual: string): void {
  const path = join(GOLDEN_DIR, name)
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true })
    writeFileSync(path, actual)
    t.log(`rewrote ${path}`)
    return
  }
  if (!existsSync(path)) {
    t.fail(`no golden file ${path}; run the tests with UPDATE_GOLDEN=1 to write it`)
    return
  }
  t.is(actual, readFileSync(path, 'utf8'), `differs from golden file ${name} (UPDATE_GOLDEN=1 rewrites it)`)
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0)
}

// ---------------------------------------------------------------------------------------------------------
// The history

function readme(version: number): string {
  return Array.from({ length: 40 + version }, (_, i) => i === 5 * version
    ? `line ${i} was edited in version ${version}\n`
    : `line ${i}: the quick brown fox jumps over the lazy dog, long enough to be copied\n`).join('')
}

function util(edits: { early?: boolean; late?: boolean }): string {
  return Array.from({ length: 60 }, (_, i) => {
    if (i === 5 && edits.early === true) return 'export const early = "changed on the feature branch"\n'
    if (i === 50 && edits.late === true) return 'export const late = "changed on main"\n'
    return `export const value${i} = ${i} // a constant with a comment long enough to be copied\n`
  }).join('')
}

const WEIRD = 'docs/we@ird name.txt'
const LOGO = 'assets/logo.bin'
const LOGO_V1 = pseudoRandomBytes(40_000, 1)
const LOGO_V2 = (() => {
  const bytes = new Uint8Array(LOGO_V1.length + 3000)
  bytes.set(LOGO_V1)
  bytes.set(pseudoRandomBytes(3000, 2), LOGO_V1.length)
  bytes.fill(0, 1000, 1016)
  bytes.fill(0xff, 20_000, 20_010)
  return bytes
})()

interface Key {
  readonly file: string
  readonly rev: string
  readonly parents: readonly string[]
}

interface Fixture {
  readonly repo: GitRepo
  /** Commits c1..c8 (index 0 unused). */
  readonly c: readonly string[]
  /** Every text the import makes, as derived by hand from the history. */
  readonly keys: readonly Key[]
  /** A store holding the import of `repo`, made by `init` then `import-git` with --store. */
  readonly store: string
  readonly init: Run
  readonly importRun: Run
}

function buildFixture(): Fixture {
  const dir = join(scratch, 'repo')
  mkdirSync(dir)
  const repo: GitRepo = { dir, commitCount: 0 }
  git(dir, 'init', '-q', '-b', 'main')
  writeFile(repo, 'README.md', readme(1))
  writeFile(repo, 'docs/README-copy.md', readme(1))
  writeFile(repo, 'util.ts', util({}))
  writeFile(repo, WEIRD, 'a file whose name holds @ and a space\n')
  writeFile(repo, 'docs/café.txt', 'accents: café, naïve\n')
  writeFile(repo, LOGO, LOGO_V1)
  writeFile(repo, 'empty.txt', '')
  writeFile(repo, 'old.txt', 'this file is deleted in the fifth commit\n')
  const c1 = commit(repo, 'c1: root')
  writeFile(repo, 'README.md', readme(2))
  const c2 = commit(repo, 'c2: readme')
  branch(repo, 'feature')
  writeFile(repo, 'util.ts', util({ early: true }))
  writeFile(repo, WEIRD, 'a file whose name holds @ and a space\nedited on the feature branch\n')
  const c3 = commit(repo, 'c3: feature edits')
  writeFile(repo, LOGO, LOGO_V2)
  const c4 = commit(repo, 'c4: new logo')
  switchTo(repo, 'main')
  writeFile(repo, 'util.ts', util({ late: true }))
  writeFile(repo, 'README.md', readme(3))
  deleteFile(repo, 'old.txt')
  const c5 = commit(repo, 'c5: main edits')
  writeFile(repo, 'README.md', readme(4))
  const c6 = commit(repo, 'c6: readme')
  const c7 = merge(repo, 'feature', 'c7: merge feature')
  writeFile(repo, 'README.md', readme(5))
  writeFile(repo, WEIRD, 'a file whose name holds @ and a space\nedited on the feature branch\nand after the merge\n')
  const c8 = commit(repo, 'c8: after the merge')
  const c = ['', c1, c2, c3, c4, c5, c6, c7, c8]

  // A commit makes a version of each path that differs from its first parent, unless another parent
  // already has that blob (then the merge takes that version): util.ts is merged to new content at c7,
  // while the weird file and the logo are taken from the feature branch.
  const keys: Key[] = [
    { file: 'README.md', rev: c1, parents: [] },
    { file: 'README.md', rev: c2, parents: [c1] },
    { file: 'README.md', rev: c5, parents: [c2] },
    { file: 'README.md', rev: c6, parents: [c5] },
    { file: 'README.md', rev: c8, parents: [c6] },
    { file: 'docs/README-copy.md', rev: c1, parents: [] },
    { file: 'util.ts', rev: c1, parents: [] },
    { file: 'util.ts', rev: c3, parents: [c1] },
    { file: 'util.ts', rev: c5, parents: [c1] },
    { file: 'util.ts', rev: c7, parents: [c5, c3] },
    { file: WEIRD, rev: c1, parents: [] },
    { file: WEIRD, rev: c3, parents: [c1] },
    { file: WEIRD, rev: c8, parents: [c3] },
    { file: 'docs/café.txt', rev: c1, parents: [] },
    { file: LOGO, rev: c1, parents: [] },
    { file: LOGO, rev: c4, parents: [c1] },
    { file: 'empty.txt', rev: c1, parents: [] },
    { file: 'old.txt', rev: c1, parents: [] },
  ]

  const store = join(scratch, 'store')
  const init = inStore(store, 'init')
  const importRun = inStore(store, 'import-git', dir)
  return { repo, c, keys, store, init, importRun }
}

let fixtureValue: Fixture | undefined
test.before(() => {
  fixtureValue = buildFixture()
})

function fixture(): Fixture {
  if (fixtureValue === undefined) throw new Error('the fixture was not built')
  return fixtureValue
}

/** A fresh directory under the scratch dir. */
let directoryCount = 0
function newDirectory(name: string): string {
  directoryCount++
  const dir = join(scratch, `${directoryCount}-${name}`)
  mkdirSync(dir)
  return dir
}

/** A copy of the shared store, for tests that damage or lock it. */
function copyOfStore(name: string): string {
  const copy = join(newDirectory(name), 'store')
  cpSync(fixture().store, copy, { recursive: true })
  return copy
}

function blobOf(key: { file: string; rev: string }): Buffer {
  return gitShow(fixture().repo, key.rev, key.file)
}

interface IndexRow {
  file: string
  rev: string
  pack: string
  groupOffset: number
  readByteLength: number
  recordStart: number
  recordEnd: number
  decodedByteLength: number
  textByteLength: number
  hash: string
  parents: string[]
}

interface StatsJson {
  textCount: number
  fileCount: number
  groupCount: number
  packCount: number
  storeByteLength: number
  packByteLength: number
  indexByteLength: number
  indexBytesPerText: number
  rawByteLength: number
  readByteLength: { median: number; max: number }
  decompressedByteLength: { median: number; max: number }
}

interface GroupListItem {
  packId: number
  groupOffset: number
  header: { codecId: number; contentByteLength: number; storedByteLength: number; headerByteLength: number }
}

type Instruction = { kind: 'insert'; byteLength: number } | { kind: 'copy'; offset: number; byteLength: number }

interface GroupDumpJson {
  pack: string
  groupOffset: number
  groupByteLength: number
  codec: number
  contentByteLength: number
  storedByteLength: number
  records: {
    recordStart: number
    recordEnd: number
    kind: string
    bodyByteLength: number
    textByteLength: number
    previousStart?: number
    instructions?: Instruction[]
    keys: { file: string; rev: string }[]
  }[]
}

const SUMMARY_LINE = /^imported (\d+) texts \((\d+) new, (\d+) stored once\): \d+(?:\.\d+)? (?:B|KiB|MiB) in, (\d+) groups?, store now \d+(?:\.\d+)? (?:B|KiB|MiB) \(\d+\.\d:1\), \d+\.\d s, \d+\.\d MB\/s\n$/

// ---------------------------------------------------------------------------------------------------------
// init and import-git

test.serial('init then import-git prints one summary line with the counts', t => {
  const { init, importRun, keys } = fixture()
  t.regex(succeeds(t, init), /^initialized vstore in .+\n$/)
  const match = SUMMARY_LINE.exec(succeeds(t, importRun))
  if (match === null) return t.fail(`summary line: ${importRun.stdout.toString('utf8')}`)
  t.is(Number(match[1]), keys.length)
  t.is(Number(match[2]), keys.length)
  t.is(Number(match[3]), 1, 'docs/README-copy.md holds the same bytes as README.md@c1')
  const groups = parseJson<GroupListItem[]>(t, inStore(fixture().store, 'dump-group', '--json'))
  t.is(Number(match[4]), groups.length)
})

test.serial('import-git --json prints the insert summary as JSON', t => {
  const { repo, keys } = fixture()
  const store = join(newDirectory('json-import'), 'store')
  const run = inStore(store, 'import-git', repo.dir, '--json')
  // Progress goes to stderr as JSON lines, the last one the finished write.
  const events = run.stderr.trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>)
  t.true(events.length >= 1 && events.every(e => e['event'] === 'progress'))
  t.like(events[events.length - 1], { phase: 'writing', textCount: keys.length, writtenTextCount: keys.length })
  const summary = parseJson<Record<string, unknown>>(t, { ...run, stderr: '' })
  const rawByteLength = sum(keys.map(key => blobOf(key).length))
  t.like(summary, { textCount: keys.length, newTextCount: keys.length, duplicateTextCount: 1, rawByteLength })
  t.is(typeof summary['seconds'], 'number')
  t.true(typeof summary['groupCount'] === 'number' && summary['groupCount'] >= 1)
  // Groups are the whole pack but its 8-byte header.
  t.is(summary['storedByteLength'], statSync(join(store, 'packs', '000001.vpk')).size - 8)
  t.true(typeof summary['storeByteLength'] === 'number' && summary['storeByteLength'] > (summary['storedByteLength'] as number))

  // Importing again stores nothing new and says so.
  const again = parseJson<Record<string, unknown>>(t, { ...inStore(store, 'import-git', repo.dir, '--json'), stderr: '' })
  t.like(again, { textCount: keys.length, newTextCount: 0, newRawByteLength: 0, groupCount: 0 })
  t.is(again['rawByteLength'], summary['rawByteLength'])
})

test.serial('import-git --quiet prints nothing, and the store is filled', t => {
  const { repo, keys } = fixture()
  const store = join(newDirectory('quiet-import'), 'store')
  const run = inStore(store, 'import-git', repo.dir, '--quiet')
  t.is(succeeds(t, run), '')
  t.is(parseJson<StatsJson>(t, inStore(store, 'stats', '--json')).textCount, keys.length)
})

test.serial('without --store the store is ./.vstore in the working directory', t => {
  const { repo, keys } = fixture()
  const cwd = newDirectory('default-store')
  t.is(succeeds(t, vstore(['init'], { cwd })), 'initialized vstore in .vstore\n')
  t.true(statSync(join(cwd, '.vstore', 'index')).isDirectory())
  t.true(statSync(join(cwd, '.vstore', 'packs')).isDirectory())
  t.is(succeeds(t, vstore(['import-git', repo.dir, '--quiet'], { cwd })), '')
  t.is(parseJson<StatsJson>(t, vstore(['stats', '--json'], { cwd })).textCount, keys.length)
  const key = { file: WEIRD, rev: fixture().c[3] as string }
  t.deepEqual(vstore(['extract', `${key.file}@${key.rev}`], { cwd }).stdout, blobOf(key))
  // Another directory has no store: the default is relative to the working directory.
  failsWith(t, vstore(['stats'], { cwd: newDirectory('no-store') }), 3, 'VSTORE_NOT_FOUND')
})

test.serial('import-git of a path that is not a git repository exits 6 with VSTORE_IMPORT', t => {
  const notRepo = newDirectory('not-a-repo')
  writeFileSync(join(notRepo, 'file.txt'), 'not in git\n')
  const store = join(newDirectory('import-fails'), 'store')
  const line = failsWith(t, inStore(store, 'import-git', notRepo), 6, 'VSTORE_IMPORT')
  t.true(line.includes(notRepo), line)
  failsWith(t, inStore(store, 'import-git', join(scratch, 'no such directory')), 6, 'VSTORE_IMPORT')
  failsWith(t, inStore(store, 'import-git', fixture().repo.dir, '--ref', 'no-such-branch'), 6, 'VSTORE_IMPORT')
})

// ---------------------------------------------------------------------------------------------------------
// extract

test.serial('extract FILE@REV writes the bytes of git show REV:FILE, for every key', t => {
  const { store, keys } = fixture()
  for (const key of keys) {
    const run = inStore(store, 'extract', `${key.file}@${key.rev}`)
    t.is(run.status, 0, `${key.file}@${key.rev}: ${describeRun(run)}`)
    t.is(run.stderr, '')
    t.true(run.stdout.equals(blobOf(key)), `${key.file}@${key.rev}: ${run.stdout.length} bytes, git has ${blobOf(key).length}`)
  }
  // The binary file really is binary, the empty file really is empty.
  t.true(blobOf({ file: LOGO, rev: fixture().c[4] as string }).equals(LOGO_V2))
  t.is(inStore(store, 'extract', `empty.txt@${fixture().c[1]}`).stdout.length, 0)
})

test.serial('extract takes a revision prefix of 7 characters, not of 6', t => {
  const { store, c } = fixture()
  const c3 = c[3] as string
  for (const key of [{ file: WEIRD, rev: c3 }, { file: 'util.ts', rev: c3 }]) {
    const run = inStore(store, 'extract', `${key.file}@${key.rev.slice(0, 7)}`)
    t.true(run.stdout.equals(blobOf(key)), describeRun(run))
    t.is(run.status, 0)
    t.true(inStore(store, 'extract', `${key.file}@${key.rev.slice(0, 12)}`).stdout.equals(blobOf(key)))
  }
  failsWith(t, inStore(store, 'extract', `${WEIRD}@${c3.slice(0, 6)}`), 3, 'VSTORE_NOT_FOUND')
  // A prefix of a commit that made no version of this file.
  failsWith(t, inStore(store, 'extract', `README.md@${c3.slice(0, 7)}`), 3, 'VSTORE_NOT_FOUND')
})

test.serial('extract of an unknown file or revision exits 3 with one VSTORE_NOT_FOUND line', t => {
  const { store, c } = fixture()
  failsWith(t, inStore(store, 'extract', `no-such-file.txt@${c[1]}`), 3, 'VSTORE_NOT_FOUND')
  failsWith(t, inStore(store, 'extract', `README.md@${c[3]}`), 3, 'VSTORE_NOT_FOUND')
  failsWith(t, inStore(store, 'extract', `README@${c[1]}`), 3, 'VSTORE_NOT_FOUND')
  failsWith(t, inStore(store, 'extract', `README.md@${'0'.repeat(40)}`), 3, 'VSTORE_NOT_FOUND')
})

test.serial('extract without an @ (or with an empty side) exits 2', t => {
  const { store, c } = fixture()
  failsWith(t, inStore(store, 'extract', 'README.md'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'extract', 'README.md@'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'extract', `@${c[1]}`), 2, 'VSTORE_USAGE')
})

test.serial('extract --batch answers each line with its bytes or "missing", in order', t => {
  const { store, c } = fixture()
  const c1 = c[1] as string
  const c3 = c[3] as string
  const lines: { line: string; key?: { file: string; rev: string } }[] = [
    { line: `README.md@${c[2]}`, key: { file: 'README.md', rev: c[2] as string } },
    { line: `no-such-file.txt@${c1}` },
    { line: `${WEIRD}@${c3.slice(0, 7)}`, key: { file: WEIRD, rev: c3 } },
    { line: `${LOGO}@${c[4]}`, key: { file: LOGO, rev: c[4] as string } },
    { line: `README.md@${c3}` },
    { line: `empty.txt@${c1}`, key: { file: 'empty.txt', rev: c1 } },
    { line: `README.md@${c1.slice(0, 6)}` },
    { line: 'no at sign' },
    { line: '' },
    { line: `util.ts@${c[7]}`, key: { file: 'util.ts', rev: c[7] as string } },
    { line: `docs/café.txt@${c1}`, key: { file: 'docs/café.txt', rev: c1 } },
    { line: `README.md@${c[2]}`, key: { file: 'README.md', rev: c[2] as string } },
  ]
  const expected = Buffer.concat(lines.map(({ line, key }) => {
    if (key === undefined) return Buffer.from(`${line} missing\n`)
    const blob = blobOf(key)
    return Buffer.concat([Buffer.from(`${line} ${blob.length}\n`), blob, Buffer.from('\n')])
  }))
  const run = inStore(store, 'extract', '--batch')
  t.is(succeeds(t, run), '', 'no input, no output')
  const batch = vstore(['--store', store, 'extract', '--batch'], { input: lines.map(({ line }) => `${line}\n`).join('') })
  t.is(batch.status, 0, describeRun(batch))
  t.is(batch.stderr, '')
  t.true(batch.stdout.equals(expected), `got ${batch.stdout.length} bytes, expected ${expected.length}:\n${batch.stdout.toString('latin1').slice(0, 400)}`)
})

test.serial('extract --batch answers an empty line " missing", as git cat-file --batch does', t => {
  const { store, repo, c } = fixture()
  const input = `\nREADME.md@${c[1]}\n\n`
  const git = runProcess('git', ['-C', repo.dir, 'cat-file', '--batch'], { input: '\n', env: ENVIRONMENT })
  t.is(git.stdout.toString('utf8'), ' missing\n', 'what git answers')
  const blob = blobOf({ file: 'README.md', rev: c[1] as string })
  const batch = vstore(['--store', store, 'extract', '--batch'], { input })
  t.is(batch.status, 0, describeRun(batch))
  t.deepEqual(batch.stdout, Buffer.concat([Buffer.from(` missing\nREADME.md@${c[1]} ${blob.length}\n`), blob, Buffer.from('\n missing\n')]))
})

test.serial('extract --batch answers a line too long to name a key with its first bytes and "… missing", and goes on', t => {
  const { store, c } = fixture()
  const key = `README.md@${c[1]}`
  const blob = blobOf({ file: 'README.md', rev: c[1] as string })
  // 1 MiB: echoed, it would be 1 MiB of answer. Its first 64 bytes would end inside an é: 63 are echoed.
  const tooLong = `a${'é'.repeat(512 * 1024)}`
  // The longest line that could name a key (two ids of 4096 bytes and an @) is still answered whole.
  const longest = `${'x'.repeat(8192)}@`
  const justOver = 'y'.repeat(8194)
  const batch = vstore(['--store', store, 'extract', '--batch'], { input: `${tooLong}\r\n${key}\n${longest}\n${justOver}\n${key}` })
  t.is(batch.status, 0, describeRun(batch))
  t.is(batch.stderr, '')
  const expected = Buffer.concat([
    Buffer.from(`a${'é'.repeat(31)}… missing\n${key} ${blob.length}\n`), blob,
    Buffer.from(`\n${longest} missing\n${'y'.repeat(64)}… missing\n${key} ${blob.length}\n`), blob, Buffer.from('\n'),
  ])
  t.true(batch.stdout.equals(expected), `got ${batch.stdout.length} bytes, expected ${expected.length}: ${batch.stdout.subarray(0, 200).toString('utf8')}`)
})

// ---------------------------------------------------------------------------------------------------------
// log

function revisionsOf(file: string): Key[] {
  return fixture().keys.filter(key => key.file === file)
}

/** Each revision comes before all of its parents (newest first), and the set is the one expected. */
function checkNewestFirst(t: ExecutionContext, file: string, rows: readonly { rev: string; parents: readonly string[] }[]): void {
  const expected = revisionsOf(file)
  t.deepEqual(rows.map(row => row.rev).sort(), expected.map(key => key.rev).sort(), file)
  for (const row of rows) {
    t.deepEqual(row.parents, expected.find(key => key.rev === row.rev)?.parents, `${file}@${row.rev} parents`)
    const position = rows.indexOf(row)
    for (const parent of row.parents) t.true(rows.findIndex(other => other.rev === parent) > position, `${file}: ${row.rev} before its parent ${parent}`)
  }
}

test.serial('log FILE lists revisions newest first with their parents', t => {
  const { store, c } = fixture()
  const lines = succeeds(t, inStore(store, 'log', 'README.md'))
  // README.md's history is a line: its order is fully determined.
  t.is(lines, `${c[8]} ${c[6]}\n${c[6]} ${c[5]}\n${c[5]} ${c[2]}\n${c[2]} ${c[1]}\n${c[1]}\n`)
  for (const file of ['util.ts', WEIRD, LOGO, 'empty.txt', 'old.txt', 'docs/café.txt']) {
    const text = succeeds(t, inStore(store, 'log', file))
    const rows = text.trimEnd().split('\n').map(line => {
      const [rev = '', ...parents] = line.split(' ')
      return { rev, parents }
    })
    checkNewestFirst(t, file, rows)
  }
  const util = succeeds(t, inStore(store, 'log', 'util.ts')).split('\n')
  t.is(util[0], `${c[7]} ${c[5]} ${c[3]}`, 'the merge first, its parents in parent order')
  t.is(util[3], c[1])
})

test.serial('log --json parses and agrees with the text output', t => {
  const { store, c } = fixture()
  for (const file of ['README.md', 'util.ts', WEIRD]) {
    const rows = parseJson<{ rev: string; parents: string[] }[]>(t, inStore(store, 'log', file, '--json'))
    checkNewestFirst(t, file, rows)
    const text = succeeds(t, inStore(store, 'log', file))
    t.is(text, rows.map(row => `${[row.rev, ...row.parents].join(' ')}\n`).join(''))
  }
  t.deepEqual(parseJson<unknown[]>(t, inStore(store, 'log', LOGO, '--json')), [{ rev: c[4], parents: [c[1]] }, { rev: c[1], parents: [] }])
})

test.serial('log of an unknown file exits 3', t => {
  const { store } = fixture()
  failsWith(t, inStore(store, 'log', 'no-such-file.txt'), 3, 'VSTORE_NOT_FOUND')
  // A prefix of a stored file id is not that file.
  failsWith(t, inStore(store, 'log', 'README'), 3, 'VSTORE_NOT_FOUND')
  failsWith(t, inStore(store, 'log', 'docs'), 3, 'VSTORE_NOT_FOUND')
})

// ---------------------------------------------------------------------------------------------------------
// stats, dump-index, dump-group

test.serial('stats --json agrees with dump-index, dump-group and the imported texts', t => {
  const { store, keys } = fixture()
  const stats = parseJson<StatsJson>(t, inStore(store, 'stats', '--json'))
  const rows = parseJson<IndexRow[]>(t, inStore(store, 'dump-index', '--json'))
  const groups = parseJson<GroupListItem[]>(t, inStore(store, 'dump-group', '--json'))

  t.is(stats.textCount, keys.length)
  t.is(stats.textCount, rows.length)
  t.is(stats.fileCount, new Set(keys.map(key => key.file)).size)
  t.is(stats.fileCount, new Set(rows.map(row => row.file)).size)
  t.is(stats.groupCount, groups.length)
  t.is(stats.packCount, 1)
  t.is(stats.rawByteLength, sum(rows.map(row => row.textByteLength)))
  t.is(stats.rawByteLength, sum(keys.map(key => blobOf(key).length)))
  t.is(stats.packByteLength, statSync(join(store, 'packs', '000001.vpk')).size)
  t.is(stats.storeByteLength, stats.packByteLength + stats.indexByteLength)
  t.true(stats.indexByteLength > 0)
  t.is(stats.indexBytesPerText, Math.round((10 * stats.indexByteLength) / stats.textCount) / 10)

  for (const [name, values] of [
    ['readByteLength', rows.map(row => row.readByteLength)],
    ['decompressedByteLength', rows.map(row => row.decodedByteLength)],
  ] as const) {
    const sorted = [...values].sort((a, b) => a - b)
    const distribution = stats[name]
    t.is(distribution.max, Math.max(...values), `${name}.max`)
    const low = sorted[Math.floor((sorted.length - 1) / 2)] as number
    const high = sorted[Math.ceil((sorted.length - 1) / 2)] as number
    t.true(distribution.median >= low && distribution.median <= high, `${name}.median ${distribution.median} not between ${low} and ${high}`)
  }
})

test.serial('dump-index rows match the keys, their parents and git', t => {
  const { store, keys } = fixture()
  const rows = parseJson<IndexRow[]>(t, inStore(store, 'dump-index', '--json'))
  const groups = parseJson<GroupListItem[]>(t, inStore(store, 'dump-group', '--json'))
  for (const key of keys) {
    const row = rows.find(r => r.file === key.file && r.rev === key.rev)
    if (row === undefined) {
      t.fail(`${key.file}@${key.rev} not in dump-index`)
      continue
    }
    t.deepEqual(row.parents, key.parents, `${key.file}@${key.rev}`)
    t.is(row.textByteLength, blobOf(key).length)
    t.is(row.pack, 'packs/000001.vpk')
    t.true(groups.some(group => group.groupOffset === row.groupOffset), `${key.file}@${key.rev} points at a group start`)
    t.true(row.recordStart < row.recordEnd && row.recordEnd <= row.decodedByteLength, `${key.file}@${key.rev} record range`)
    // The entry keeps 4 bytes of the text's SHA-256 as its check (store format 4).
    t.regex(row.hash, /^[0-9a-f]{8}$/)
    t.true(createHash('sha256').update(blobOf(key)).digest('hex').startsWith(row.hash), `${key.file}@${key.rev} hash`)
  }
  // The duplicate text is stored once: both keys name the same record.
  const copy = rows.find(row => row.file === 'docs/README-copy.md')
  const original = rows.find(row => row.file === 'README.md' && row.rev === fixture().c[1])
  t.like(copy, { groupOffset: original?.groupOffset, recordStart: original?.recordStart, hash: original?.hash })

  const text = succeeds(t, inStore(store, 'dump-index'))
  t.is(text.split('\n').length - 1, keys.length)
  t.true(text.includes(`${WEIRD}@${fixture().c[3]} → packs/000001.vpk@`), text)
})

test.serial('dump-index --prefix shows only the files that start with it', t => {
  const { store, keys } = fixture()
  const docs = parseJson<IndexRow[]>(t, inStore(store, 'dump-index', '--prefix', 'docs/', '--json'))
  const expected = keys.filter(key => key.file.startsWith('docs/'))
  t.is(docs.length, expected.length)
  t.deepEqual(docs.map(row => `${row.file}@${row.rev}`).sort(), expected.map(key => `${key.file}@${key.rev}`).sort())
  t.deepEqual(parseJson<IndexRow[]>(t, inStore(store, 'dump-index', '--prefix', 'no-such-', '--json')), [])
  const text = succeeds(t, inStore(store, 'dump-index', '--prefix', 'README'))
  t.is(text.split('\n').length - 1, revisionsOf('README.md').length)
  t.true(text.split('\n').slice(0, -1).every(line => line.startsWith('README.md@')), text)
})

test.serial('dump-group lists the groups, as text and as JSON', t => {
  const { store } = fixture()
  const groups = parseJson<GroupListItem[]>(t, inStore(store, 'dump-group', '--json'))
  t.true(groups.length >= 1)
  t.like(groups[0], { packId: 1, groupOffset: 8 })
  let offset = 8
  for (const group of groups) {
    t.is(group.groupOffset, offset, 'groups follow each other in the pack')
    offset += group.header.headerByteLength + group.header.storedByteLength
  }
  t.is(offset, statSync(join(store, 'packs', '000001.vpk')).size)
  const text = succeeds(t, inStore(store, 'dump-group'))
  t.is(text, groups.map(g => `${g.packId}@${g.groupOffset} codec ${g.header.codecId} content ${g.header.contentByteLength} stored ${g.header.storedByteLength}\n`).join(''))
})

test.serial('dump-group 1@8 --json shows records with kinds, keys and delta instructions', t => {
  const { store, keys } = fixture()
  const dump = parseJson<GroupDumpJson>(t, inStore(store, 'dump-group', '1@8', '--json'))
  const rows = parseJson<IndexRow[]>(t, inStore(store, 'dump-index', '--json'))
  t.like(dump, { pack: 'packs/000001.vpk', groupOffset: 8 })
  t.true(dump.records.length >= 1)
  let recordEnd = 0
  for (const record of dump.records) {
    t.is(record.recordStart, recordEnd, 'records follow each other')
    recordEnd = record.recordEnd
    t.true(record.kind === 'fulltext' || record.kind === 'delta' || record.kind === 'delta-previous', record.kind)
    if (record.kind === 'fulltext') t.is(record.instructions, undefined)
    else {
      const instructions = record.instructions ?? []
      t.true(instructions.length > 0)
      t.is(sum(instructions.map(i => i.byteLength)), record.textByteLength, 'instructions make the text')
      // A delta on a previous text addresses that text first, then the content before the record.
      const previous = dump.records.find(r => r.recordStart === record.previousStart)
      t.is(previous === undefined, record.kind === 'delta', 'a delta on a previous text names an earlier record')
      const sourceByteLength = (previous?.textByteLength ?? 0) + record.recordStart
      for (const instruction of instructions) {
        t.true(instruction.kind === 'copy' || instruction.kind === 'insert')
        if (instruction.kind === 'copy') t.true(instruction.offset + instruction.byteLength <= sourceByteLength, 'copies come from before the record')
      }
    }
    for (const key of record.keys) {
      const row = rows.find(r => r.file === key.file && r.rev === key.rev)
      t.like(row, { groupOffset: 8, recordStart: record.recordStart, recordEnd: record.recordEnd, textByteLength: record.textByteLength })
    }
  }
  t.is(recordEnd, dump.contentByteLength)
  const isDelta = (kind: string) => kind === 'delta' || kind === 'delta-previous'
  t.true(dump.records.some(record => isDelta(record.kind) && record.instructions?.some(i => i.kind === 'copy')), 'the edits are stored as deltas')
  // One version of the logo is stored whole, the other (which one is the writer's choice) as a delta on
  // it that copies most of it.
  const logos = dump.records.filter(record => record.keys.some(key => key.file === LOGO))
  t.deepEqual(logos.map(record => record.kind).sort(), ['delta-previous', 'fulltext'])
  const logoDelta = logos.find(record => isDelta(record.kind))
  t.true(sum((logoDelta?.instructions ?? []).filter(i => i.kind === 'copy').map(i => i.byteLength)) > 30_000)
  const keysInGroup = dump.records.flatMap(record => record.keys.map(key => `${key.file}@${key.rev}`)).sort()
  t.deepEqual(keysInGroup, rows.filter(row => row.groupOffset === 8).map(row => `${row.file}@${row.rev}`).sort())
  t.true(keysInGroup.length <= keys.length)

  const text = succeeds(t, inStore(store, 'dump-group', 'packs/000001.vpk@8'))
  t.true(text.startsWith(`packs/000001.vpk@8: codec ${dump.codec}, ${dump.groupByteLength} bytes`), text)
  t.regex(text, /\n {4}copy \d+ from \d+\n/)
})

test.serial('dump-group of a pack or offset that does not exist exits 3; a malformed one exits 2', t => {
  const { store } = fixture()
  failsWith(t, inStore(store, 'dump-group', '7@8'), 3, 'VSTORE_NOT_FOUND')
  failsWith(t, inStore(store, 'dump-group', '1@999999999'), 3, 'VSTORE_NOT_FOUND')
  failsWith(t, inStore(store, 'dump-group', 'one@eight'), 2, 'VSTORE_USAGE')
})

// No group starts at offset 9 of a healthy store: that is a not-found offset (exit 3), not damage.
test.serial('dump-group at an offset where no group starts exits 3, not 4', t => {
  failsWith(t, inStore(fixture().store, 'dump-group', '1@9'), 3, 'VSTORE_NOT_FOUND')
})

test.serial('stats prints the labelled lines, with the counts of stats --json', t => {
  const { store } = fixture()
  const text = succeeds(t, inStore(store, 'stats'))
  const stats = parseJson<StatsJson>(t, inStore(store, 'stats', '--json'))
  t.true(text.startsWith(`texts          ${stats.textCount} in ${stats.fileCount} files\ngroups         ${stats.groupCount} in 1 pack\n`), text)
  // The layout, with sizes and counts blanked: sizes depend on the compressor's version.
  const shape = text.replace(/\d+(?:\.\d+)? (?:B|KiB|MiB)\b/g, '<bytes>').replace(/\d+(?:\.\d+)?/g, '<n>')
  matchesGolden(t, 'stats-shape.txt', shape)
})

// ---------------------------------------------------------------------------------------------------------
// verify and damage

test.serial('verify of a sound store exits 0 with an "ok:" line', t => {
  const { store, keys } = fixture()
  t.regex(succeeds(t, inStore(store, 'verify')), new RegExp(`^ok: ${keys.length} texts in \\d+ groups? verified \\(checksums; --full rebuilds every text\\)\\n$`))
  t.regex(succeeds(t, inStore(store, 'verify', '--full')), new RegExp(`^ok: ${keys.length} texts in \\d+ groups? verified, every text rebuilt\\n$`))
  t.like(parseJson<Record<string, unknown>>(t, inStore(store, 'verify', '--json')), { textCount: keys.length, problems: [] })
})

test.serial('verify of a store whose index LevelDB will not open exits 4, naming the keys the index files still hold', t => {
  const { keys } = fixture()
  const store = copyOfStore('unopenable')
  writeFileSync(join(store, 'index', 'CURRENT'), 'MANIFEST-999999\n')
  const verify = inStore(store, 'verify', '--json')
  t.is(verify.status, 4, describeRun(verify))
  const report = JSON.parse(verify.stdout.toString('utf8')) as { problems: { code: string; message: string; keys: { file: string; rev: string }[] }[] }
  t.regex(report.problems[0]?.message ?? '', /the index does not open/)
  const named = new Set(report.problems[0]?.keys.map(key => `${key.file}@${key.rev}`))
  t.is(named.size, keys.length)
  t.true(keys.every(key => named.has(`${key.file}@${key.rev}`)))
  // Other commands still refuse with one line.
  failsWith(t, inStore(store, 'stats'), 4, 'VSTORE_CORRUPT')
})

test.serial('after one byte of a pack flips, verify exits 4 naming keys, extract of an affected key exits 4, and repair drops exactly those', t => {
  const { keys } = fixture()
  const store = copyOfStore('damaged')
  const rowsBefore = parseJson<IndexRow[]>(t, inStore(store, 'dump-index', '--json'))
  const groups = parseJson<GroupListItem[]>(t, inStore(store, 'dump-group', '--json'))
  const packPath = join(store, 'packs', '000001.vpk')
  const pack = readFileSync(packPath)
  const flipAt = Math.floor(pack.length / 2)
  const firstGroup = groups[0]
  if (firstGroup === undefined) return t.fail('no groups')
  t.true(flipAt > 8 + firstGroup.header.headerByteLength, 'the flipped byte is past the pack and group headers')
  pack[flipAt] = (pack[flipAt] as number) ^ 0x55
  writeFileSync(packPath, pack)

  const verify = inStore(store, 'verify')
  t.is(verify.status, 4, describeRun(verify))
  t.is(verify.stderr, '')
  const report = verify.stdout.toString('utf8')
  t.regex(report, new RegExp(`^\\d+ problems? in ${keys.length} texts`))
  t.true(keys.some(key => report.includes(`${key.file}@${key.rev}`)), report)
  const json = vstore(['--store', store, 'verify', '--json'])
  t.is(json.status, 4)
  const parsed = JSON.parse(json.stdout.toString('utf8')) as { problems: { code: string; keys: { file: string; rev: string }[] }[] }
  t.true(parsed.problems.length >= 1)
  t.true(parsed.problems.every(problem => problem.code === 'VSTORE_CORRUPT'), json.stdout.toString('utf8'))
  const affected = parsed.problems.flatMap(problem => problem.keys)
  t.true(affected.length >= 1)

  const damagedGroup = groups.filter(group => group.groupOffset <= flipAt).pop() as GroupListItem
  t.true(affected.every(key => rowsBefore.some(row => row.file === key.file && row.rev === key.rev && row.groupOffset === damagedGroup.groupOffset)),
    'verify names keys of the damaged group')

  // extract reads a prefix of the group and checks the text's hash, not the group's checksum: a key whose
  // text does not depend on the flipped byte still reads. So every key either reads back git's bytes or
  // exits 4 with VSTORE_CORRUPT (never wrong bytes), and the key holding the flipped byte is one of the latter.
  const failed: string[] = []
  for (const key of keys) {
    const run = inStore(store, 'extract', `${key.file}@${key.rev}`)
    if (run.status === 0) t.true(run.stdout.equals(blobOf(key)), `${key.file}@${key.rev} read back wrong bytes`)
    else {
      failed.push(`${key.file}@${key.rev}`)
      failsWith(t, run, 4, 'VSTORE_CORRUPT')
    }
  }
  t.true(failed.length >= 1, 'some key is affected')
  t.true(failed.every(key => affected.some(a => `${a.file}@${a.rev}` === key)), 'verify --json names every key extract cannot read')
  failsWith(t, inStore(store, 'dump-group', `1@${damagedGroup.groupOffset}`), 4, 'VSTORE_CORRUPT')

  // repair drops exactly those keys, says so one per line, and leaves a store that verifies in full.
  const repaired = succeeds(t, inStore(store, 'repair'))
  t.regex(repaired, new RegExp(`^repaired: kept ${keys.length - failed.length} texts .*\ndropped ${failed.length} texts? that could not be read:\n`))
  for (const key of failed) t.true(repaired.includes(`\n  ${key}\n`) || repaired.endsWith(`\n  ${key}\n`), `${key} is listed`)
  t.regex(succeeds(t, inStore(store, 'verify', '--full')), /^ok: /)
  for (const key of keys) {
    const run = inStore(store, 'extract', `${key.file}@${key.rev}`)
    if (failed.includes(`${key.file}@${key.rev}`)) failsWith(t, run, 3, 'VSTORE_NOT_FOUND')
    else t.true(run.status === 0 && run.stdout.equals(blobOf(key)), `${key.file}@${key.rev} after the repair`)
  }
  t.regex(succeeds(t, inStore(store, 'repair')), /^nothing to repair/)
})

test.serial('extract --batch answers a key of a damaged group "error VSTORE_CORRUPT", goes on with the next lines, and exits 4', t => {
  const { c, keys, repo } = fixture()
  // Two imports, so that the store has groups of each: the second one's are damaged, the first one's (and
  // the bases the second builds on) read.
  const store = join(newDirectory('batch-damaged'), 'store')
  succeeds(t, inStore(store, 'import-git', repo.dir, '--ref', c[2] as string, '--quiet'))
  succeeds(t, inStore(store, 'import-git', repo.dir, '--quiet'))
  const groups = parseJson<GroupListItem[]>(t, inStore(store, 'dump-group', '--json'))
  t.true(groups.length >= 2, `${groups.length} groups`)
  const last = groups[groups.length - 1] as GroupListItem
  const packPath = join(store, 'packs', `${String(last.packId).padStart(6, '0')}.vpk`)
  const pack = readFileSync(packPath)
  const flipAt = last.groupOffset + last.header.headerByteLength + Math.floor(last.header.storedByteLength / 2)
  pack[flipAt] = (pack[flipAt] as number) ^ 0x55
  writeFileSync(packPath, pack)

  // Which keys one extract each can still read (every one either reads git's bytes or exits 4).
  const readable = new Map<string, boolean>()
  for (const key of keys) {
    const run = inStore(store, 'extract', `${key.file}@${key.rev}`)
    if (run.status !== 0) failsWith(t, run, 4, 'VSTORE_CORRUPT')
    readable.set(`${key.file}@${key.rev}`, run.status === 0)
  }
  const damaged = [...readable].filter(([, ok]) => !ok).map(([spec]) => spec)
  t.true(damaged.length >= 1 && damaged.length < keys.length, `${damaged.length} of ${keys.length} keys damaged`)

  // All keys in one batch, a damaged one first and a missing line after each.
  const ordered = [...keys].sort((a, b) => Number(readable.get(`${a.file}@${a.rev}`)) - Number(readable.get(`${b.file}@${b.rev}`)))
  const input = ordered.map(key => `${key.file}@${key.rev}\nno-such-file@${c[1]}\n`).join('')
  const batch = vstore(['--store', store, 'extract', '--batch'], { input })
  t.is(batch.status, 4, describeRun(batch))
  const expected = Buffer.concat(ordered.flatMap(key => {
    const spec = `${key.file}@${key.rev}`
    const missing = Buffer.from(`no-such-file@${c[1]} missing\n`)
    if (readable.get(spec) !== true) return [Buffer.from(`${spec} error VSTORE_CORRUPT\n`), missing]
    const blob = blobOf(key)
    return [Buffer.from(`${spec} ${blob.length}\n`), blob, Buffer.from('\n'), missing]
  }))
  t.true(batch.stdout.equals(expected), `got ${batch.stdout.length} bytes, expected ${expected.length}:\n${batch.stdout.toString('latin1').slice(0, 600)}`)
  // One line on stderr per damaged key, each the one-line error with its code.
  const errorLines = batch.stderr.split('\n').slice(0, -1)
  t.is(errorLines.length, damaged.length, batch.stderr)
  for (const line of errorLines) t.true(line.startsWith('vstore: VSTORE_CORRUPT ('), line)
})

// ---------------------------------------------------------------------------------------------------------
// Locking

interface Holder {
  readonly exited: Promise<number | null>
  release(): void
}

/** Starts a process that opens `store` through the public API and holds it until its stdin closes. */
async function holdStore(t: ExecutionContext, store: string): Promise<Holder> {
  const script = [
    `const { Store } = await import(${JSON.stringify(API_URL)})`,
    `const store = await Store.open(${JSON.stringify(store)})`,
    `process.stdout.write('holding\\n')`,
    `process.stdin.resume()`,
    `process.stdin.on('end', () => store.close().then(() => process.exit(0), () => process.exit(1)))`,
  ].join('\n')
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: scratch, env: ENVIRONMENT, stdio: ['pipe', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>(resolve => child.on('close', code => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill()
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  await new Promise<void>((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(() => reject(new Error(`the holder did not open the store: ${stderr}`)), PROCESS_TIMEOUT_MILLISECONDS)
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8')
      if (stdout.includes('holding\n')) {
        clearTimeout(timer)
        resolve()
      }
    })
    void exited.then(code => {
      clearTimeout(timer)
      reject(new Error(`the holder exited with ${code}: ${stderr}`))
    })
  })
  return { exited, release: () => child.stdin.end() }
}

test.serial('a store another process holds: writers exit 5 with VSTORE_LOCKED, readers read its last commit', async t => {
  const { keys, repo } = fixture()
  const store = copyOfStore('locked')
  const holder = await holdStore(t, store)
  failsWith(t, inStore(store, 'import-git', repo.dir), 5, 'VSTORE_LOCKED')
  failsWith(t, inStore(store, 'init'), 5, 'VSTORE_LOCKED')
  failsWith(t, inStore(store, 'pack'), 5, 'VSTORE_LOCKED')
  failsWith(t, inStore(store, 'fetch', fixture().store), 5, 'VSTORE_LOCKED')
  failsWith(t, runVstore(['--store', store, 'import-stream'], { input: Buffer.from('vstream\u0001\u0000\u0000', 'latin1') }), 5, 'VSTORE_LOCKED')
  // Readers do not wait: they read a copy of the index, and change nothing on disk.
  const packsBefore = readdirSync(join(store, 'packs')).map(name => `${name}:${statSync(join(store, 'packs', name)).size}`)
  t.is(parseJson<StatsJson>(t, inStore(store, 'stats', '--json')).textCount, keys.length)
  for (const key of keys.slice(0, 5)) t.true(inStore(store, 'extract', `${key.file}@${key.rev}`).stdout.equals(blobOf(key)), `${key.file}@${key.rev}`)
  t.regex(succeeds(t, inStore(store, 'verify')), /^ok: /)
  t.deepEqual(readdirSync(join(store, 'packs')).map(name => `${name}:${statSync(join(store, 'packs', name)).size}`), packsBefore)
  holder.release()
  t.is(await holder.exited, 0)
  t.is(parseJson<StatsJson>(t, inStore(store, 'stats', '--json')).textCount, keys.length, 'the lock goes with the holder')
})

// ---------------------------------------------------------------------------------------------------------
// Usage

test.serial('--help exits 0 and prints the overview; so do -h, help and no command', t => {
  const help = succeeds(t, vstore(['--help']))
  matchesGolden(t, 'help.txt', help)
  t.true(help.startsWith('usage: vstore'))
  for (const args of [['-h'], ['help'], [], ['--store', 'x', '--help']]) {
    t.is(succeeds(t, vstore(args)), help, args.join(' '))
  }
})

test.serial('help extract and extract --help print extract\'s own help: its usage line, options and an example', t => {
  const help = succeeds(t, vstore(['help', 'extract']))
  matchesGolden(t, 'help-extract.txt', help)
  t.true(help.startsWith('usage: vstore [--store DIR] extract '), help)
  t.true(help.includes('--batch'), help)
  t.regex(help, /\nExample:\n {2}vstore extract /)
  for (const args of [['extract', '--help'], ['extract', '-h'], ['--help', 'extract'], ['extract', '--batch', '--help']]) t.is(succeeds(t, vstore(args)), help, args.join(' '))
  t.not(help, succeeds(t, vstore(['help'])))
})

test.serial('help of an unknown command exits 2 with one usage line, as the command itself does', t => {
  matchesGolden(t, 'usage-help-unknown-command.txt', failsWith(t, vstore(['help', 'nosuch']), 2, 'VSTORE_USAGE'))
  failsWith(t, vstore(['nosuch', '--help']), 2, 'VSTORE_USAGE')
  failsWith(t, vstore(['help', 'log', 'extract']), 2, 'VSTORE_USAGE')
})

test.serial('every command of the parser\'s table has its own help, naming every option the command takes', async t => {
  const overview = succeeds(t, vstore(['help']))
  for (const spec of await loadAllCommands()) {
    const { name } = spec
    const help = succeeds(t, vstore(['help', name]))
    t.is(succeeds(t, vstore([name, '--help'])), help, name)
    t.true(help.startsWith(`usage: vstore ${name === 'help' ? '' : '[--store DIR] '}${name}`), help)
    for (const option of [...Object.keys(spec.options), ...(name === 'help' ? [] : ['store'])]) t.true(help.includes(`--${option}`), `${name} --${option}`)
    t.true(help.includes(`\nExample:\n  ${spec.example}\n`) && spec.example.includes(name), name)
    t.true(overview.includes(`\n  ${name}`), `the overview lists ${name}`)
  }
})

test.serial('--version and -v print the package version and the store format this build writes, on one line', t => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  const expected = `vstore ${version} (store format ${STORE_FORMAT_VERSION})\n`
  for (const args of [['--version'], ['-v'], ['--store', 'x', '--version']]) t.is(succeeds(t, vstore(args)), expected, args.join(' '))
  // A command with it is a mistake, not a request for the version.
  failsWith(t, vstore(['stats', '--version']), 2, 'VSTORE_USAGE')
})

test.serial('an unknown command exits 2 with one usage line', t => {
  const cwd = newDirectory('usage')
  const line = failsWith(t, vstore(['frobnicate'], { cwd }), 2, 'VSTORE_USAGE')
  matchesGolden(t, 'usage-unknown-command.txt', line)
  t.deepEqual(readdirSync(cwd), [], 'a usage error creates no store')
})

test.serial('an unknown option, or an option the command does not take, exits 2 with one usage line', t => {
  const { store } = fixture()
  failsWith(t, inStore(store, 'stats', '--frobnicate'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'stats', '-x'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'stats', '--prefix', 'docs/'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'log', 'README.md', '--batch'), 2, 'VSTORE_USAGE')
  failsWith(t, vstore(['--store']), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'import-git', fixture().repo.dir, '--all', '--ref', 'main'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'import-git', fixture().repo.dir, '--paths', '('), 2, 'VSTORE_USAGE')
})

test.serial('a wrong number of arguments exits 2 with one usage line', t => {
  const { store } = fixture()
  matchesGolden(t, 'usage-log-no-argument.txt', failsWith(t, inStore(store, 'log'), 2, 'VSTORE_USAGE'))
  failsWith(t, inStore(store, 'log', 'a', 'b'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'stats', 'extra'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'init', 'extra'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'import-git'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'extract'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'extract', '--batch', `README.md@${fixture().c[1]}`), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'dump-group', '1@8', '1@9'), 2, 'VSTORE_USAGE')
})

test.serial('a command on a directory with no store exits 3 and creates nothing', t => {
  const dir = newDirectory('empty')
  const store = join(dir, 'store')
  for (const args of [['stats'], ['verify'], ['log', 'README.md'], ['extract', `README.md@${fixture().c[1]}`], ['dump-index']]) {
    failsWith(t, inStore(store, ...args), 3, 'VSTORE_NOT_FOUND')
  }
  t.deepEqual(readdirSync(dir), [])
})

test.serial('--store naming a file exits 2 with one VSTORE_USAGE line for every command, and leaves the file as it was', t => {
  const { c, repo, store } = fixture()
  const dir = newDirectory('store-is-a-file')
  const file = join(dir, 'notes.txt')
  writeFileSync(file, 'not a store\n')
  const release = newDirectory('release-for-a-file')
  writeFileSync(join(release, 'a.txt'), 'a\n')
  const key = `README.md@${c[1]}`
  const commands = [
    ['init'], ['import-git', repo.dir], ['import-tar', release], ['import-npm', 'express', '--cache', join(release, 'cache')], ['import-fast-export'],
    ['import-stream'], ['fetch', store], ['export-stream'], ['pack'], ['extract', key], ['extract', '--batch'], ['diff', key, key], ['annotate', key],
    ['log', 'README.md'], ['stats'], ['verify'], ['repair'], ['upgrade'], ['dump-group'], ['dump-index'],
  ]
  t.deepEqual([...new Set(commands.map(([name]) => name))].sort(), COMMAND_NAMES.filter(name => name !== 'help').sort(), 'every command that opens a store')
  for (const args of commands) {
    const line = failsWith(t, vstore(['--store', file, ...args], { input: `${key}\n` }), 2, 'VSTORE_USAGE')
    t.true(line.includes(file), line)
  }
  // A path through a file, and a file as fetch's source.
  failsWith(t, inStore(join(file, 'store'), 'init'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(join(file, 'store'), 'stats'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(join(dir, 'target'), 'fetch', file), 2, 'VSTORE_USAGE')
  t.is(readFileSync(file, 'utf8'), 'not a store\n')
  t.deepEqual(readdirSync(dir), ['notes.txt'])
  t.deepEqual(readdirSync(release), ['a.txt'])
})

test.serial('init refuses a folder that holds other files; makes a store in an empty one; in a store says it is one already', t => {
  const folder = newDirectory('notes')
  writeFileSync(join(folder, 'todo.txt'), 'buy milk\n')
  const line = failsWith(t, inStore(folder, 'init'), 2, 'VSTORE_USAGE')
  t.true(line.includes(folder), line)
  t.deepEqual(readdirSync(folder), ['todo.txt'])

  const empty = newDirectory('empty-folder')
  t.is(succeeds(t, inStore(empty, 'init')), `initialized vstore in ${empty}\n`)
  t.is(succeeds(t, inStore(empty, 'init')), `vstore already initialized in ${empty}\n`)
  const store = copyOfStore('init-again')
  t.is(succeeds(t, inStore(store, 'init')), `vstore already initialized in ${store}\n`)
  t.is(parseJson<StatsJson>(t, inStore(store, 'stats', '--json')).textCount, fixture().keys.length)
  // What a creator killed before its index was in place leaves (packs/, a dead process's staging index)
  // is a store to finish, not someone's folder.
  const cut = newDirectory('cut-short')
  mkdirSync(join(cut, 'packs'))
  mkdirSync(join(cut, 'index.new-4194305-1'))
  t.is(succeeds(t, inStore(cut, 'init')), `initialized vstore in ${cut}\n`)
  t.regex(succeeds(t, inStore(cut, 'verify')), /^ok: 0 texts/)
})

test.serial('imports and fetch refuse to make a store in a folder that holds other files, and make one in an empty folder', t => {
  const { repo, store } = fixture()
  const folder = newDirectory('project')
  writeFileSync(join(folder, 'main.c'), 'int main(void) { return 0; }\n')
  const release = newDirectory('release-for-a-folder')
  writeFileSync(join(release, 'a.txt'), 'a\n')
  const stream = inStore(store, 'export-stream', '--file', 'util.ts').stdout
  const fastExport = runProcess('git', ['-C', repo.dir, 'fast-export', '--all'], { env: ENVIRONMENT }).stdout
  for (const [args, input] of [[['import-git', repo.dir]], [['import-tar', release]], [['fetch', store]], [['import-stream'], stream], [['import-fast-export'], fastExport]] as const) {
    const line = failsWith(t, runVstore(['--store', folder, ...args], input === undefined ? {} : { input }), 2, 'VSTORE_USAGE')
    t.true(line.includes(folder), line)
  }
  t.deepEqual(readdirSync(folder), ['main.c'])
  const empty = newDirectory('import-into-empty')
  t.is(succeeds(t, inStore(empty, 'import-git', repo.dir, '--quiet')), '')
  t.is(parseJson<StatsJson>(t, inStore(empty, 'stats', '--json')).textCount, fixture().keys.length)
})

// An invalid --codec is the user's mistake: a usage line, not a bug's stack.
test.serial('an invalid --codec exits 2 with one usage line, not 1 with a stack', t => {
  const store = join(newDirectory('bad-codec'), 'store')
  failsWith(t, inStore(store, 'init', '--codec', 'bogus'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'init', '--codec', 'zlib:99'), 2, 'VSTORE_USAGE')
})

test.serial('--profile archive imports with brotli 11, no larger than the default; an unknown profile, or one with --codec, exits 2', t => {
  const sizes: number[] = []
  for (const profile of ['default', 'archive']) {
    const store = join(newDirectory(`profile-${profile}`), 'store')
    succeeds(t, inStore(store, 'import-git', fixture().repo.dir, '--quiet', '--profile', profile))
    sizes.push(JSON.parse(succeeds(t, inStore(store, 'stats', '--json'))).packByteLength as number)
  }
  t.true((sizes[1] as number) <= (sizes[0] as number), `default ${sizes[0]}, archive ${sizes[1]}`)
  const store = join(newDirectory('profile-bad'), 'store')
  failsWith(t, inStore(store, 'init', '--profile', 'fastest'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'init', '--profile', 'archive', '--codec', 'zlib'), 2, 'VSTORE_USAGE')
  failsWith(t, inStore(store, 'extract', 'a@b', '--profile', 'archive'), 2, 'VSTORE_USAGE')
})

test.serial('vstore pack rewrites the store: one summary line, or JSON; every key still extracts; no store exits 3', t => {
  const store = copyOfStore('pack')
  const line = succeeds(t, inStore(store, 'pack'))
  t.regex(line, /^packed \d+ texts \(.*\): \d+ → \d+ groups, packs .* → .*, store now .*, [\d.]+ s\n$/)
  // --json: the summary on stdout, JSON progress lines on stderr (as for imports).
  const run = inStore(store, 'pack', '--json', '--profile', 'archive')
  t.is(run.status, 0, describeRun(run))
  for (const progressLine of run.stderr.trim().split('\n')) t.is(JSON.parse(progressLine).event, 'progress')
  const summary = JSON.parse(run.stdout.toString('utf8')) as Record<string, number>
  t.is(summary['textCount'], fixture().keys.length)
  t.true((summary['packByteLength'] as number) <= (summary['oldPackByteLength'] as number))
  for (const key of fixture().keys) t.deepEqual(inStore(store, 'extract', `${key.file}@${key.rev}`).stdout, blobOf(key))
  failsWith(t, inStore(join(newDirectory('pack-none'), 'store'), 'pack'), 3, 'VSTORE_NOT_FOUND')
})

test.serial('vstore diff between two versions applies with patch -p1 to a checkout of the first and gives the second', t => {
  const { c, repo } = fixture()
  const pairs: [string, string, string][] = [
    ['README.md', c[1] as string, c[8] as string],
    ['README.md', c[8] as string, c[1] as string],
    ['util.ts', c[3] as string, c[7] as string],
    [WEIRD, c[1] as string, c[8] as string],
    ['docs/café.txt', c[1] as string, c[1] as string],
  ]
  for (const [file, from, to] of pairs) {
    const run = inStore(fixture().store, 'diff', `${file}@${from}`, `${file}@${to}`)
    t.is(run.status, 0, describeRun(run))
    if (from === to) {
      t.is(run.stdout.length, 0, 'equal texts: no output')
      continue
    }
    t.true(run.stdout.toString('utf8').startsWith(`--- a/${file}\t${from}\n+++ b/${file}\t${to}\n@@ `), run.stdout.toString('utf8'))
    const checkout = newDirectory('diff-checkout')
    git(repo.dir, 'worktree', 'add', '-q', '--detach', checkout, from)
    const patch = runProcess('patch', ['-p1', '--quiet', '--force'], { cwd: checkout, input: run.stdout })
    t.is(patch.status, 0, describeRun(patch))
    t.deepEqual(readFileSync(join(checkout, file)), gitShow(repo, to, file), `${file} ${from} → ${to}`)
    git(repo.dir, 'worktree', 'remove', '--force', checkout)
  }
  // Two files: the labels name each.
  const across = inStore(fixture().store, 'diff', `README.md@${c[1]}`, `docs/README-copy.md@${c[1]}`)
  t.is(across.status, 0, describeRun(across))
  t.is(across.stdout.length, 0, 'the copy holds the same bytes')
})

test.serial('vstore diff --stat counts the lines git diff --numstat counts; a binary file says Bin; a missing key exits 3', t => {
  const { c, repo } = fixture()
  for (const [file, from, to] of [['README.md', c[2], c[6]], ['util.ts', c[1], c[7]]] as [string, string, string][]) {
    const [added, deleted] = git(repo.dir, 'diff', '--numstat', from, to, '--', file).split('\t').map(Number) as [number, number]
    const stat = succeeds(t, inStore(fixture().store, 'diff', '--stat', `${file}@${from}`, `${file}@${to}`))
    t.is(stat.split('\n')[0]?.replace(/ [+-]+$/, ''), ` ${file} | ${added + deleted}`, stat)
    t.true(stat.includes(`${added} insertion`) || added === 0, stat)
    t.true(stat.includes(`${deleted} deletion`) || deleted === 0, stat)
  }
  t.is(succeeds(t, inStore(fixture().store, 'diff', '--stat', `${LOGO}@${c[1]}`, `${LOGO}@${c[4]}`)), ` ${LOGO} | Bin\n 1 file changed\n`)
  failsWith(t, inStore(fixture().store, 'diff', `README.md@${c[1]}`, 'README.md@0000000000'), 3, 'VSTORE_NOT_FOUND')
  failsWith(t, inStore(fixture().store, 'diff', `README.md@${c[1]}`), 2, 'VSTORE_USAGE')
})

test.serial('export-stream piped to import-stream copies every key with its parents; --file copies one file; a cut stream stores nothing', t => {
  const { keys } = fixture()
  const exported = inStore(fixture().store, 'export-stream')
  t.is(exported.status, 0, describeRun({ ...exported, stdout: Buffer.alloc(0) }))
  t.true(exported.stdout.subarray(0, 8).equals(Buffer.from('vstream\u0001', 'latin1')))
  const copy = join(newDirectory('stream-copy'), 'store')
  // An empty stdin is not a stream.
  failsWith(t, inStore(copy, 'import-stream'), 4, 'VSTORE_CORRUPT')
  const run = runVstore(['--store', copy, 'import-stream', '--quiet'], { input: exported.stdout })
  t.is(run.status, 0, describeRun(run))
  const rows = parseJson<IndexRow[]>(t, inStore(copy, 'dump-index', '--json'))
  t.deepEqual(rows.map(row => `${row.file}@${row.rev} ${row.parents.join(',')}`).sort(), keys.map(key => `${key.file}@${key.rev} ${key.parents.join(',')}`).sort())
  for (const key of keys) t.deepEqual(inStore(copy, 'extract', `${key.file}@${key.rev}`).stdout, blobOf(key))
  // Again: nothing new.
  const again = runVstore(['--store', copy, 'import-stream', '--json'], { input: exported.stdout })
  t.is(JSON.parse(again.stdout.toString('utf8')).newTextCount, 0)

  const readme = inStore(fixture().store, 'export-stream', '--file', 'README.md')
  const only = join(newDirectory('stream-one-file'), 'store')
  t.is(runVstore(['--store', only, 'import-stream', '--quiet'], { input: readme.stdout }).status, 0)
  t.deepEqual([...new Set(parseJson<IndexRow[]>(t, inStore(only, 'dump-index', '--json')).map(row => row.file))], ['README.md'])
  failsWith(t, inStore(fixture().store, 'export-stream', '--file', 'no such file'), 3, 'VSTORE_NOT_FOUND')

  const cutDir = newDirectory('stream-cut')
  const cut = runVstore(['--store', join(cutDir, 'store'), 'import-stream', '--quiet'], { input: exported.stdout.subarray(0, exported.stdout.length - 3) })
  failsWith(t, cut, 4, 'VSTORE_CORRUPT')
  t.deepEqual(readdirSync(cutDir), [], 'a first import that fails leaves no store')
})

test.serial('fetch copies the texts a store lacks from another, and nothing the second time; --file limits it; a missing source exits 3', t => {
  const { c, keys, repo } = fixture()
  const target = join(newDirectory('fetch'), 'store')
  succeeds(t, inStore(target, 'import-git', repo.dir, '--ref', c[2] as string, '--quiet'))
  const before = parseJson<IndexRow[]>(t, inStore(target, 'dump-index', '--json')).length
  t.true(before > 0 && before < keys.length)
  // --json: the summary on stdout (progress lines go to stderr).
  const summaryOf = (run: Run) => {
    t.is(run.status, 0, describeRun(run))
    return JSON.parse(run.stdout.toString('utf8')) as { newTextCount: number; reusedGroupCount: number; reusedTextCount: number }
  }
  const fetched = summaryOf(inStore(target, 'fetch', fixture().store, '--json'))
  t.is(fetched.newTextCount, keys.length - before)
  // This history's groups are small (under 1/8 of the cap): compressed again, none copied whole.
  t.like(fetched, { reusedGroupCount: 0, reusedTextCount: 0 })
  const rows = parseJson<IndexRow[]>(t, inStore(target, 'dump-index', '--json'))
  t.deepEqual(rows.map(row => `${row.file}@${row.rev} ${row.parents.join(',')}`).sort(), keys.map(key => `${key.file}@${key.rev} ${key.parents.join(',')}`).sort())
  for (const key of keys) t.deepEqual(inStore(target, 'extract', `${key.file}@${key.rev}`).stdout, blobOf(key))
  t.is(summaryOf(inStore(target, 'fetch', fixture().store, '--json')).newTextCount, 0)

  const one = join(newDirectory('fetch-one'), 'store')
  const line = inStore(one, 'fetch', fixture().store, '--file', 'util.ts')
  succeeds(t, line)
  t.regex(line.stdout.toString('utf8'), /^imported \d+ texts \(\d+ new, \d+ stored once\): .* \d+ groups? \(0 copied whole\), store now /)
  t.deepEqual([...new Set(parseJson<IndexRow[]>(t, inStore(one, 'dump-index', '--json')).map(row => row.file))], ['util.ts'])
  failsWith(t, inStore(one, 'fetch', fixture().store, '--file', 'nope.txt'), 3, 'VSTORE_NOT_FOUND')
  failsWith(t, inStore(one, 'fetch', join(newDirectory('no-source'), 'none')), 3, 'VSTORE_NOT_FOUND')
})

// An empty --ref is a usage error, caught before git runs.
test.serial('import-git --ref with an empty ref exits 2 with one usage line, not 1 with a stack', t => {
  const store = join(newDirectory('empty-ref'), 'store')
  failsWith(t, inStore(store, 'import-git', fixture().repo.dir, '--ref', ''), 2, 'VSTORE_USAGE')
})

// ---------------------------------------------------------------------------------------------------------
// The entry points

test.serial('main(argv) of dist/lib/cli/main.js behaves as bin/vstore', t => {
  const { store } = fixture()
  const viaMain = (args: readonly string[]): Run => runNode(['--input-type=module', '-e',
    `const { main } = await import(${JSON.stringify(MAIN_URL)}); await main(${JSON.stringify(args)})`])
  for (const args of [['--help'], ['--store', store, 'dump-index', '--json'], ['--store', store, 'log', WEIRD], ['frobnicate'],
    ['--store', store, 'extract', `${LOGO}@${fixture().c[4]}`]]) {
    const direct = viaMain(args)
    const bin = vstore(args)
    t.is(direct.status, bin.status, args.join(' '))
    t.true(direct.stdout.equals(bin.stdout), args.join(' '))
    t.is(direct.stderr, bin.stderr, args.join(' '))
  }
})

// CLI tests may spawn `node dist/lib/cli/main.js` directly, as well as bin/vstore.
test.serial('node dist/lib/cli/main.js --help prints the usage, as bin/vstore does', t => {
  const run = runNode([join(ROOT, 'dist', 'lib', 'cli', 'main.js'), '--help'])
  t.is(run.status, 0)
  t.true(run.stdout.toString('utf8').startsWith('usage: vstore'), describeRun(run))
})
