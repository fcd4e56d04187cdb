/**
 * Stores of an older format: a format-2 store (text entries with whole hashes) is made here from a store
 * this build wrote, by rewriting its index entries as format 2 wrote them (the packs are the same in both
 * formats), and a format-4 store by rewriting its runs and revision chunks in value version 1. A reader
 * reads them as they are; `vstore upgrade` (a real process) and a first write convert them.
 */
import test, { type ExecutionContext } from 'ava'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { openLevelDb } from '../../lib/index/leveldb.js'
import { STORE_FORMAT_VERSION, TAG_TEXT, TEXT_CHECK_BYTE_LENGTH, decodeTextKey } from '../../lib/index/records.js'
import { REVISION_CHUNK_VALUE_VERSION, RUN_VALUE_VERSION, RUN_VALUE_VERSION_1, RUN_VALUE_VERSION_2, TAG_FILE_RUN, TAG_REVISIONS } from '../../lib/index/runs.js'
import { Store, type TextRecord } from '../../lib/vstore.js'
import { runVstore, succeeds } from '../helpers/cli.js'
import { rewriteAsOldFormat, rewriteAsRunFormat, storeFormatOf } from '../helpers/old-format.js'
import { makeTempDir } from '../helpers/tmp.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Versions of two files, short and long (a long text keeps its whole hash in every format). */
function history(): TextRecord[] {
  const records: TextRecord[] = []
  for (let i = 0; i < 12; i++) {
    const parents = i === 0 ? [] : [`r${i - 1}`]
    records.push({ file: 'short.txt', rev: `r${i}`, parents, text: encoder.encode(Array.from({ length: 20 + i }, (_, line) => `line ${line} of version ${i}\n`).join('')) })
    records.push({ file: 'long.txt', rev: `r${i}`, parents, text: encoder.encode(Array.from({ length: 900 + i }, (_, line) => `a longer line ${line} of version ${i}\n`).join('')) })
  }
  return records
}

/** The byte lengths of every text entry's value. */
async function entryValueLengths(dir: string): Promise<Map<string, number>> {
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  try {
    const lengths = new Map<string, number>()
    for await (const [key, value] of db.entries(Uint8Array.of(TAG_TEXT))) {
      const { file, rev } = decodeTextKey(key)
      lengths.set(`${file}@${rev}`, value.length)
    }
    return lengths
  } finally {
    await db.close()
  }
}

/** A store of format 2 holding `records`: written by this build, then its entries rewritten with whole hashes. */
async function formatTwoStore(t: ExecutionContext, records: readonly TextRecord[]): Promise<string> {
  const dir = await makeTempDir(t, 'vstore-upgrade-')
  const store = await Store.open(dir, { create: true })
  await store.insert(records)
  await store.close()
  const texts = new Map(records.map(record => [`${record.file}@${record.rev}`, record.text]))
  await rewriteAsOldFormat(dir, 2, (file, rev) => texts.get(`${file}@${rev}`) as Uint8Array)
  return dir
}

async function readsEveryText(t: ExecutionContext, store: Store, records: readonly TextRecord[]): Promise<void> {
  for (const record of records) t.deepEqual(await store.get(record.file, record.rev), record.text, `${record.file}@${record.rev}`)
}

test('a format-2 store is read as it is, and `vstore upgrade` converts it once into runs: every text keeps 4 bytes of hash, every text reads back, verify is clean', async t => {
  const records = history()
  const dir = await formatTwoStore(t, records)
  const before = await entryValueLengths(dir)
  const reader = await Store.open(dir, { readOnly: true })
  await readsEveryText(t, reader, records)
  t.deepEqual((await reader.verify({ full: true })).problems, [])
  await reader.close()
  t.is(await storeFormatOf(dir), 2, 'reading changes nothing')

  t.is(succeeds(t, runVstore(['--store', dir, 'upgrade'])), `upgraded the store from format 2 to ${STORE_FORMAT_VERSION}\n`)
  t.is(await storeFormatOf(dir), STORE_FORMAT_VERSION)
  t.is((await entryValueLengths(dir)).size, 0, 'no `T` entries left')
  const listed = await Store.open(dir, { readOnly: true })
  const rows = []
  for await (const row of listed.entries()) rows.push(row)
  await listed.close()
  t.deepEqual(rows.map(row => `${row.file}@${row.rev}`), [...before.keys()], 'the same keys, in the same order')
  for (const row of rows) t.is(row.entry.hash.length, TEXT_CHECK_BYTE_LENGTH, `${row.file}@${row.rev} keeps a check of its hash`)
  const upgraded = await Store.open(dir)
  await readsEveryText(t, upgraded, records)
  t.deepEqual((await upgraded.verify({ full: true })).problems, [])
  await upgraded.close()
  t.deepEqual(JSON.parse(succeeds(t, runVstore(['--store', dir, 'upgrade', '--json']))), { from: STORE_FORMAT_VERSION, to: STORE_FORMAT_VERSION })
})

