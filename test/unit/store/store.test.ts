import test, { type ExecutionContext } from 'ava'
import { appendFile, mkdir, open as openFile, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { VstoreError } from '../../../lib/errors.js'
import { HASH_BYTE_LENGTH, MAX_ID_BYTE_LENGTH } from '../../../lib/bytes/index.js'
import { encodeMetaKey, HASH_RECORD_MIN_TEXT_BYTE_LENGTH } from '../../../lib/index/records.js'
import { hashText } from '../../../lib/store/text-hash.js'
import { openLevelDb } from '../../../lib/index/leveldb.js'
import { DEFAULT_STORE_OPTIONS, MAX_STORABLE_TEXT_BYTE_LENGTH, Store, STORE_FORMAT_VERSION, type IndexDumpRow, type StoreOptions } from '../../../lib/store/store.js'
import { DEFAULT_GROUP_LIMITS } from '../../../lib/group/frame.js'
import { encodeBaseRecord, encodeRecordHeader, RECORD_FULLTEXT } from '../../../lib/group/records.js'
import type { TextKey, TextRecord } from '../../../lib/store/types.js'
import { makeTempDir } from '../../helpers/tmp.js'
import { dumpIndex } from '../../helpers/store.js'
import { rewriteAsOldFormat, storeFormatOf } from '../../helpers/old-format.js'

// ---- helpers ----

const encoder = new TextEncoder()

function utf8(text: string): Uint8Array {
  return encoder.encode(text)
}

function record(file: string, rev: string, parents: readonly string[], text: string | Uint8Array): TextRecord {
  return { file, rev, parents, text: typeof text === 'string' ? utf8(text) : text }
}

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

/** Text-like lines (so deltas and coders have something to work with) that differ by seed. */
function prose(lineCount: number, seed: number): string {
  const noise = noiseBytes(lineCount * 6, seed)
  const words = ['store', 'group', 'delta', 'pack', 'index', 'text', 'read', 'bound', 'cap', 'merge', 'parent', 'key']
  const lines: string[] = []
  for (let i = 0; i < lineCount; i++) {
    const picked = Array.from(noise.subarray(i * 6, i * 6 + 6), byte => words[byte % words.length] as string)
    lines.push(`${i} ${picked.join(' ')} ${noise[i * 6] ?? 0}`)
  }
  return `${lines.join('\n')}\n`
}

/** Opens a store that the test closes when it ends (before its temp dir is removed). */
async function openStore(t: ExecutionContext, dir: string, options: StoreOptions = {}): Promise<Store> {
  const store = await Store.open(dir, options)
  t.teardown(() => store.close())
  return store
}

async function newStore(t: ExecutionContext, options: StoreOptions = {}): Promise<{ dir: string; store: Store }> {
  const dir = await makeTempDir(t, 'vstore-store-')
  return { dir, store: await openStore(t, dir, { ...options, create: true }) }
}

async function keysOf(store: Store): Promise<string[]> {
  return (await dumpIndex(store)).map(row => `${row.file}@${row.rev}`).sort()
}

async function packFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'packs'))).sort()
}

/** Total bytes of the pack files on disk, whatever the index says. */
async function packBytesOnDisk(dir: string): Promise<number> {
  let total = 0
  for (const name of await packFiles(dir)) total += (await stat(join(dir, 'packs', name))).size
  return total
}

async function expectCode(t: ExecutionContext, promise: Promise<unknown>, code: string): Promise<VstoreError | undefined> {
  return t.throwsAsync<VstoreError>(promise, { instanceOf: VstoreError, code })
}

async function* asAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item
}

/** A small history of two files: a.txt r1 → r2 → r3, b.txt r1 → r2 (merge of r1 and x), plus binary bytes. */
function sampleHistory(): TextRecord[] {
  const base = prose(40, 1)
  return [
    record('a.txt', 'r1', [], base),
    record('a.txt', 'r2', ['r1'], base.replace('store', 'STORE')),
    record('a.txt', 'r3', ['r2'], `${base}one more line\n`),
    record('b.txt', 'r1', [], prose(30, 2)),
    record('b.txt', 'x', [], prose(30, 3)),
    record('b.txt', 'r2', ['r1', 'x'], `${prose(30, 2)}${prose(5, 3)}`),
    record('bin/blob', 'r1', [], noiseBytes(3000, 4)),
  ]
}

/**
 * Byte equality whatever the array class (a get may return a Buffer, which deepEqual tells apart from a
 * Uint8Array), with a short message instead of two hex dumps.
 */
function sameBytes(t: ExecutionContext, actual: Uint8Array | undefined, expected: Uint8Array | undefined, message: string): void {
  if (actual === undefined || expected === undefined) {
    t.is(actual, expected, message)
    return
  }
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength)
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)
  if (a.equals(b)) {
    t.pass()
    return
  }
  let at = 0
  while (at < a.length && at < b.length && a[at] === b[at]) at++
  t.fail(`${message}: got ${a.length} bytes, expected ${b.length}; first difference at byte ${at}`)
}

async function expectTexts(t: ExecutionContext, store: Store, records: readonly TextRecord[]): Promise<void> {
  for (const { file, rev, text } of records) sameBytes(t, await store.get(file, rev), text, `${file}@${rev}`)
}

// ---- opening ----

test('opening a directory with no store, without create, throws VSTORE_NOT_FOUND and leaves the directory empty', async t => {
  const dir = await makeTempDir(t)
  await expectCode(t, Store.open(dir), 'VSTORE_NOT_FOUND')
  await expectCode(t, Store.open(dir, { create: false }), 'VSTORE_NOT_FOUND')
  t.deepEqual(await readdir(dir), [])
})

test('a created store can be closed and opened again without create', async t => {
  const { dir, store } = await newStore(t)
  t.is((await store.stats()).textCount, 0)
  await store.close()
  const again = await openStore(t, dir)
  const stats = await again.stats()
  t.is(stats.textCount, 0)
  t.is(stats.groupCount, 0)
  t.deepEqual((await again.verify()).problems, [])
})

test('a second open of a store that is open throws VSTORE_LOCKED, and the first keeps working', async t => {
  const { dir, store } = await newStore(t)
  await store.insert([record('a', 'r1', [], 'one')])
  const locked = await expectCode(t, Store.open(dir), 'VSTORE_LOCKED')
  // The error names the holder, from the owner file the first open wrote.
  t.true(locked?.message.includes(`pid ${process.pid}`), locked?.message)
  await expectCode(t, Store.open(dir, { create: true }), 'VSTORE_LOCKED')
  sameBytes(t, await store.get('a', 'r1'), utf8('one'), 'read back')
  await store.close()
  const again = await openStore(t, dir)
  sameBytes(t, await again.get('a', 'r1'), utf8('one'), 'read back')
})

