/**
 * A damaged pack (cut short, its header damaged, or gone) must not make the whole store unreadable: the
 * store opens, texts in intact groups read back, verify names the keys each damaged group or pack takes
 * with it, and Store.repair keeps every text that can still be read, drops exactly the keys that cannot,
 * gives their children the nearest kept ancestors as parents, and leaves a store that verifies.
 */
import test, { type ExecutionContext } from 'ava'
import { cp, readdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Store, VstoreError, type StoreOptions, type TextKey, type TextRecord } from '../../../lib/vstore.js'
import { mapTable } from '../../../lib/index/leveldb-files.js'
import { TAG_FILE_RUN, TAG_REVISIONS } from '../../../lib/index/runs.js'
import { history, insertCommits } from '../../helpers/history.js'
import { openStore } from '../../helpers/store.js'
import { makeTempDir } from '../../helpers/tmp.js'

/** Small groups and packs, so that a history of a few files spreads over many groups in several packs. */
// Without automatic packing: the damage below is aimed at the packs these inserts and the pack leave.
const SMALL: StoreOptions = { maxContentByteLength: 48 * 1024, maxReadByteLength: 32 * 1024, maxPackByteLength: 12 * 1024, autoPack: false }

const keyOf = (key: TextKey) => `${key.file}@${key.rev}`

interface Damaged {
  readonly dir: string
  readonly records: readonly TextRecord[]
  /** Pack file names before the damage, in order. */
  readonly packs: readonly string[]
}

/** A store of 5 files × 30 commits, inserted a commit at a time (groups based on stored texts) and then half packed. */
async function buildStore(t: ExecutionContext): Promise<Damaged> {
  const dir = await makeTempDir(t)
  const commits = history(5, 30, 11)
  const store = await openStore(t, dir, { create: true, ...SMALL })
  await insertCommits(store, commits.slice(0, 15))
  await store.pack()
  await insertCommits(store, commits.slice(15))
  t.deepEqual((await store.verify()).problems, [])
  await store.close()
  const packs = (await readdir(join(dir, 'packs'))).sort()
  t.true(packs.length >= 3, `packs: ${packs.join(', ')}`)
  return { dir, records: commits.flat(), packs }
}

/** Which keys still read back (each compared with what was inserted) and which fail, with VSTORE_CORRUPT only. */
async function readable(t: ExecutionContext, store: Store, records: readonly TextRecord[]): Promise<{ kept: Set<string>; failed: Set<string> }> {
  const kept = new Set<string>()
  const failed = new Set<string>()
  for (const record of records) {
    try {
      t.deepEqual(await store.get(record.file, record.rev), record.text, keyOf(record))
      kept.add(keyOf(record))
    } catch (error) {
      t.true(error instanceof VstoreError && error.code === 'VSTORE_CORRUPT', `${keyOf(record)}: ${String(error)}`)
      t.is((error as VstoreError).where, keyOf(record), 'the error names the key')
      failed.add(keyOf(record))
    }
  }
  return { kept, failed }
}

const damages: readonly { name: string; damage: (dir: string, pack: string) => Promise<void>; losesKeys: boolean }[] = [
  { name: 'cut 88 bytes short', damage: async (dir, pack) => {
    const path = join(dir, 'packs', pack)
    await truncate(path, (await readFile(path)).length - 88)
  }, losesKeys: true },
  { name: 'its magic flipped', damage: async (dir, pack) => {
    const path = join(dir, 'packs', pack)
    const bytes = await readFile(path)
    bytes[0] = (bytes[0] as number) ^ 0xff
    await writeFile(path, bytes)
  }, losesKeys: false },
  { name: 'deleted', damage: (dir, pack) => rm(join(dir, 'packs', pack)), losesKeys: true },
]

