/**
 * Disk full, as a user meets it: a real `node bin/vstore import-git` whose writes fail part way.
 *
 * The history is a git repository made here: a first part (c1–c3: text files, a name with `@` and a space,
 * an empty file) imported without a limit, then a second part (c4–c6: edits, and three unrelated versions of 450 KB
 * of incompressible bytes, so that the import appends several groups) imported under a limit that makes a
 * write fail. Two ways to fill the disk:
 *
 * - `ulimit -f` (always): a write past the file-size limit fails with EFBIG. Node ignores SIGXFSZ itself
 *   (it would otherwise kill the process); the wrapper's `trap '' XFSZ` says so for any other shell. Limits
 *   are chosen to fail opening the index, the first group's append, and an append after some groups were
 *   written; then an insert larger than the spill threshold fails writing its spill file, saying how much
 *   room it took.
 * - a small tmpfs (only where this process may mount one, e.g. root in a container): the free space is
 *   stepped up 4 KiB at a time from nothing until a small import succeeds, so the failures land in LevelDB
 *   as well as in the packs (ENOSPC); and a disk that is short of room makes the spill compress its texts,
 *   so that an import of more new text than there is free space succeeds.
 *
 * After each failure: the exit status is not 0 (6, for VSTORE_IO) and not the "bug" status 1, stderr is
 * one `vstore: VSTORE_IO (where): message` line, stdout is empty; then the store opens, `verify` is clean,
 * `dump-index` is exactly what it was after the last acknowledged import (no new or partial keys), the
 * pack files are byte-identical to what they were, no temporary file is left, and every acknowledged key
 * extracts byte-identical. Finally the same import without a limit completes and every key is there.
 */
import test, { type ExecutionContext } from 'ava'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { commit, expectedFileVersions, gitShowMany, makeGitRepo, writeFile, type GitRepo } from '../helpers/git.js'
import { BIN, describeRun, runProcess, type Run } from '../helpers/cli.js'
import { pseudoRandomBytes } from '../helpers/random.js'
import { makeTempDir } from '../helpers/tmp.js'

// ---------------------------------------------------------------------------------------------------------
// Processes

function vstore(args: readonly string[], options: { fileSizeLimitKiB?: number; input?: string } = {}): Run {
  const command = options.fileSizeLimitKiB === undefined
    ? [process.execPath, [BIN, ...args]] as const
    : ['bash', ['-c', `trap '' XFSZ; ulimit -f ${options.fileSizeLimitKiB}; exec "$0" "$@"`, process.execPath, BIN, ...args]] as const
  return runProcess(command[0], command[1], options.input === undefined ? {} : { input: options.input })
}

/** Exit 0, nothing on stderr; returns stdout. */
function succeeds(t: ExecutionContext, run: Run, what: string): Buffer {
  t.is(run.status, 0, `${what}: ${describeRun(run)}`)
  t.is(run.stderr, '', `${what}: ${describeRun(run)}`)
  return run.stdout
}

const ERROR_LINE = /^vstore: (VSTORE_[A-Z_]+) \((.*?)\): (.*)\n$/s

/**
 * A failed import: exit status 6 (VSTORE_IO; not 0, and not 1, a bug with its stack), no signal, nothing on
 * stdout, and one `vstore: VSTORE_IO (where): message` line on stderr. Returns where and message.
 */
function failsWithIo(t: ExecutionContext, run: Run, what: string): { where: string; message: string } {
  t.is(run.signal, null, `${what}: ${describeRun(run)}`)
  t.is(run.status, 6, `${what}: ${describeRun(run)}`)
  t.is(run.stdout.length, 0, `${what}: ${describeRun(run)}`)
  t.is(run.stderr.indexOf('\n'), run.stderr.length - 1, `${what}: one stderr line: ${JSON.stringify(run.stderr)}`)
  const match = ERROR_LINE.exec(run.stderr)
  t.truthy(match, `${what}: ${JSON.stringify(run.stderr)}`)
  t.is(match?.[1], 'VSTORE_IO', `${what}: ${run.stderr}`)
  return { where: match?.[2] ?? '', message: match?.[3] ?? '' }
}

// ---------------------------------------------------------------------------------------------------------
// The history

function lines(count: number, label: string, version: number): string {
  return Array.from({ length: count }, (_, i) => (i % 17 === version
    ? `${label}: line ${i} was edited in version ${version}\n`
    : `${label}: line ${i}, the same in every version and long enough to be copied\n`)).join('')
}

const BLOB_BYTE_LENGTH = 450_000
const TEXT_FILES = Array.from({ length: 24 }, (_, i) => `src/module${String(i).padStart(2, '0')}.ts`)