test('closing a writer removes its owner file; a lock error names only a live holder, with how long it has held the store', async t => {
  const { dir, store } = await newStore(t)
  const owner = join(dir, 'owner.json')
  t.true(existsSync(owner))
  const held = JSON.parse(await readFile(owner, 'utf8')) as { pid: number; since: string; start: string }
  // As if the writer had opened the store 75 seconds ago.
  await writeFile(owner, JSON.stringify({ ...held, since: new Date(Date.now() - 75_000).toISOString() }))
  const live = await expectCode(t, Store.open(dir), 'VSTORE_LOCKED')
  t.regex(live?.message ?? '', new RegExp(`pid ${process.pid}, for 1 min \\d+ s`))
  // A pid that went to another process since (another start time) names nobody either.
  await writeFile(owner, JSON.stringify({ ...held, start: '1' }))
  const reused = await expectCode(t, Store.open(dir), 'VSTORE_LOCKED')
  t.false(reused?.message.includes(`pid ${process.pid}`), reused?.message)
  // A stale owner file (a writer killed before it could remove it) must not send anyone after a dead process.
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid as number
  await writeFile(owner, JSON.stringify({ ...held, pid: deadPid }))
  const stale = await expectCode(t, Store.open(dir), 'VSTORE_LOCKED')
  t.false(stale?.message.includes(`pid ${deadPid}`), stale?.message)
  t.regex(stale?.message ?? '', /not recorded/)
  await store.close()
  t.false(existsSync(owner))
  // A read-only store never writes one.
  const reader = await openStore(t, dir, { readOnly: true })
  t.false(existsSync(owner))
  await reader.close()
})

test('a text longer than maxTextByteLength is refused with VSTORE_LIMIT naming its key, before anything of the insert is stored', async t => {
  const { dir, store } = await newStore(t, { maxTextByteLength: 1000 })
  const refused = await expectCode(t, store.insert([record('a.txt', 'r1', [], 'x'.repeat(1000)), record('b.bin', 'r1', [], 'y'.repeat(1001))]), 'VSTORE_LIMIT')
  t.is(refused?.where, 'b.bin@r1')
  t.is((await store.stats()).textCount, 0)
  // A text of exactly the limit is stored; so is anything under it.
  await store.insert([record('a.txt', 'r1', [], 'x'.repeat(1000))])
  sameBytes(t, await store.get('a.txt', 'r1'), utf8('x'.repeat(1000)), 'at the limit')
  // A fetch from a store that took longer texts refuses them the same way, before reading any.
  const { dir: sourceDir, store: source } = await newStore(t)
  await source.insert([record('big.txt', 'r1', [], 'z'.repeat(5000))])
  await source.close()
  const reader = await openStore(t, sourceDir, { readOnly: true })
  await expectCode(t, store.fetch(reader), 'VSTORE_LIMIT')
  t.false(await store.has('big.txt', 'r1'))
  await store.close()
  // The limit is the opener's, not the store's: a writer with a larger one takes the text.
  const larger = await openStore(t, dir, { maxTextByteLength: 8000 })
  await larger.fetch(reader)
  t.true(await larger.has('big.txt', 'r1'))
})