/** The value versions of the closed store's runs and of its revision chunks, how many runs, and the bytes of both (keys and values) in all. */
async function runValues(dir: string): Promise<{ runVersions: Set<number>; chunkVersions: Set<number>; runCount: number; byteLength: number }> {
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  try {
    const found = { runVersions: new Set<number>(), chunkVersions: new Set<number>(), runCount: 0, byteLength: 0 }
    for (const tag of [TAG_FILE_RUN, TAG_REVISIONS]) {
      for await (const [key, value] of db.entries(Uint8Array.of(tag))) {
        ;(tag === TAG_FILE_RUN ? found.runVersions : found.chunkVersions).add(value[0] as number)
        if (tag === TAG_FILE_RUN) found.runCount++
        found.byteLength += key.length + value.length
      }
    }
    return found
  } finally {
    await db.close()
  }
}

for (const format of [4, 5] as const) {
  test(`a format-${format} store (a file a run) is read as it is, and \`vstore upgrade\` joins its runs as this build writes them: smaller, the same keys and parents, verify clean`, async t => {
    // Commit ids as revisions (hex: a chunk of them keeps no kind byte an id), and a merge.
    const records = history().map(record => ({ ...record, rev: hexRev(record.rev), parents: record.parents.map(hexRev) }))
    records.push({ file: 'short.txt', rev: hexRev('merge'), parents: [hexRev('r11'), hexRev('r5')], text: encoder.encode('merged\n') })
    const dir = await makeTempDir(t, `vstore-upgrade-${format}-`)
    const store = await Store.open(dir, { create: true })
    await store.insert(records)
    await store.close()
    const current = await runValues(dir)
    await rewriteAsRunFormat(dir, format)
    const old = await runValues(dir)
    t.deepEqual([...old.runVersions], [format === 4 ? RUN_VALUE_VERSION_1 : RUN_VALUE_VERSION_2])
    t.deepEqual([...old.chunkVersions], [format === 4 ? 1 : REVISION_CHUNK_VALUE_VERSION])
    t.true(current.byteLength < old.byteLength, `this build's runs ${current.byteLength} bytes, format ${format}'s ${old.byteLength}`)
    t.is(current.runCount, 1, 'both files in one run')
    t.is(old.runCount, 2, 'a file a run')
    const reader = await Store.open(dir, { readOnly: true })
    await readsEveryText(t, reader, records)
    const before = []
    for await (const row of reader.entries()) before.push({ key: `${row.file}@${row.rev}`, parents: row.entry.parents })
    t.deepEqual((await reader.verify({ full: true })).problems, [])
    await reader.close()
    t.is(await storeFormatOf(dir), format, 'reading changes nothing')

    t.is(succeeds(t, runVstore(['--store', dir, 'upgrade'])), `upgraded the store from format ${format} to ${STORE_FORMAT_VERSION}\n`)
    t.is(await storeFormatOf(dir), STORE_FORMAT_VERSION)
    t.deepEqual(await runValues(dir), { ...current, runVersions: new Set([RUN_VALUE_VERSION]) }, 'as this build writes them')
    const upgraded = await Store.open(dir)
    const after = []
    for await (const row of upgraded.entries()) after.push({ key: `${row.file}@${row.rev}`, parents: row.entry.parents })
    t.deepEqual(after, before)
    await readsEveryText(t, upgraded, records)
    t.deepEqual((await upgraded.verify({ full: true })).problems, [])
    await upgraded.close()
  })
}