interface History {
  readonly repo: GitRepo
  /** The tip of the first part (imported without a limit). */
  readonly first: string
  /** `path@commit` of every text an import of `first`, and of HEAD, makes. */
  readonly firstKeys: readonly string[]
  readonly allKeys: readonly string[]
  /** The bytes of each key (git's). */
  readonly texts: ReadonlyMap<string, Buffer>
}

async function buildHistory(t: ExecutionContext, secondPart: (repo: GitRepo) => void): Promise<History> {
  const repo = await makeGitRepo(t)
  for (let version = 1; version <= 3; version++) {
    TEXT_FILES.forEach((path, i) => { if (version === 1 || i % version === 0) writeFile(repo, path, lines(40 + i, path, version)) })
    writeFile(repo, 'docs/we@ird name.txt', `a name with @ and a space, version ${version}\n`)
    if (version === 1) writeFile(repo, 'empty.txt', '')
    commit(repo, `c${version}`)
  }
  const first = commit(repo, 'c3b: nothing new') // an empty commit: the tip of the first part
  secondPart(repo)
  const firstKeys = [...expectedFileVersions(repo, first).keys()].sort()
  const allKeys = [...expectedFileVersions(repo, 'HEAD').keys()].sort()
  const objects = allKeys.map(key => {
    const at = key.lastIndexOf('@')
    return { path: key.slice(0, at), rev: key.slice(at + 1) }
  })
  const blobs = gitShowMany(repo, objects)
  return { repo, first, firstKeys, allKeys, texts: new Map(allKeys.map((key, i) => [key, blobs[i] as Buffer])) }
}

/** c4–c6: text edits, and three unrelated versions of 450 KB of incompressible bytes (a group each, past the read budget). */
function bigSecondPart(repo: GitRepo): void {
  for (let version = 4; version <= 6; version++) {
    TEXT_FILES.forEach((path, i) => { if (i % 3 === version % 3) writeFile(repo, path, lines(40 + i, path, version)) })
    writeFile(repo, 'assets/blob.bin', pseudoRandomBytes(BLOB_BYTE_LENGTH, version))
    commit(repo, `c${version}`)
  }
}

/** c4–c6: small text edits only. */
function smallSecondPart(repo: GitRepo): void {
  for (let version = 4; version <= 6; version++) {
    TEXT_FILES.forEach((path, i) => { if (i % 2 === version % 2) writeFile(repo, path, lines(40 + i, path, version)) })
    commit(repo, `c${version}`)
  }
}

// ---------------------------------------------------------------------------------------------------------
// The store's state

interface StoreState {
  /** `dump-index --json`: every key with its location, lengths, hash and parents. */
  readonly index: string
  /** Each pack file's bytes, by name. */
  readonly packs: ReadonlyMap<string, Buffer>
}

function filesUnder(dir: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...filesUnder(path))
    else found.push(path)
  }
  return found
}

function stateOf(t: ExecutionContext, store: string): StoreState {
  const index = succeeds(t, vstore(['--store', store, 'dump-index', '--json']), 'dump-index').toString('utf8')
  const packs = new Map(readdirSync(join(store, 'packs')).sort().map(name => [name, readFileSync(join(store, 'packs', name))]))
  return { index, packs }
}

/** The FILE@REV lines of `keys` for `extract --batch`, and the answer expected for them. */
function batchOf(history: History, keys: readonly string[]): { input: string; expected: Buffer } {
  const input = keys.map(key => `${key}\n`).join('')
  const expected = Buffer.concat(keys.flatMap(key => {
    const text = history.texts.get(key) as Buffer
    return [Buffer.from(`${key} ${text.length}\n`), text, Buffer.from('\n')]
  }))
  return { input, expected }
}

/** Every key of `keys` extracts byte-identical to git's bytes (one `extract --batch`). */
function extractsAll(t: ExecutionContext, history: History, store: string, keys: readonly string[], what: string): void {
  const { input, expected } = batchOf(history, keys)
  const run = vstore(['--store', store, 'extract', '--batch'], { input })
  const stdout = succeeds(t, run, `${what}: extract --batch`)
  t.true(stdout.equals(expected), `${what}: extract --batch gave ${stdout.length} bytes, expected ${expected.length}`)
}

/**
 * After a failed import: the store opens, verify is clean, the index and packs are as `before`, no
 * temporary file is left, and the acknowledged keys extract byte-identical. An import whose index write
 * failed leaves its new pack file (the write may have reached the disk all the same), which no index names
 * and the next writer's open removes: a writer that writes nothing (`upgrade`) opens it here.
 */
