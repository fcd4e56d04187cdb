import test, { type ExecutionContext } from 'ava'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VstoreError } from '../../../lib/errors.js'
import { importGit, type GitImportOptions } from '../../../lib/import/git.js'
import type { TextRecord } from '../../../lib/store/types.js'
import { untilError } from '../../helpers/until-error.js'

// Deterministic commits whatever the machine's git configuration.
const GIT_ENVIRONMENT: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
}

const temporaryRoot = mkdtempSync(join(tmpdir(), 'vstore-import-git-'))
test.after.always(() => rmSync(temporaryRoot, { recursive: true, force: true }))

let directoryCount = 0
function newDirectory(name: string): string {
  directoryCount += 1
  const directory = join(temporaryRoot, `${directoryCount}-${name}`)
  mkdirSync(directory)
  return directory
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
    cwd, env: GIT_ENVIRONMENT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  }).trim()
}

function newRepository(name: string): string {
  const repo = newDirectory(name)
  git(repo, 'init', '-q', '-b', 'main')
  return repo
}

function write(repo: string, path: string, content: string): void {
  writeFileSync(join(repo, path), content)
}

/** Commits the work tree as it is and returns the new commit's id. */
function commitAll(repo: string, message: string): string {
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '--allow-empty', '-m', message)
  return git(repo, 'rev-parse', 'HEAD')
}

async function importAll(repo: string, options?: GitImportOptions): Promise<TextRecord[]> {
  const records: TextRecord[] = []
  for await (const record of importGit(repo, options)) records.push(record)
  return records
}

type Key = readonly [file: string, rev: string, parents: readonly string[]]

function keysOf(records: readonly TextRecord[]): Key[] {
  return sortKeys(records.map(record => [record.file, record.rev, [...record.parents]]))
}

function sortKeys(keys: readonly Key[]): Key[] {
  return [...keys].sort((a, b) => (a[0] + '\0' + a[1]).localeCompare(b[0] + '\0' + b[1]))
}

/** Every record's parents came earlier, no key repeats, and each text is `git show <rev>:<path>`. */
function checkRecords(t: ExecutionContext, repo: string, records: readonly TextRecord[]): void {
  checkParentsFirst(t, records)
  checkTexts(t, repo, records)
}

function checkParentsFirst(t: ExecutionContext, records: readonly TextRecord[]): void {
  const seen = new Set<string>()
  for (const record of records) {
    for (const parent of record.parents) t.true(seen.has(`${record.file}\0${parent}`), `${record.file}@${record.rev}: parent ${parent} not yet yielded`)
    const key = `${record.file}\0${record.rev}`
    t.false(seen.has(key), `${record.file}@${record.rev} yielded twice`)
    seen.add(key)
  }
}

function checkTexts(t: ExecutionContext, repo: string, records: readonly TextRecord[]): void {
  for (const record of records) {
    t.true(record.text instanceof Uint8Array)
    const expected = execFileSync('git', ['show', `${record.rev}:${record.file}`], { cwd: repo, env: GIT_ENVIRONMENT })
    t.true(Buffer.from(record.text).equals(expected), `${record.file}@${record.rev} text`)
  }
}

// --- a linear history --------------------------------------------------------------------------------------

interface LinearHistory { readonly repo: string; readonly c: readonly string[] }

function buildLinearHistory(): LinearHistory {
  const repo = newRepository('linear')
  mkdirSync(join(repo, 'dir'))
  write(repo, 'a.txt', 'a1\n')
  write(repo, 'b.txt', 'b1\n')
  write(repo, 'dir/ü ñ.txt', 'nested\n')
  write(repo, 'empty.txt', '')
  symlinkSync('a.txt', join(repo, 'link'))
  const c1 = commitAll(repo, 'c1: root')
  write(repo, 'a.txt', 'a2\n')
  const c2 = commitAll(repo, 'c2: edit a')
  chmodSync(join(repo, 'b.txt'), 0o755)
  const c3 = commitAll(repo, 'c3: b executable, same bytes')
  unlinkSync(join(repo, 'a.txt'))
  const c4 = commitAll(repo, 'c4: delete a')
  write(repo, 'a.txt', 'a2\n') // the bytes a.txt had before it was deleted
  write(repo, 'b.txt', 'b5\n')
  const c5 = commitAll(repo, 'c5: re-add a, edit b')
  unlinkSync(join(repo, 'link'))
  write(repo, 'link', 'a file now\n')
  symlinkSync('b.txt', join(repo, 'link2'))
  const c6 = commitAll(repo, 'c6: the symlink becomes a file, a new symlink')
  write(repo, 'dir/ü ñ.txt', 'nested, edited\n')
  const c7 = commitAll(repo, 'c7: edit the file untouched since c1')
  return { repo, c: [c1, c2, c3, c4, c5, c6, c7] }
}

