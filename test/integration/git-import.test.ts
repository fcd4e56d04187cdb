import test, { type ExecutionContext } from 'ava'
import { importGit } from '../../lib/import/git.js'
import { Store } from '../../lib/store/store.js'
import {
  branch, commit, deleteFile, expectedFileVersions, gitShow, makeGitRepo, merge, setExecutable, switchTo, writeFile, writeSymlink,
  type GitRepo,
} from '../helpers/git.js'
import { makeTempDir } from '../helpers/tmp.js'
import { dumpIndex, openStore } from '../helpers/store.js'

// ---- content ----

/** Deterministic bytes that no coder can shrink much (mulberry32). */
function noiseBytes(byteLength: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(byteLength)
  let state = seed >>> 0
  for (let i = 0; i < byteLength; i++) {
    state = (state + 0x6d2b79f5) >>> 0
    let mixed = Math.imul(state ^ (state >>> 15), state | 1)
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61)
    bytes[i] = ((mixed ^ (mixed >>> 14)) >>> 0) & 0xff
  }
  return bytes
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike', 'november']

/** Numbered lines of words; the same seed gives the same lines, so edits can be made line by line. */
function lines(lineCount: number, seed: number): string[] {
  const noise = noiseBytes(lineCount * 8, seed)
  return Array.from({ length: lineCount }, (_, i) =>
    `${String(i).padStart(4, '0')} ${Array.from(noise.subarray(i * 8, i * 8 + 8), byte => WORDS[byte % WORDS.length]).join(' ')}`)
}

function edited(base: readonly string[], edits: Readonly<Record<number, string>>): string {
  return `${base.map((line, i) => edits[i] ?? line).join('\n')}\n`
}

// ---- the history ----

interface History {
  readonly repo: GitRepo
  /** Commits by name, for the checks of particular merges. */
  readonly commits: Readonly<Record<string, string>>
}

/**
 * ~25 commits on main plus two merged branches: several files edited, a clean merge (one path takes the
 * branch's side, one is merged from both), a merge whose conflict is resolved by hand, a file deleted and
 * re-added, a mode-only change, a symlink, binary files (one larger than a small group), an empty file, a
 * file in a subdirectory, a file with a space in its name, and a text file of ~40 KiB.
 */
