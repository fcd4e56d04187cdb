/**
 * Odd keys and texts end to end, through the library API and through `node bin/vstore` in real processes.
 * What test/unit/store and test/cli already cover is not repeated here: the empty text, a file id with `@`
 * and a space imported from git, a revision holding `@` (`v2@beta`, `NAME@VERSION`), a key re-inserted with
 * other content or with a parent nowhere in the store (VSTORE_EXISTS, VSTORE_MISSING_PARENT), a lone
 * surrogate in encodeTextKey.
 *
 * Added here: ids with line breaks, tabs, NUL, quotes, astral characters and at the id length limit; ids
 * with a lone surrogate (not well-formed Unicode: TextEncoder would write them as U+FFFD, merging two ids),
 * which the store refuses with VSTORE_USAGE before anything is stored, never aliasing another key; the same
 * key twice in one batch; ids that begin with U+FEFF (a byte order mark, which TextDecoder drops by default);
 * a path that is not UTF-8, holds a line break or begins with U+FEFF in git, fast-export and tar; a 20 MiB
 * text; `FILE@REV` where both splits name a stored key, or where the revision ends with `@`; VSTORE_EXISTS
 * from the CLI.
 */
import test, { type ExecutionContext } from 'ava'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Store, VstoreError, type TextRecord } from '../../lib/vstore.js'
import { MAX_ID_BYTE_LENGTH } from '../../lib/bytes/index.js'
import { commit, git, gitBytes, gitShow, makeGitRepo, writeFile } from '../helpers/git.js'
import { describeRun, runVstore, type Run } from '../helpers/cli.js'
import { pseudoRandomBytes } from '../helpers/random.js'
import { makeTempDir } from '../helpers/tmp.js'
import { dumpIndex } from '../helpers/store.js'

// ---------------------------------------------------------------------------------------------------------
// Helpers

const vstore = runVstore

function succeeds(t: ExecutionContext, run: Run): Buffer {
  t.is(run.status, 0, describeRun(run))
  t.is(run.stderr, '', describeRun(run))
  return run.stdout
}

/** Exit `status`, nothing on stdout, one `vstore: CODE (` line on stderr. */
function failsWith(t: ExecutionContext, run: Run, status: number, code: string): string {
  t.is(run.status, status, describeRun(run))
  t.is(run.stdout.length, 0, describeRun(run))
  t.true(run.stderr.startsWith(`vstore: ${code} (`), describeRun(run))
  t.is(run.stderr.indexOf('\n'), run.stderr.length - 1, `one stderr line: ${JSON.stringify(run.stderr)}`)
  return run.stderr
}

const encoder = new TextEncoder()

function record(file: string, rev: string, parents: readonly string[], text: string | Uint8Array): TextRecord {
  return { file, rev, parents, text: typeof text === 'string' ? encoder.encode(text) : text }
}

async function openStore(t: ExecutionContext, dir: string, create = false): Promise<Store> {
  const store = await Store.open(dir, { create })
  t.teardown(() => store.close())
  return store
}

function sameBytes(t: ExecutionContext, actual: Uint8Array | undefined, expected: Uint8Array, message: string): void {
  t.true(actual !== undefined && Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected)), `${message}: ${actual?.length} bytes, expected ${expected.length}`)
}

// ---------------------------------------------------------------------------------------------------------
// Through the library API

/** File ids and revision ids a caller may use: any well-formed Unicode, 1 to MAX_ID_BYTE_LENGTH UTF-8 bytes. */
const ODD_FILES = [
  'with space.txt', 'a@b', '@scope/pkg/index.js', 'trailing@', '@', 'line\nbreak', 'carriage\rreturn\r\n', 'tab\there',
  'nul\u0000inside', '"quoted" \'and\' \\backslashed', 'emoji 😀 𝄞 astral', 'e\u0301 combining vs é', 'right-to-left \u202e txt.exe',
  '\uFFFD replacement character', '\uFEFFbyte order mark first', ' ', 'x'.repeat(MAX_ID_BYTE_LENGTH), `${'é'.repeat(MAX_ID_BYTE_LENGTH / 2 - 1)}ab`,
]
const ODD_REVS = [
  'r@1', '@', 'v1@', 'two words', 'line\nbreak', '0123456789abcdef0123456789abcdef01234567', '0123456789ABCDEF0123456789ABCDEF01234567',
  '0123456789abcdef0123456789abcdef0123456', 'r'.repeat(MAX_ID_BYTE_LENGTH), '😀',
]