test('maxTextByteLength defaults to 64 MiB and may not pass what a reader accepts in a group', async t => {
  t.is(DEFAULT_STORE_OPTIONS.maxTextByteLength, 64 * 1024 * 1024)
  // The largest group a text alone can make: the longest base record (ids of 4,096 bytes each) and the
  // text as a fulltext record, which must fit what every reader accepts.
  const id = 'x'.repeat(MAX_ID_BYTE_LENGTH)
  const baseRecord = encodeBaseRecord({ file: id, rev: id, textByteLength: MAX_STORABLE_TEXT_BYTE_LENGTH, hash: new Uint8Array(HASH_BYTE_LENGTH) })
  const largest = baseRecord.length + encodeRecordHeader(RECORD_FULLTEXT, MAX_STORABLE_TEXT_BYTE_LENGTH).length + MAX_STORABLE_TEXT_BYTE_LENGTH
  t.true(largest <= DEFAULT_GROUP_LIMITS.maxContentByteLength, `${largest} bytes of content`)
  for (const maxTextByteLength of [-1, 1.5, MAX_STORABLE_TEXT_BYTE_LENGTH + 1]) {
    await t.throwsAsync(Store.open('/nonexistent', { maxTextByteLength }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, String(maxTextByteLength))
  }
})

// ---- insert and get ----

test('texts read back equal those inserted, also after a reopen', async t => {
  const { dir, store } = await newStore(t)
  const records = sampleHistory()
  const summary = await store.insert(asAsync(records))
  t.is(summary.textCount, records.length)
  t.is(summary.newTextCount, records.length)
  t.is(summary.duplicateTextCount, 0)
  t.is(summary.rawByteLength, records.reduce((sum, r) => sum + r.text.length, 0))
  await expectTexts(t, store, records)
  await store.close()

  const again = await openStore(t, dir)
  await expectTexts(t, again, records)
  for (const { file, rev } of records) t.true(await again.has(file, rev))
  sameBytes(t, await again.tryGet('a.txt', 'r2'), records[1]?.text, 'read back')
  const stats = await again.stats()
  t.is(stats.textCount, records.length)
  t.is(stats.fileCount, 3)
  t.is(stats.rawByteLength, summary.rawByteLength)
  t.is(stats.groupCount, summary.groupCount)
})

test('a synchronous iterable inserts like an async one', async t => {
  const { store } = await newStore(t)
  const records = sampleHistory()
  await store.insert(records)
  await expectTexts(t, store, records)
})

test('identical texts are stored once within a batch, and across batches when the store has them in the same file or in the origin', async t => {
  const { dir, store } = await newStore(t)
  const shared = prose(500, 9)
  const other = prose(500, 10)
  const first = await store.insert([
    record('a', 'r1', [], shared),
    record('b', 'r1', [], shared),
    record('c', 'r1', [], other),
    record('c', 'r2', ['r1'], shared),
  ])
  t.is(first.newTextCount, 4)
  t.is(first.duplicateTextCount, 2)

  const statsBefore = await store.stats()
  const diskBefore = await packBytesOnDisk(dir)
  // A second batch of content stored already: a copy naming its origin, a revert, a short revert.
  const second = await store.insert([
    { ...record('d', 'r1', [], shared), origin: { file: 'a', rev: 'r1' } },
    record('c', 'r3', ['r2'], other),
  ])
  t.deepEqual({ newTextCount: second.newTextCount, duplicateTextCount: second.duplicateTextCount, groupCount: second.groupCount, storedByteLength: second.storedByteLength },
    { newTextCount: 2, duplicateTextCount: 2, groupCount: 0, storedByteLength: 0 })
  const statsAfter = await store.stats()
  t.is(statsAfter.packByteLength, statsBefore.packByteLength)
  t.is(statsAfter.textCount, statsBefore.textCount + 2)
  t.is(await packBytesOnDisk(dir), diskBefore)
  // Short texts too: their stored check is compared, then their bytes.
  await store.insert([record('s', 'r1', [], prose(40, 1))])
  await store.insert([record('s', 'r2', ['r1'], prose(40, 2))])
  t.is((await store.insert([record('s', 'r3', ['r2'], prose(40, 1))])).duplicateTextCount, 1)
  // The same content in another file, with no origin naming it, is stored again: only a file's own
  // versions and its origin's are searched.
  const unrelated = await store.insert([record('e', 'r1', [], shared)])
  t.is(unrelated.duplicateTextCount, 0)
  t.is(unrelated.groupCount, 1)

  sameBytes(t, await store.get('d', 'r1'), utf8(shared), 'd@r1')
  sameBytes(t, await store.get('c', 'r3'), utf8(other), 'c@r3')
  sameBytes(t, await store.get('s', 'r3'), utf8(prose(40, 1)), 's@r3')
  const rows = await dumpIndex(store)
  const where = (keys: string[]) => new Set(rows.filter(row => keys.includes(`${row.file}@${row.rev}`)).map(row => `${row.pack}@${row.groupOffset}:${row.recordStart}`)).size
  t.is(where(['a@r1', 'b@r1', 'c@r2', 'd@r1']), 1, 'one stored record for the shared text')
  t.is(where(['c@r1', 'c@r3']), 1, 'one stored record for the reverted text')
  t.is(where(['s@r1', 's@r3']), 1, 'one stored record for the short reverted text')
  t.deepEqual((await store.verify({ full: true })).problems, [])
})

test('a store of format 1 (groups of version 1 only, whole hashes) is read, and its next write makes it this build\'s format; a later format is refused', async t => {
  const { dir, store } = await newStore(t)
  await store.insert([record('a', 'r1', [], prose(50, 12))])
  await store.close()
  const formatOf = () => storeFormatOf(dir)
  t.is(await formatOf(), STORE_FORMAT_VERSION)
  await rewriteAsOldFormat(dir, 1, () => utf8(prose(50, 12)))
  const reopened = await Store.open(dir)
  sameBytes(t, await reopened.get('a', 'r1'), utf8(prose(50, 12)), 'read from a format-1 store')
  await reopened.close()
  t.is(await formatOf(), 1, 'opening alone changes nothing')
  const writer = await Store.open(dir)
  await writer.insert([record('a', 'r2', ['r1'], prose(50, 13))])
  sameBytes(t, await writer.get('a', 'r1'), utf8(prose(50, 12)), 'read after the upgrade')
  await writer.close()
  t.is(await formatOf(), STORE_FORMAT_VERSION)
  const db3 = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  await db3.write([{ key: encodeMetaKey('format'), value: Uint8Array.of(STORE_FORMAT_VERSION + 1) }], { sync: true })
  await db3.close()
  await t.throwsAsync(Store.open(dir), { instanceOf: VstoreError, code: 'VSTORE_UNSUPPORTED' })
})

test('contentHash is the whole hash of a short text (whose entry keeps 4 bytes of it) and of a large one', async t => {
  const { store } = await newStore(t)
  const short = utf8(prose(20, 31))
  const large = utf8(prose(2000, 32))
  t.true(short.length < HASH_RECORD_MIN_TEXT_BYTE_LENGTH && large.length >= HASH_RECORD_MIN_TEXT_BYTE_LENGTH)
  await store.insert([{ file: 's', rev: 'r1', parents: [], text: short }, { file: 'l', rev: 'r1', parents: [], text: large }])
  t.is((await store.getEntry('s', 'r1')).hash.length, 4)
  t.deepEqual(await store.contentHash('s', 'r1'), hashText(short))
  t.deepEqual(await store.contentHash('l', 'r1'), hashText(large))
  await t.throwsAsync(store.contentHash('s', 'r9'), { code: 'VSTORE_NOT_FOUND' })
})

test('getMany gives each key bytes of its own, also for keys stored once', async t => {
  const { store } = await newStore(t)
  const shared = prose(50, 14)
  await store.insert([record('a', 'r1', [], prose(50, 15)), record('a', 'r2', ['r1'], shared), record('b', 'r1', [], shared)])
  const texts = new Map<string, Uint8Array>()
  for await (const { file, rev, text } of store.getMany([{ file: 'a', rev: 'r2' }, { file: 'b', rev: 'r1' }])) texts.set(`${file}@${rev}`, text)
  const a = texts.get('a@r2') as Uint8Array
  const b = texts.get('b@r1') as Uint8Array
  sameBytes(t, a, utf8(shared), 'a@r2')
  a.fill(0)
  sameBytes(t, b, utf8(shared), 'b@r1 is not changed by writing into a@r2')
})

test('re-inserting the same batch stores nothing new', async t => {
  const { dir, store } = await newStore(t)
  const records = sampleHistory()
  await store.insert(records)
  const statsBefore = await store.stats()
  const diskBefore = await packBytesOnDisk(dir)
  const summary = await store.insert(records)
  t.is(summary.textCount, records.length)
  t.is(summary.newTextCount, 0)
  t.is(summary.duplicateTextCount, 0)
  t.is(summary.groupCount, 0)
  t.is(summary.storedByteLength, 0)
  const statsAfter = await store.stats()
  t.is(statsAfter.textCount, statsBefore.textCount)
  t.is(statsAfter.rawByteLength, statsBefore.rawByteLength)
  t.is(statsAfter.packByteLength, statsBefore.packByteLength)
  t.is(statsAfter.groupCount, statsBefore.groupCount)
  t.is(await packBytesOnDisk(dir), diskBefore)
  await expectTexts(t, store, records)
})

test('a key re-inserted with other content throws VSTORE_EXISTS and stores nothing of that batch', async t => {
  const { dir, store } = await newStore(t)
  await store.insert([record('a', 'r1', [], 'first')])
  const keysBefore = await keysOf(store)
  const diskBefore = await packBytesOnDisk(dir)

  const error = await expectCode(t, store.insert([
    record('new', 'r1', [], 'earlier in the batch'),
    record('a', 'r2', ['r1'], 'fine so far'),
    record('a', 'r1', [], 'second'),
  ]), 'VSTORE_EXISTS')
  t.is(error?.where, 'a@r1')
  // The same key twice in one batch, with other content.
  await expectCode(t, store.insert([record('b', 'r1', [], 'one'), record('b', 'r1', [], 'two')]), 'VSTORE_EXISTS')

  t.deepEqual(await keysOf(store), keysBefore)
  t.false(await store.has('new', 'r1'))
  t.false(await store.has('a', 'r2'))
  t.false(await store.has('b', 'r1'))
  sameBytes(t, await store.get('a', 'r1'), utf8('first'), 'read back')
  t.is((await store.stats()).textCount, 1)
  t.is(await packBytesOnDisk(dir), diskBefore)
})

test('a parent neither stored nor earlier in the batch throws VSTORE_MISSING_PARENT and stores nothing of the batch', async t => {
  const { dir, store } = await newStore(t)
  await store.insert([record('a', 'r1', [], 'stored')])
  const textCountBefore = (await store.stats()).textCount
  const diskBefore = await packBytesOnDisk(dir)

  const error = await expectCode(t, store.insert(asAsync([
    record('a', 'r2', ['r1'], 'parent stored'),
    record('b', 'r1', [], 'new file'),
    record('b', 'r2', ['r1'], 'parent earlier in the batch'),
    record('b', 'r3', ['r2', 'nope'], 'one parent is nowhere'),
  ])), 'VSTORE_MISSING_PARENT')
  t.is(error?.where, 'b@r3')
  t.false(await store.has('a', 'r2'))
  t.false(await store.has('b', 'r1'))
  t.false(await store.has('b', 'r2'))
  t.is((await store.stats()).textCount, textCountBefore)
  t.is(await packBytesOnDisk(dir), diskBefore)

  // A parent later in the batch is not earlier in it.
  await expectCode(t, store.insert([record('c', 'child', ['parent'], 'x'), record('c', 'parent', [], 'y')]), 'VSTORE_MISSING_PARENT')
  // A parent of the same rev in another file does not count: parents are per file.
  await expectCode(t, store.insert([record('d', 'r2', ['r1'], 'x')]), 'VSTORE_MISSING_PARENT')
  t.is((await store.stats()).textCount, textCountBefore)

  await store.close()
  const again = await openStore(t, dir)
  t.deepEqual(await keysOf(again), ['a@r1'])
  t.deepEqual((await again.verify()).problems, [])
})

test('getMany reads each group once and yields every text asked', async t => {
  const { store } = await newStore(t, { maxContentByteLength: 2048, maxReadByteLength: 2048, readChunkByteLength: 256 })
  const records: TextRecord[] = []
  for (let file = 0; file < 4; file++) {
    let parents: string[] = []
    for (let rev = 0; rev < 5; rev++) {
      records.push(record(`f${file}`, `r${rev}`, parents, `${prose(20, file * 10 + rev)}`))
      parents = [`r${rev}`]
    }
  }
  await store.insert(records)
  const rows = await dumpIndex(store)
  const groupOf = new Map(rows.map(row => [`${row.file}@${row.rev}`, `${row.pack}@${row.groupOffset}`]))
  t.true(new Set(groupOf.values()).size >= 4, 'the history spans several groups')

  // Every other key, in an order unlike the store's.
  const wanted: TextKey[] = records.filter((_, i) => i % 2 === 0).reverse().map(({ file, rev }) => ({ file, rev }))
  const groupsAsked = new Set(wanted.map(({ file, rev }) => groupOf.get(`${file}@${rev}`)))
  const before = { ...store.readCounter }
  const got = new Map<string, Uint8Array>()
  for await (const { file, rev, text } of store.getMany(wanted)) {
    t.false(got.has(`${file}@${rev}`), `${file}@${rev} yielded twice`)
    got.set(`${file}@${rev}`, text)
  }
  t.is(store.readCounter.readCount - before.readCount, groupsAsked.size)
  t.deepEqual([...got.keys()].sort(), wanted.map(({ file, rev }) => `${file}@${rev}`).sort())
  for (const { file, rev, text } of records.filter((_, i) => i % 2 === 0)) sameBytes(t, got.get(`${file}@${rev}`), text, `${file}@${rev}`)

  // One group read even when every key of the store is asked, from an async iterable.
  const all = store.readCounter.readCount
  let count = 0
  for await (const _ of store.getMany(asAsync(records.map(({ file, rev }) => ({ file, rev }))))) count++
  t.is(count, records.length)
  t.is(store.readCounter.readCount - all, new Set(groupOf.values()).size)
})

test('getMany with an unknown key throws VSTORE_NOT_FOUND before reading anything', async t => {
  const { store } = await newStore(t)
  await store.insert(sampleHistory())
  const before = store.readCounter.readCount
  const texts = store.getMany([{ file: 'a.txt', rev: 'r1' }, { file: 'a.txt', rev: 'nope' }])
  await expectCode(t, texts.next(), 'VSTORE_NOT_FOUND')
  t.is(store.readCounter.readCount, before)
})

test('get of an unknown key throws VSTORE_NOT_FOUND naming it; tryGet and has say it is absent', async t => {
  const { store } = await newStore(t)
  await store.insert(sampleHistory())
  const error = await expectCode(t, store.get('a.txt', 'r9'), 'VSTORE_NOT_FOUND')
  t.is(error?.where, 'a.txt@r9')
  await expectCode(t, store.get('nope', 'r1'), 'VSTORE_NOT_FOUND')
  await expectCode(t, store.parents('nope', 'r1'), 'VSTORE_NOT_FOUND')
  t.is(await store.tryGet('a.txt', 'r9'), undefined)
  t.false(await store.has('a.txt', 'r9'))
})

test('the empty text is stored and read back', async t => {
  const { dir, store } = await newStore(t)
  await store.insert([record('empty', 'r1', [], ''), record('empty', 'r2', ['r1'], 'now something'), record('empty', 'r3', ['r2'], '')])
  sameBytes(t, await store.get('empty', 'r1'), new Uint8Array(0), 'read back')
  sameBytes(t, await store.get('empty', 'r3'), new Uint8Array(0), 'read back')
  await store.close()
  const again = await openStore(t, dir)
  sameBytes(t, await again.get('empty', 'r1'), new Uint8Array(0), 'read back')
  sameBytes(t, await again.get('empty', 'r2'), utf8('now something'), 'read back')
  t.deepEqual((await again.verify()).problems, [])
})

test('a text larger than the group cap is stored alone and read within its own length', async t => {
  const options = { maxContentByteLength: 4096, maxReadByteLength: 2048, readChunkByteLength: 256 }
  const { dir, store } = await newStore(t, options)
  const big = noiseBytes(40_000, 77)
  const records = [
    record('big', 'r0', [], prose(10, 1)),
    record('big', 'r1', ['r0'], big),
    record('big', 'r2', ['r1'], prose(10, 2)),
  ]
  await store.insert(records)
  const rows = await dumpIndex(store)
  const bigRow = rows.find(row => row.rev === 'r1')
  if (bigRow === undefined) return t.fail('no index row for big@r1')
  t.is(rows.filter(row => row.pack === bigRow.pack && row.groupOffset === bigRow.groupOffset).length, 1, 'alone in its group')
  t.is(bigRow.textByteLength, big.length)
  const before = store.readCounter.readByteLength
  sameBytes(t, await store.get('big', 'r1'), big, 'read back')
  const read = store.readCounter.readByteLength - before
  t.is(read, bigRow.readByteLength)
  t.true(read <= big.length + 64, `read ${read} bytes for a ${big.length}-byte text`)
  for (const row of rows.filter(r => r !== bigRow)) t.true(row.readByteLength <= options.maxReadByteLength, `${row.file}@${row.rev}`)
  await store.close()
  const again = await openStore(t, dir, options)
  await expectTexts(t, again, records)
})

// ---- history ----

test('parents come back as inserted, in order, without duplicates', async t => {
  const { store } = await newStore(t)
  await store.insert([
    record('f', 'a', [], 'a'),
    record('f', 'b', ['a'], 'b'),
    record('f', 'c', ['b', 'a', 'b'], 'c'),
  ])
  t.deepEqual(await store.parents('f', 'a'), [])
  t.deepEqual(await store.parents('f', 'b'), ['a'])
  t.deepEqual(await store.parents('f', 'c'), ['b', 'a'])
})

test('revisions lists every revision of a file, parents before children, across batches', async t => {
  const { store } = await newStore(t)
  // Revision ids sort against the ancestry, so key order alone would be wrong.
  await store.insert([
    record('f', 'z-root', [], 'root'),
    record('f', 'y-left', ['z-root'], 'left'),
    record('f', 'x-right', ['z-root'], 'right'),
    record('g', 'other', [], 'another file'),
  ])
  await store.insert([
    record('f', 'w-merge', ['y-left', 'x-right'], 'merge'),
    record('f', 'a-tip', ['w-merge'], 'tip'),
  ])
  const revisions = await store.revisions('f')
  t.deepEqual([...revisions].sort(), ['a-tip', 'w-merge', 'x-right', 'y-left', 'z-root'])
  for (const rev of revisions) {
    for (const parent of await store.parents('f', rev)) {
      t.true(revisions.indexOf(parent) < revisions.indexOf(rev), `${parent} before ${rev} in ${revisions.join(' ')}`)
    }
  }
  t.deepEqual(await store.revisions('g'), ['other'])
  t.deepEqual(await store.revisions('nope'), [])
})

test('resolveRevision finds the one revision a prefix names', async t => {
  const { store } = await newStore(t)
  await store.insert([
    record('f', 'abc123', [], '1'),
    record('f', 'abd456', ['abc123'], '2'),
    record('f', 'abd789', ['abd456'], '3'),
    record('f', 'xyz', ['abd789'], '4'),
    record('f', 'xyz0', ['xyz'], '5'),
    record('g', 'qqq', [], 'other file'),
    record('ff', 'qqq', [], 'a file whose id starts with the other'),
  ])
  t.is(await store.resolveRevision('f', 'abc'), 'abc123')
  t.is(await store.resolveRevision('f', 'a'.concat('bc1')), 'abc123')
  t.is(await store.resolveRevision('f', 'abd4'), 'abd456')
  t.is(await store.resolveRevision('f', 'abc123'), 'abc123')
  // A whole id matches itself even when it is also a prefix of another.
  t.is(await store.resolveRevision('f', 'xyz'), 'xyz')

  const ambiguous = await expectCode(t, store.resolveRevision('f', 'abd'), 'VSTORE_USAGE')
  t.is(ambiguous?.where, 'f@abd')
  await expectCode(t, store.resolveRevision('f', 'a'), 'VSTORE_USAGE')
  const none = await expectCode(t, store.resolveRevision('f', 'abe'), 'VSTORE_NOT_FOUND')
  t.is(none?.where, 'f@abe')
  // Revisions of other files do not match.
  await expectCode(t, store.resolveRevision('f', 'q'), 'VSTORE_NOT_FOUND')
  await expectCode(t, store.resolveRevision('nope', 'abc'), 'VSTORE_NOT_FOUND')
  t.is(await store.resolveRevision('g', 'q'), 'qqq')
})

// ---- damage and recovery ----

test('verify is clean on a good store', async t => {
  const { dir, store } = await newStore(t, { maxContentByteLength: 4096 })
  const records = sampleHistory()
  await store.insert(records)
  await store.insert([record('later', 'r1', [], prose(100, 5))])
  const report = await store.verify()
  t.deepEqual(report.problems, [])
  t.is(report.textCount, records.length + 1)
  t.is(report.groupCount, (await store.stats()).groupCount)
  t.true(report.groupCount > 1)
  await store.close()
  const again = await openStore(t, dir)
  t.deepEqual((await again.verify()).problems, [])
})

test('a flipped byte inside a group is reported by verify and by get, naming the keys', async t => {
  const { dir, store } = await newStore(t)
  const records = sampleHistory()
  await store.insert(records)
  const rows = await dumpIndex(store)
  const groups: { packId: number; groupOffset: number; headerByteLength: number; storedByteLength: number }[] = []
  for await (const { packId, groupOffset, header } of store.groups()) groups.push({ packId, groupOffset, ...header })
  t.is(groups.length, 1)
  const group = groups[0]
  if (group === undefined) return
  await store.close()

  // XOR one byte in the middle of the group's stored (compressed) content.
  const packFile = join(dir, 'packs', (await packFiles(dir))[0] ?? 'missing')
  const flipAt = group.groupOffset + group.headerByteLength + Math.floor(group.storedByteLength / 2)
  const handle = await openFile(packFile, 'r+')
  try {
    const byte = Buffer.alloc(1)
    await handle.read(byte, 0, 1, flipAt)
    byte[0] = (byte[0] ?? 0) ^ 0x5a
    await handle.write(byte, 0, 1, flipAt)
  } finally {
    await handle.close()
  }

  const again = await openStore(t, dir)
  const report = await again.verify()
  t.true(report.problems.length > 0)
  t.true(report.problems.every(problem => problem.code === 'VSTORE_CORRUPT'), JSON.stringify(report.problems))
  const reported = new Set(report.problems.flatMap(problem => problem.keys.map(({ file, rev }) => `${file}@${rev}`)))

  // A get either returns the right text (its prefix read stops before the flipped byte, or its record
  // needs none of the bytes the flip changed) or throws VSTORE_CORRUPT naming its key; never a wrong text.
  const furthest = [...rows].sort((a, b) => b.readByteLength - a.readByteLength)[0]
  t.true(furthest !== undefined && furthest.groupOffset + furthest.readByteLength > flipAt)
  const failed: string[] = []
  for (const { file, rev, text } of records) {
    try {
      sameBytes(t, await again.get(file, rev), text, `${file}@${rev} read back wrong`)
    } catch (error) {
      failed.push(`${file}@${rev}`)
      t.true(error instanceof VstoreError, String(error))
      t.is((error as VstoreError).code, 'VSTORE_CORRUPT')
      t.is((error as VstoreError).where, `${file}@${rev}`)
    }
  }
  t.true(failed.length > 0, 'some key reads the damaged bytes')
  // verify names exactly the keys a get fails on: the group's others still read back, and say so.
  t.deepEqual([...reported].sort(), failed.sort())
  t.true(failed.length === rows.length || report.problems.some(problem => / still read back\)/.test(problem.message)), JSON.stringify(report.problems))
})