test('a linear history gives each edit one text whose parent is the previous version', async t => {
  const { repo, c: [c1, c2, , , c5, c6, c7] } = buildLinearHistory()
  const records = await importAll(repo)
  t.deepEqual(keysOf(records), sortKeys([
    ['a.txt', c1!, []],
    ['b.txt', c1!, []],
    ['dir/ü ñ.txt', c1!, []],
    ['empty.txt', c1!, []],
    ['a.txt', c2!, [c1!]],
    // c3 only changes b.txt's mode: no text. c4 deletes a.txt: no text.
    ['a.txt', c5!, []], // re-added after a delete: a fresh start, though its bytes equal c2's
    ['b.txt', c5!, [c1!]],
    ['link', c6!, []], // a symlink was never a text; link2 is a symlink: no text
    ['dir/ü ñ.txt', c7!, [c1!]], // unchanged from c2 to c6: still c1's version
  ]))
  checkRecords(t, repo, records)
})

test('each symlink version skipped is told to onSymlink with the key it would have had', async t => {
  const { repo, c: [c1, , , , , c6] } = buildLinearHistory()
  const told: string[] = []
  const records = await importAll(repo, { onSymlink: key => told.push(`${key.file}@${key.rev}`) })
  t.deepEqual(told, [`link@${c1!}`, `link2@${c6!}`])
  t.false(records.some(record => record.file === 'link2'))
})

test('a linear history is yielded in commit order', async t => {
  const { repo, c } = buildLinearHistory()
  const commitIndexes = (await importAll(repo)).map(record => c.indexOf(record.rev))
  t.false(commitIndexes.includes(-1))
  t.deepEqual(commitIndexes, [...commitIndexes].sort((a, b) => a - b))
})

// --- a branch and a merge ----------------------------------------------------------------------------------

interface MergeHistory { readonly repo: string; readonly m1: string; readonly s1: string; readonly m2: string; readonly merge: string; readonly m3: string }

function buildMergeHistory(): MergeHistory {
  const repo = newRepository('merge')
  write(repo, 'f.txt', 'base\n')
  write(repo, 'g.txt', 'g0\n')
  write(repo, 'h.txt', 'h0\n')
  write(repo, 'd.txt', 'd0\n')
  write(repo, 'j.txt', 'j0\n')
  const m1 = commitAll(repo, 'm1')

  git(repo, 'checkout', '-q', '-b', 'side')
  write(repo, 'f.txt', 'side\n')
  write(repo, 'g.txt', 'g side\n')
  write(repo, 'k.txt', 'k side\n')
  write(repo, 'l.txt', 'l side\n')
  const s1 = commitAll(repo, 's1')

  git(repo, 'checkout', '-q', 'main')
  write(repo, 'g.txt', 'g main\n')
  write(repo, 'h.txt', 'h main\n')
  unlinkSync(join(repo, 'd.txt'))
  const m2 = commitAll(repo, 'm2')

  // Merge with full control of the result: start from main's tree, then write what the merge holds.
  git(repo, 'merge', '-q', '-s', 'ours', '--no-commit', 'side')
  write(repo, 'f.txt', 'side\n') // side's bytes: takes side's version
  write(repo, 'g.txt', 'g merged\n') // a conflict resolution: new text on both versions
  write(repo, 'k.txt', 'k side\n') // added on side, taken as is
  write(repo, 'l.txt', 'l merged\n') // added on side, changed: new text on side's version only
  write(repo, 'd.txt', 'd merged\n') // deleted on main, kept on side, changed: new text on side's (m1's) version
  write(repo, 'j.txt', 'j merged\n') // untouched on both sides: new text whose one parent is m1's version
  // h.txt keeps main's version
  const merge = commitAll(repo, 'merge side')

  write(repo, 'f.txt', 'f3\n')
  write(repo, 'h.txt', 'h3\n')
  write(repo, 'k.txt', 'k3\n')
  const m3 = commitAll(repo, 'm3')
  return { repo, m1, s1, m2, merge, m3 }
}

