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
 *
 * The history, the killing and the checks are in test/helpers/crash.ts, shared with the crash harness
 * (scripts/crash-harness.ts, test/integration/crash-harness.test.ts), which kills at hundreds of random moments.
 */
import test, { type ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  BIN, GIT_ENVIRONMENT, IMPORT_CHILD, ROOT, buildSyntheticHistory, checkStoreWithCli, completeProblemsWithCli, describeRun, packByteLengths, packFileBytes, runKillable,
  vstoreSync, type IndexRow, type SyntheticHistory,
} from '../helpers/crash.js'
import { makeTempDir } from '../helpers/tmp.js'

/** A single process that runs longer than this fails the test rather than hanging it. */
const PROCESS_TIMEOUT_MILLISECONDS = 60_000

/** 40 files × 30 commits of 10–34 KB line-based texts; the last two files are byte copies of the first two. */
const HISTORY_OPTIONS = { fileCount: 40, copyCount: 2, versionCount: 30, minTextByteLength: 10_000, maxTextByteLength: 34_000, seed: 2024 }

// The history is shared by the tests, so it lives in a temp dir of the file, not of a test.
let historyValue: SyntheticHistory | undefined
let historyDir: string | undefined
test.before(t => {
  historyDir = mkdtempSync(join(tmpdir(), 'vstore-kill-resume-'))
  const started = performance.now()
  historyValue = buildSyntheticHistory(join(historyDir, 'repo'), HISTORY_OPTIONS)
  t.log(`history: ${historyValue.texts.size} texts, ${(historyValue.rawByteLength / 1e6).toFixed(1)} MB, made in ${((performance.now() - started) / 1000).toFixed(1)} s`)
})
test.after.always(() => {
  if (historyDir !== undefined) rmSync(historyDir, { recursive: true, force: true })
})

function history(): SyntheticHistory {
  if (historyValue === undefined) throw new Error('the history was not built')
  return historyValue
}

function vstore(args: readonly string[], input?: string): ReturnType<typeof vstoreSync> {
  return vstoreSync(args, { timeoutMilliseconds: PROCESS_TIMEOUT_MILLISECONDS, ...(input === undefined ? {} : { input }) })
}

// ---------------------------------------------------------------------------------------------------------
// Processes

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
  const run = await runKillable(args, { timeoutMilliseconds: PROCESS_TIMEOUT_MILLISECONDS, ...(moment === undefined ? {} : { moment }) })
  t.false(run.timedOut, `${args.join(' ')} ran for ${run.milliseconds} ms`)
  if (run.outcome === 'killed') return { outcome: 'killed', milliseconds: run.milliseconds, stdout: '' }
  t.is(run.code, 0, describeRun(run))
  return { outcome: 'finished', milliseconds: run.milliseconds, stdout: run.stdout.toString('utf8') }
}

/** The moment the insert has been under way for `delayMilliseconds`: its tmp/ folder exists (reading phase). */
function insertStarted(store: string, delayMilliseconds: number): () => boolean {
  let seenAt: number | undefined
  return () => {
    if (seenAt === undefined && existsSync(join(store, 'tmp'))) seenAt = performance.now()
    return seenAt !== undefined && performance.now() - seenAt >= delayMilliseconds
  }
}