test('reads of a file while the first write upgrades a format-5 store are not kept from before the upgrade: the next commit of that file leaves every text readable and verify clean', async t => {
  const dir = await makeTempDir(t, 'vstore-upgrade-reads-')
  const store = await Store.open(dir, { create: true })
  await store.insert(['e', 'f', 'g'].flatMap(file => [
    { file, rev: 'r1', parents: [], text: encoder.encode(`${file} one\n`) },
    { file, rev: 'r2', parents: ['r1'], text: encoder.encode(`${file} two\n`) },
  ]))
  await store.close()
  await rewriteAsRunFormat(dir, 5)
  const writer = await Store.open(dir)
  // An insert of another file upgrades the store first; f's history is read over and over meanwhile.
  let done = false
  const inserting = writer.insert([{ file: 'h', rev: 'r1', parents: [], text: encoder.encode('h one\n') }]).finally(() => { done = true })
  let reads = 0
  while (!done) {
    for await (const row of writer.fileEntries('f')) t.truthy(row.entry)
    reads++
    await new Promise(resolve => setImmediate(resolve))
  }
  await inserting
  t.true(reads > 0, 'f was read while the upgrade ran')
  await writer.insert([{ file: 'f', rev: 'r3', parents: ['r2'], text: encoder.encode('f three\n') }])
  await writer.close()
  const reader = await Store.open(dir, { readOnly: true })
  for (const file of ['e', 'f', 'g']) for (const rev of ['r1', 'r2']) t.deepEqual(decoder.decode(await reader.get(file, rev)), `${file} ${rev === 'r1' ? 'one' : 'two'}\n`)
  t.deepEqual(decoder.decode(await reader.get('f', 'r3')), 'f three\n')
  t.deepEqual((await reader.verify({ full: true })).problems, [])
  await reader.close()
})

/** A made-up 40-digit commit id for a label. */
function hexRev(label: string): string {
  return createHash('sha1').update(label).digest('hex')
}

test('the first write to a format-2 store upgrades it before it writes; a re-inserted short text with other bytes is refused', async t => {
  const records = history()
  const dir = await formatTwoStore(t, records.slice(0, 10))
  await (await Store.open(dir)).close()
  t.is(await storeFormatOf(dir), 2, 'opening alone changes nothing')
  // The same key again with the same text: nothing new; with another text of the same length: refused.
  const again = records[0] as TextRecord
  const first = await Store.open(dir)
  t.is((await first.insert([again])).newTextCount, 0)
  await first.close()
  t.is(await storeFormatOf(dir), STORE_FORMAT_VERSION)
  const writer = await Store.open(dir)
  const other = Uint8Array.from(again.text, (byte, i) => (i === 0 ? byte ^ 1 : byte))
  await t.throwsAsync(writer.insert([{ ...again, text: other }]), { code: 'VSTORE_EXISTS' })
  await writer.insert(records.slice(10))
  await readsEveryText(t, writer, records)
  t.deepEqual((await writer.verify({ full: true })).problems, [])
  await writer.close()
})

test('a format-2 store with a damaged entry upgrades around it: the entry stays damaged, verify names its key, every other text reads back', async t => {
  const records = history()
  const dir = await formatTwoStore(t, records)
  // One entry's value with a byte flipped: its checksum fails in any format.
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  let damaged = ''
  try {
    for await (const [key, value] of db.entries(Uint8Array.of(TAG_TEXT))) {
      const { file, rev } = decodeTextKey(key)
      if (file !== 'short.txt' || rev !== 'r11') continue
      damaged = `${file}@${rev}`
      const flipped = value.slice()
      flipped[3] = (flipped[3] as number) ^ 0x01
      await db.write([{ key, value: flipped }], { sync: true })
    }
  } finally {
    await db.close()
  }
  t.is(damaged, 'short.txt@r11')
  const store = await Store.open(dir)
  t.deepEqual(await store.upgrade(), { from: 2, to: STORE_FORMAT_VERSION })
  await readsEveryText(t, store, records.filter(record => `${record.file}@${record.rev}` !== damaged))
  await t.throwsAsync(store.get('short.txt', 'r11'), { code: 'VSTORE_CORRUPT' })
  const { problems } = await store.verify({ full: true })
  t.deepEqual(problems.flatMap(problem => problem.keys.map(key => `${key.file}@${key.rev}`)), [damaged])
  await store.close()
  t.is(await storeFormatOf(dir), STORE_FORMAT_VERSION)
})
