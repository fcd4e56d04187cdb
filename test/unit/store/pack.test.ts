/**
 * Store.pack (every text rewritten into new groups and packs, the old packs dropped) and the append path
 * it pairs with: a batch whose file continues from an earlier batch starts its group on the stored
 * version, so that one commit's texts are deltas on what is stored, not fulltexts.
 */
import test, { type ExecutionContext } from 'ava'
import { copyFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { CODEC_ZLIB } from '../../../lib/entropy/index.js'
import { HASH_RECORD_MIN_TEXT_BYTE_LENGTH, TAG_HASH, encodeHashKey, encodeLocationValue } from '../../../lib/index/records.js'
import { openLevelDb, type KeyValueStore } from '../../../lib/index/leveldb.js'
import { hashText } from '../../../lib/store/text-hash.js'
import type { IndexDumpRow } from '../../../lib/vstore.js'
import type { StoreOptions } from '../../../lib/store/store.js'
import type { TextRecord } from '../../../lib/store/types.js'
import { expectTexts, history, insertCommits } from '../../helpers/history.js'
import { randomLines, seededRandom } from '../../helpers/random.js'
import { dumpIndex, openStore } from '../../helpers/store.js'
import { makeTempDir } from '../../helpers/tmp.js'

const packNames = async (dir: string) => (await readdir(join(dir, 'packs'))).sort()

test('pack rewrites a store filled one commit at a time into fewer, fuller groups; every text reads back and verify is clean', async t => {
  const dir = await makeTempDir(t)
  const commits = history(6, 25, 1)
  const store = await openStore(t, dir, { create: true })
  await insertCommits(store, commits)
  const before = await store.stats()
  const oldPacks = await packNames(dir)
  const summary = await store.pack()
  const after = await store.stats()
  t.is(summary.textCount, commits.flat().length)
  t.is(summary.oldPackByteLength, before.packByteLength)
  t.is(summary.packByteLength, after.packByteLength)
  t.is(summary.oldGroupCount, before.groupCount)
  t.is(summary.groupCount, after.groupCount)
  t.true(after.groupCount < before.groupCount / 4, `${before.groupCount} → ${after.groupCount} groups`)
  t.true(after.packByteLength < before.packByteLength, `${before.packByteLength} → ${after.packByteLength} pack bytes`)
  t.is(after.textCount, before.textCount)
  t.is(after.rawByteLength, before.rawByteLength)
  // Only new packs remain, numbered after the old ones.
  const newPacks = await packNames(dir)
  t.true(newPacks.length > 0)
  for (const name of newPacks) t.false(oldPacks.includes(name), name)
  t.true((newPacks[0] as string) > (oldPacks.at(-1) as string))
  await expectTexts(t, store, commits)
  t.deepEqual((await store.verify({ full: true })).problems, [])
  await store.close()
  // And after a reopen, from the index alone.
  const reopened = await openStore(t, dir)
  await expectTexts(t, reopened, commits)
  t.deepEqual((await reopened.stats()).groupCount, after.groupCount)
})

test('a store packed once and appended to packs again, and the result equals one insert of the whole history', async t => {
  const commits = history(4, 16, 2)
  const once = await openStore(t, await makeTempDir(t), { create: true })
  await once.insert(commits.flat())
  const oneInsert = (await once.stats()).packByteLength
  const dir = await makeTempDir(t)
  const store = await openStore(t, dir, { create: true })
  await insertCommits(store, commits.slice(0, 8))
  await store.pack()
  await insertCommits(store, commits.slice(8))
  const summary = await store.pack()
  // The same texts in the same write order: the same groups, give or take the order of ties.
  t.true(Math.abs(summary.packByteLength - oneInsert) <= oneInsert * 0.02, `packed ${summary.packByteLength}, one insert ${oneInsert}`)
  await expectTexts(t, store, commits)
  t.deepEqual((await store.verify({ full: true })).problems, [])
})

test('keys stored once keep sharing one location after a pack, and a later copy naming one as its origin finds it in the new pack', async t => {
  const dir = await makeTempDir(t)
  const store = await openStore(t, dir, { create: true })
  const big = randomLines(seededRandom(3), 1200)
  t.true(big.length >= HASH_RECORD_MIN_TEXT_BYTE_LENGTH)
  await store.insert([{ file: 'a.txt', rev: 'r1', parents: [], text: big }])
  await store.insert([{ file: 'b.txt', rev: 'r1', parents: [], text: big }, { file: 'c.txt', rev: 'r1', parents: [], text: randomLines(seededRandom(4), 50) }])
  await store.pack()
  const rows = await dumpIndex(store)
  const [a, b] = [rows.find(r => r.file === 'a.txt'), rows.find(r => r.file === 'b.txt')]
  t.truthy(a)
  t.deepEqual({ pack: b?.pack, groupOffset: b?.groupOffset, recordStart: b?.recordStart }, { pack: a?.pack, groupOffset: a?.groupOffset, recordStart: a?.recordStart })
  t.deepEqual(await packNames(dir), [`${a?.pack}`.replace(/^packs\//, '')])
  // A later batch with the same big text, copied from a.txt, finds it in the rewritten pack.
  const summary = await store.insert([{ file: 'd.txt', rev: 'r1', parents: [], origin: { file: 'a.txt', rev: 'r1' }, text: big }])
  t.is(summary.duplicateTextCount, 1)
  t.is(summary.storedByteLength, 0)
  t.deepEqual(await store.get('d.txt', 'r1'), big)
  t.deepEqual((await store.verify({ full: true })).problems, [])
})

test('old pack files a repack could not delete are removed on the next open, and nothing is lost', async t => {
  const dir = await makeTempDir(t)
  const commits = history(3, 6, 5)
  const store = await openStore(t, dir, { create: true })
  await insertCommits(store, commits)
  const oldPacks = await packNames(dir)
  for (const name of oldPacks) await copyFile(join(dir, 'packs', name), join(dir, `${name}.kept`))
  await store.pack()
  await store.close()
  // As if the process died after the index batch and before its unlinks.
  for (const name of oldPacks) await copyFile(join(dir, `${name}.kept`), join(dir, 'packs', name))
  const reopened = await openStore(t, dir)
  t.deepEqual((await packNames(dir)).filter(name => oldPacks.includes(name)), [])
  await expectTexts(t, reopened, commits)
  t.deepEqual((await reopened.verify({ full: true })).problems, [])
})

test('pack of an empty store changes nothing; pack on a read-only store is refused with VSTORE_USAGE', async t => {
  const dir = await makeTempDir(t)
  const store = await openStore(t, dir, { create: true })
  const summary = await store.pack()
  t.like(summary, { textCount: 0, groupCount: 0, packByteLength: 0 })
  await store.insert(history(1, 2, 6).flat())
  await store.close()
  const reader = await openStore(t, dir, { readOnly: true })
  const error = await t.throwsAsync(() => reader.pack())
  t.is((error as { code?: string }).code, 'VSTORE_USAGE')
})

test('pack with another codec recodes every group with it', async t => {
  const dir = await makeTempDir(t)
  const commits = history(3, 6, 7)
  const store = await openStore(t, dir, { create: true })
  await insertCommits(store, commits)
  await store.close()
  const zlib = await openStore(t, dir, { codec: 'zlib' })
  await zlib.pack()
  const codecs = new Set<number>()
  for await (const group of zlib.groups()) codecs.add(group.header.codecId)
  t.deepEqual([...codecs], [CODEC_ZLIB])
  await expectTexts(t, zlib, commits)
})

// ---- the append path ----

/** Pack bytes a commit adds, with the store's defaults or `options`. */
async function appendedPerCommit(t: ExecutionContext, commits: readonly TextRecord[][], options: StoreOptions = {}): Promise<{ first: number; rest: number }> {
  const store = await openStore(t, await makeTempDir(t), { create: true, ...options })
  const first = (await store.insert(commits[0] as TextRecord[])).storedByteLength
  const rest = await insertCommits(store, commits.slice(1))
  await expectTexts(t, store, commits)
  t.deepEqual((await store.verify({ full: true })).problems, [])
  return { first, rest }
}

test('a commit whose files continue from stored versions is stored as deltas on them: far smaller than without bases', async t => {
  const commits = history(4, 9, 8)
  const based = await appendedPerCommit(t, commits)
  const unbased = await appendedPerCommit(t, commits, { maxBaseDepth: 0 })
  t.is(based.first, unbased.first)
  // Eight commits of one-line edits: without a base each is a compressed fulltext of its files.
  t.true(based.rest * 4 < unbased.rest, `later commits: ${based.rest} bytes on bases, ${unbased.rest} without`)
})

test('stored bases form chains no deeper than maxBaseDepth and within the read budget; a chain at the limit starts afresh', async t => {
  const dir = await makeTempDir(t)
  const commits = history(1, 20, 9)
  const store = await openStore(t, dir, { create: true, maxBaseDepth: 3, autoPack: false })
  await insertCommits(store, commits)
  const depths = (await dumpIndex(store)).sort((a, b) => Number(a.rev.slice(1)) - Number(b.rev.slice(1))).map(row => row.baseDepth)
  t.true(depths.every(depth => depth <= 3), depths.join(','))
  t.true(depths.includes(3), depths.join(','))
  // Commit by commit, each depth is one more than its parent's until the limit, then 0 again.
  for (let i = 1; i < depths.length; i++) t.is(depths[i], (depths[i - 1] as number) === 3 ? 0 : (depths[i - 1] as number) + 1, depths.join(','))
  for (const row of await dumpIndex(store)) t.true(row.readByteLength + row.baseReadByteLength <= 256 * 1024)
  await expectTexts(t, store, commits)
})

test('a pack drops the content hash records older builds wrote, and the store verifies before and after', async t => {
  const dir = await makeTempDir(t)
  const big = randomLines(seededRandom(7), 1200)
  let store = await openStore(t, dir, { create: true })
  await store.insert([{ file: 'a.txt', rev: 'r1', parents: [], text: big }])
  const [row] = await dumpIndex(store)
  await store.close()
  // An H record for the text, as builds before this one wrote for every text of 16 KiB or more.
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  const hash = hashText(big)
  const key = encodeHashKey(hash)
  const location = { ...(row as IndexDumpRow), packId: Number((row as IndexDumpRow).pack.match(/(\d+)\.vpk$/)?.[1]), hash }
  await db.write([{ key, value: encodeLocationValue(key, location) }], { sync: true })
  t.is(await hashRecordCount(db), 1)
  await db.close()
  store = await openStore(t, dir)
  t.deepEqual((await store.verify({ full: true })).problems, [])
  await store.pack()
  t.deepEqual((await store.verify({ full: true })).problems, [])
  t.deepEqual(await store.get('a.txt', 'r1'), big)
  await store.close()
  const after = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  t.is(await hashRecordCount(after), 0)
  await after.close()
})

async function hashRecordCount(db: KeyValueStore): Promise<number> {
  let count = 0
  for await (const _ of db.entries(Uint8Array.of(TAG_HASH))) count++
  return count
}