/** The moment `delayMilliseconds` have passed since this call (the run was spawned just before). */
function runningFor(delayMilliseconds: number): () => boolean {
  const start = performance.now()
  return () => performance.now() - start >= delayMilliseconds
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

/**
 * What any state of the store must satisfy, killed or not (test/helpers/crash.ts, through the CLI): verify
 * exits 0; every indexed key is one of the history's, with its parents, each of which is indexed too; and
 * every key extracts byte-identical to the source. Returns the indexed rows.
 */
function checkStore(t: ExecutionContext, store: string, label: string): readonly IndexRow[] {
  const check = checkStoreWithCli(store, history().texts, PROCESS_TIMEOUT_MILLISECONDS)
  t.true(check.exists, `${label}: no store`)
  t.deepEqual(check.problems, [], label)
  return check.rows
}

/**
 * After an import ran to completion: every key is there, each distinct content hash is at exactly one
 * `pack@groupOffset:recordStart`, every group in the packs is named by a key, and each pack file ends at
 * its last group (no uncommitted tail, no pack that no key names).
 */
function checkComplete(t: ExecutionContext, store: string, rows: readonly IndexRow[]): void {
  t.deepEqual(completeProblemsWithCli(store, history(), rows, PROCESS_TIMEOUT_MILLISECONDS), [])
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

test.serial('an insert with checkpoints killed with SIGKILL keeps what it committed, and the rerun adds only the rest', async t => {
  const { repo, texts } = history()
  const store = join(await makeTempDir(t, 'vstore-kill-api-'), 'store')
  // test/helpers/import-child.ts: the insert through the public API, with a 2 MiB checkpoint.
  const importArgs = [IMPORT_CHILD, store, repo, JSON.stringify({ checkpointByteLength: 2 * 1024 * 1024 })]
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

test.serial('vstore pack killed with SIGKILL early and while writing leaves every key readable; a rerun packs', async t => {
  const { repo, texts, commits } = history()
  const store = join(await makeTempDir(t, 'vstore-kill-pack-'), 'store')
  // Three imports of a growing history: groups that a pack has something to do with.
  for (const ref of [commits[9], commits[19], commits.at(-1)] as string[]) {
    const run = vstore(['--store', store, 'import-git', repo, '--ref', ref, '--quiet'])
    t.is(run.status, 0, describeRun(run))
  }
  const before = packByteLengths(store)
  const unpacked = packFileBytes(store)
  /** `delayMilliseconds` after the pack files the store did not have before the repack grew `growthCount` times. */
  const newPackGrew = (growthCount: number, delayMilliseconds = 0) => {
    let last = 0
    let growths = 0
    let grownAt: number | undefined
    return () => {
      const now = [...packByteLengths(store)].filter(([name]) => !before.has(name)).reduce((sum, [, byteLength]) => sum + byteLength, 0)
      if (now > last) growths++
      last = now
      if (growths >= growthCount) grownAt ??= performance.now()
      return grownAt !== undefined && performance.now() - grownAt >= delayMilliseconds
    }
  }
  const packArgs = [BIN, '--store', store, 'pack', '--json']
  const moments: { label: string; moment: () => () => boolean }[] = [
    // A rewrite reads its texts from the old packs as it writes (no spill marks a reading phase): early on.
    { label: 'early, 400 ms after its start', moment: () => runningFor(400) },
    { label: 'writing, at the first group of the new pack', moment: () => newPackGrew(2) },
    { label: 'writing, 60 ms after the first group of the new pack', moment: () => newPackGrew(2, 60) },
  ]
  for (const { label, moment } of moments) {
    const attempt = await runUntil(t, packArgs, moment())
    const rows = checkStore(t, store, `after a kill ${label}`)
    t.log(`${label}: ${attempt.outcome} after ${Math.round(attempt.milliseconds)} ms`)
    t.is(rows.length, texts.size, 'a killed pack loses no key')
  }
  const final = await runUntil(t, packArgs)
  t.is(final.outcome, 'finished')
  const summary = JSON.parse(final.stdout) as { textCount: number; oldPackByteLength: number; packByteLength: number }
  t.is(summary.textCount, texts.size)
  // (A killed run that finished after all has packed it already; this one then packs it again.)
  t.true(summary.packByteLength < unpacked, `${unpacked} → ${summary.packByteLength}`)
  t.false([...packByteLengths(store).keys()].some(name => before.has(name)), 'the old packs are gone')
  checkComplete(t, store, checkStore(t, store, 'after the pack completed'))
})

/**
 * The answers of `extract --batch` for `specs`: each key's bytes compared with the history's, or the key of
 * an `error CODE` line. A key with other bytes, or any other answer, is a problem.
 */
function batchAnswers(out: Buffer, specs: readonly string[], texts: SyntheticHistory['texts']): { errors: Set<string>; problems: string[] } {
  const errors = new Set<string>()
  const problems: string[] = []
  let offset = 0
  for (const spec of specs) {
    const lineEnd = out.indexOf(0x0a, offset)
    const header = lineEnd < 0 ? '' : out.subarray(offset, lineEnd).toString('utf8')
    offset = lineEnd + 1
    if (header === `${spec} error VSTORE_CORRUPT`) {
      errors.add(spec)
      continue
    }
    const size = /^(.*) (\d+)$/.exec(header)
    if (size === null || size[1] !== spec) return { errors, problems: [...problems, `answered ${JSON.stringify(header.slice(0, 200))} for ${spec}`] }
    const text = out.subarray(offset, offset + Number(size[2]))
    if (!text.equals(texts.get(spec)?.text ?? Buffer.alloc(0))) problems.push(`${spec} extracts other bytes`)
    offset += Number(size[2]) + 1
  }
  return { errors, problems }
}

test.serial('vstore repair killed with SIGKILL leaves the store as it was or as repaired; a rerun drops exactly what verify named', async t => {
  const { repo, texts, commits } = history()
  const store = join(await makeTempDir(t, 'vstore-kill-repair-'), 'store')
  for (const ref of [commits[9], commits.at(-1)] as string[]) t.is(vstore(['--store', store, 'import-git', repo, '--ref', ref, '--quiet']).status, 0)
  // A flipped byte in the middle of the pack: one group (and what is based on it) is lost.
  const pack = join(store, 'packs', readdirSync(join(store, 'packs'))[0] as string)
  const bytes = readFileSync(pack)
  bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] as number) ^ 0x55
  writeFileSync(pack, bytes)
  const verify = vstore(['--store', store, 'verify', '--json'])
  t.is(verify.status, 4)
  const named = new Set((JSON.parse(verify.stdout.toString('utf8')) as { problems: { keys: { file: string; rev: string }[] }[] }).problems.flatMap(problem => problem.keys.map(key => `${key.file}@${key.rev}`)))
  t.true(named.size > 0 && named.size < texts.size, `verify names ${named.size} of ${texts.size} keys`)
  const before = packByteLengths(store)
  const newPackGrew = () => () => [...packByteLengths(store)].some(([name, byteLength]) => !before.has(name) && byteLength > 8)
  const repairArgs = [BIN, '--store', store, 'repair', '--json']
  for (const { label, moment } of [
    { label: 'reading which texts still read back, 400 ms after its start', moment: () => runningFor(400) },
    { label: 'writing, at the first group of the new pack', moment: newPackGrew },
  ]) {
    const attempt = await runUntil(t, repairArgs, moment())
    t.log(`${label}: ${attempt.outcome} after ${Math.round(attempt.milliseconds)} ms`)
    // As it was (every key listed; the damaged ones answer an error) or as repaired (the rest only, all whole).
    const rows = JSON.parse(vstore(['--store', store, 'dump-index', '--json']).stdout.toString('utf8')) as IndexRow[]
    const listed = rows.map(row => `${row.file}@${row.rev}`)
    const { errors, problems } = batchAnswers(vstore(['--store', store, 'extract', '--batch'], listed.map(key => `${key}\n`).join('')).stdout, listed, texts)
    t.deepEqual(problems, [], label)
    for (const key of errors) t.true(named.has(key), `${label}: ${key} fails but verify did not name it`)
    t.true(listed.length === texts.size || (errors.size === 0 && listed.length < texts.size), `${label}: ${listed.length} keys listed, ${errors.size} fail`)
  }
  const final = await runUntil(t, repairArgs)
  const summary = JSON.parse(final.stdout) as { repaired: boolean; textCount: number; lostKeys: { file: string; rev: string }[] }
  if (summary.repaired) {
    for (const key of summary.lostKeys) t.true(named.has(`${key.file}@${key.rev}`), `${key.file}@${key.rev} was dropped but verify did not name it`)
    t.is(summary.textCount + summary.lostKeys.length, texts.size)
  }
  t.is(vstore(['--store', store, 'verify', '--full']).status, 0)
  const rows = JSON.parse(vstore(['--store', store, 'dump-index', '--json']).stdout.toString('utf8')) as IndexRow[]
  t.true(rows.length > 0 && rows.length < texts.size)
  for (const row of rows) for (const parent of row.parents) t.true(rows.some(other => other.file === row.file && other.rev === parent), `${row.file}@${row.rev}: parent ${parent}`)
})

test.serial('vstore repair of a damaged index killed with SIGKILL leaves one whole index, the damaged one or the rebuilt one; a rerun finishes', async t => {
  const { repo, texts, commits } = history()
  const store = join(await makeTempDir(t, 'vstore-kill-repair-index-'), 'store')
  t.is(vstore(['--store', store, 'import-git', repo, '--ref', commits.at(-1) as string, '--quiet']).status, 0)
  const table = readdirSync(join(store, 'index')).find(name => name.endsWith('.ldb')) as string
  const bytes = readFileSync(join(store, 'index', table))
  bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] as number) ^ 0xff
  writeFileSync(join(store, 'index', table), bytes)
  t.is(vstore(['--store', store, 'verify']).status, 4)
  const repairArgs = [BIN, '--store', store, 'repair', '--json']
  const outcomes: string[] = []
  for (const delay of [110, 130, 150, 170, 190, 210, 230, 260, 300]) {
    const attempt = await runUntil(t, repairArgs, runningFor(delay))
    outcomes.push(`${delay} ms: ${attempt.outcome}`)
    // One whole index either way: readers open it, and verify finds nothing or the index damage alone.
    const verify = vstore(['--store', store, 'verify', '--json'])
    t.true(verify.status === 0 || verify.status === 4, `after a kill at ${delay} ms: ${describeRun(verify)}`)
    if (verify.status === 4) {
      const problems = (JSON.parse(verify.stdout.toString('utf8')) as { problems: { where: string; message?: string }[] }).problems
      // (The index's own path when the damaged block holds what opening reads, `M format`: the damage made
      // above, not a half-swapped index.)
      const damageMet = (problem: { where: string; message?: string }) => problem.where === join(store, 'index') && /^the index does not open: a damaged part of the index may hold it \(index\/[0-9]+\.ldb: /.test(problem.message ?? '')
      t.true(problems.every(problem => problem.where.startsWith('index') || damageMet(problem)), `after a kill at ${delay} ms: ${JSON.stringify(problems).slice(0, 2000)}`)
    }
    if (attempt.outcome === 'finished') break
  }
  t.log(outcomes.join('; '))
  await runUntil(t, repairArgs)
  t.is(vstore(['--store', store, 'verify', '--full']).status, 0)
  const rows = JSON.parse(vstore(['--store', store, 'dump-index', '--json']).stdout.toString('utf8')) as IndexRow[]
  t.true(rows.length > texts.size / 2 && rows.length < texts.size, `${rows.length} of ${texts.size} keys kept`)
  t.false(readdirSync(store).some(name => name.startsWith('index.')), 'no index is left aside')
})

test.serial('vstore fetch killed with SIGKILL while reading and while writing loses nothing; a rerun completes it', async t => {
  const { repo, texts, commits } = history()
  const dir = await makeTempDir(t, 'vstore-kill-fetch-')
  const source = join(dir, 'source')
  const store = join(dir, 'store')
  t.is(vstore(['--store', source, 'import-git', repo, '--quiet']).status, 0)
  // The first ten versions of file00 to file19, which an insert writes first (by name): their later
  // versions are compressed again on them, while the groups of the files after them (new here) are
  // copied whole.
  const start = vstore(['--store', store, 'import-git', repo, '--ref', commits[9] as string, '--paths', '/file[01][0-9][.]txt$', '--quiet'])
  t.is(start.status, 0, describeRun(start))
  const present = checkStore(t, store, 'before the fetch').length
  const fetchArgs = [BIN, '--store', store, 'fetch', source, '--json']
  const moments: { label: string; moment: () => () => boolean }[] = [
    { label: 'reading which texts still read back, 400 ms after its start', moment: () => runningFor(400) },
    { label: 'writing, at the first group appended', moment: () => packsGrew(store, 1) },
    { label: 'writing, at the second pack growth', moment: () => packsGrew(store, 2) },
  ]
  let finished = false
  for (const { label, moment } of moments) {
    const attempt = await runUntil(t, fetchArgs, moment())
    const rows = checkStore(t, store, `after a kill ${label}`)
    t.log(`${label}: ${attempt.outcome} after ${Math.round(attempt.milliseconds)} ms; ${rows.length} keys`)
    // One index batch: all of the fetch or none of it.
    finished ||= attempt.outcome === 'finished'
    t.is(rows.length, finished ? texts.size : present, label)
  }
  const final = await runUntil(t, fetchArgs)
  t.is(final.outcome, 'finished')
  const summary = JSON.parse(final.stdout) as { newTextCount: number; reusedGroupCount: number }
  t.is(summary.newTextCount, finished ? 0 : texts.size - present)
  if (!finished) t.true(summary.reusedGroupCount > 0, 'groups of the files new here are copied whole')
  t.log(`completed in ${Math.round(final.milliseconds)} ms, ${summary.reusedGroupCount} groups copied whole`)
  checkComplete(t, store, checkStore(t, store, 'after the fetch completed'))
})

// Regression: a new store's index is built beside its place and renamed in whole, so an import killed
// while it makes the store leaves no store, or one that opens.
test.serial('an import killed while it makes a new store leaves no store, or one that opens', async t => {
  const { repo } = history()
  const dir = await makeTempDir(t, 'vstore-kill-create-')
  const needRepair: string[] = []
  for (let attempt = 1; attempt <= 2; attempt++) {
    const store = join(dir, `store-${attempt}`)
    const child = spawn(process.execPath, [BIN, '--store', store, 'import-git', repo, '--quiet'], { cwd: ROOT, env: GIT_ENVIRONMENT, detached: true, stdio: 'ignore' })
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