for (const { name, damage, losesKeys } of damages) {
  test(`a pack ${name}: the store opens, intact texts read, verify names what is lost, repair drops exactly that and verifies clean`, async t => {
    const { dir, records, packs } = await buildStore(t)
    // The middle pack: groups after it are based on texts in it, so the damage reaches past the pack.
    await damage(dir, packs[1] as string)

    const reader = await openStore(t, dir, { readOnly: true })
    const before = await readable(t, reader, records)
    t.true(before.kept.size > 0, 'texts in intact groups still read back')
    if (losesKeys) t.true(before.failed.size > 0, 'some texts are lost')
    else t.is(before.failed.size, 0)
    const report = await reader.verify({ full: false })
    t.true(report.problems.length > 0)
    t.true(report.problems.some(problem => problem.where.startsWith(`packs/${packs[1] as string}`)), JSON.stringify(report.problems.map(p => p.where)))
    const named = new Set(report.problems.flatMap(problem => problem.keys.map(keyOf)))
    t.deepEqual([...before.failed].filter(key => !named.has(key)), [], 'verify names every key a get fails on')
    await reader.close()

    const store = await openStore(t, dir, SMALL)
    const repaired = await store.repair()
    t.true(repaired.repaired)
    t.deepEqual(repaired.lostKeys.map(keyOf).sort(), [...before.failed].sort(), 'repair drops exactly the keys that could not be read')
    t.is(repaired.textCount, before.kept.size)
    t.deepEqual((await store.verify({ full: true })).problems, [])
    const after = await readable(t, store, records.filter(record => before.kept.has(keyOf(record))))
    t.is(after.failed.size, 0)
    for (const key of repaired.lostKeys) await t.throwsAsync(store.get(key.file, key.rev), { code: 'VSTORE_NOT_FOUND' })
    // Every parent a kept text names is stored; a text whose parent was dropped took that parent's kept ancestors.
    for (const record of records.filter(record => before.kept.has(keyOf(record)))) {
      const parents = await store.parents(record.file, record.rev)
      for (const parent of parents) t.true(await store.has(record.file, parent), `${keyOf(record)}: parent ${parent}`)
      const moved = repaired.reparented.find(row => keyOf(row) === keyOf(record))
      if (moved === undefined) t.deepEqual(parents, record.parents, keyOf(record))
      else {
        t.deepEqual(parents, moved.parents)
        t.deepEqual(moved.formerParents, record.parents)
      }
    }
    if (losesKeys) t.true(repaired.reparented.length > 0, 'children of dropped texts were given new parents')
    // Nothing is left to repair, the old packs are gone, and the store takes new texts.
    t.false((await store.repair()).repaired)
    for (const pack of packs) t.false((await readdir(join(dir, 'packs'))).includes(pack), pack)
    const file = records[0]?.file as string
    const [head] = await store.heads(file)
    await store.insert([{ file, rev: 'after-repair', parents: head === undefined ? [] : [head], text: new TextEncoder().encode('a new version\n') }])
    t.deepEqual((await store.verify({ full: true })).problems, [])
  })
}

test('repair of a store with nothing wrong changes nothing', async t => {
  const { dir, packs } = await buildStore(t)
  const bytes = await Promise.all(packs.map(pack => readFile(join(dir, 'packs', pack))))
  const store = await openStore(t, dir, SMALL)
  const summary = await store.repair()
  t.false(summary.repaired)
  t.deepEqual(summary.lostKeys, [])
  t.deepEqual((await readdir(join(dir, 'packs'))).sort(), packs)
  t.deepEqual(await Promise.all(packs.map(pack => readFile(join(dir, 'packs', pack)))), bytes)
})

test('a writer never appends to a damaged pack', async t => {
  const { dir, records, packs } = await buildStore(t)
  const last = packs.at(-1) as string
  const path = join(dir, 'packs', last)
  const bytes = await readFile(path)
  await writeFile(path, bytes.subarray(0, bytes.length - 10))
  const store = await openStore(t, dir, SMALL)
  const file = records[0]?.file as string
  await store.insert([{ file, rev: 'new', parents: [], text: new TextEncoder().encode('new\n') }])
  t.is((await readFile(path)).length, bytes.length - 10, 'the damaged pack is as it was')
  t.deepEqual(await store.get(file, 'new'), new TextEncoder().encode('new\n'))
})