async function buildHistory(t: ExecutionContext): Promise<History> {
  const repo = await makeGitRepo(t)
  const commits: Record<string, string> = {}
  const readme = lines(60, 1)
  const main = lines(120, 2)
  const big = lines(700, 3)
  const todo = lines(15, 4)

  writeFile(repo, 'README.md', edited(readme, {}))
  writeFile(repo, 'src/main.c', edited(main, {}))
  writeFile(repo, 'empty.txt', '')
  writeFile(repo, 'image.bin', noiseBytes(6000, 5))
  writeFile(repo, 'gone.txt', 'here for now\n')
  writeFile(repo, 'script.sh', '#!/bin/sh\necho hello\n', { executable: false })
  writeSymlink(repo, 'link', 'README.md')
  commits.root = commit(repo, 'root')

  writeFile(repo, 'README.md', edited(readme, { 3: 'readme edit two' }))
  commits.c2 = commit(repo, 'c2')
  writeFile(repo, 'src/main.c', edited(main, { 10: '/* main edit */' }))
  writeFile(repo, 'notes/todo list.txt', edited(todo, {}))
  commits.c3 = commit(repo, 'c3')
  setExecutable(repo, 'script.sh', true)
  commits.modeOnly = commit(repo, 'mode only')
  deleteFile(repo, 'gone.txt')
  writeFile(repo, 'README.md', edited(readme, { 3: 'readme edit two', 20: 'readme edit three' }))
  commits.deleted = commit(repo, 'delete gone.txt')
  writeFile(repo, 'image.bin', Buffer.concat([noiseBytes(3000, 5), Buffer.alloc(64), noiseBytes(3000, 6)]))
  writeFile(repo, 'big.txt', edited(big, {}))
  commits.c6 = commit(repo, 'c6')

  // A branch merged back cleanly: the todo list takes the branch's side; main.c is merged from both.
  branch(repo, 'topic')
  writeFile(repo, 'notes/todo list.txt', edited(todo, { 2: 'topic: todo item' }))
  commits.t1 = commit(repo, 't1')
  writeFile(repo, 'src/main.c', edited(main, { 10: '/* main edit */', 100: '/* topic edit at the bottom */' }))
  commits.t2 = commit(repo, 't2')
  switchTo(repo, 'main')
  writeFile(repo, 'src/main.c', edited(main, { 1: '/* main edit at the top */', 10: '/* main edit */' }))
  writeFile(repo, 'big.txt', edited(big, { 350: 'big edit in the middle' }))
  commits.c7 = commit(repo, 'c7')
  commits.cleanMerge = merge(repo, 'topic', 'merge topic')

  writeFile(repo, 'gone.txt', 'back again, with other content\n')
  commits.readded = commit(repo, 're-add gone.txt')
  writeFile(repo, 'README.md', edited(readme, { 3: 'readme edit two', 20: 'readme edit three', 40: 'readme edit four' }))
  commits.c9 = commit(repo, 'c9')

  // A branch whose README edit conflicts with main's; big.txt takes the branch's side.
  branch(repo, 'fix')
  writeFile(repo, 'README.md', edited(readme, { 0: 'fix: first line', 3: 'readme edit two', 20: 'readme edit three', 40: 'readme edit four' }))
  commits.x1 = commit(repo, 'x1')
  writeFile(repo, 'big.txt', edited(big, { 350: 'big edit in the middle', 699: 'fix: big edit at the end' }))
  commits.x2 = commit(repo, 'x2')
  switchTo(repo, 'main')
  writeFile(repo, 'README.md', edited(readme, { 0: 'main: first line', 3: 'readme edit two', 20: 'readme edit three', 40: 'readme edit four' }))
  commits.c10 = commit(repo, 'c10')
  const resolved = edited(readme, { 0: 'resolved: first line', 3: 'readme edit two', 20: 'readme edit three', 40: 'readme edit four' })
  commits.conflictMerge = merge(repo, 'fix', 'merge fix', { 'README.md': resolved })

  // More history on main.
  for (let i = 0; i < 10; i++) {
    writeFile(repo, 'src/main.c', edited(main, { 1: '/* main edit at the top */', 10: '/* main edit */', 100: '/* topic edit at the bottom */', [20 + i * 7]: `/* later edit ${i} */` }))
    if (i % 2 === 0) writeFile(repo, 'README.md', `${resolved}later line ${i}\n`)
    if (i % 3 === 0) writeFile(repo, 'notes/todo list.txt', edited(todo, { 2: 'topic: todo item', [5 + i]: `todo ${i}` }))
    if (i === 4) writeFile(repo, 'script.sh', '#!/bin/sh\necho hello, world\n')
    if (i === 5) writeFile(repo, 'image.bin', noiseBytes(20_000, 7))
    if (i === 6) writeFile(repo, 'big.txt', edited(big, { 350: 'big edit in the middle', 699: 'fix: big edit at the end', 10: 'big edit near the top' }))
    commits[`later${i}`] = commit(repo, `later ${i}`)
  }
  return { repo, commits }
}

// ---- checks ----

function sameBytes(actual: Uint8Array, expected: Uint8Array): boolean {
  return Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected)
}

/** Every stored key reads back as `git show <rev>:<path>`. */
async function checkAgainstGit(t: ExecutionContext, repo: GitRepo, store: Store): Promise<number> {
  const rows = await dumpIndex(store)
  for (const { file, rev } of rows) {
    const text = await store.get(file, rev)
    const expected = gitShow(repo, rev, file)
    t.true(sameBytes(text, expected), `${file}@${rev}: got ${text.length} bytes, git show gives ${expected.length}`)
  }
  return rows.length
}

test('a git history imports, reads back as git show gives it, also after a reopen', async t => {
  const { repo, commits } = await buildHistory(t)
  const dir = await makeTempDir(t, 'vstore-git-import-')
  const store = await openStore(t, dir, { create: true })
  const summary = await store.insert(importGit(repo.dir))

  // The keys and their parents are what the graph rule gives.
  const expected = expectedFileVersions(repo)
  const rows = await dumpIndex(store)
  t.is(summary.newTextCount, expected.size)
  t.deepEqual(rows.map(row => `${row.file}@${row.rev}`).sort(), [...expected.keys()].sort())
  for (const row of rows) t.deepEqual(row.parents, expected.get(`${row.file}@${row.rev}`), `parents of ${row.file}@${row.rev}`)
  t.is(await checkAgainstGit(t, repo, store), expected.size)

  const c = (name: string): string => {
    const id = commits[name]
    if (id === undefined) throw new Error(`no commit named ${name}`)
    return id
  }
  // The clean merge: the todo list took the branch's side (no new text); main.c was merged from both sides.
  t.false(await store.has('notes/todo list.txt', c('cleanMerge')))
  t.deepEqual(await store.parents('src/main.c', c('cleanMerge')), [c('c7'), c('t2')])
  // The conflict resolved by hand: a new text whose parents are both sides; big.txt took the branch's side.
  t.deepEqual(await store.parents('README.md', c('conflictMerge')), [c('c10'), c('x1')])
  t.true(Buffer.from(await store.get('README.md', c('conflictMerge'))).toString('utf8').startsWith('resolved: first line\n'))
  t.false(await store.has('big.txt', c('conflictMerge')))
  t.deepEqual(await store.parents('big.txt', c('later6')), [c('x2')])
  // Deleted, then re-added: a fresh start.
  t.deepEqual(await store.parents('gone.txt', c('readded')), [])
  // The two are unrelated, so revisions() may list them in either order.
  t.deepEqual([...await store.revisions('gone.txt')].sort(), [c('root'), c('readded')].sort())
  // A mode-only change is no new text; the next content change descends from the old one.
  t.false(await store.has('script.sh', c('modeOnly')))
  t.deepEqual(await store.parents('script.sh', c('later4')), [c('root')])
  // The symlink is not a file here; the empty file, the binary and the odd paths are.
  t.deepEqual(await store.revisions('link'), [])
  t.is((await store.get('empty.txt', c('root'))).length, 0)
  t.deepEqual(await store.revisions('image.bin'), [c('root'), c('c6'), c('later5')])
  t.true(await store.has('notes/todo list.txt', c('c3')))
  t.true(await store.has('src/main.c', c('root')))
  t.deepEqual((await store.verify()).problems, [])

  // Importing again adds nothing.
  const again = await store.insert(importGit(repo.dir))
  t.is(again.newTextCount, 0)
  t.is(again.groupCount, 0)

  await store.close()
  const reopened = await openStore(t, dir)
  t.is(await checkAgainstGit(t, repo, reopened), expected.size)
  const report = await reopened.verify()
  t.deepEqual(report.problems, [])
  t.is(report.textCount, expected.size)
})