function mergeHistoryKeys({ m1, s1, m2, merge, m3 }: MergeHistory): Key[] {
  return sortKeys([
    ['d.txt', m1, []],
    ['f.txt', m1, []],
    ['g.txt', m1, []],
    ['h.txt', m1, []],
    ['j.txt', m1, []],
    ['f.txt', s1, [m1]],
    ['g.txt', s1, [m1]],
    ['k.txt', s1, []],
    ['l.txt', s1, []],
    ['g.txt', m2, [m1]],
    ['h.txt', m2, [m1]],
    ['d.txt', merge, [m1]],
    ['g.txt', merge, [m2, s1]],
    ['j.txt', merge, [m1]],
    ['l.txt', merge, [s1]],
    ['f.txt', m3, [s1]],
    ['h.txt', m3, [m2]],
    ['k.txt', m3, [s1]],
  ])
}

test('a merge takes a side\'s version when it holds that side\'s bytes, and makes a text on every side\'s version otherwise', async t => {
  const history = buildMergeHistory()
  const records = await importAll(history.repo)
  t.deepEqual(keysOf(records), mergeHistoryKeys(history))
  checkRecords(t, history.repo, records)
})

test('the parents of a merge text come in the merge\'s parent order', async t => {
  const history = buildMergeHistory()
  const records = await importAll(history.repo)
  const mergedG = records.find(record => record.file === 'g.txt' && record.rev === history.merge)
  t.deepEqual(mergedG?.parents, [history.m2, history.s1])
})

test('a bare repository imports like its work tree', async t => {
  const history = buildMergeHistory()
  const bare = join(newDirectory('bare'), 'repo.git')
  git(temporaryRoot, 'clone', '-q', '--bare', history.repo, bare)
  const records = await importAll(bare)
  t.deepEqual(keysOf(records), mergeHistoryKeys(history))
  checkRecords(t, bare, records)
})

test('pathFilter keeps only matching paths, even with a g flag', async t => {
  const { repo, m1, s1, m2, merge, m3 } = buildMergeHistory()
  const records = await importAll(repo, { pathFilter: /^[gk]/g })
  t.deepEqual(keysOf(records), sortKeys([
    ['g.txt', m1, []],
    ['g.txt', s1, [m1]],
    ['k.txt', s1, []],
    ['g.txt', m2, [m1]],
    ['g.txt', merge, [m2, s1]],
    ['k.txt', m3, [s1]],
  ]))
  checkRecords(t, repo, records)
})

// --- refs ----------------------------------------------------------------------------------------------

interface TwoBranches { readonly repo: string; readonly c1: string; readonly c2: string; readonly f1: string }

function buildTwoBranches(): TwoBranches {
  const repo = newRepository('branches')
  write(repo, 'x.txt', 'x1\n')
  const c1 = commitAll(repo, 'c1')
  git(repo, 'checkout', '-q', '-b', 'feat')
  write(repo, 'x.txt', 'x feat\n')
  write(repo, 'y.txt', 'y feat\n')
  const f1 = commitAll(repo, 'f1')
  git(repo, 'checkout', '-q', 'main')
  write(repo, 'x.txt', 'x2\n')
  const c2 = commitAll(repo, 'c2')
  return { repo, c1, c2, f1 }
}

test('by default only HEAD\'s history is imported', async t => {
  const { repo, c1, c2 } = buildTwoBranches()
  const records = await importAll(repo)
  t.deepEqual(keysOf(records), sortKeys([['x.txt', c1, []], ['x.txt', c2, [c1]]]))
  checkRecords(t, repo, records)
})

