import test from 'ava'
import { createHash } from 'node:crypto'
import { VstoreError } from '../../../lib/errors.js'
import { importReleases, normalizeEntryPath, ReleaseBoundary, topFolderLength, type Release, type ReleaseFile, type ReleaseImportOptions } from '../../../lib/import/releases.js'
import type { TextRecord } from '../../../lib/store/types.js'

const encoder = new TextEncoder()

function files(tree: Readonly<Record<string, string>>): ReleaseFile[] {
  return Object.entries(tree).map(([path, text]) => ({ path, text: encoder.encode(text) }))
}

/** A release read through a function, counting the reads. */
function rereadable(rev: string, tree: Readonly<Record<string, string>>, reads: { count: number } = { count: 0 }): Release {
  return {
    rev,
    files: () => {
      reads.count += 1
      return files(tree)
    },
  }
}

async function rows(releases: Iterable<Release> | AsyncIterable<Release>, options?: ReleaseImportOptions): Promise<Array<[string, string, readonly string[], string]>> {
  const collected: Array<[string, string, readonly string[], string]> = []
  for await (const record of importReleases(releases, options)) {
    collected.push([record.file, record.rev, record.parents, new TextDecoder().decode(record.text)])
  }
  return collected
}

function sha256(text: string, byteLength = 32): Uint8Array {
  return new Uint8Array(createHash('sha256').update(text).digest().subarray(0, byteLength))
}

test('each file\'s history is linear over the releases, in the order given', async t => {
  t.deepEqual(await rows([
    rereadable('r1', { 'p-1/a': 'a1', 'p-1/b': 'b1', 'p-1/gone': 'g1' }),
    rereadable('r2', { 'p-2/a': 'a2', 'p-2/b': 'b1' }),
    rereadable('r3', { 'p-3/a': 'a2', 'p-3/b': 'b3', 'p-3/gone': 'g3' }),
  ]), [
    ['a', 'r1', [], 'a1'], ['b', 'r1', [], 'b1'], ['gone', 'r1', [], 'g1'],
    ['a', 'r2', ['r1'], 'a2'],
    ['b', 'r3', ['r1'], 'b3'], ['gone', 'r3', ['r1'], 'g3'],
  ])
})

test('a release whose files are a plain iterable is read once and gives the same records', async t => {
  const asFunction = await rows([rereadable('r1', { 'x/a': 'a1' }), rereadable('r2', { 'x/a': 'a2', 'x/b': 'b' })])
  async function* oneShot(tree: Record<string, string>): AsyncGenerator<ReleaseFile> { yield* files(tree) }
  const asIterables = await rows([{ rev: 'r1', files: oneShot({ 'x/a': 'a1' }) }, { rev: 'r2', files: oneShot({ 'x/a': 'a2', 'x/b': 'b' }) }])
  t.deepEqual(asIterables, asFunction)
})

test('a release with nothing new is read once; one with new texts twice', async t => {
  const unchanged = { count: 0 }
  const changed = { count: 0 }
  await rows([rereadable('r1', { a: '1' }), rereadable('r2', { a: '1' }, unchanged), rereadable('r3', { a: '3' }, changed)])
  t.is(unchanged.count, 1)
  t.is(changed.count, 2)
})

test('the top folder is stripped only when every path shares it', async t => {
  t.is(topFolderLength(['package/a', 'package/lib/b']), 'package/'.length)
  t.is(topFolderLength(['package/a', 'other/b']), 0)
  t.is(topFolderLength(['package/a', 'README']), 0)
  t.is(topFolderLength(['README']), 0)
  t.is(topFolderLength([]), 0)
  t.deepEqual((await rows([rereadable('r', { 'one/a': 'a', 'two/b': 'b' })])).map(([file]) => file), ['one/a', 'two/b'])
})

test('a release\'s symlinks reach onSymlink once, keyed as a file there would be, before its texts', async t => {
  const told: string[] = []
  const release = (rev: string, tree: Readonly<Record<string, string>>, symlinks: readonly string[]): Release => ({
    rev,
    filePrefix: 'pkg/',
    files: read => {
      for (const path of symlinks) read.onSymlink(path)
      return files(tree)
    },
  })
  const records: string[] = []
  for await (const record of importReleases([
    release('r1', { 'top/a': 'a1' }, ['top/link', 'top/sub/link']),
    release('r2', { 'top/a': 'a2' }, ['top/link', 'outside']),
  ], { onSymlink: key => told.push(`${key.file}@${key.rev}`) })) {
    records.push(`${record.file}@${record.rev}`)
    told.push(`text ${record.file}@${record.rev}`)
  }
  t.deepEqual(records, ['pkg/a@r1', 'pkg/a@r2'])
  // Read twice each (r1 and r2 have new texts), told once each; a path outside the top folder keeps it.
  t.deepEqual(told, ['pkg/link@r1', 'pkg/sub/link@r1', 'text pkg/a@r1', 'pkg/link@r2', 'pkg/outside@r2', 'text pkg/a@r2'])
})

