/**
 * Readers beside a writer: while a real import runs in one process (through the public API, committing every
 * 2 MiB), other processes run `vstore dump-index`, `vstore extract --batch` of every key listed and `vstore
 * verify` in a loop. None of them may wait for the writer (no VSTORE_LOCKED), and each must see a whole
 * commit: every listed key extracts byte-identical to the history, with its parents listed, and verify is
 * clean. The loop must catch the store part-way (some keys listed, not all), or the test proves nothing.
 */
import test, { type ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, batchExtractProblems, buildSyntheticHistory, describeRun, GIT_ENVIRONMENT, IMPORT_CHILD, ROOT, vstoreSync, type IndexRow } from '../helpers/crash.js'

const PROCESS_TIMEOUT_MILLISECONDS = 60_000

/** The writer: test/helpers/import-child.ts importing `repo` into `store` with `options`, killed if the test ends first. */
function startWriter(t: ExecutionContext, store: string, repo: string, options: object): { exited: Promise<number | null>; running: () => boolean; stderr: () => string } {
  const child = spawn(process.execPath, [IMPORT_CHILD, store, repo, JSON.stringify(options)], { cwd: ROOT, env: GIT_ENVIRONMENT, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  child.stdout.resume()
  let running = true
  const exited = new Promise<number | null>(resolve => child.on('close', code => { running = false; resolve(code) }))
  t.teardown(() => { if (running) child.kill('SIGKILL') })
  return { exited, running: () => running, stderr: () => stderr }
}

/** Runs `vstore --store STORE ...args` to its end (a reader: the writer holds the store). */
function readerOf(store: string): (args: readonly string[], input?: string) => ReturnType<typeof vstoreSync> {
  return (args, input) => vstoreSync(['--store', store, ...args], { timeoutMilliseconds: PROCESS_TIMEOUT_MILLISECONDS, ...(input === undefined ? {} : { input }) })
}

test.serial('readers run beside an import and each sees a whole commit', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'vstore-readers-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const history = buildSyntheticHistory(join(dir, 'repo'), { fileCount: 40, copyCount: 2, versionCount: 60, minTextByteLength: 10_000, maxTextByteLength: 34_000, seed: 7 })
  const store = join(dir, 'store')
  const writer = startWriter(t, store, history.repo, { checkpointByteLength: 2 * 1024 * 1024 })
  const run = readerOf(store)
  const seen = { rounds: 0, partial: 0, keysRead: 0 }
  while (writer.running()) {
    // Let the child's close event through between rounds (the runs below block this process).
    await new Promise(resolve => setTimeout(resolve, 20))
    if (!existsSync(join(store, 'index'))) continue
    const dump = run(['dump-index', '--json'])
    if (dump.status === 3) continue // the store is being created
    t.is(dump.status, 0, `dump-index: ${describeRun(dump)}`)
    const rows = JSON.parse(dump.stdout.toString('utf8')) as IndexRow[]
    const listed = new Set(rows.map(row => `${row.file}@${row.rev}`))
    for (const row of rows) {
      t.deepEqual([...row.parents], [...(history.texts.get(`${row.file}@${row.rev}`)?.parents ?? ['not a key of the history'])], `${row.file}@${row.rev}`)
      for (const parent of row.parents) t.true(listed.has(`${row.file}@${parent}`), `${row.file}@${row.rev}: parent ${parent} listed`)
    }
    // About 300 of the listed keys a round, spread over the index, so that rounds are short and many.
    const keys = [...listed].filter((_, i) => i % Math.max(1, Math.ceil(listed.size / 300)) === 0)
    if (keys.length > 0) {
      const extract = run(['extract', '--batch'], keys.map(key => `${key}\n`).join(''))
      t.is(extract.status, 0, `extract --batch: ${describeRun({ ...extract, stdout: Buffer.alloc(0) })}`)
      t.deepEqual(batchExtractProblems(extract.stdout, keys, history.texts), [])
    }
    const verify = run(['verify'])
    t.is(verify.status, 0, `verify: ${describeRun(verify)}`)
    seen.rounds++
    seen.keysRead += keys.length
    if (listed.size > 0 && listed.size < history.texts.size) seen.partial++
  }
  t.is(await writer.exited, 0, writer.stderr())
  t.log(`reader rounds during the import: ${JSON.stringify(seen)} of ${history.texts.size} keys`)
  t.true(seen.partial >= 1, 'some round saw the store part-way through the import')
  const final = run(['dump-index', '--json'])
  t.is((JSON.parse(final.stdout.toString('utf8')) as IndexRow[]).length, history.texts.size)
})

test.serial('readers run beside repeated packs and each reads every key it asks, byte-identical', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'vstore-readers-pack-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const history = buildSyntheticHistory(join(dir, 'repo'), { fileCount: 20, copyCount: 0, versionCount: 20, minTextByteLength: 10_000, maxTextByteLength: 20_000, seed: 8 })
  const store = join(dir, 'store')
  const writer = startWriter(t, store, history.repo, { packCount: 8 })
  const run = readerOf(store)
  const keys = [...history.texts.keys()].filter((_, i) => i % 4 === 0)
  const packSets = new Set<string>()
  let rounds = 0
  while (writer.running()) {
    await new Promise(resolve => setTimeout(resolve, 10))
    if (!existsSync(join(store, 'index'))) continue
    const dump = run(['dump-index', '--json'])
    if (dump.status === 3) continue // the store is being created
    t.is(dump.status, 0, `dump-index: ${describeRun(dump)}`)
    if ((JSON.parse(dump.stdout.toString('utf8')) as IndexRow[]).length < history.texts.size) continue // still importing
    const extract = run(['extract', '--batch'], keys.map(key => `${key}\n`).join(''))
    t.is(extract.status, 0, `extract --batch: ${describeRun({ ...extract, stdout: Buffer.alloc(0) })}`)
    t.deepEqual(batchExtractProblems(extract.stdout, keys, history.texts), [])
    rounds++
    packSets.add(readdirSync(join(store, 'packs')).sort().join(','))
  }
  t.is(await writer.exited, 0, writer.stderr())
  t.log(`reader rounds during the packs: ${rounds}, pack sets seen: ${packSets.size}`)
  t.true(packSets.size >= 3, 'readers ran while packs replaced the pack files')
})