test('all imports every branch, and so do refs naming them all', async t => {
  const { repo, c1, c2, f1 } = buildTwoBranches()
  const expected = sortKeys([
    ['x.txt', c1, []],
    ['x.txt', c2, [c1]],
    ['x.txt', f1, [c1]],
    ['y.txt', f1, []],
  ])
  const all = await importAll(repo, { all: true })
  t.deepEqual(keysOf(all), expected)
  checkRecords(t, repo, all)
  t.deepEqual(keysOf(await importAll(repo, { refs: ['main', 'feat'] })), expected)
})

test('refs naming one branch import only its history', async t => {
  const { repo, c1, f1 } = buildTwoBranches()
  const records = await importAll(repo, { refs: ['feat'] })
  t.deepEqual(keysOf(records), sortKeys([['x.txt', c1, []], ['x.txt', f1, [c1]], ['y.txt', f1, []]]))
})

test('empty refs without all is VSTORE_USAGE', async t => {
  const { repo } = buildTwoBranches()
  await t.throwsAsync(importAll(repo, { refs: [] }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

// --- failures ----------------------------------------------------------------------------------------------

test('a path with no repository is VSTORE_IMPORT', async t => {
  const missing = join(temporaryRoot, 'no-such-directory')
  const error = await t.throwsAsync(importAll(missing), { instanceOf: VstoreError })
  t.is(error?.code, 'VSTORE_IMPORT')
  t.is(error?.where, missing)
})

test('an unknown ref is VSTORE_IMPORT', async t => {
  const { repo } = buildTwoBranches()
  const error = await t.throwsAsync(importAll(repo, { refs: ['main', 'no-such-branch'] }), { instanceOf: VstoreError })
  t.is(error?.code, 'VSTORE_IMPORT')
  t.is(error?.where, repo)
})

test('a repository without commits yields nothing; a ref it does not have is still VSTORE_IMPORT naming it', async t => {
  const repo = newRepository('empty')
  t.deepEqual(await importAll(repo), [])
  t.deepEqual(await importAll(repo, { all: true }), [])
  const error = await t.throwsAsync(importAll(repo, { refs: ['main'] }), { instanceOf: VstoreError, code: 'VSTORE_IMPORT' })
  t.true(error?.message.includes('main'), error?.message)
  t.is(error?.where, repo)
  // HEAD on a branch with no commit while other branches have some: not an empty repository, so an error.
  const orphan = newRepository('orphan')
  write(orphan, 'a.txt', 'a\n')
  commitAll(orphan, 'one')
  git(orphan, 'switch', '-q', '--orphan', 'new')
  await t.throwsAsync(importAll(orphan), { instanceOf: VstoreError, code: 'VSTORE_IMPORT' })
  t.is((await importAll(orphan, { refs: ['main'] })).length, 1)
})

test('a git binary that does not exist is VSTORE_IMPORT', async t => {
  const { repo } = buildTwoBranches()
  const error = await t.throwsAsync(importAll(repo, { git: join(temporaryRoot, 'no-such-git') }), { instanceOf: VstoreError })
  t.is(error?.code, 'VSTORE_IMPORT')
})

// --- stopping early ----------------------------------------------------------------------------------------

/** 400 commits of 12 files with long paths: git log's output is far more than a pipe holds. */
function buildLongHistory(): string {
  const repo = newRepository('long')
  const commands: string[] = []
  const data = (text: string): string => `data ${Buffer.byteLength(text)}\n${text}`
  for (let commitIndex = 1; commitIndex <= 400; commitIndex++) {
    commands.push('commit refs/heads/main', `mark :${commitIndex}`, 'committer t <t@t> 1704067200 +0000', data(`commit ${commitIndex}`))
    if (commitIndex > 1) commands.push(`from :${commitIndex - 1}`)
    for (let fileIndex = 0; fileIndex < 12; fileIndex++) {
      commands.push(`M 100644 inline some/rather/deeply/nested/directory/for/padding/file-${fileIndex}.txt`,
        data(`file ${fileIndex} at commit ${commitIndex}\n`.repeat(50)))
    }
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: repo, env: GIT_ENVIRONMENT, input: `${commands.join('\n')}\n` })
  return repo
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test.serial('breaking out of the loop ends every git process', async t => {
  const repo = buildLongHistory()
  // A git that notes its pid: exec keeps the pid, so these are the processes importGit started.
  const pidFile = join(newDirectory('pids'), 'pids')
  const wrapper = join(temporaryRoot, 'git-noting-pid')
  writeFileSync(wrapper, `#!/bin/sh\necho $$ >> '${pidFile}'\nexec git "$@"\n`, { mode: 0o755 })
  const readPids = (): number[] => readFileSync(pidFile, 'utf8').split('\n').filter(line => line !== '').map(Number)

  let recordCount = 0
  let runningAtBreak: number[] = []
  for await (const record of importGit(repo, { git: wrapper })) {
    recordCount += 1
    t.is(record.parents.length, 0)
    runningAtBreak = readPids().filter(isRunning)
    break
  }
  t.is(recordCount, 1)
  t.is(readPids().length, 3) // rev-list, log, cat-file
  t.is(runningAtBreak.length, 2) // log and cat-file were still at work
  t.deepEqual(readPids().filter(isRunning), [])
})

test.serial('a consumer that throws ends every git process too', async t => {
  const repo = buildLongHistory()
  const pidFile = join(newDirectory('pids'), 'pids')
  const wrapper = join(temporaryRoot, 'git-noting-pid-2')
  writeFileSync(wrapper, `#!/bin/sh\necho $$ >> '${pidFile}'\nexec git "$@"\n`, { mode: 0o755 })
  await t.throwsAsync(async () => {
    for await (const record of importGit(repo, { git: wrapper })) throw new Error(`stop at ${record.file}`)
  }, { message: /^stop at / })
  const pids = readFileSync(pidFile, 'utf8').split('\n').filter(line => line !== '').map(Number)
  t.is(pids.length, 3)
  t.deepEqual(pids.filter(isRunning), [])
})

test('a long history imports completely: one text per file per commit, each on the previous one', async t => {
  const repo = buildLongHistory()
  const commits = git(repo, 'rev-list', '--reverse', 'main').split('\n')
  const records = await importAll(repo)
  t.is(records.length, 400 * 12)
  const expected = commits.flatMap((commit, commitIndex) => Array.from({ length: 12 }, () =>
    [commit, commitIndex === 0 ? [] : [commits[commitIndex - 1]]]))
  t.deepEqual(records.map(record => [record.rev, record.parents]), expected)
  checkParentsFirst(t, records)
  checkTexts(t, repo, records.slice(-12))
})

// --- the text limit ----------------------------------------------------------------------------------------

const LIMIT_BYTE_LENGTH = 1000
const BIG_BYTE_LENGTH = 512 * 1024

/**
 * c1: `exact.txt` of exactly the limit and a small file; c2: `big.txt` of 512 KiB (more than a pipe holds, so
 * cat-file is still writing it when it is refused) and `exact.txt` edited.
 */
function buildLimitHistory(): { repo: string; c1: string; c2: string } {
  const repo = newRepository('limit')
  write(repo, 'exact.txt', 'x'.repeat(LIMIT_BYTE_LENGTH))
  write(repo, 'small.txt', 'small\n')
  const c1 = commitAll(repo, 'c1')
  write(repo, 'big.txt', 'b'.repeat(BIG_BYTE_LENGTH))
  write(repo, 'exact.txt', 'y'.repeat(LIMIT_BYTE_LENGTH))
  const c2 = commitAll(repo, 'c2')
  return { repo, c1, c2 }
}

/** The records yielded before the import failed, and its error. */
async function importUntilError(repo: string, options: GitImportOptions): Promise<{ records: TextRecord[]; error: unknown }> {
  const { items, error } = await untilError(importGit(repo, options))
  return { records: items, error }
}

test.serial('a blob over maxTextByteLength is VSTORE_LIMIT naming its key; a text of exactly the limit is taken; every git process ends', async t => {
  const { repo, c1, c2 } = buildLimitHistory()
  const pidFile = join(newDirectory('pids'), 'pids')
  const wrapper = join(temporaryRoot, 'git-noting-pid-limit')
  writeFileSync(wrapper, `#!/bin/sh\necho $$ >> '${pidFile}'\nexec git "$@"\n`, { mode: 0o755 })

  const { records, error } = await importUntilError(repo, { git: wrapper, maxTextByteLength: LIMIT_BYTE_LENGTH })
  t.true(error instanceof VstoreError)
  t.like(error, { code: 'VSTORE_LIMIT', where: `big.txt@${c2}` })
  t.deepEqual(keysOf(records), sortKeys([['exact.txt', c1, []], ['small.txt', c1, []]]))
  checkTexts(t, repo, records)
  const pids = readFileSync(pidFile, 'utf8').split('\n').filter(line => line !== '').map(Number)
  t.is(pids.length, 3) // rev-list, log, cat-file
  t.deepEqual(pids.filter(isRunning), []) // killed and reaped: no process, no zombie

  // With the limit at the big blob's size, everything is taken.
  const all = await importAll(repo, { maxTextByteLength: BIG_BYTE_LENGTH })
  t.deepEqual(keysOf(all), sortKeys([['big.txt', c2, []], ['exact.txt', c1, []], ['exact.txt', c2, [c1]], ['small.txt', c1, []]]))
  checkRecords(t, repo, all)
})

test('a blob over maxTextByteLength is refused from cat-file\'s header: its bytes are never read', async t => {
  const { repo, c2 } = buildLimitHistory()
  const bigBlobId = git(repo, 'rev-parse', `${c2}:big.txt`)
  // A git whose cat-file output stops right after the big blob's header line: an import that went on to
  // read the blob's bytes would find the output cut (VSTORE_IMPORT) instead of refusing it.
  const filter = join(temporaryRoot, 'cut-after-header.py')
  writeFileSync(filter, [
    'import sys',
    'source, sink = sys.stdin.buffer, sys.stdout.buffer',
    'while True:',
    '    line = source.readline()',
    '    if not line: break',
    '    sink.write(line)',
    '    sink.flush()',
    `    if line.startswith(b'${bigBlobId} blob '): sys.exit(0)`,
    '    sink.write(source.read(int(line.split()[2]) + 1))',
    '    sink.flush()',
  ].join('\n'))
  const wrapper = join(temporaryRoot, 'git-cut-after-header')
  writeFileSync(wrapper, `#!/bin/sh\nif [ "$3" = cat-file ]; then git "$@" | python3 '${filter}'; exit 0; fi\nexec git "$@"\n`, { mode: 0o755 })
  const { error } = await importUntilError(repo, { git: wrapper, maxTextByteLength: LIMIT_BYTE_LENGTH })
  t.like(error, { code: 'VSTORE_LIMIT', where: `big.txt@${c2}` })
})

test('maxTextByteLength that is not a whole number >= 0 is VSTORE_USAGE', async t => {
  const { repo } = buildLimitHistory()
  await t.throwsAsync(importAll(repo, { maxTextByteLength: -1 }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('a moved file\'s first version names the version it was moved from as its origin (git\'s rename detection); renames: false and a filter that drops the old path give none', async t => {
  const repo = newRepository('renames')
  mkdirSync(join(repo, 'src'))
  const body = Array.from({ length: 40 }, (_, i) => `line ${i} of the program\n`).join('')
  write(repo, 'main.c', body)
  write(repo, 'other.c', 'other\n')
  const first = commitAll(repo, 'first')
  git(repo, 'mv', 'main.c', 'src/main.c')
  write(repo, 'src/main.c', `${body}one more line\n`)
  const moved = commitAll(repo, 'move')
  write(repo, 'src/main.c', `${body}two more lines\n`)
  const edited = commitAll(repo, 'edit')
  const records = await importAll(repo)
  const at = (file: string, rev: string) => records.find(record => record.file === file && record.rev === rev)
  t.deepEqual(at('src/main.c', moved)?.origin, { file: 'main.c', rev: first })
  t.deepEqual(at('src/main.c', moved)?.parents, [])
  t.deepEqual(at('src/main.c', edited)?.parents, [moved])
  t.is(at('src/main.c', edited)?.origin, undefined)
  t.is(records.filter(record => record.origin !== undefined).length, 1)
  t.true((await importAll(repo, { renames: false })).every(record => record.origin === undefined))
  t.true((await importAll(repo, { pathFilter: /^src\// })).every(record => record.origin === undefined))
})
