/**
 * The behaviour every StoreIndex must have, written once: `storeIndexContract(name, harness)` registers
 * the tests for one implementation (LevelDB today; PostgreSQL next). The harness makes a new, empty index
 * and reopens it, as a store does.
 */
import test, { type ExecutionContext } from 'ava'
import { VstoreError } from '../../lib/errors.js'
import { MAX_ID_BYTE_LENGTH } from '../../lib/bytes/index.js'
import { HASH_RECORD_MIN_TEXT_BYTE_LENGTH, TEXT_CHECK_BYTE_LENGTH } from '../../lib/index/records.js'
import { STORE_FORMAT_VERSION, type StoreIndex } from '../../lib/store/store-index.js'
import type { TextEntry, TextKey, TextLocation } from '../../lib/store/types.js'

export interface StoreIndexHarness {
  /** A fresh, empty backend for one test. */
  create(): Promise<StoreIndexBackend>
}

export interface StoreIndexBackend {
  /** Opens the index (the same one each time: what was committed before is there). */
  open(): Promise<StoreIndex>
  /** Frees what the backend holds. */
  dispose(): Promise<void>
}

function hash(seed: number): Uint8Array {
  return Uint8Array.from({ length: 20 }, (_, i) => (seed * 53 + i * 11) & 0xff)
}

function location(seed: number, overrides: Partial<TextLocation> = {}): TextLocation {
  return {
    packId: seed % 3, groupOffset: 8 + seed * 100, readByteLength: 40 + seed, recordStart: seed, recordEnd: seed + 10, decodedByteLength: 4096,
    textByteLength: 10 + seed, hash: hash(seed), baseDepth: 0, baseReadByteLength: 0, baseDecodedByteLength: 0, ...overrides,
  }
}

function entry(seed: number, parents: readonly string[] = [], overrides: Partial<TextLocation> = {}): TextEntry {
  return { ...location(seed, overrides), parents }
}

/**
 * An entry as an index gives it back: as put, but for its hash, which may be cut to a check of at least
 * TEXT_CHECK_BYTE_LENGTH bytes for a text under HASH_RECORD_MIN_TEXT_BYTE_LENGTH (whole otherwise), and its
 * decoded length, which an index that does not keep it (store formats 5 and 6) gives as the record's end.
 */
function assertKept(t: ExecutionContext, got: TextEntry | undefined, put: TextEntry, what = ''): void {
  if (got === undefined) return void t.fail(`${what}: no entry`)
  const { hash, decodedByteLength, ...rest } = got
  const { hash: putHash, decodedByteLength: putDecoded, ...putRest } = put
  t.deepEqual(rest, putRest, what)
  t.true(decodedByteLength === putDecoded || decodedByteLength === put.recordEnd, `${what}: decodes ${decodedByteLength} bytes, put ${putDecoded}, record end ${put.recordEnd}`)
  // At least a check of the hash (all a store of format 4 keeps), at most the whole of it.
  t.true(hash.length >= TEXT_CHECK_BYTE_LENGTH && hash.length <= putHash.length, `${what}: a hash of ${hash.length} bytes`)
  t.deepEqual(hash, putHash.subarray(0, hash.length), what)
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = []
  for await (const item of items) all.push(item)
  return all
}

const keyText = ({ file, rev }: TextKey) => `${file}@${rev}`