function unchangedSince(t: ExecutionContext, history: History, store: string, before: StoreState, keys: readonly string[], what: string): void {
  const verify = succeeds(t, vstore(['--store', store, 'verify']), `${what}: verify`).toString('utf8')
  t.regex(verify, /^ok: /, `${what}: ${verify}`)
  let after = stateOf(t, store)
  t.is(after.index, before.index, `${what}: dump-index differs from the last acknowledged import`)
  if ([...after.packs.keys()].some(name => !before.packs.has(name))) {
    succeeds(t, vstore(['--store', store, 'upgrade']), `${what}: a writer's open`)
    after = stateOf(t, store)
  }
  t.deepEqual([...after.packs.keys()], [...before.packs.keys()], `${what}: pack files`)
  for (const [name, bytes] of before.packs) {
    const now = after.packs.get(name)
    t.true(now !== undefined && now.equals(bytes), `${what}: ${name} is ${now?.length} bytes, was ${bytes.length}, or differs`)
  }
  const leftovers = filesUnder(store).map(path => relative(store, path)).filter(path => path.startsWith('tmp') || path.endsWith('.spill'))
  t.deepEqual(leftovers, [], `${what}: temporary files left`)
  extractsAll(t, history, store, keys, what)
}

function sumOfTexts(history: History, keys: readonly string[]): number {
  return keys.reduce((sum, key) => sum + (history.texts.get(key) as Buffer).length, 0)
}

// ---------------------------------------------------------------------------------------------------------
// ulimit -f

test.serial('an import that runs out of file size fails with one VSTORE_IO line and leaves the store as its last import left it', async t => {
  const history = await buildHistory(t, bigSecondPart)
  const work = await makeTempDir(t, 'vstore-disk-full-')
  const acknowledged = join(work, 'acknowledged')
  succeeds(t, vstore(['--store', acknowledged, 'import-git', history.repo.dir, '--ref', history.first]), 'first import')
  const before = stateOf(t, acknowledged)
  const packByteLength = [...before.packs.values()].reduce((sum, bytes) => sum + bytes.length, 0)
  t.deepEqual((JSON.parse(before.index) as { file: string; rev: string }[]).map(row => `${row.file}@${row.rev}`).sort(), history.firstKeys)
  t.true(history.allKeys.length > history.firstKeys.length)

  // 0: no file may grow, so LevelDB cannot open. The second import writes a pack of its own (automatic
  // packing weighs packs one by one), which grows until a group's append passes the limit: the first
  // pack's size rounded up, then 600 KiB more, room for one more 450 KB group.
  const packKiB = Math.ceil(packByteLength / 1024)
  const cases = [
    { limitKiB: 0, failsIn: /\/index$/ },
    { limitKiB: packKiB, failsIn: /^packs\/000002\.vpk@(\d+)$/ },
    { limitKiB: packKiB + 600, failsIn: /^packs\/000002\.vpk@(\d+)$/ },
  ]
  const failedAt: number[] = []
  for (const { limitKiB, failsIn } of cases) {
    const store = join(work, `limit-${limitKiB}`)
    cpSync(acknowledged, store, { recursive: true })
    const what = `ulimit -f ${limitKiB}`
    const { where, message } = failsWithIo(t, vstore(['--store', store, 'import-git', history.repo.dir], { fileSizeLimitKiB: limitKiB }), what)
    t.log(`${what}: VSTORE_IO (${where.startsWith(work) ? relative(work, where) : where}): ${message}`)
    const match = failsIn.exec(where)
    t.truthy(match, `${what}: failed in ${where}`)
    if (match?.[1] !== undefined) {
      failedAt.push(Number(match[1]))
      // A pack write that found no room says how much it needed.
      t.regex(message, /\d+ bytes of groups needed room/, what)
    }
    t.regex(message, /EFBIG|too large/i, what)
    unchangedSince(t, history, store, before, history.firstKeys, what)
  }
  // Each pack failure is within the limit, the second after more groups were appended.
  t.true((failedAt[0] ?? Infinity) <= packKiB * 1024, `the first failure: ${failedAt.join(', ')}`)
  t.true((failedAt[1] ?? 0) > (failedAt[0] ?? Infinity), `appends before the failure: ${failedAt.join(', ')}`)

  // Without a limit, the same import completes and adds exactly the second part.
  const store = join(work, `limit-${packKiB + 600}`)
  const complete = succeeds(t, vstore(['--store', store, 'import-git', history.repo.dir]), 'import without a limit').toString('utf8')
  t.regex(complete, new RegExp(`^imported ${history.allKeys.length} texts \\(${history.allKeys.length - history.firstKeys.length} new, `))
  const after = JSON.parse(stateOf(t, store).index) as { file: string; rev: string }[]
  t.deepEqual(after.map(row => `${row.file}@${row.rev}`).sort(), history.allKeys)
  t.regex(succeeds(t, vstore(['--store', store, 'verify']), 'verify').toString('utf8'), /^ok: /)
  extractsAll(t, history, store, history.allKeys, 'after the complete import')
})