test('a repair that keeps no text leaves a pack numbered after the old ones, so no later pack takes an old pack\'s name', async t => {
  const dir = await makeTempDir(t)
  const store = await openStore(t, dir, { create: true })
  await store.insert(history(2, 3, 5).flat())
  await store.close()
  const [only] = (await readdir(join(dir, 'packs'))).sort()
  await rm(join(dir, 'packs', only as string))
  const again = await openStore(t, dir)
  const repaired = await again.repair()
  t.is(repaired.textCount, 0)
  t.true(repaired.lostKeys.length > 0)
  await again.insert([{ file: 'new.txt', rev: 'r1', parents: [], text: new TextEncoder().encode('after\n') }])
  const packs = (await readdir(join(dir, 'packs'))).sort()
  t.false(packs.includes(only as string), `${packs.join(', ')} reuses ${only}`)
  t.deepEqual((await again.verify({ full: true })).problems, [])
})

/** A store of 80 files × 15 commits with git-like revision ids: an index table of many blocks. */
async function storeWithTable(t: ExecutionContext): Promise<{ dir: string; records: TextRecord[]; table: string }> {
  const dir = await makeTempDir(t)
  const revOf = (f: number, v: number) => (BigInt(f * 1000 + v) * 0x9e3779b97f4a7c15n).toString(16).padStart(40, '0').slice(-40)
  const records: TextRecord[] = []
  for (let f = 0; f < 80; f++) {
    for (let v = 0; v < 15; v++) {
      records.push({ file: `dir${f % 5}/file-${f}.c`, rev: revOf(f, v), parents: v === 0 ? [] : [revOf(f, v - 1)], text: new TextEncoder().encode(`file ${f} version ${v}\n`.repeat(3 + v)) })
    }
  }
  // LevelDB's own 4 KiB blocks (the store writes 16 KiB ones), for a table of many blocks.
  const store = await openStore(t, dir, { create: true, indexBlockByteLength: 4096 })
  await store.insert(records)
  await store.close()
  const table = (await readdir(join(dir, 'index'))).find(name => name.endsWith('.ldb'))
  if (table === undefined) throw new Error('no index table')
  return { dir, records, table }
}

/** Flips a byte half way into the first data block of `table` whose keys all have the tag `tag`. */
async function damageBlockOf(path: string, tag: number): Promise<void> {
  const bytes = await readFile(path)
  const blocks = await mapTable(bytes.length, async (offset, byteLength) => bytes.subarray(offset, offset + byteLength), { firstKey: undefined })
  const block = blocks.find(candidate => candidate.firstKey?.[0] === tag && candidate.lastKey[0] === tag)
  if (block === undefined) throw new Error(`no block of tag ${tag} only`)
  const at = block.offset + Math.floor(block.byteLength / 2)
  bytes[at] = (bytes[at] as number) ^ 0xff
  await writeFile(path, bytes)
}