test('odd file and revision ids read back as inserted, with their parents, also after a reopen; verify is clean', async t => {
  const dir = await makeTempDir(t, 'vstore-odd-')
  const records: TextRecord[] = []
  ODD_FILES.forEach((file, f) => {
    let parents: string[] = []
    ODD_REVS.forEach((rev, r) => {
      // Every third version is empty, and one text is shared by every file's first version.
      const text = r === 0 ? 'shared first version\n' : r % 3 === 0 ? '' : `${JSON.stringify(file)} at ${JSON.stringify(rev)}: ${f}/${r}\n`.repeat(r)
      records.push(record(file, rev, parents, text))
      parents = [rev]
    })
  })
  let store = await openStore(t, dir, true)
  const summary = await store.insert(records)
  t.is(summary.newTextCount, records.length)
  // Identical texts are stored once: the shared first versions and the empty ones.
  t.is(summary.duplicateTextCount, (ODD_FILES.length - 1) + (ODD_FILES.length * 3 - 1))
  await store.close()
  store = await openStore(t, dir)
  for (const { file, rev, parents, text } of records) {
    sameBytes(t, await store.get(file, rev), text, JSON.stringify(`${file}@${rev}`))
    t.deepEqual(await store.parents(file, rev), parents)
  }
  for (const file of ODD_FILES) t.deepEqual(await store.revisions(file), ODD_REVS, JSON.stringify(file))
  t.deepEqual((await dumpIndex(store)).map(row => `${row.file}\u0000@${row.rev}`).sort(), records.map(r => `${r.file}\u0000@${r.rev}`).sort())
  t.deepEqual(await store.files(), [...ODD_FILES].sort())
  t.deepEqual((await store.verify()).problems, [])
})

test('an id past the length limit, or empty, is refused and nothing of the batch is stored', async t => {
  const store = await openStore(t, await makeTempDir(t, 'vstore-odd-'), true)
  const good = record('good', 'r1', [], 'fine')
  for (const bad of [
    record('x'.repeat(MAX_ID_BYTE_LENGTH + 1), 'r1', [], 'long file id'),
    record('f', `${'é'.repeat(MAX_ID_BYTE_LENGTH / 2)}x`, [], 'long revision id in UTF-8 bytes, not in characters'),
  ]) {
    await t.throwsAsync(store.insert([good, bad]), { instanceOf: VstoreError, code: 'VSTORE_USAGE', message: /at most/ }, JSON.stringify(bad.file.slice(0, 20)))
  }
  // An empty id is refused by the store's record check before any key is formed.
  for (const bad of [record('', 'r1', [], 'empty file id'), record('f', '', [], 'empty revision id')]) {
    await t.throwsAsync(store.insert([good, bad]), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, JSON.stringify(bad))
  }
  t.false(await store.has('good', 'r1'))
  t.is((await store.stats()).textCount, 0)
})