/** Every file under `dir` with its size, modification time and bytes, to show that nothing changed. */
function fileStates(dir: string): Map<string, string> {
  const states = new Map<string, string>()
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name)
      if (entry.isDirectory()) walk(child)
      else {
        const { size, mtimeMs } = statSync(child)
        states.set(child.slice(dir.length), `${size} ${mtimeMs} ${createHash('sha256').update(readFileSync(child)).digest('hex')}`)
      }
    }
  }
  walk(dir)
  return states
}

test.serial('a reader holding the store open never locks a writer out, and reading commands change no file of the store', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'vstore-readers-lock-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const history = buildSyntheticHistory(join(dir, 'repo'), { fileCount: 6, copyCount: 0, versionCount: 8, minTextByteLength: 1_000, maxTextByteLength: 4_000, seed: 9 })
  const store = join(dir, 'store')
  const run = readerOf(store)
  const keys = [...history.texts.keys()]
  const first = keys[0] as string
  t.is(run(['import-git', history.repo, '--quiet', '--paths', `^${first.slice(0, first.indexOf('@'))}$`]).status, 0)

  // Every reading command, one after another with no writer: not a byte, size or time of any file changes,
  // and no owner file appears (a reader is nobody's owner).
  const before = fileStates(store)
  const [file, rev] = [first.slice(0, first.indexOf('@')), first.slice(first.indexOf('@') + 1)]
  for (const args of [['log', file], ['stats'], ['extract', first], ['verify'], ['verify', '--full'], ['dump-group'], ['dump-group', '1@8'], ['dump-index'],
    ['diff', first, first], ['annotate', first], ['export-stream']]) {
    const result = run(args, args[0] === 'extract' ? undefined : '')
    t.is(result.status, 0, `${args.join(' ')}: ${describeRun(result)}`)
  }
  t.is(run(['extract', '--batch'], `${first}\n`).status, 0)
  t.deepEqual(fileStates(store), before)
  t.false(existsSync(join(store, 'owner.json')))
  t.truthy(rev)

  // A batch reader that keeps its stdin open holds the store for as long as it runs; an import beside it
  // must go ahead (it used to exit 5, VSTORE_LOCKED, naming the reader).
  const reader = spawn(process.execPath, [BIN, '--store', store, 'extract', '--batch'], { cwd: ROOT, env: GIT_ENVIRONMENT, stdio: ['pipe', 'pipe', 'pipe'] })
  t.teardown(() => reader.kill('SIGKILL'))
  let answered = Buffer.alloc(0)
  const firstAnswer = new Promise<void>(resolve => reader.stdout.on('data', (chunk: Buffer) => {
    answered = Buffer.concat([answered, chunk])
    if (answered.includes(0x0a)) resolve()
  }))
  const readerExited = new Promise<number | null>(resolve => reader.on('close', code => resolve(code)))
  reader.stdin.write(`${first}\n`)
  await firstAnswer
  const imported = run(['import-git', history.repo, '--quiet'])
  t.is(imported.status, 0, `import beside a reader: ${describeRun(imported)}`)
  reader.stdin.end(`${keys[keys.length - 1] as string}\n`)
  t.is(await readerExited, 0)
  // The reader answered from the store as it opened it: the last key came later, so it is missing there.
  t.true(answered.toString('latin1').endsWith(`${keys[keys.length - 1] as string} missing\n`), answered.toString('latin1').slice(-200))
  const final = run(['dump-index', '--json'])
  t.is((JSON.parse(final.stdout.toString('utf8')) as IndexRow[]).length, history.texts.size)
})