test('an uncommitted tail left on a pack by a crashed writer is dropped on the next open', async t => {
  const { dir, store } = await newStore(t)
  const records = sampleHistory()
  await store.insert(records)
  const committed = (await store.stats()).packByteLength
  await store.close()
  const [packName] = await packFiles(dir)
  const packFile = join(dir, 'packs', packName ?? 'missing')
  t.is((await stat(packFile)).size, committed)
  // Half a group, as a writer that died between appending and the index batch would leave it.
  await appendFile(packFile, Buffer.concat([Buffer.from([0xf6, 0x76, 0x67, 0x00, 1, 3]), Buffer.from(noiseBytes(5000, 11))]))

  const again = await openStore(t, dir)
  t.is((await stat(packFile)).size, committed)
  await expectTexts(t, again, records)
  t.deepEqual((await again.verify()).problems, [])
  // New groups are appended at the committed end and read back after another reopen.
  const more = [record('after', 'r1', [], prose(20, 12))]
  await again.insert(more)
  await again.close()
  const third = await openStore(t, dir)
  await expectTexts(t, third, [...records, ...more])
  t.deepEqual((await third.verify()).problems, [])
})

test('a pack file the index does not name is removed on open', async t => {
  const { dir, store } = await newStore(t)
  const records = sampleHistory()
  await store.insert(records)
  await store.close()
  const packsBefore = await packFiles(dir)
  t.is(packsBefore.length, 1)
  // A whole pack made by a writer that died before its first index batch.
  await writeFile(join(dir, 'packs', '000099.vpk'), Buffer.concat([Buffer.from([0xf6, 0x76, 0x70, 0x00, 1, 0, 0, 0]), Buffer.from(noiseBytes(300, 3))]))
  await writeFile(join(dir, 'packs', '000100.vpk'), Buffer.from('not even a pack header'))

  const again = await openStore(t, dir)
  t.deepEqual(await packFiles(dir), packsBefore)
  await expectTexts(t, again, records)
  t.deepEqual((await again.verify()).problems, [])
  t.is((await again.stats()).packCount, 1)
})