test.serial('an insert larger than the spill threshold that cannot write its spill file fails with VSTORE_IO, saying how much room it took, and leaves nothing behind', async t => {
  // 12 MiB of new texts that no coder shrinks (the insert keeps 4 MiB in memory, then spills them to one
  // file, each compressed where that helps), under a file size limit of 8 MiB.
  const history = await buildHistory(t, repo => {
    for (let i = 0; i < 6; i++) writeFile(repo, `big/random-${i}.bin`, pseudoRandomBytes(2 * 1024 * 1024, 100 + i))
    commit(repo, 'c4: incompressible files')
  })
  t.true(sumOfTexts(history, history.allKeys) - sumOfTexts(history, history.firstKeys) >= 12 * 1024 * 1024)
  const store = join(await makeTempDir(t, 'vstore-disk-full-'), 'store')
  succeeds(t, vstore(['--store', store, 'import-git', history.repo.dir, '--ref', history.first]), 'first import')
  const before = stateOf(t, store)
  const { where, message } = failsWithIo(t, vstore(['--store', store, 'import-git', history.repo.dir], { fileSizeLimitKiB: 8192 }), 'ulimit -f 8192')
  t.log(`ulimit -f 8192: VSTORE_IO (${relative(store, where)}): ${message}`)
  t.regex(where, /\/tmp\/[^/]+\.spill$/)
  // How far it got, and how much it wanted.
  t.regex(message, /after \d+ bytes of spilled texts \(\d+ bytes before (any )?compression\), writing \d+ more, \d+ bytes free/)
  unchangedSince(t, history, store, before, history.firstKeys, 'ulimit -f 8192')
})

test.serial('pack and repair read the texts from the old packs: no temporary copy of them, so a file size limit far under their bytes is no obstacle', async t => {
  const history = await buildHistory(t, repo => {
    for (let i = 0; i < 8; i++) {
      writeFile(repo, `gen/table-${i}.txt`, Array.from({ length: 70_000 }, (_, line) => `row ${line} of table ${i}: ${(line * 7919 + i) % 1_000_003} ${(line * 104_729) % 65_536}\n`).join(''))
    }
    commit(repo, 'c4: generated tables')
  })
  t.true(sumOfTexts(history, history.allKeys) > 18_000_000)
  const store = join(await makeTempDir(t, 'vstore-disk-full-'), 'store')
  succeeds(t, vstore(['--store', store, 'import-git', history.repo.dir, '--ref', history.first]), 'first import')
  succeeds(t, vstore(['--store', store, 'import-git', history.repo.dir]), 'second import')
  const packBytes = [...stateOf(t, store).packs.values()].reduce((sum, bytes) => sum + bytes.length, 0)
  // 8 MiB per file: more than any pack, less than half of the texts a spill of them would hold.
  t.true(packBytes < 8 * 1024 * 1024, `${packBytes} bytes of packs`)
  succeeds(t, vstore(['--store', store, 'pack', '--quiet'], { fileSizeLimitKiB: 8192 }), 'pack under ulimit -f 8192')
  succeeds(t, vstore(['--store', store, 'repair', '--quiet'], { fileSizeLimitKiB: 8192 }), 'repair under ulimit -f 8192')
  t.regex(succeeds(t, vstore(['--store', store, 'verify', '--full']), 'verify').toString('utf8'), /^ok: /)
  extractsAll(t, history, store, history.allKeys, 'after the pack')
})

// ---------------------------------------------------------------------------------------------------------
// A full tmpfs

