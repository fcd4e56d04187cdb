/**
 * A write that fails part-way leaves the store as the index says and this Store still usable (or refusing
 * writes at once, after an index write that may have landed), and a closed store says so.
 */
import test, { type ExecutionContext } from 'ava'
import { readdir, rm } from 'node:fs/promises'
import { VstoreError } from '../../../lib/errors.js'
import { Store, type TextRecord } from '../../../lib/vstore.js'
import { openStore } from '../../helpers/store.js'
import { makeTempDir } from '../../helpers/tmp.js'

function record(file: string, rev: string, parents: readonly string[], text: string): TextRecord {
  return { file, rev, parents, text: new TextEncoder().encode(text) }
}

/** Three files of 30 versions each, so a pack makes several groups and a batch of more than 64 index records. */
function history(): TextRecord[] {
  const records: TextRecord[] = []
  for (const file of ['a.txt', 'b.txt', 'c.txt']) {
    // Lines of each file its own (no copies across files), so each file fills groups of its own.
    const lines = Array.from({ length: 300 }, (_, n) => `${file} ${(n * 7919 + file.length * 104729) % 100003} ${n}\n`).join('')
    for (let i = 0; i < 30; i++) records.push(record(file, `r${i}`, i === 0 ? [] : [`r${i - 1}`], `${lines}version ${i}\n`))
  }
  return records
}

/** The store's LevelDB index object, reached through the facade's private parts, to make one call fail. */
function indexOf(store: Store): Record<string, (...args: unknown[]) => Promise<unknown>> {
  return (store as unknown as { opened: { index: Record<string, (...args: unknown[]) => Promise<unknown>> } }).opened.index
}

function failOnce(target: Record<string, (...args: unknown[]) => Promise<unknown>>, name: string): void {
  const original = target[name] as (...args: unknown[]) => Promise<unknown>
  target[name] = async () => {
    target[name] = original
    throw Object.assign(new Error(`${name}: EIO (simulated)`), { code: 'EIO' })
  }
}

async function newStore(t: ExecutionContext): Promise<{ dir: string; store: Store }> {
  const dir = await makeTempDir(t, 'vstore-write-failures-')
  const store = await openStore(t, dir, { create: true, maxContentByteLength: 4096 })
  await store.insert(history())
  return { dir, store }
}

test('a pack whose reading of the old hash records fails leaves no new pack behind, and the next pack works', async t => {
  const { dir, store } = await newStore(t)
  const before = await readdir(`${dir}/packs`)
  failOnce(indexOf(store), 'hashKeys')
  await t.throwsAsync(store.pack(), { message: /EIO/ })
  t.deepEqual(await readdir(`${dir}/packs`), before)
  await store.insert([record('d.txt', 'r1', [], 'still takes inserts\n')])
  const summary = await store.pack()
  t.is(summary.textCount, 91)
  t.deepEqual((await store.verify()).problems, [])
})

test('after an index write that failed, every write is refused at once, before it reads anything', async t => {
  const { store } = await newStore(t)
  failOnce((indexOf(store) as unknown as { db: Record<string, (...args: unknown[]) => Promise<unknown>> }).db, 'write')
  await t.throwsAsync(store.insert([record('d.txt', 'r1', [], 'x')]), { message: /EIO/ })
  let read = 0
  function* counted(): Generator<TextRecord> {
    read++
    yield record('e.txt', 'r2', ['r1'], 'a missing parent')
  }
  await t.throwsAsync(store.insert(counted()), { instanceOf: VstoreError, code: 'VSTORE_IO' })
  t.is(read, 0)
  await t.throwsAsync(store.pack(), { instanceOf: VstoreError, code: 'VSTORE_IO' })
  await t.throwsAsync(store.repair(), { instanceOf: VstoreError, code: 'VSTORE_IO' })
})

test('a failure after an index batch is durable keeps the packs it names: the store refuses writes until reopened, and reopened it has the batch', async t => {
  const { dir, store } = await newStore(t)
  const runs = (indexOf(store) as unknown as { runs: { operations: (...args: unknown[]) => Promise<{ operations: unknown[]; written: () => void }> } }).runs
  const operations = runs.operations.bind(runs)
  runs.operations = async (...args: unknown[]) => {
    const planned = await operations(...args)
    return { operations: planned.operations, written: () => { throw new Error('written: simulated') } }
  }
  await t.throwsAsync(store.insert([record('d.txt', 'r1', [], 'durable before the failure\n')]), { message: /simulated/ })
  await t.throwsAsync(store.insert([record('e.txt', 'r1', [], 'x')]), { instanceOf: VstoreError, code: 'VSTORE_IO' })
  await store.close()
  const reopened = await openStore(t, dir)
  t.deepEqual(new TextDecoder().decode(await reopened.get('d.txt', 'r1')), 'durable before the failure\n')
  t.deepEqual((await reopened.verify()).problems, [])
})

test('once a pack is committed its old packs are gone from the store, even if the tidying after it fails', async t => {
  const { store } = await newStore(t)
  failOnce(indexOf(store), 'compact')
  await t.throwsAsync(store.pack(), { message: /EIO/ })
  const stats = await store.stats()
  t.is(stats.packCount, 1)
  let groups = 0
  for await (const _group of store.groups()) groups++
  t.is(groups, stats.groupCount)
  t.deepEqual((await store.verify()).problems, [])
})

test('a missing pack holding no group is an error when the groups are walked', async t => {
  const dir = await makeTempDir(t, 'vstore-write-failures-')
  let store = await Store.open(dir, { create: true })
  await store.insert([record('a.txt', 'r1', [], 'one\n')])
  // A repair that keeps nothing leaves an empty pack (its header alone) numbered after the old ones.
  await rm(`${dir}/packs/000001.vpk`)
  await store.close()
  store = await Store.open(dir)
  await store.repair()
  await store.close()
  const [empty] = await readdir(`${dir}/packs`)
  await rm(`${dir}/packs/${empty}`)
  store = await openStore(t, dir)
  await t.throwsAsync(async () => {
    for await (const _group of store.groups()) t.fail('no group to walk')
  }, { instanceOf: VstoreError, code: 'VSTORE_CORRUPT', message: /missing/ })
})

test('a read still under way when the store is closed says the store is closed', async t => {
  const { store } = await newStore(t)
  const texts = store.getMany(history().map(({ file, rev }) => ({ file, rev })))
  t.truthy(await texts.next())
  t.true((await store.stats()).groupCount > 1)
  await store.close()
  await t.throwsAsync(async () => {
    for await (const _text of texts) { /* drain */ }
  }, { instanceOf: VstoreError, code: 'VSTORE_IO', message: /closed/ })
})

test('insert refuses what is not records, and a key that is not a string, with VSTORE_USAGE', async t => {
  const { store } = await newStore(t)
  await t.throwsAsync(store.insert(5 as unknown as TextRecord[]), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  await t.throwsAsync(store.get(5 as unknown as string, 'r'), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})