test('resolveRevision works on git commit ids (kept in binary in the index) as on other revision ids', async t => {
  const { store } = await newStore(t)
  const ids = ['3171a4dc4061bc11f9990313f7bbb1c2c8bd7fdf', '3171b5603e2a5ebb4a665be1f9184b17739ce4d7', '9f0e1d2c3b4a59687766554433221100ffeeddcc'] as const
  await store.insert([
    record('f', ids[0], [], '1'),
    record('f', ids[1], [ids[0]], '2'),
    record('f', ids[2], [ids[1]], '3'),
    record('f', '317', [], 'a text revision id that is also a hex prefix'),
  ])
  t.is(await store.resolveRevision('f', '3171a'), ids[0])
  t.is(await store.resolveRevision('f', '3171b5'), ids[1])
  t.is(await store.resolveRevision('f', '9'), ids[2])
  t.is(await store.resolveRevision('f', ids[1]), ids[1])
  t.is(await store.resolveRevision('f', '317'), '317')
  await expectCode(t, store.resolveRevision('f', '3171'), 'VSTORE_USAGE')
  await expectCode(t, store.resolveRevision('f', '31'), 'VSTORE_USAGE')
  await expectCode(t, store.resolveRevision('f', '3172'), 'VSTORE_NOT_FOUND')
  await expectCode(t, store.resolveRevision('f', '3171A'), 'VSTORE_NOT_FOUND')
  t.deepEqual(await store.parents('f', ids[2]), [ids[1]])
  sameBytes(t, await store.get('f', ids[1]), utf8('2'), 'f@3171b5…')
})