test('an id with a lone surrogate is refused with VSTORE_USAGE, in a file id, a revision or a parent, and never aliases another key', async t => {
  const store = await openStore(t, await makeTempDir(t, 'vstore-odd-'), true)
  // U+FFFD is what TextEncoder would turn a lone surrogate into: a well-formed id that must stay apart.
  await store.insert([record('a\uFFFD', 'r\uFFFD', [], 'the replacement character, honestly stored')])
  const before = await dumpIndex(store)
  const good = record('fine', 'r1', [], 'fine')
  const loneSurrogates = ['a\uD800', 'a\uDC00', '\uDBFF', 'x\uDC00\uD800y']
  for (const lone of loneSurrogates) {
    for (const bad of [record(lone, 'r1', [], 'x'), record('f', lone, [], 'x'), record('fine', 'r2', ['r1', lone], 'x')]) {
      await t.throwsAsync(store.insert([good, bad]), { instanceOf: VstoreError, code: 'VSTORE_USAGE', message: /lone surrogate/ }, JSON.stringify(bad))
    }
    await t.throwsAsync(store.get(lone, 'r\uFFFD'), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, JSON.stringify(lone))
    await t.throwsAsync(store.get('a\uFFFD', lone), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, JSON.stringify(lone))
    await t.throwsAsync(store.has(lone, 'r1'), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
    await t.throwsAsync(store.revisions(lone), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  }
  // A well-formed surrogate pair is an ordinary character.
  await store.insert([record('pair \uD83D\uDE00', 'r1', [], 'astral')])
  sameBytes(t, await store.get('pair 😀', 'r1'), encoder.encode('astral'), 'surrogate pair')
  t.deepEqual((await dumpIndex(store)).filter(row => row.file !== 'pair 😀'), before)
  t.false(await store.has('fine', 'r1'))
})

// Regression: readRev decoded revision ids with a TextDecoder that drops a leading U+FEFF (file ids go
// through ByteReader.string, which keeps it), so the revision "\uFEFFr1" was listed, and named as a
// parent, as "r1": another key.
test('a revision id that begins with U+FEFF is listed and named as a parent with it', async t => {
  const store = await openStore(t, await makeTempDir(t, 'vstore-odd-'), true)
  await store.insert([record('f', '\uFEFFr1', [], 'one'), record('f', 'r2', ['\uFEFFr1'], 'two'), record('f', 'r1', [], 'a different revision')])
  t.deepEqual(await store.parents('f', 'r2'), ['\uFEFFr1'])
  t.deepEqual((await store.revisions('f')).sort(), ['\uFEFFr1', 'r1', 'r2'].sort())
  t.deepEqual((await dumpIndex(store)).map(row => row.rev).sort(), ['\uFEFFr1', 'r1', 'r2'].sort())
})

test('the same key twice in one batch with the same content and parents is stored once; with other parents it is VSTORE_EXISTS', async t => {
  const dir = await makeTempDir(t, 'vstore-odd-')
  const store = await openStore(t, dir, true)
  const summary = await store.insert([
    record('f', 'r1', [], 'one'),
    record('f', 'r2', ['r1'], 'two'),
    record('f', 'r2', ['r1'], 'two'),
    record('f', 'r2', ['r1', 'r1'], 'two'), // a repeated parent is the same parent list
  ])
  t.like(summary, { textCount: 4, newTextCount: 2, duplicateTextCount: 0 })
  t.is((await store.stats()).textCount, 2)
  t.deepEqual(await store.parents('f', 'r2'), ['r1'])
  const before = await dumpIndex(store)
  const error = await t.throwsAsync<VstoreError>(store.insert([record('g', 'r1', [], 'new'), record('f', 'r2', [], 'two')]), { instanceOf: VstoreError, code: 'VSTORE_EXISTS' })
  t.is(error?.where, 'f@r2')
  await t.throwsAsync(store.insert([record('h', 'r1', [], 'x'), record('h', 'r2', ['r1'], 'y'), record('h', 'r2', [], 'y')]), { instanceOf: VstoreError, code: 'VSTORE_EXISTS' })
  t.deepEqual(await dumpIndex(store), before)
})

// ---------------------------------------------------------------------------------------------------------
// Through the CLI

test('extract FILE@REV: the last @ splits when both splits name a stored key; an exact key splits at an earlier @ even when the revision ends with @', async t => {
  const dir = await makeTempDir(t, 'vstore-odd-')
  const storeDir = join(dir, 'store')
  const keys = [
    { file: 'x@pkg', rev: '1.0', text: 'file x@pkg at 1.0\n' },
    { file: 'x', rev: 'pkg@1.0', text: 'file x at pkg@1.0\n' },
    { file: 'y', rev: 'v1@', text: 'a revision that ends with @\n' },
    { file: 'z@', rev: 'r1', text: 'a file id that ends with @\n' },
    { file: '@', rev: '@', text: 'only @\n' },
    { file: 'line\nbreak', rev: 'r\n1', text: 'line breaks in both ids\n' },
    { file: ' ', rev: ' ', text: 'spaces\n' },
  ]
  const store = await Store.open(storeDir, { create: true })
  await store.insert(keys.map(({ file, rev, text }) => record(file, rev, [], text)))
  await store.close()
  const extract = (spec: string): Run => vstore(['--store', storeDir, 'extract', spec])
  t.is(succeeds(t, extract('x@pkg@1.0')).toString('utf8'), 'file x@pkg at 1.0\n', 'the last @ wins')
  t.is(succeeds(t, extract('y@v1@')).toString('utf8'), 'a revision that ends with @\n')
  t.is(succeeds(t, extract('z@@r1')).toString('utf8'), 'a file id that ends with @\n')
  t.is(succeeds(t, extract('@@@')).toString('utf8'), 'only @\n')
  t.is(succeeds(t, extract('line\nbreak@r\n1')).toString('utf8'), 'line breaks in both ids\n')
  t.is(succeeds(t, extract(' @ ')).toString('utf8'), 'spaces\n')
  failsWith(t, extract('y@v2@'), 2, 'VSTORE_USAGE')
  failsWith(t, extract('x@pkg@2.0'), 3, 'VSTORE_NOT_FOUND')
  // --batch answers by the same rule; a key with a line break cannot be asked for there (one key a line).
  const batch = vstore(['--store', storeDir, 'extract', '--batch'], { input: 'x@pkg@1.0\ny@v1@\ny@v2@\n@@@\n' })
  t.is(succeeds(t, batch).toString('utf8'), 'x@pkg@1.0 18\nfile x@pkg at 1.0\n\ny@v1@ 28\na revision that ends with @\n\ny@v2@ missing\n@@@ 7\nonly @\n\n')
  // An id longer than any key may have is a usage error (exit 2), and
  // "missing" in --batch; so is a log of such a file.
  const long = 'x'.repeat(MAX_ID_BYTE_LENGTH + 1)
  failsWith(t, extract(`${long}@r1`), 2, 'VSTORE_USAGE')
  failsWith(t, extract(`x@pkg@${long}`), 2, 'VSTORE_USAGE')
  failsWith(t, vstore(['--store', storeDir, 'log', long]), 2, 'VSTORE_USAGE')
  t.is(succeeds(t, vstore(['--store', storeDir, 'extract', '--batch'], { input: `${long}@r1\n@@@\n` })).toString('utf8'), `${long}@r1 missing\n@@@ 7\nonly @\n\n`)
  // dump-index --json gives the ids exactly.
  const rows = JSON.parse(succeeds(t, vstore(['--store', storeDir, 'dump-index', '--json'])).toString('utf8')) as { file: string; rev: string }[]
  t.deepEqual(rows.map(({ file, rev }) => [file, rev]).sort(), keys.map(({ file, rev }) => [file, rev]).sort())
})

test('import-git of a path with a line break, a tab and quotes stores it under exactly that id', async t => {
  const repo = await makeGitRepo(t)
  const odd = 'dir/line\nbreak\t"quoted" \\ name.txt'
  writeFile(repo, odd, 'first\n')
  writeFile(repo, 'plain.txt', 'plain\n')
  const c1 = commit(repo, 'c1')
  writeFile(repo, odd, 'second\n')
  const c2 = commit(repo, 'c2')
  const storeDir = join(await makeTempDir(t, 'vstore-odd-'), 'store')
  succeeds(t, vstore(['--store', storeDir, 'import-git', repo.dir, '--quiet']))
  const rows = JSON.parse(succeeds(t, vstore(['--store', storeDir, 'dump-index', '--json'])).toString('utf8')) as { file: string; rev: string; parents: string[] }[]
  t.deepEqual(rows.map(({ file, rev, parents }) => JSON.stringify([file, rev, parents])).sort(), [
    [odd, c1, []], [odd, c2, [c1]], ['plain.txt', c1, []],
  ].map(row => JSON.stringify(row)).sort())
  t.true(succeeds(t, vstore(['--store', storeDir, 'extract', `${odd}@${c2}`])).equals(gitShow(repo, c2, odd)))
  t.true(succeeds(t, vstore(['--store', storeDir, 'extract', `${odd}@${c1.slice(0, 7)}`])).equals(gitShow(repo, c1, odd)))
  t.is(succeeds(t, vstore(['--store', storeDir, 'log', odd])).toString('utf8'), `${c2} ${c1}\n${c1}\n`)
})

test('a path that begins with U+FEFF is a file of its own in import-git, import-fast-export and import-tar', async t => {
  const repo = await makeGitRepo(t)
  const bom = '\uFEFFREADME'
  writeFile(repo, 'README', 'plain readme\n')
  writeFile(repo, bom, 'a readme whose name begins with a byte order mark\n')
  const c1 = commit(repo, 'c1')
  const dir = await makeTempDir(t, 'vstore-odd-')
  const keysOf = (store: string): string[] => (JSON.parse(succeeds(t, vstore(['--store', store, 'dump-index', '--json'])).toString('utf8')) as { file: string; rev: string }[])
    .map(row => JSON.stringify([row.file, row.rev])).sort()
  const extract = (store: string, spec: string): Buffer => succeeds(t, vstore(['--store', store, 'extract', spec]))

  const fromGit = join(dir, 'from-git')
  succeeds(t, vstore(['--store', fromGit, 'import-git', repo.dir, '--quiet']))
  t.deepEqual(keysOf(fromGit), [JSON.stringify(['README', c1]), JSON.stringify([bom, c1])].sort())
  t.true(extract(fromGit, `${bom}@${c1}`).equals(gitShow(repo, c1, bom)))
  t.true(extract(fromGit, `README@${c1}`).equals(gitShow(repo, c1, 'README')))

  const fromStream = join(dir, 'from-stream')
  succeeds(t, vstore(['--store', fromStream, 'import-fast-export', '--quiet'], { input: gitBytes(repo.dir, ['fast-export', '--all', '--show-original-ids']) }))
  t.deepEqual(keysOf(fromStream), keysOf(fromGit))
  t.true(extract(fromStream, `${bom}@${c1}`).equals(gitShow(repo, c1, bom)))
  t.true(extract(fromStream, `README@${c1}`).equals(gitShow(repo, c1, 'README')))

  // A tar with both names at its root (no top folder to strip).
  const archive = join(dir, 'release.tar')
  const tar = spawnSync('tar', ['-cf', archive, '-C', repo.dir, bom, 'README'])
  t.is(tar.status, 0, tar.stderr.toString('utf8'))
  const fromTar = join(dir, 'from-tar')
  succeeds(t, vstore(['--store', fromTar, 'import-tar', archive, '--rev', 'v1', '--quiet']))
  t.deepEqual(keysOf(fromTar), [JSON.stringify(['README', 'v1']), JSON.stringify([bom, 'v1'])].sort())
  t.true(extract(fromTar, `${bom}@v1`).equals(gitShow(repo, c1, bom)))
})

test('import-git of a path that is not UTF-8 exits 6 with one VSTORE_IMPORT line, and a first import leaves no store', async t => {
  const repo = await makeGitRepo(t)
  writeFile(repo, 'fine.txt', 'fine\n')
  commit(repo, 'c1')
  // A tree entry named with Latin-1 bytes, made without the file system (whose names may have to be UTF-8).
  const blob = gitBytes(repo.dir, ['hash-object', '-w', '--stdin'], { input: 'latin-1 name\n' }).toString('utf8').trim()
  const fineBlob = git(repo.dir, 'rev-parse', 'HEAD:fine.txt')
  const tree = gitBytes(repo.dir, ['mktree', '-z'], {
    input: Buffer.concat([Buffer.from(`100644 blob ${fineBlob}\tfine.txt\0`), Buffer.from(`100644 blob ${blob}\tcaf`), Buffer.from([0xe9]), Buffer.from('.txt\0')]),
  }).toString('utf8').trim()
  const c2 = gitBytes(repo.dir, ['commit-tree', tree, '-p', 'HEAD', '-m', 'c2: a Latin-1 name']).toString('utf8').trim()
  git(repo.dir, 'update-ref', 'refs/heads/main', c2)
  const dir = await makeTempDir(t, 'vstore-odd-')
  const line = failsWith(t, vstore(['--store', join(dir, 'new'), 'import-git', repo.dir]), 6, 'VSTORE_IMPORT')
  t.regex(line, /not UTF-8/)
  t.false(existsSync(join(dir, 'new')), 'a failed first import leaves no store')
  // Into a store that holds the first commit: it stays as it was.
  const storeDir = join(dir, 'store')
  succeeds(t, vstore(['--store', storeDir, 'import-git', repo.dir, '--ref', 'HEAD~1', '--quiet']))
  const before = succeeds(t, vstore(['--store', storeDir, 'dump-index', '--json'])).toString('utf8')
  failsWith(t, vstore(['--store', storeDir, 'import-git', repo.dir]), 6, 'VSTORE_IMPORT')
  t.is(succeeds(t, vstore(['--store', storeDir, 'dump-index', '--json'])).toString('utf8'), before)
  t.regex(succeeds(t, vstore(['--store', storeDir, 'verify'])).toString('utf8'), /^ok: /)
})

test('import-fast-export: a second stream giving a stored revision other bytes exits 6 with VSTORE_EXISTS and stores nothing of it; the same stream again adds nothing', async t => {
  const stream = (text: string, other: string): string => [
    'commit refs/heads/main', 'mark :1', 'committer A <a@example.invalid> 1700000000 +0000', 'data 3', 'one',
    'M 100644 inline same file.txt', `data ${Buffer.byteLength(text)}`, text,
    `M 100644 inline other.txt`, `data ${Buffer.byteLength(other)}`, other, '',
  ].join('\n')
  const storeDir = join(await makeTempDir(t, 'vstore-odd-'), 'store')
  succeeds(t, vstore(['--store', storeDir, 'import-fast-export', '--quiet'], { input: stream('first bytes\n', 'other\n') }))
  const before = succeeds(t, vstore(['--store', storeDir, 'dump-index', '--json'])).toString('utf8')
  t.deepEqual((JSON.parse(before) as { file: string; rev: string }[]).map(row => `${row.file}@${row.rev}`), ['other.txt@:1', 'same file.txt@:1'])
  // --json: the summary on stdout (and progress lines on stderr).
  const againRun = vstore(['--store', storeDir, 'import-fast-export', '--json'], { input: stream('first bytes\n', 'other\n') })
  t.is(againRun.status, 0, describeRun(againRun))
  const again = JSON.parse(againRun.stdout.toString('utf8')) as { newTextCount: number; textCount: number }
  t.like(again, { textCount: 2, newTextCount: 0 })
  const line = failsWith(t, vstore(['--store', storeDir, 'import-fast-export'], { input: stream('second bytes\n', 'other\n') }), 6, 'VSTORE_EXISTS')
  t.true(line.includes('same file.txt@:1'), line)
  t.is(succeeds(t, vstore(['--store', storeDir, 'dump-index', '--json'])).toString('utf8'), before)
  t.is(succeeds(t, vstore(['--store', storeDir, 'extract', 'same file.txt@:1'])).toString('utf8'), 'first bytes\n')
})

test('a 20 MiB text imports from git, extracts byte-identical from the CLI and the API, read in one piece of about its own length', async t => {
  const repo = await makeGitRepo(t)
  const big = pseudoRandomBytes(20 * 1024 * 1024, 20)
  writeFile(repo, 'big.bin', big)
  writeFile(repo, 'small.txt', 'small\n')
  const c1 = commit(repo, 'c1: a 20 MiB file')
  const storeDir = join(await makeTempDir(t, 'vstore-odd-'), 'store')
  succeeds(t, vstore(['--store', storeDir, 'import-git', repo.dir, '--quiet']))
  t.true(succeeds(t, vstore(['--store', storeDir, 'extract', `big.bin@${c1}`])).equals(big))
  t.regex(succeeds(t, vstore(['--store', storeDir, 'verify'])).toString('utf8'), /^ok: 2 texts/)
  const store = await openStore(t, storeDir)
  const row = (await dumpIndex(store)).find(r => r.file === 'big.bin')
  t.is(row?.textByteLength, big.length)
  const before = { ...store.readCounter }
  sameBytes(t, await store.get('big.bin', c1), big, 'get')
  t.is(store.readCounter.readCount - before.readCount, 1)
  const read = store.readCounter.readByteLength - before.readByteLength
  t.true(read <= big.length + 1024, `read ${read} bytes for a ${big.length}-byte text`)
  sameBytes(t, await store.get('small.txt', c1), encoder.encode('small\n'), 'small')
})