/** Whether this process may mount a tmpfs (root, with CAP_SYS_ADMIN, and `mount` present). */
function canMountTmpfs(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  const probe = mkdtempSync(join(tmpdir(), 'vstore-tmpfs-probe-'))
  try {
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' })
    if (mounted.status !== 0) return false
    spawnSync('umount', [probe], { stdio: 'ignore' })
    return true
  } catch {
    return false
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
}

const TMPFS_BYTE_LENGTH = 4 * 1024 * 1024
const PAGE_BYTE_LENGTH = 4096

/** Fills `mount` with a filler file until `free` bytes are left (tmpfs allocates whole pages). */
function fillUntil(mount: string, free: number): void {
  const { bavail, bsize } = statfsSync(mount)
  const fill = bavail * bsize - free
  if (fill > 0) writeFileSync(join(mount, 'filler'), new Uint8Array(fill))
}

const tmpfsTest = canMountTmpfs() ? test.serial : test.skip

tmpfsTest('on a full tmpfs, an import fails with VSTORE_IO wherever the space runs out, and the store stays as it was', async t => {
  const history = await buildHistory(t, smallSecondPart)
  const work = await makeTempDir(t, 'vstore-disk-full-')
  const acknowledged = join(work, 'acknowledged')
  succeeds(t, vstore(['--store', acknowledged, 'import-git', history.repo.dir, '--ref', history.first]), 'first import')
  const before = stateOf(t, acknowledged)

  const mount = join(work, 'tmpfs')
  mkdirSync(mount)
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTE_LENGTH}`, 'tmpfs', mount])
  t.is(mounted.status, 0, mounted.stderr.toString('utf8'))
  t.teardown(() => { spawnSync('umount', ['-l', mount]) })

  // Free space from nothing up, a page at a time, until the import succeeds: each failure is somewhere
  // later in the import than the one before.
  const failures: string[] = []
  let succeeded = false
  for (let free = 0; free <= 64 * PAGE_BYTE_LENGTH && !succeeded; free += PAGE_BYTE_LENGTH) {
    rmSync(join(mount, 'filler'), { force: true })
    rmSync(join(mount, 'store'), { recursive: true, force: true })
    cpSync(acknowledged, join(mount, 'store'), { recursive: true })
    fillUntil(mount, free)
    const store = join(mount, 'store')
    const run = vstore(['--store', store, 'import-git', history.repo.dir])
    const what = `${free / 1024} KiB free`
    if (run.status === 0) {
      succeeded = true
      t.log(`${what}: the import succeeds`)
      rmSync(join(mount, 'filler'), { force: true })
      t.deepEqual((JSON.parse(stateOf(t, store).index) as { file: string; rev: string }[]).map(row => `${row.file}@${row.rev}`).sort(), history.allKeys)
      extractsAll(t, history, store, history.allKeys, what)
      break
    }
    const { where, message } = failsWithIo(t, run, what)
    t.log(`${what}: VSTORE_IO (${where.startsWith(mount) ? relative(mount, where) : where}): ${message}`)
    t.regex(message, /ENOSPC|No space left/i, what)
    failures.push(where.includes('/index') ? 'index' : where.startsWith('packs/') ? 'pack' : where)
    rmSync(join(mount, 'filler'), { force: true })
    unchangedSince(t, history, store, before, history.firstKeys, what)
  }
  t.true(succeeded, `the import never succeeded; failures: ${failures.join(', ')}`)
  t.true(failures.includes('index'), `a failure in the index among: ${failures.join(', ')}`)
})

tmpfsTest('on a disk short of room, the spill holds an import\'s texts compressed: 19 MB of new texts import into 12 MiB of free space', async t => {
  const history = await buildHistory(t, repo => {
    for (let i = 0; i < 8; i++) {
      writeFile(repo, `gen/table-${i}.txt`, Array.from({ length: 70_000 }, (_, line) => `row ${line} of table ${i}: ${(line * 7919 + i) % 1_000_003} ${(line * 104_729) % 65_536}\n`).join(''))
    }
    commit(repo, 'c4: generated tables')
  })
  const newByteLength = sumOfTexts(history, history.allKeys) - sumOfTexts(history, history.firstKeys)
  t.true(newByteLength > 18_000_000, `${newByteLength} bytes of new texts`)
  const work = await makeTempDir(t, 'vstore-disk-full-')
  const mount = join(work, 'tmpfs')
  mkdirSync(mount)
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${16 * 1024 * 1024}`, 'tmpfs', mount])
  t.is(mounted.status, 0, mounted.stderr.toString('utf8'))
  t.teardown(() => { spawnSync('umount', ['-l', mount]) })
  const store = join(mount, 'store')
  succeeds(t, vstore(['--store', store, 'import-git', history.repo.dir, '--ref', history.first]), 'first import')
  fillUntil(mount, 12 * 1024 * 1024)
  // A spill of the raw texts would need 19 MB; compressed, with the packs it makes, they fit.
  succeeds(t, vstore(['--store', store, 'import-git', history.repo.dir, '--quiet']), 'import into 12 MiB')
  rmSync(join(mount, 'filler'), { force: true })
  extractsAll(t, history, store, history.allKeys, 'after an import into 12 MiB')
})