test.serial('a reader never writes through to a file of the store, not even to a table the writer is still writing', async t => {
  // A store whose last batch is still in LevelDB's log (a small insert is not compacted): a reader's copy
  // replays it into a new table, numbered from the copied manifest's next file number on, which is what
  // the writer's next flush or compaction would be writing beside it. Files standing for those tables,
  // under the next numbers, must come through every reading command untouched.
  const dir = mkdtempSync(join(tmpdir(), 'vstore-readers-tables-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const history = buildSyntheticHistory(join(dir, 'repo'), { fileCount: 3, copyCount: 0, versionCount: 4, minTextByteLength: 500, maxTextByteLength: 900, seed: 10 })
  const store = join(dir, 'store')
  t.is(readerOf(store)(['import-git', history.repo, '--quiet']).status, 0)
  const index = join(store, 'index')
  t.true(readdirSync(index).some(name => name.endsWith('.log') && statSync(join(index, name)).size > 0), 'the last batch is in the log')
  const numbers = readdirSync(index).map(name => /^(\d+)\./.exec(name)?.[1]).filter(number => number !== undefined).map(Number)
  const inFlight = Array.from({ length: 8 }, (_, i) => join(index, `${String(Math.max(...numbers) + 1 + i).padStart(6, '0')}.ldb`))
  for (const path of inFlight) writeFileSync(path, 'a table the writer is writing\n'.repeat(50))
  const before = fileStates(store)
  for (const args of [['stats'], ['verify'], ['dump-index'], ['log', [...history.texts.keys()][0]?.split('@')[0] as string]]) {
    t.is(readerOf(store)(args).status, 0, args.join(' '))
  }
  t.deepEqual(fileStates(store), before)
})