export function storeIndexContract(name: string, harness: StoreIndexHarness): void {
  const each = (title: string, body: (t: ExecutionContext, backend: StoreIndexBackend, index: StoreIndex) => Promise<void>) => {
    test(`${name} › ${title}`, async t => {
      const backend = await harness.create()
      const index = await backend.open()
      try {
        await body(t, backend, index)
      } finally {
        await index.close().catch(() => undefined)
        await backend.dispose()
      }
    })
  }

  each('a new index is at this build\'s format, empty, with zero totals', async (t, _backend, index) => {
    t.is(index.format, STORE_FORMAT_VERSION)
    t.deepEqual(await collect(index.entries()), [])
    t.deepEqual(await index.totals(), { textCount: 0, rawByteLength: 0, groupCount: 0 })
    t.deepEqual([...(await index.packStates())], [])
    t.is(await index.tryGetEntry({ file: 'a', rev: 'r1' }), undefined)
  })

  each('a committed entry reads back whole (with a check of its hash, a large text\'s too, and an origin), and nothing of a batch is seen before its commit', async (t, backend, index) => {
    const stored = entry(5, ['p1', 'p0'], { baseDepth: 2, baseReadByteLength: 77, baseDecodedByteLength: 8192 })
    const large = { ...entry(6, ['r1'], { textByteLength: HASH_RECORD_MIN_TEXT_BYTE_LENGTH }), origin: { file: 'a.c', rev: 'r0' } }
    const batch = index.batch()
    batch.putText({ file: 'src/a.c', rev: 'r1' }, stored)
    batch.putText({ file: 'src/a.c', rev: 'r2' }, large)
    batch.setTotals({ textCount: 1, rawByteLength: 15, groupCount: 1 })
    t.is(await index.tryGetEntry({ file: 'src/a.c', rev: 'r1' }), undefined)
    t.true(batch.operationCount >= 2)
    await batch.commit()
    assertKept(t, await index.tryGetEntry({ file: 'src/a.c', rev: 'r1' }), stored)
    t.deepEqual(await index.totals(), { textCount: 1, rawByteLength: 15, groupCount: 1 })
    await index.close()
    const reopened = await backend.open()
    assertKept(t, await reopened.tryGetEntry({ file: 'src/a.c', rev: 'r1' }), stored)
    assertKept(t, await reopened.tryGetEntry({ file: 'src/a.c', rev: 'r2' }), large)
    // Every entry keeps a check of its content hash (store format 4), large texts too.
    t.is((await reopened.tryGetEntry({ file: 'src/a.c', rev: 'r2' }))?.hash.length, TEXT_CHECK_BYTE_LENGTH)
    t.deepEqual(await reopened.totals(), { textCount: 1, rawByteLength: 15, groupCount: 1 })
    await reopened.close()
  })

  each('fileEntries holds one file\'s keys only (not a file whose id extends it), entries filters by prefix', async (t, _backend, index) => {
    const sha = 'ab'.repeat(20)
    const keys = [
      { file: 'a', rev: 'r2' }, { file: 'a', rev: 'r1' }, { file: 'a', rev: sha }, { file: 'ab', rev: 'r1' }, { file: 'b/ü', rev: 'r1' },
      { file: 'x'.repeat(MAX_ID_BYTE_LENGTH), rev: 'y'.repeat(MAX_ID_BYTE_LENGTH) },
    ]
    const batch = index.batch()
    keys.forEach((key, i) => batch.putText(key, entry(i)))
    await batch.commit()
    const ofA = await collect(index.fileEntries('a'))
    t.deepEqual(ofA.map(keyText).sort(), ['a@r1', 'a@r2', `a@${sha}`].sort())
    for (const row of ofA) assertKept(t, row.entry, entry(keys.findIndex(key => key.file === row.file && key.rev === row.rev)), keyText(row))
    t.deepEqual(await collect(index.fileEntries('nothing')), [])
    t.deepEqual((await collect(index.entries())).map(keyText).sort(), keys.map(keyText).sort())
    t.deepEqual((await collect(index.entries('a'))).map(keyText).sort(), ['a@r1', 'a@r2', `a@${sha}`, 'ab@r1'].sort())
    t.deepEqual((await collect(index.entries('b/'))).map(keyText), ['b/ü@r1'])
  })

  each('revisionsStartingWith finds text and hex revisions by prefix, at most `limit`', async (t, _backend, index) => {
    const sha1 = `abc${'0'.repeat(37)}`
    const sha256 = `abd${'1'.repeat(61)}`
    const batch = index.batch()
    for (const [i, rev] of ['release-1', 'release-2', 'other', sha1, sha256].entries()) batch.putText({ file: 'f', rev }, entry(i))
    batch.putText({ file: 'g', rev: 'release-3' }, entry(9))
    await batch.commit()
    t.deepEqual((await index.revisionsStartingWith('f', 'release-', 10)).sort(), ['release-1', 'release-2'])
    t.is((await index.revisionsStartingWith('f', 'release-', 1)).length, 1)
    t.deepEqual(await index.revisionsStartingWith('f', 'abc', 10), [sha1])
    t.deepEqual((await index.revisionsStartingWith('f', 'ab', 10)).sort(), [sha1, sha256].sort())
    t.deepEqual(await index.revisionsStartingWith('f', 'a', 10).then(revs => revs.sort()), [sha1, sha256].sort())
    t.deepEqual(await index.revisionsStartingWith('f', 'zzz', 10), [])
    t.deepEqual(await index.revisionsStartingWith('g', 'rel', 10), ['release-3'])
  })

  each('dropHashRecords in an index without hash records drops nothing and commits the rest of the batch', async (t, _backend, index) => {
    const batch = index.batch()
    batch.putText({ file: 'f', rev: 'r1' }, entry(1))
    await batch.dropHashRecords()
    await batch.commit()
    assertKept(t, await index.tryGetEntry({ file: 'f', rev: 'r1' }), entry(1))
  })

  each('pack states and deletions of texts and packs commit with the batch', async (t, _backend, index) => {
    let batch = index.batch()
    batch.putPack(1, { committedByteLength: 500, groupCount: 2 })
    batch.putPack(2, { committedByteLength: 8, groupCount: 0 })
    batch.putText({ file: 'f', rev: 'r1' }, entry(1))
    batch.putText({ file: 'f', rev: 'r2' }, entry(2, ['r1']))
    await batch.commit()
    t.deepEqual([...(await index.packStates())].sort(([a], [b]) => a - b), [[1, { committedByteLength: 500, groupCount: 2 }], [2, { committedByteLength: 8, groupCount: 0 }]])
    batch = index.batch()
    batch.deletePack(1)
    batch.deleteText({ file: 'f', rev: 'r1' })
    await batch.commit()
    t.deepEqual([...(await index.packStates())], [[2, { committedByteLength: 8, groupCount: 0 }]])
    t.deepEqual((await collect(index.entries())).map(keyText), ['f@r2'])
    t.true((await index.byteLength()) > 0)
  })

  each('check passes a sound index and reports totals that do not match the entries', async (t, _backend, index) => {
    let batch = index.batch()
    batch.putText({ file: 'f', rev: 'r1' }, entry(1))
    batch.putText({ file: 'g', rev: 'r1' }, entry(2))
    batch.setTotals({ textCount: 2, rawByteLength: 23, groupCount: 1 })
    await batch.commit()
    const sound = await index.check()
    t.is(sound.textCount, 2)
    t.deepEqual(sound.problems, [])
    t.deepEqual(sound.entries.map(keyText).sort(), ['f@r1', 'g@r1'])
    batch = index.batch()
    batch.setTotals({ textCount: 3, rawByteLength: 23, groupCount: 1 })
    await batch.commit()
    const { problems } = await index.check()
    t.is(problems.length, 1)
    t.is(problems[0]?.code, 'VSTORE_CORRUPT')
  })

  each('a bad key is refused with a VstoreError, before anything is written', async (t, _backend, index) => {
    const batch = index.batch()
    t.throws(() => batch.putText({ file: '', rev: 'r1' }, entry(1)), { instanceOf: VstoreError })
    t.throws(() => batch.putText({ file: 'f', rev: 'x'.repeat(MAX_ID_BYTE_LENGTH + 1) }, entry(1)), { instanceOf: VstoreError })
    t.deepEqual(await collect(index.entries()), [])
  })
}