test('a damaged index block of runs: repairIndex rebuilds the index from every entry still readable, drops the keys of the damaged block, and the store takes writes again', async t => {
  const { dir, records, table } = await storeWithTable(t)
  await damageBlockOf(join(dir, 'index', table), TAG_FILE_RUN)
  await t.throwsAsync(Store.open(dir), { code: 'VSTORE_CORRUPT' })
  // What a reader cannot read now.
  const reader = await openStore(t, dir, { readOnly: true })
  const refused: string[] = []
  for (const record of records) {
    try {
      t.deepEqual(await reader.get(record.file, record.rev), record.text)
    } catch (error) {
      t.true(error instanceof VstoreError && error.code === 'VSTORE_CORRUPT', String(error))
      refused.push(keyOf(record))
    }
  }
  await reader.close()
  t.true(refused.length > 0 && refused.length < records.length)

  const summary = await Store.repairIndex(dir)
  t.true(summary.repaired)
  // Entries of the damaged block whose own checksums hold are read out of it and kept.
  t.true(summary.recoveredTextCount > 0, 'some entries of the damaged block are whole')
  t.true(summary.lostKeys.length > 0)
  t.false((await readdir(dir)).some(name => name.startsWith('index.')), 'no staging or damaged index is left')
  const store = await openStore(t, dir)
  t.deepEqual((await store.verify({ full: true })).problems, [])
  // Every key that read before reads now; of the refused ones, those the rebuilt index holds read back right.
  const absent: string[] = []
  for (const record of records) {
    if (await store.has(record.file, record.rev)) t.deepEqual(await store.get(record.file, record.rev), record.text, keyOf(record))
    else absent.push(keyOf(record))
  }
  t.deepEqual(absent.filter(key => !refused.includes(key)), [], 'no key that read before is lost')
  t.is(summary.textCount, records.length - absent.length)
  t.true(absent.length > 0 && absent.length < refused.length, `${absent.length} lost of ${refused.length} refused`)
  // The keys lost are named as far as the block names them: a damaged run by its file, its first revision
  // and the revisions of its entries before the damage.
  const lost = new Set(summary.lostKeys.map(keyOf))
  const lostFiles = new Set(summary.lostKeys.map(key => key.file))
  t.true(absent.every(key => lost.has(key) || lostFiles.has(key.slice(0, key.indexOf('@')))), `${absent.join(', ')} against ${[...lost].join(', ')}`)
  t.true(absent.some(key => lost.has(key)))
  for (const file of await store.files()) {
    for (const rev of await store.revisions(file)) for (const parent of await store.parents(file, rev)) t.true(await store.has(file, parent))
  }
  await store.insert([{ file: 'after.txt', rev: 'r1', parents: [], text: new TextEncoder().encode('after\n') }])
  t.false((await Store.repairIndex(dir)).repaired, 'a whole index is left alone')
})