test('a release older than one before it is VSTORE_USAGE before it is read; allowOlder lets it through', async t => {
  const reads = { count: 0 }
  const outOfOrder = () => [rereadable('p-1.1', { 'p/a': '1' }), rereadable('p-1.0', { 'p/a': '0' }, reads)]
  const error = await t.throwsAsync(rows(outOfOrder()), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.true(error?.message.includes('p-1.0') === true && error.message.includes('p-1.1'), error?.message)
  t.is(error?.where, 'p-1.0')
  t.is(reads.count, 0)
  t.deepEqual(await rows(outOfOrder(), { allowOlder: true }), [['a', 'p-1.1', [], '1'], ['a', 'p-1.0', ['p-1.1'], '0']])
  // A name without a version cannot be placed, and another project's versions are not compared.
  t.is((await rows([rereadable('nightly', { a: '2' }), rereadable('p-1.0', { a: '0' }), rereadable('other-0.1', { a: '1' })])).length, 3)
})

test('a release older than the newest stored version of a file it changes is VSTORE_USAGE', async t => {
  const stored: Record<string, { rev: string; hash: Uint8Array }> = {
    a: { rev: 'p-1.2', hash: sha256('a2', 20) },
    b: { rev: 'p-1.0', hash: sha256('b', 20) },
  }
  const previous = async (file: string) => stored[file]
  // p-1.1 changes a, whose newest stored version is p-1.2's.
  const error = await t.throwsAsync(rows([rereadable('p-1.1', { a: 'a1', b: 'b' })], { previous }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.true(error?.message.includes('p-1.1') === true && error.message.includes('p-1.2'), error?.message)
  // A file it leaves as stored makes no text, so no link from a newer release: b, changed, descends from p-1.0.
  t.deepEqual(await rows([rereadable('p-1.1', { a: 'a2', b: 'b1' })], { previous }), [['b', 'p-1.1', ['p-1.0'], 'b1']])
  t.deepEqual(await rows([rereadable('p-1.1', { a: 'a1', b: 'b' })], { previous, allowOlder: true }), [['a', 'p-1.1', ['p-1.2'], 'a1']])
  t.deepEqual(await rows([rereadable('p-1.3', { a: 'a3', b: 'b' })], { previous }), [['a', 'p-1.3', ['p-1.2'], 'a3']])
  // Also when the file's last version comes from an earlier release of this import: the store's is newer.
  const storedHashes = async (file: string, rev: string) => (file === 'a' && rev === 'p-1.0' ? sha256('a0', 20) : undefined)
  await t.throwsAsync(rows([rereadable('p-1.0', { a: 'a0' }), rereadable('p-1.1', { a: 'a1' })], { previous, stored: storedHashes }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('filePrefix is put before every file id', async t => {
  const release: Release = { rev: 'pkg@1.0.0', files: () => files({ 'package/index.js': 'x' }), filePrefix: 'pkg/' }
  t.deepEqual(await rows([release]), [['pkg/index.js', 'pkg@1.0.0', [], 'x']])
})

test('paths are made canonical; escaping ones are VSTORE_IMPORT', async t => {
  t.is(normalizeEntryPath('./a//b/./c', 'w'), 'a/b/c')
  for (const path of ['../a', 'a/../../b', '/abs', 'C:/x', '\\\\server\\x', 'a/..\\..\\b', '.', '', 'a\0b']) {
    const error = t.throws(() => normalizeEntryPath(path, 'archive.tar'), { instanceOf: VstoreError }, JSON.stringify(path))
    t.is(error?.code, 'VSTORE_IMPORT')
    t.is(error?.where, `archive.tar:${path}`)
  }
})

test('previous continues a history stored by an earlier import; its hash may be a 20-byte prefix', async t => {
  const asked: string[] = []
  const previous = async (file: string) => {
    asked.push(file)
    return file === 'a' ? { rev: 'r1', hash: sha256('a1', 20) } : file === 'b' ? { rev: 'r1', hash: sha256('b1') } : undefined
  }
  t.deepEqual(await rows([rereadable('r2', { a: 'a1', b: 'b2', c: 'c2' }), rereadable('r3', { a: 'a3', b: 'b2', c: 'c2' })], { previous }), [
    ['b', 'r2', ['r1'], 'b2'], ['c', 'r2', [], 'c2'],
    ['a', 'r3', ['r1'], 'a3'],
  ])
  t.deepEqual(asked, ['a', 'b', 'c']) // once per file
})

test('stored makes an already stored key no text and the file\'s last version', async t => {
  const stored = async (file: string, rev: string) => (file === 'a' && rev === 'r1' ? sha256('a1', 20) : undefined)
  t.deepEqual(await rows([rereadable('r1', { a: 'a1' }), rereadable('r2', { a: 'a2' })], { stored }), [['a', 'r2', ['r1'], 'a2']])
  const otherBytes = async () => sha256('something else', 20)
  await t.throwsAsync(rows([rereadable('r1', { a: 'a1' })], { stored: otherBytes }), { instanceOf: VstoreError, code: 'VSTORE_IMPORT' })
})

test('previous naming this very release with other bytes is VSTORE_IMPORT', async t => {
  const previous = async () => ({ rev: 'r1', hash: sha256('old') })
  await t.throwsAsync(rows([rereadable('r1', { a: 'new' })], { previous }), { instanceOf: VstoreError, code: 'VSTORE_IMPORT' })
})

test('a path twice with different bytes is VSTORE_IMPORT; with the same bytes it counts once', async t => {
  const twice: Release = { rev: 'r', where: 'r.tar', files: () => [...files({ 'p/a': 'x' }), ...files({ 'p/a': 'y' })] }
  const error = await t.throwsAsync(rows([twice]), { instanceOf: VstoreError })
  t.is(error?.code, 'VSTORE_IMPORT')
  t.is(error?.where, 'r.tar:p/a')
  const same: Release = { rev: 'r', files: () => [...files({ 'p/a': 'x' }), ...files({ './p//a': 'x' })] }
  t.deepEqual(await rows([same]), [['a', 'r', [], 'x']])
})

test('a rev given twice is VSTORE_IMPORT; an empty rev or a bad hash is VSTORE_USAGE', async t => {
  await t.throwsAsync(rows([rereadable('r', { a: '1' }), rereadable('r', { a: '2' })]), { instanceOf: VstoreError, code: 'VSTORE_IMPORT' })
  await t.throwsAsync(rows([rereadable('', { a: '1' })]), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  await t.throwsAsync(rows([rereadable('r', { a: '1' })], { previous: async () => ({ rev: 'q', hash: new Uint8Array(8) }) }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('files that differ between the two reads are VSTORE_IMPORT', async t => {
  let read = 0
  const shifting: Release = { rev: 'r', files: () => files({ a: `read ${read++}` }) }
  await t.throwsAsync(rows([shifting]), { instanceOf: VstoreError, code: 'VSTORE_IMPORT' })
  let vanishing = 0
  const vanishes: Release = { rev: 'r', files: () => (vanishing++ === 0 ? files({ a: 'a' }) : []) }
  await t.throwsAsync(rows([vanishes]), { instanceOf: VstoreError, code: 'VSTORE_IMPORT' })
})

test('records come parents first and each key once', async t => {
  const records: TextRecord[] = []
  const releases = Array.from({ length: 20 }, (_, index) => rereadable(`v${index}`, { [`t/f${index % 3}`]: `${index % 4}`, 't/const': 'c' }))
  for await (const record of importReleases(releases)) records.push(record)
  const seen = new Set<string>()
  for (const record of records) {
    for (const parent of record.parents) t.true(seen.has(`${record.file}\0${parent}`))
    t.false(seen.has(`${record.file}\0${record.rev}`))
    seen.add(`${record.file}\0${record.rev}`)
  }
})

test('ReleaseBoundary ends the stream after the last whole release when a release fails while being listed', async t => {
  const encoder = new TextEncoder()
  const file = (path: string, text: string): ReleaseFile => ({ path, text: encoder.encode(text) })
  const escaping: Release = { rev: 'r3', files: () => [file('../outside', 'x')] }
  const releases: Release[] = [
    { rev: 'r1', files: () => [file('a', '1'), file('b', '1')] },
    { rev: 'r2', files: () => [file('a', '2'), file('b', '1')] },
    escaping,
    { rev: 'r4', files: () => [file('a', '4')] },
  ]
  const boundary = new ReleaseBoundary()
  const seen: string[] = []
  for await (const record of boundary.guard(importReleases(releases, { onReleaseDone: boundary.done }))) seen.push(`${record.file}@${record.rev}`)
  t.deepEqual(seen, ['a@r1', 'b@r1', 'a@r2'])
  t.is(boundary.failure?.code, 'VSTORE_IMPORT')
  // A failure after a release's first text passes through.
  let reads = 0
  const changing: Release = { rev: 'r2', files: () => (reads++ === 0 ? [file('a', '2'), file('b', '2')] : [file('a', '2'), file('b', 'other')]) }
  const late = new ReleaseBoundary()
  const records: string[] = []
  await t.throwsAsync(async () => {
    for await (const record of late.guard(importReleases([releases[0] as Release, changing], { onReleaseDone: late.done }))) records.push(`${record.file}@${record.rev}`)
  }, { instanceOf: VstoreError, code: 'VSTORE_IMPORT' })
  t.deepEqual(records, ['a@r1', 'b@r1', 'a@r2'])
  t.is(late.failure, undefined)
})