test('a batch whose source fails part way stores nothing of it', async t => {
  const { dir, store } = await newStore(t)
  await store.insert([record('a', 'r1', [], 'stored')])
  const diskBefore = await packBytesOnDisk(dir)
  async function* failing(): AsyncGenerator<TextRecord> {
    yield record('a', 'r2', ['r1'], prose(30, 1))
    yield record('b', 'r1', [], prose(30, 2))
    throw new Error('the source broke')
  }
  await t.throwsAsync(store.insert(failing()), { message: 'the source broke' })
  t.deepEqual(await keysOf(store), ['a@r1'])
  t.is(await packBytesOnDisk(dir), diskBefore)
  await store.insert([record('a', 'r2', ['r1'], prose(30, 1))])
  sameBytes(t, await store.get('a', 'r2'), utf8(prose(30, 1)), 'a@r2')
})

test('a pack shorter than the index vouches for still opens: verify names the pack, and a get of a text past its end is VSTORE_CORRUPT naming the key', async t => {
  const { dir, store } = await newStore(t)
  await store.insert(sampleHistory())
  const committed = (await store.stats()).packByteLength
  // A key whose read reaches the pack's last byte.
  const last = (await dumpIndex(store)).find(row => row.groupOffset + row.readByteLength === committed)
  await store.close()
  const [packName] = await packFiles(dir)
  const handle = await openFile(join(dir, 'packs', packName ?? 'missing'), 'r+')
  await handle.truncate(committed - 1)
  await handle.close()
  const reopened = await openStore(t, dir)
  const report = await reopened.verify()
  t.true(report.problems.some(problem => problem.where === `packs/${packName}` && /index vouches for/.test(problem.message)), JSON.stringify(report.problems))
  if (last === undefined) return t.fail('no key reads to the end of the pack')
  const error = await expectCode(t, reopened.get(last.file, last.rev), 'VSTORE_CORRUPT')
  t.is(error?.where, `${last.file}@${last.rev}`)
})

// ---- fixed bugs, kept as regression tests ----

/** Options under which a group is cut at the read bound while it is still well under the content cap. */
const CUT_AT_READ_BOUND = { maxContentByteLength: 1024, maxReadByteLength: 400, readChunkByteLength: 64 }

// Regression: seal() carries records cut at the read bound into the new builder, which may refuse the
// next text again; add() seals until it fits.
test('a text that does not fit beside the records cut at the read bound starts a group of its own', async t => {
  const { store } = await newStore(t, CUT_AT_READ_BOUND)
  const records = [record('a', 'r1', [], noiseBytes(300, 1)), record('b', 'r1', [], noiseBytes(300, 2)), record('c', 'r1', [], noiseBytes(900, 3))]
  await store.insert(records)
  await expectTexts(t, store, records)
})

// Regression: flush() seals until no records are pending, including those carried over by a cut.
test('records cut at the read bound by the last seal of a batch are written too', async t => {
  const { store } = await newStore(t, CUT_AT_READ_BOUND)
  const records = [record('a', 'r1', [], noiseBytes(300, 1)), record('b', 'r1', [], noiseBytes(300, 2))]
  await store.insert(records)
  await expectTexts(t, store, records)
  for (const row of await dumpIndex(store)) t.true(row.readByteLength <= Math.max(CUT_AT_READ_BOUND.maxReadByteLength, row.textByteLength + 64))
})

// Regression: more parents than the index can read back are refused before anything is stored.
test('a record with more parents than the index can read back is refused before anything is stored', async t => {
  const { store } = await newStore(t)
  const records = Array.from({ length: 1025 }, (_, i) => record('f', `p${i}`, [], `p${i}`))
  await store.insert(records)
  const error = await t.throwsAsync(store.insert([record('f', 'octopus', records.map(r => r.rev), 'merge')]))
  t.true(error instanceof VstoreError && error.code === 'VSTORE_LIMIT', String(error))
  t.false(await store.has('f', 'octopus'))
  t.is((await store.stats()).textCount, 1025)
})