test('a damaged block of revision ids: repair keeps every text whose revision ids are still listed, and names the lost ones by file and revision number', async t => {
  const { dir, records, table } = await storeWithTable(t)
  await damageBlockOf(join(dir, 'index', table), TAG_REVISIONS)
  const summary = await Store.repairIndex(dir)
  t.true(summary.repaired)
  t.true(summary.lostKeys.length > 0)
  // A lost revision id leaves its number: the lost keys name their files and `#N`.
  t.true(summary.lostKeys.every(key => /^#\d+$/.test(key.rev) && records.some(record => record.file === key.file)), JSON.stringify(summary.lostKeys.slice(0, 3)))
  const store = await openStore(t, dir)
  t.deepEqual((await store.verify({ full: true })).problems, [])
  let kept = 0
  for (const record of records) {
    if (!(await store.has(record.file, record.rev))) continue
    kept++
    t.deepEqual(await store.get(record.file, record.rev), record.text, keyOf(record))
  }
  t.is(kept, summary.textCount)
  t.is(kept + summary.lostKeys.length, records.length, 'every text is kept or named lost')
})

/** Flips a byte in the last record of the index's log (the newest commit's batch). */
async function damageLastLogRecord(dir: string): Promise<void> {
  const log = (await readdir(join(dir, 'index'))).find(name => name.endsWith('.log'))
  if (log === undefined) throw new Error('no log')
  const bytes = await readFile(join(dir, 'index', log))
  bytes[bytes.length - 12] = (bytes[bytes.length - 12] as number) ^ 0xff
  await writeFile(join(dir, 'index', log), bytes)
}

test('a damaged last record of the index log: repair keeps each run as its newest whole version, so the texts of earlier commits all read back', async t => {
  const dir = await makeTempDir(t)
  const store = await openStore(t, dir, { create: true })
  const text = (i: number) => new TextEncoder().encode(`version ${i}\n`.repeat(10 + i))
  // One commit each: every commit rewrites a.txt's one short run under the same key.
  for (let i = 1; i <= 3; i++) await store.insert([{ file: 'a.txt', rev: `r${i}`, parents: i === 1 ? [] : [`r${i - 1}`], text: text(i) }])
  await store.insert([{ file: 'b.txt', rev: 'r4', parents: [], text: text(4) }])
  await store.close()
  await damageLastLogRecord(dir)
  const summary = await Store.repairIndex(dir)
  t.true(summary.repaired)
  const repaired = await openStore(t, dir)
  for (let i = 1; i <= 3; i++) t.deepEqual(await repaired.get('a.txt', `r${i}`), text(i), `a.txt@r${i}`)
  t.deepEqual((await repaired.verify({ full: true })).problems, [])
})

test('a damaged record of the index log loses no text the tables hold: repair reads the tables and the log around the record, and the record itself as far as its entries check', async t => {
  const dir = await makeTempDir(t)
  const store = await openStore(t, dir, { create: true })
  const text = (i: number) => new TextEncoder().encode(`text ${i}\n`.repeat(5))
  // 80 keys in one batch: compacted into a table at once. Then two small commits, left in the log.
  await store.insert(Array.from({ length: 80 }, (_, i) => ({ file: `f${i}`, rev: 'r1', parents: [], text: text(i) })))
  await store.insert([{ file: 'g', rev: 'r1', parents: [], text: text(100) }])
  await store.insert([{ file: 'g', rev: 'r2', parents: ['r1'], text: text(101) }])
  await store.close()
  await damageLastLogRecord(dir)
  const summary = await Store.repairIndex(dir)
  t.true(summary.repaired)
  const repaired = await openStore(t, dir)
  for (let i = 0; i < 80; i++) t.deepEqual(await repaired.get(`f${i}`, 'r1'), text(i), `f${i}@r1`)
  t.deepEqual(await repaired.get('g', 'r1'), text(100))
  // The damaged batch's run checks by its own checksum: g@r2 is kept, or else named lost.
  if (await repaired.has('g', 'r2')) t.deepEqual(await repaired.get('g', 'r2'), text(101))
  else t.true(summary.lostKeys.some(key => key.file === 'g' && key.rev === 'r2'))
  t.deepEqual((await repaired.verify({ full: true })).problems, [])
})

test('a repair of the index killed between its steps leaves one whole index: the next open finishes or undoes the swap', async t => {
  const { dir, records } = await storeWithTable(t)
  const other = await storeWithTable(t)
  const index = join(dir, 'index')
  const first = records[0] as TextRecord
  // Killed after the rebuilt index was complete, before the damaged one moved aside: the swap is finished.
  await cp(join(other.dir, 'index'), join(dir, 'index.repaired-1-2'), { recursive: true })
  const reader = await openStore(t, dir, { readOnly: true })
  t.true(await reader.has(first.file, first.rev), 'a reader reads the rebuilt index')
  await reader.close()
  const opened = await Store.open(dir)
  await opened.close()
  t.deepEqual((await readdir(dir)).filter(name => name.startsWith('index')), ['index'])
  // Killed between the two renames: the rebuilt index is taken.
  await rename(index, join(dir, 'index.damaged-1-3'))
  await cp(join(other.dir, 'index'), join(dir, 'index.repaired-1-4'), { recursive: true })
  ;(await Store.open(dir)).close()
  t.deepEqual((await readdir(dir)).filter(name => name.startsWith('index')), ['index'])
  // Killed after the damaged index moved aside, with no complete rebuilt one: it goes back.
  await rename(index, join(dir, 'index.damaged-1-5'))
  const reading = await openStore(t, dir, { readOnly: true })
  t.true(await reading.has(first.file, first.rev), 'a reader reads the index moved aside')
  await reading.close()
  const back = await Store.open(dir)
  t.true(await back.has(first.file, first.rev))
  await back.close()
  t.deepEqual((await readdir(dir)).filter(name => name.startsWith('index')), ['index'])
})