test('with small groups, every key is read within the bound, as the index says', async t => {
  const { repo } = await buildHistory(t)
  const dir = await makeTempDir(t, 'vstore-git-bound-')
  const options = { maxContentByteLength: 16 * 1024, maxReadByteLength: 8 * 1024, readChunkByteLength: 512 }
  const store = await openStore(t, dir, { ...options, create: true })
  await store.insert(importGit(repo.dir))

  const rows = await dumpIndex(store)
  const stats = await store.stats()
  t.true(stats.groupCount >= 5, `${stats.groupCount} groups`)
  t.is(new Set(rows.map(row => `${row.pack}@${row.groupOffset}`)).size, stats.groupCount)
  t.true(rows.some(row => row.textByteLength > options.maxReadByteLength), 'some text is larger than the read bound')

  let maxBound = options.maxReadByteLength
  for (const row of rows) {
    const bound = Math.max(options.maxReadByteLength, row.textByteLength + 64)
    maxBound = Math.max(maxBound, bound)
    const before = { ...store.readCounter }
    const text = await store.get(row.file, row.rev)
    const readByteLength = store.readCounter.readByteLength - before.readByteLength
    // One read, and one more per base hop (a group of a large file's versions may start from the version before).
    t.is(store.readCounter.readCount - before.readCount, 1 + row.baseDepth, `${row.file}@${row.rev}: one read per group of its chain`)
    t.is(readByteLength, row.readByteLength + row.baseReadByteLength, `${row.file}@${row.rev}: read as the index says`)
    t.true(readByteLength <= bound, `${row.file}@${row.rev}: read ${readByteLength} bytes, bound ${bound}`)
    t.true(sameBytes(text, gitShow(repo, row.rev, row.file)), `${row.file}@${row.rev}`)
  }
  t.true(stats.readByteLength.max <= maxBound, `stats: max read ${stats.readByteLength.max}, bound ${maxBound}`)
  t.is(stats.readByteLength.max, Math.max(...rows.map(row => row.readByteLength + row.baseReadByteLength)))
  t.deepEqual((await store.verify()).problems, [])
})

// Regression: two incompressible 400 KiB files in one commit are cut at the read bound; every record
// still gets written.
test('a history with large binary files imports with default options', async t => {
  const repo = await makeGitRepo(t)
  writeFile(repo, 'assets/a.bin', noiseBytes(400 * 1024, 21))
  writeFile(repo, 'assets/b.bin', noiseBytes(400 * 1024, 22))
  writeFile(repo, 'README.md', 'binary assets\n')
  commit(repo, 'assets')
  writeFile(repo, 'assets/a.bin', Buffer.concat([noiseBytes(400 * 1024, 21), noiseBytes(300 * 1024, 23)]))
  commit(repo, 'grow a.bin')
  const dir = await makeTempDir(t, 'vstore-git-binary-')
  const store = await openStore(t, dir, { create: true })
  await store.insert(importGit(repo.dir))
  t.is(await checkAgainstGit(t, repo, store), 4)
  for (const row of await dumpIndex(store)) t.true(row.readByteLength + row.baseReadByteLength <= Math.max(256 * 1024, row.textByteLength + 64), `${row.file}@${row.rev}`)
})
