import test, { type ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { VstoreError } from '../../../lib/errors.js'
import { importFastExport, type FastExportImportOptions } from '../../../lib/import/fast-export.js'
import { importGit } from '../../../lib/import/git.js'
import type { TextRecord } from '../../../lib/store/types.js'
import {
  branch, commit, deleteFile, git, gitBytes, makeGitRepo, merge, setExecutable, switchTo, writeFile, writeSymlink, type GitRepo,
} from '../../helpers/git.js'
import { makeTempDir } from '../../helpers/tmp.js'
import { untilError } from '../../helpers/until-error.js'

const FAST_EXPORT_OPTIONS = ['--all', '--show-original-ids', '--reencode=yes', '--signed-tags=strip']

/** The stream in chunks of `chunkByteLength` bytes, so that commands and data cross chunk boundaries. */
async function* chunksOf(stream: string | Uint8Array, chunkByteLength = 7): AsyncGenerator<Uint8Array> {
  const bytes = typeof stream === 'string' ? Buffer.from(stream, 'utf8') : stream
  for (let offset = 0; offset < bytes.length; offset += chunkByteLength) yield bytes.subarray(offset, offset + chunkByteLength)
}

async function collect(records: AsyncIterable<TextRecord>): Promise<TextRecord[]> {
  const collected: TextRecord[] = []
  for await (const record of records) collected.push(record)
  return collected
}

/** Records as sortable, comparable rows: key, parents and the text's bytes. */
function rowsOf(records: readonly TextRecord[]): string[] {
  return records.map(record => `${record.file}\0${record.rev}\0${record.parents.join(',')}\0${Buffer.from(record.text).toString('base64')}`).sort()
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

/** Runs `git fast-export` and streams its stdout straight into the importer. */
async function importExport(repo: GitRepo, exportOptions: readonly string[], options: FastExportImportOptions = {}): Promise<TextRecord[]> {
  const child = spawn('git', ['-C', repo.dir, 'fast-export', ...exportOptions], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<number | null>(resolve => child.on('close', resolve))
  const records = await collect(importFastExport(child.stdout, options))
  if ((await exited) !== 0) throw new Error('git fast-export failed')
  return records
}

/**
 * A history with every case the graph rule distinguishes: edits, a mode-only change, a symlink (and one that
 * becomes a file), a file that becomes a folder, a delete and re-add, a revert to old bytes, paths that need
 * quoting, a submodule, a merge taking a side's version, a conflict resolution, an octopus merge, renames and
 * a copy, and a lightweight and an annotated tag.
 */
async function buildHistory(t: ExecutionContext): Promise<GitRepo> {
  const repo = await makeGitRepo(t)
  writeFile(repo, 'a.txt', 'a1\n')
  writeFile(repo, 'b.sh', 'echo b\n')
  writeFile(repo, 'dir/ü ñ "q".txt', 'nested\n')
  writeFile(repo, 'sp ace.txt', 'spaces\n')
  writeFile(repo, 'empty.txt', '')
  writeFile(repo, 'x', 'x is a file\n')
  writeFile(repo, 'folder/one.txt', 'one\n')
  writeFile(repo, 'folder/two.txt', 'two\n')
  writeSymlink(repo, 'link', 'a.txt')
  commit(repo, 'c1')

  writeFile(repo, 'a.txt', 'a2\n')
  setExecutable(repo, 'b.sh', true) // mode only
  commit(repo, 'c2')

  branch(repo, 'side')
  writeFile(repo, 'f.txt', 'side f\n')
  writeFile(repo, 'g.txt', 'g side\n')
  writeFile(repo, 'k.txt', 'k side\n')
  commit(repo, 's1')

  switchTo(repo, 'main')
  deleteFile(repo, 'a.txt')
  deleteFile(repo, 'x')
  writeFile(repo, 'x/y.txt', 'x is a folder now\n')
  deleteFile(repo, 'link')
  writeFile(repo, 'link', 'a file now\n')
  writeFile(repo, 'g.txt', 'g main\n')
  commit(repo, 'c3')

  writeFile(repo, 'a.txt', 'a2\n') // re-added with c2's bytes: a fresh start
  writeFile(repo, 'sp ace.txt', 'spaces\nmore\n')
  const sha = git(repo.dir, 'rev-parse', 'HEAD')
  commit(repo, 'c4')
  gitBytes(repo.dir, ['update-index', '--add', '--cacheinfo', `160000,${sha},sub`])
  gitBytes(repo.dir, ['commit', '-q', '-m', 'c5: a submodule'])

  merge(repo, 'side', 'merge side', { 'g.txt': 'g merged\n' }) // f.txt and k.txt: side's versions; g.txt: a resolution

  writeFile(repo, 'sp ace.txt', 'spaces\n') // back to c1's bytes: the blob's mark is named again
  git(repo.dir, 'mv', 'folder', 'renamed-folder')
  git(repo.dir, 'mv', 'k.txt', 'k-renamed.txt')
  writeFile(repo, 'copy-of-nested.txt', 'nested\n')
  commit(repo, 'c6: renames and a copy')
  git(repo.dir, 'tag', 'light')
  gitBytes(repo.dir, ['tag', '-a', '-m', 'annotated', 'v1'])

  branch(repo, 'o1', 'HEAD~1')
  writeFile(repo, 'o.txt', 'o1\n')
  commit(repo, 'o1')
  branch(repo, 'o2', 'main')
  writeFile(repo, 'p.txt', 'o2\n')
  commit(repo, 'o2')
  switchTo(repo, 'main')
  gitBytes(repo.dir, ['merge', '-q', '-s', 'ours', '--no-commit', 'o1', 'o2'])
  writeFile(repo, 'o.txt', 'o1\n') // o1's version
  writeFile(repo, 'p.txt', 'octopus p\n') // a new text on o2's version
  commit(repo, 'octopus')
  return repo
}

test('a real fast-export stream gives exactly the records importGit gives', async t => {
  const repo = await buildHistory(t)
  const expected = await collect(importGit(repo.dir, { all: true }))
  const records = await importExport(repo, FAST_EXPORT_OPTIONS)
  t.true(expected.length > 20)
  t.deepEqual(rowsOf(records), rowsOf(expected))
  checkParentsFirst(t, records)
})

test('renames and copies (fast-export -M -C -C) and whole trees (--full-tree) give the same records', async t => {
  const repo = await buildHistory(t)
  const expected = rowsOf(await collect(importGit(repo.dir, { all: true })))
  const withRenames = await importExport(repo, [...FAST_EXPORT_OPTIONS, '-M', '-C', '-C'])
  t.deepEqual(rowsOf(withRenames), expected)
  const fullTree = await importExport(repo, [...FAST_EXPORT_OPTIONS, '--full-tree'])
  t.deepEqual(rowsOf(fullTree), expected)
})

test('the -M -C -C stream really holds renames and copies', async t => {
  const repo = await buildHistory(t)
  const stream = gitBytes(repo.dir, ['fast-export', ...FAST_EXPORT_OPTIONS, '-M', '-C', '-C']).toString('utf8')
  t.regex(stream, /^R folder renamed-folder$|^R folder\/one.txt renamed-folder\/one.txt$/m)
  t.regex(stream, /^C /m)
})

test('without original ids, revisions are marks, and mapping them through the marks file gives importGit\'s records', async t => {
  const repo = await buildHistory(t)
  const marksFile = join(await makeTempDir(t), 'marks')
  const records = await importExport(repo, ['--all', '--reencode=yes', '--signed-tags=strip', `--export-marks=${marksFile}`])
  t.true(records.every(record => /^:\d+$/.test(record.rev)))
  const commitOfMark = new Map(readFileSync(marksFile, 'utf8').split('\n').filter(line => line !== '').map(line => line.split(' ') as [string, string]))
  const byCommit = (rev: string): string => commitOfMark.get(rev) ?? `unmapped ${rev}`
  const mapped = records.map(record => ({ ...record, rev: byCommit(record.rev), parents: record.parents.map(byCommit) }))
  t.deepEqual(rowsOf(mapped), rowsOf(await collect(importGit(repo.dir, { all: true }))))
})

test('blobs over the memory budget go to a temporary file and come back unchanged; the file is removed', async t => {
  const repo = await buildHistory(t)
  const temporaryDirectory = await makeTempDir(t)
  const expected = rowsOf(await collect(importGit(repo.dir, { all: true })))
  t.deepEqual(rowsOf(await importExport(repo, FAST_EXPORT_OPTIONS, { blobMemoryByteLength: 0, temporaryDirectory })), expected)
  t.deepEqual(rowsOf(await importExport(repo, FAST_EXPORT_OPTIONS, { blobMemoryByteLength: 8, temporaryDirectory })), expected)
  t.deepEqual(readdirSync(temporaryDirectory), [])
})

test('a repository with one long line of commits: each text on the previous one', async t => {
  const repo = await makeGitRepo(t)
  const commands: string[] = []
  const data = (text: string): string => `data ${Buffer.byteLength(text)}\n${text}`
  for (let index = 1; index <= 200; index++) {
    commands.push('commit refs/heads/main', `mark :${index}`, 'committer t <t@t> 1704067200 +0000', data(`c${index}`))
    if (index > 1) commands.push(`from :${index - 1}`)
    for (let file = 0; file < 5; file++) commands.push(`M 100644 inline f${file}.txt`, data(`file ${file} at ${index}\n`))
  }
  gitBytes(repo.dir, ['fast-import', '--quiet'], { input: `${commands.join('\n')}\n` })
  const records = await importExport(repo, FAST_EXPORT_OPTIONS)
  t.is(records.length, 1000)
  t.deepEqual(rowsOf(records), rowsOf(await collect(importGit(repo.dir, { all: true }))))
})

/** A small deterministic generator (mulberry32), so a failing history can be replayed. */
function randomGenerator(seed: number): (below: number) => number {
  let state = seed
  return below => {
    state = (state + 0x6d2b79f5) | 0
    let value = Math.imul(state ^ (state >>> 15), 1 | state)
    value ^= value + Math.imul(value ^ (value >>> 7), 61 | value)
    return (((value ^ (value >>> 14)) >>> 0) % below)
  }
}

/**
 * A random stream: commits on random earlier commits, some merges, edits drawn from few contents (so sides
 * often hold equal bytes), mode changes, symlinks and deletes. Each commit gets its own branch, so git keeps
 * every commit reachable.
 */
function randomStream(seed: number, commitCount: number): string {
  const random = randomGenerator(seed)
  const paths = ['a', 'b', 'c', 'd/e', 'd/f', 'd/g/h', 'i/j', 'k l', 'm']
  const contents = ['one\n', 'two\n', 'three\n', '', 'four\nfive\n']
  const lines: string[] = []
  for (let mark = 1; mark <= commitCount; mark++) {
    // A message of its own: two commits with equal parents, trees and messages would be one git commit.
    lines.push(`commit refs/heads/c${mark}`, `mark :${mark}`, COMMITTER, `data ${`c${mark}`.length}`, `c${mark}`)
    if (mark > 1) lines.push(`from :${1 + random(mark - 1)}`)
    if (mark > 2 && random(4) === 0) lines.push(`merge :${1 + random(mark - 1)}`)
    const operationCount = 1 + random(5)
    for (let operation = 0; operation < operationCount; operation++) {
      const path = paths[random(paths.length)] ?? 'a'
      const quoted = path.includes(' ') ? `"${path}"` : path
      const kind = random(10)
      if (kind < 2) lines.push(`D ${quoted}`)
      else if (kind === 2) lines.push(`M 120000 inline ${quoted}`, 'data 6', 'target')
      else {
        const content = contents[random(contents.length)] ?? ''
        lines.push(`M ${kind === 3 ? '100755' : '100644'} inline ${quoted}`, `data ${Buffer.byteLength(content)}`, content)
      }
    }
    lines.push('')
  }
  return `${lines.join('\n')}\n`
}

test('random histories: the records equal importGit\'s on the repository git fast-import makes of the stream', async t => {
  for (const seed of [1, 2, 3]) {
    const repo = await makeGitRepo(t)
    const stream = randomStream(seed, 80)
    const marksFile = join(repo.dir, '.git', 'marks')
    gitBytes(repo.dir, ['fast-import', '--quiet', `--export-marks=${marksFile}`], { input: stream })
    const commitOfMark = new Map(readFileSync(marksFile, 'utf8').split('\n').filter(line => line !== '').map(line => line.split(' ') as [string, string]))
    const byCommit = (rev: string): string => commitOfMark.get(rev) ?? `unmapped ${rev}`
    const records = await collect(importFastExport(chunksOf(stream, 13), { blobMemoryByteLength: 64 }))
    checkParentsFirst(t, records)
    const mapped = records.map(record => ({ ...record, rev: byCommit(record.rev), parents: record.parents.map(byCommit) }))
    const expected = await collect(importGit(repo.dir, { all: true }))
    t.true(expected.length > 50)
    t.deepEqual(rowsOf(mapped), rowsOf(expected), `seed ${seed}`)
  }
})

// --- hand-written streams ------------------------------------------------------------------------------

const COMMITTER = 'committer A U Thor <a@example.com> 1704067200 +0000'

test('data in both forms, inline files, quoted paths and comments', async t => {
  const stream = [
    '# a comment',
    'feature done',
    'option git quiet',
    'progress starting',
    'blob', 'mark :1', 'data <<EOT', 'line one', 'line two', 'EOT',
    '',
    'commit refs/heads/main', 'mark :2', COMMITTER, 'data <<EOM', 'message', 'EOM',
    'M 100644 :1 plain.txt',
    'M 644 inline "t\\303\\251st \\"q\\"\\tx.txt"', 'data 3', 'abc',
    'M 755 inline with space.txt', 'data 0', '',
    '',
    'checkpoint',
    'done',
    'anything after done is not read',
  ].join('\n')
  const records = await collect(importFastExport(chunksOf(stream)))
  t.deepEqual(records.map(record => [record.file, record.rev, record.parents, Buffer.from(record.text).toString('utf8')]), [
    ['plain.txt', ':2', [], 'line one\nline two\n'],
    ['tést "q"\tx.txt', ':2', [], 'abc'],
    ['with space.txt', ':2', [], ''],
  ].sort((a, b) => String(a[0]) < String(b[0]) ? -1 : 1))
})

test('a commit without from continues its branch; after reset without from it starts afresh', async t => {
  const stream = [
    'commit refs/heads/main', 'mark :1', COMMITTER, 'data 2', 'c1', 'M 100644 inline a', 'data 2', 'a1', '',
    'commit refs/heads/main', 'mark :2', COMMITTER, 'data 2', 'c2', 'M 100644 inline a', 'data 2', 'a2', '',
    'reset refs/heads/main',
    'commit refs/heads/main', 'mark :3', COMMITTER, 'data 2', 'c3', 'M 100644 inline a', 'data 2', 'a3', '',
    'reset refs/heads/other', 'from :2', '',
    'commit refs/heads/other', 'mark :4', COMMITTER, 'data 2', 'c4', 'M 100644 inline a', 'data 2', 'a4', '',
    'commit refs/heads/x', 'mark :5', COMMITTER, 'data 2', 'c5', 'from refs/heads/other^0', 'M 100644 inline a', 'data 2', 'a5', '',
    // A new branch with a merge but no from: the tree starts empty, the merge is the only parent.
    'commit refs/heads/y', 'mark :6', COMMITTER, 'data 2', 'c6', 'merge :3', 'M 100644 inline a', 'data 2', 'a6', 'M 100644 inline b', 'data 2', 'b6', '',
  ].join('\n')
  const records = await collect(importFastExport(chunksOf(stream)))
  t.deepEqual(records.map(record => [record.file, record.rev, record.parents]), [
    ['a', ':1', []], ['a', ':2', [':1']], ['a', ':3', []], ['a', ':4', [':2']], ['a', ':5', [':4']], ['a', ':6', [':3']], ['b', ':6', []],
  ])
})

test('D, C and R act on whole folders; deleteall empties the tree; notes are skipped', async t => {
  const stream = [
    'blob', 'mark :1', 'data 4', 'one\n',
    'blob', 'mark :2', 'data 4', 'two\n',
    'commit refs/heads/main', 'mark :10', 'original-oid 1111111111111111111111111111111111111111', COMMITTER, 'data 0',
    'M 100644 :1 d/one', 'M 100644 :2 d/sub/two', 'M 100644 :2 keep', 'M 120000 :1 link', '',
    'commit refs/heads/main', 'mark :11', COMMITTER, 'data 0', 'from :10',
    'C d e', 'R d/sub "f g"', 'C link link2', 'N inline :10', 'data 4', 'note', '',
    'commit refs/heads/main', 'mark :12', COMMITTER, 'data 0', 'from :11',
    'D e', 'M 100644 :1 keep/now-a-folder', '',
    'commit refs/heads/main', 'mark :13', COMMITTER, 'data 0', 'from :12',
    'deleteall', 'M 100644 :1 d/one', '',
  ].join('\n')
  const records = await collect(importFastExport(chunksOf(stream, 3)))
  const first = '1111111111111111111111111111111111111111'
  t.deepEqual(records.map(record => [record.file, record.rev, record.parents]), [
    ['d/one', first, []], ['d/sub/two', first, []], ['keep', first, []],
    ['e/one', ':11', []], ['e/sub/two', ':11', []], ['f g/two', ':11', []],
    ['keep/now-a-folder', ':12', []],
    // d/one has the same bytes as in :12 (which kept c1's version): no text at :13.
  ])
})

test('a file that becomes a folder, written as git fast-export does (M x/y, then D x), keeps x/y', async t => {
  const stream = [
    'commit refs/heads/main', 'mark :1', COMMITTER, 'data 0', 'M 100644 inline x', 'data 2', 'x1', '',
    'commit refs/heads/main', 'mark :2', COMMITTER, 'data 0', 'from :1', 'M 100644 inline x/y', 'data 2', 'y2', 'D x', '',
    'commit refs/heads/main', 'mark :3', COMMITTER, 'data 0', 'from :2', 'D x', '',
    'commit refs/heads/main', 'mark :4', COMMITTER, 'data 0', 'from :3', 'M 100644 inline x/y', 'data 2', 'y2', '',
  ].join('\n')
  const records = await collect(importFastExport(chunksOf(stream)))
  // :3's D x removes the folder (nothing under it was written by :3); :4 adds x/y afresh.
  t.deepEqual(records.map(record => [record.file, record.rev, record.parents]), [['x', ':1', []], ['x/y', ':2', []], ['x/y', ':4', []]])
})

test('a blob named again later is a new text only where its bytes are new', async t => {
  const stream = [
    'blob', 'mark :1', 'data 2', 'v1',
    'commit refs/heads/main', 'mark :2', COMMITTER, 'data 0', 'M 100644 :1 a', '',
    'commit refs/heads/main', 'mark :3', COMMITTER, 'data 0', 'M 100644 inline a', 'data 2', 'v2', '',
    'commit refs/heads/main', 'mark :4', COMMITTER, 'data 0', 'M 100644 :1 a', 'M 100644 :1 b', '',
  ].join('\n')
  const records = await collect(importFastExport(chunksOf(stream), { blobMemoryByteLength: 0 }))
  t.deepEqual(records.map(record => [record.file, record.rev, record.parents, Buffer.from(record.text).toString()]), [
    ['a', ':2', [], 'v1'], ['a', ':3', [':2'], 'v2'], ['a', ':4', [':3'], 'v1'], ['b', ':4', [], 'v1'],
  ])
})

async function importError(t: ExecutionContext, stream: string): Promise<VstoreError | undefined> {
  return t.throwsAsync(collect(importFastExport(chunksOf(stream), { where: 'stream' })), { instanceOf: VstoreError })
}

test('ls, cat-blob and get-mark are VSTORE_UNSUPPORTED', async t => {
  for (const command of ['ls "a"', 'cat-blob :1', 'get-mark :1']) {
    t.is((await importError(t, `${command}\n`))?.code, 'VSTORE_UNSUPPORTED', command)
  }
  const inCommit = ['commit refs/heads/main', 'mark :1', COMMITTER, 'data 0', 'ls "a"', ''].join('\n')
  t.is((await importError(t, inCommit))?.code, 'VSTORE_UNSUPPORTED')
  t.is((await importError(t, 'feature import-marks=marks\n'))?.code, 'VSTORE_UNSUPPORTED')
  t.is((await importError(t, 'feature frobnicate\n'))?.code, 'VSTORE_UNSUPPORTED')
  const tree = ['commit refs/heads/main', 'mark :1', COMMITTER, 'data 0', 'M 040000 4b825dc642cb6eb9a060e54bf8d69288fbee4904 dir', ''].join('\n')
  t.is((await importError(t, tree))?.code, 'VSTORE_UNSUPPORTED')
})

test('a truncated stream is VSTORE_IMPORT: inside data, inside a line, or without its declared done', async t => {
  const commitHead = ['commit refs/heads/main', 'mark :1', COMMITTER].join('\n')
  const insideData = await importError(t, `${commitHead}\ndata 10\nshort`)
  t.is(insideData?.code, 'VSTORE_IMPORT')
  t.regex(insideData?.where ?? '', /^stream@\d+$/)
  t.is((await importError(t, `${commitHead}\ndata 0\nM 100644 inline a\ndata <<EOT\nno end\n`))?.code, 'VSTORE_IMPORT')
  t.is((await importError(t, `${commitHead}\ndata 0\nM 100644 inli`))?.code, 'VSTORE_IMPORT')
  t.is((await importError(t, `feature done\n${commitHead}\ndata 0\n\n`))?.code, 'VSTORE_IMPORT')
  t.is((await importError(t, `${commitHead}\n`))?.code, 'VSTORE_IMPORT')
})

test('onUncheckedEnd is told where a stream ends that declared no feature done, and only then', async t => {
  const commitText = ['commit refs/heads/main', 'mark :1', COMMITTER, 'data 0', 'M 100644 inline a', 'data 2', 'a', ''].join('\n')
  const endsOf = async (stream: string): Promise<string[]> => {
    const told: string[] = []
    await collect(importFastExport(chunksOf(stream), { where: 'stream', onUncheckedEnd: where => told.push(where) }))
    return told
  }
  t.deepEqual(await endsOf(commitText), [`stream@${Buffer.byteLength(commitText)}`])
  t.deepEqual(await endsOf(`${commitText}done\n`), [])
  t.deepEqual(await endsOf(`feature done\n${commitText}done\n`), [])
  t.deepEqual(await endsOf(''), ['stream@0'])
})

test('undefined marks, bad modes, bad paths and unknown commands are VSTORE_IMPORT', async t => {
  const commitWith = (...lines: string[]): string => ['commit refs/heads/main', 'mark :1', COMMITTER, 'data 0', ...lines, ''].join('\n')
  const cases = [
    commitWith('from :9'),
    commitWith('M 100644 :9 a'),
    commitWith('M 100644 0123456789012345678901234567890123456789 a'),
    commitWith('M 100645 inline a', 'data 0'),
    commitWith('M 100644 inline ../a', 'data 0'),
    commitWith('M 100644 inline /a', 'data 0'),
    commitWith('M 100644 inline "\\377"', 'data 0'),
    commitWith('C missing b'),
    'frobnicate\n',
    'commit refs/heads/main\ncommitter x\ndata 0\n\n', // no mark and no original-oid: no revision id
  ]
  for (const stream of cases) t.is((await importError(t, stream))?.code, 'VSTORE_IMPORT', stream)
})

test('a data block over maxTextByteLength is VSTORE_LIMIT', async t => {
  const stream = 'blob\nmark :1\ndata 100\n' + 'x'.repeat(100) + '\n'
  await t.throwsAsync(collect(importFastExport(chunksOf(stream), { maxTextByteLength: 99 })), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
})

test('a stream of strings is VSTORE_USAGE', async t => {
  async function* strings(): AsyncGenerator<string> { yield 'blob\n' }
  await t.throwsAsync(collect(importFastExport(strings() as unknown as AsyncIterable<Uint8Array>)), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('stopping early removes the temporary blob file', async t => {
  const temporaryDirectory = await makeTempDir(t)
  const lines: string[] = []
  for (let index = 1; index <= 5; index++) {
    lines.push('commit refs/heads/main', `mark :${index}`, COMMITTER, 'data 0', 'M 100644 inline a', `data 2`, `v${index}`, '')
  }
  for await (const record of importFastExport(chunksOf(lines.join('\n')), { blobMemoryByteLength: 0, temporaryDirectory })) {
    t.is(record.rev, ':1')
    break
  }
  t.deepEqual(readdirSync(temporaryDirectory), [])
})

// --- the text limit ----------------------------------------------------------------------------------------

const LIMIT_BYTE_LENGTH = 1000

/** The records yielded before the import failed, and its error. */
async function importUntilError(input: AsyncIterable<Uint8Array> | NodeJS.ReadableStream, options: FastExportImportOptions): Promise<{ records: TextRecord[]; error: unknown }> {
  const { items, error } = await untilError(importFastExport(input, options))
  return { records: items, error }
}

test('a blob over maxTextByteLength in a real git fast-export stream is VSTORE_LIMIT at its data line; one of exactly the limit is taken', async t => {
  const repo = await makeGitRepo(t)
  writeFile(repo, 'exact.txt', 'e'.repeat(LIMIT_BYTE_LENGTH))
  writeFile(repo, 'small.txt', 'small\n')
  const c1 = commit(repo, 'c1')
  writeFile(repo, 'over.txt', 'o'.repeat(LIMIT_BYTE_LENGTH + 1))
  commit(repo, 'c2')
  const exported = gitBytes(repo.dir, ['fast-export', ...FAST_EXPORT_OPTIONS])
  const dataOffset = exported.indexOf(`data ${LIMIT_BYTE_LENGTH + 1}\n`)
  t.true(dataOffset > 0)

  const child = spawn('git', ['-C', repo.dir, 'fast-export', ...FAST_EXPORT_OPTIONS], { stdio: ['ignore', 'pipe', 'inherit'] })
  const { records, error } = await importUntilError(child.stdout, { maxTextByteLength: LIMIT_BYTE_LENGTH })
  t.true(error instanceof VstoreError)
  t.like(error, { code: 'VSTORE_LIMIT', where: `fast-export@${dataOffset}` })
  t.deepEqual(records.map(record => [record.file, record.rev, record.text.length]), [['exact.txt', c1, LIMIT_BYTE_LENGTH], ['small.txt', c1, 6]])

  const all = await importExport(repo, FAST_EXPORT_OPTIONS, { maxTextByteLength: LIMIT_BYTE_LENGTH + 1 })
  t.deepEqual(rowsOf(all), rowsOf(await collect(importGit(repo.dir, { all: true }))))
  await t.throwsAsync(collect(importFastExport(chunksOf(''), { maxTextByteLength: 0.5 })), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('inline data over maxTextByteLength is VSTORE_LIMIT naming path@rev, refused from its data line before its bytes are read', async t => {
  const head = ['commit refs/heads/main', 'mark :1', COMMITTER, 'data 2', 'c1', 'M 100644 inline exact.txt', `data ${LIMIT_BYTE_LENGTH}`, 'e'.repeat(LIMIT_BYTE_LENGTH)]
  // The stream ends right after the data line: reading the bytes would find it cut short.
  const counted = [...head, 'M 100644 inline over.txt', `data ${LIMIT_BYTE_LENGTH + 1}`, ''].join('\n')
  t.like((await importUntilError(chunksOf(counted), { maxTextByteLength: LIMIT_BYTE_LENGTH })).error, { code: 'VSTORE_LIMIT', where: 'over.txt@:1' })
  // The delimited form is read no further than the first line past the limit: here the stream ends there.
  const delimited = [...head, 'M 100644 inline over.txt', 'data <<EOF', 'o'.repeat(LIMIT_BYTE_LENGTH), ''].join('\n')
  t.like((await importUntilError(chunksOf(delimited), { maxTextByteLength: LIMIT_BYTE_LENGTH })).error, { code: 'VSTORE_LIMIT', where: 'over.txt@:1' })
  // A delimited text of exactly the limit is taken.
  const exactDelimited = [...head, 'M 100644 inline exact-too.txt', 'data <<EOF', 'x'.repeat(LIMIT_BYTE_LENGTH - 1), 'EOF', '', ''].join('\n')
  const records = await collect(importFastExport(chunksOf(exactDelimited), { maxTextByteLength: LIMIT_BYTE_LENGTH }))
  t.deepEqual(records.map(record => [record.file, record.text.length]), [['exact-too.txt', LIMIT_BYTE_LENGTH], ['exact.txt', LIMIT_BYTE_LENGTH]])
})

test('maxTextByteLength bounds only files: a long commit message or symlink target is no text over the limit', async t => {
  const message = 'm'.repeat(2 * LIMIT_BYTE_LENGTH)
  const stream = [
    'commit refs/heads/main', 'mark :1', COMMITTER, `data ${message.length}`, message,
    'M 120000 inline link', `data ${message.length}`, message, 'M 100644 inline a.txt', 'data 2', 'a1', '',
  ].join('\n')
  const symlinks: string[] = []
  const records = await collect(importFastExport(chunksOf(stream, 64), { maxTextByteLength: LIMIT_BYTE_LENGTH, onSymlink: key => symlinks.push(key.file) }))
  t.deepEqual(records.map(record => record.file), ['a.txt'])
  t.deepEqual(symlinks, ['link'])
})