// A name in packs/ that is not the canonical name of a pack id is not a pack: open neither opens nor
// deletes it, so an alias of a live pack (0000001.vpk) is never opened twice.
test('a file in packs/ under a non-canonical pack name is left alone and never opened', async t => {
  const { dir, store } = await newStore(t)
  const records = sampleHistory()
  await store.insert(records)
  await store.close()
  await writeFile(join(dir, 'packs', '0000099.vpk'), Buffer.from([0xf6, 0x76, 0x70, 0x00, 1, 0, 0, 0]))
  await writeFile(join(dir, 'packs', '0000001.vpk'), Buffer.from('not a pack'))
  const again = await openStore(t, dir)
  t.deepEqual(await packFiles(dir), ['0000001.vpk', '000001.vpk', '0000099.vpk'])
  await expectTexts(t, again, records)
})

test('an insert leaves no temporary file behind, and a dead writer\'s are removed on open', async t => {
  const { dir, store } = await newStore(t)
  const records = sampleHistory()
  await store.insert(records)
  // A small insert's spill never leaves memory, so the folder may not even exist.
  t.deepEqual(existsSync(join(dir, 'tmp')) ? await readdir(join(dir, 'tmp')) : [], [])
  await store.close()
  await mkdir(join(dir, 'tmp'), { recursive: true })
  await writeFile(join(dir, 'tmp', 'insert-1-2.spill'), Buffer.from('left by a killed import'))
  const again = await openStore(t, dir)
  t.false(existsSync(join(dir, 'tmp')))
  await expectTexts(t, again, records)
})

test('insert reports progress: reading every record, then writing every new text', async t => {
  const { store } = await newStore(t)
  const records = sampleHistory()
  const seen: { phase: string; textCount: number; writtenTextCount: number }[] = []
  await store.insert(records, { onProgress: p => seen.push({ phase: p.phase, textCount: p.textCount, writtenTextCount: p.writtenTextCount }) })
  const reading = seen.filter(p => p.phase === 'reading')
  t.deepEqual(reading.map(p => p.textCount), records.map((_, i) => i + 1))
  const last = seen[seen.length - 1]!
  t.is(last.phase, 'writing')
  t.true(last.writtenTextCount > 0 && last.writtenTextCount <= records.length)
})

/** Twelve files of five versions each, enough pack bytes per file to pass a 1-byte checkpoint. */
function manyFiles(): TextRecord[] {
  const records: TextRecord[] = []
  for (let f = 0; f < 12; f++) {
    let text = prose(60, 100 + f)
    for (let v = 1; v <= 5; v++) {
      records.push(record(`dir/file-${String(f).padStart(2, '0')}.txt`, `v${v}`, v === 1 ? [] : [`v${v - 1}`], text))
      text = `${text}${prose(3, 200 + f * 10 + v)}`
    }
  }
  return records
}

test('with checkpoints, an insert that fails half-way keeps whole files it committed; running it again adds only the rest', async t => {
  const { dir, store } = await newStore(t)
  const records = manyFiles()
  let written = 0
  const broken = store.insert(records, {
    checkpointByteLength: 1,
    onProgress: p => {
      written = p.writtenTextCount
      if (p.phase === 'writing' && p.writtenTextCount === 33) throw new Error('killed')
    },
  })
  await t.throwsAsync(broken, { message: 'killed' })
  t.is(written, 33)
  // Whole files only: every file is either all there or all absent.
  const files = new Map<string, number>()
  for (const row of await dumpIndex(store)) files.set(row.file, (files.get(row.file) ?? 0) + 1)
  t.true(files.size > 0 && files.size < 12, `${files.size} files committed`)
  for (const count of files.values()) t.is(count, 5)
  t.deepEqual((await store.verify()).problems, [])
  const packBytes = await packBytesOnDisk(dir)

  const again = await store.insert(records, { checkpointByteLength: 1 })
  t.is(again.newTextCount, records.length - files.size * 5)
  t.true((await packBytesOnDisk(dir)) > packBytes)
  await expectTexts(t, store, records)
  t.deepEqual((await store.verify()).problems, [])
  // Nothing stored twice: each record range holds one distinct text.
  const rows = await dumpIndex(store)
  const places = new Map<string, string>()
  for (const row of rows) {
    const place = `${row.pack}@${row.groupOffset}:${row.recordStart}`
    const previous = places.get(place)
    t.true(previous === undefined || previous === row.hash, place)
    places.set(place, row.hash)
  }
  t.is(new Set(rows.map(r => r.hash)).size, places.size)
})

test('an insert that fails while a group compresses in the background writes nothing after its rollback; the next insert works', async t => {
  const { dir, store } = await newStore(t)
  // Six 1.5 MB texts of different files: groups seal while later texts are being deltaed.
  const records = Array.from({ length: 6 }, (_, i) => record(`f${i}`, 'r', [], prose(30_000, 300 + i)))
  const failing = store.insert(records, {
    onProgress: p => {
      if (p.phase === 'writing' && p.writtenTextCount === 2) throw new Error('cancelled')
    },
  })
  await t.throwsAsync(failing, { message: 'cancelled' })
  const right = await packFiles(dir)
  await new Promise(resolve => setTimeout(resolve, 1500))
  t.deepEqual(await packFiles(dir), right, 'no group appears after the rollback')
  await store.insert([record('g', 'r', [], 'after')])
  sameBytes(t, await store.get('g', 'r'), utf8('after'), 'the next insert')
  t.deepEqual((await store.verify()).problems, [])
})

test('two inserts at once on one store: the second is refused with VSTORE_LOCKED', async t => {
  const { store } = await newStore(t)
  const first = store.insert(sampleHistory())
  await expectCode(t, store.insert([record('z', 'r', [], 'z')]), 'VSTORE_LOCKED')
  await first
  await expectTexts(t, store, sampleHistory())
})

// Regression: an index write that fails after its batch reached LevelDB's log (a log append that lands,
// then a failed fsync) used to be rolled back by truncating the packs, leaving an index that names pack
// bytes no longer there: the next open failed. Now the pack bytes stay, the Store takes no more inserts,
// and a reopened store holds the batch (or, had it not landed, trims the unnamed bytes).
test('an index write that fails after landing leaves a store that reopens with the batch', async t => {
  const dir = await makeTempDir(t, 'vstore-landed-')
  let store = await Store.open(dir, { create: true })
  await store.insert([record('a', 'r1', [], 'first text\n'.repeat(50))])
  // The store's LevelDB, reached through its private parts (the facade's opened index), to fail one write.
  const db = (store as unknown as { opened: { index: { db: { write: (operations: unknown, options: unknown) => Promise<void> } } } }).opened.index.db
  const write = db.write.bind(db)
  db.write = async (operations, options) => {
    await write(operations, options)
    throw Object.assign(new Error('fsync: EIO (simulated)'), { code: 'EIO' })
  }
  await t.throwsAsync(store.insert([record('a', 'r2', ['r1'], 'second text, different\n'.repeat(80))]), { message: /EIO/ })
  await t.throwsAsync(store.insert([record('b', 'r1', [], 'more')]), { instanceOf: VstoreError, code: 'VSTORE_IO' })
  await store.close()
  store = await Store.open(dir)
  t.teardown(() => store.close())
  t.true(await store.has('a', 'r2'))
  t.is(new TextDecoder().decode(await store.get('a', 'r2')), 'second text, different\n'.repeat(80))
  t.deepEqual((await store.verify()).problems, [])
})

/**
 * Versions of two large files (over the group cap), each release editing a few lines; the second file is
 * the first with a header, as a bundle and a bundle built from it are. Small caps so that the large texts
 * fill several groups.
 */
function largeHistory(releaseCount: number): TextRecord[] {
  const records: TextRecord[] = []
  let lines = prose(900, 1).split('\n')
  let previous: string | undefined
  for (let release = 1; release <= releaseCount; release++) {
    lines = lines.map((line, i) => ((i * 7 + release * 13) % 97 === 0 ? `${line} edited in ${release}` : line))
    const text = lines.join('\n')
    const rev = `v${release}`
    const parents = previous === undefined ? [] : [previous]
    records.push(record('dist/core.js', rev, parents, text), record('dist/bundle.js', rev, parents, `/* bundle ${release} */\n${text}`))
    records.push(record('README', rev, parents, `release ${release}\n`))
    previous = rev
  }
  return records
}

const LARGE_OPTIONS: StoreOptions = { maxContentByteLength: 16 * 1024, maxReadByteLength: 8 * 1024, readChunkByteLength: 512 }

test('groups of large texts start from a base: every version reads back, within its bounds, and verify is clean', async t => {
  const { dir, store } = await newStore(t, LARGE_OPTIONS)
  const records = largeHistory(24)
  await store.insert(records)
  const rows: IndexDumpRow[] = []
  for await (const row of store.dumpIndex()) rows.push(row)
  const based = rows.filter(row => row.baseDepth > 0)
  t.true(based.length > 0, 'some group has a base')
  t.true(rows.every(row => row.baseDepth <= 8), 'no chain deeper than maxBaseDepth')
  for (const { file, rev, text } of records) {
    const row = rows.find(r => r.file === file && r.rev === rev) as IndexDumpRow
    const before = { ...store.readCounter }
    t.deepEqual(await store.get(file, rev), text, `${file}@${rev}`)
    t.is(store.readCounter.readCount - before.readCount, 1 + row.baseDepth, `${file}@${rev}: one read per group of its chain`)
    t.is(store.readCounter.readByteLength - before.readByteLength, row.readByteLength + row.baseReadByteLength, `${file}@${rev}: read as the index says`)
    t.true(row.readByteLength + row.baseReadByteLength <= Math.max(LARGE_OPTIONS.maxReadByteLength as number, row.textByteLength), `${file}@${rev}: within its read budget`)
  }
  const many = new Map<string, Uint8Array>()
  for await (const item of store.getMany(records)) many.set(`${item.file}@${item.rev}`, item.text)
  for (const { file, rev, text } of records) t.deepEqual(many.get(`${file}@${rev}`), text)
  t.deepEqual((await store.verify()).problems, [])
  // The base's group damaged: texts whose chain passes through it are reported too.
  const dependent = based.find(row => row.baseDepth === 1) as IndexDumpRow
  const dump = await store.dumpGroup(Number(dependent.pack.replace(/\D/g, '')), dependent.groupOffset)
  const baseKey = dump.records[0]?.base as TextKey
  t.truthy(baseKey, 'a based group starts with its base record')
  const baseRow = rows.find(row => row.file === baseKey.file && row.rev === baseKey.rev) as IndexDumpRow
  await store.close()
  const pack = await openFile(join(dir, baseRow.pack), 'r+')
  await pack.write(Uint8Array.of(0x55), 0, 1, baseRow.groupOffset + 30)
  await pack.close()
  const reopened = await openStore(t, dir)
  const problems = (await reopened.verify()).problems
  const named = new Set(problems.flatMap(problem => problem.keys.map(key => `${key.file}@${key.rev}`)))
  t.true(named.has(`${baseRow.file}@${baseRow.rev}`), 'the damaged group\'s own keys are named')
  t.true(named.has(`${dependent.file}@${dependent.rev}`), 'keys that rebuild through it are named')
  // Checksums only: the damaged group fails its CRC, and groups whose base it holds are named too.
  const quick = await reopened.verify({ full: false })
  t.false(quick.full)
  const quickNamed = new Set(quick.problems.flatMap(problem => problem.keys.map(key => `${key.file}@${key.rev}`)))
  t.true(quickNamed.has(`${baseRow.file}@${baseRow.rev}`), 'checksums: the damaged group\'s keys')
  t.true(quickNamed.has(`${dependent.file}@${dependent.rev}`), 'checksums: keys whose base is in the damaged group')
})

test('verify with checksums only passes a sound store with bases, and finds every flipped byte of a pack', async t => {
  const { dir, store } = await newStore(t, LARGE_OPTIONS)
  await store.insert(largeHistory(8))
  const sound = await store.verify({ full: false })
  t.deepEqual(sound.problems, [])
  t.false(sound.full)
  t.true((await store.verify()).full, 'full is the default of the library')
  await store.close()
  const path = join(dir, 'packs', '000001.vpk')
  const original = new Uint8Array(await readFile(path))
  // Every 97th byte past the pack header: each flip is reported, with keys.
  let flips = 0
  for (let offset = 8; offset < original.length; offset += 97) {
    const damaged = original.slice()
    damaged[offset] = (damaged[offset] as number) ^ 0x01
    await writeFile(path, damaged)
    const reopened = await Store.open(dir)
    try {
      const report = await reopened.verify({ full: false })
      t.true(report.problems.length > 0, `flip at ${offset} found`)
      t.true(report.problems.some(problem => problem.keys.length > 0), `flip at ${offset} names keys`)
    } finally {
      await reopened.close()
    }
    flips++
  }
  await writeFile(path, original)
  t.true(flips > 20, `${flips} flips`)
})

test('with maxBaseDepth 0 no group has a base, and the store is larger', async t => {
  const sizes: number[] = []
  for (const maxBaseDepth of [0, 8]) {
    const { store } = await newStore(t, { ...LARGE_OPTIONS, maxBaseDepth })
    await store.insert(largeHistory(24))
    const rows: IndexDumpRow[] = []
    for await (const row of store.dumpIndex()) rows.push(row)
    if (maxBaseDepth === 0) t.true(rows.every(row => row.baseDepth === 0))
    sizes.push((await store.stats()).packByteLength)
  }
  t.true((sizes[1] as number) < (sizes[0] as number), `packs with bases ${sizes[1]}, without ${sizes[0]}`)
})
