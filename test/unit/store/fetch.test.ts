/**
 * Store.fetch: the texts a store lacks, copied from another. Well-filled source groups are copied whole,
 * byte for byte, with their index entries' base costs as this store has them; the other texts are
 * compressed again on what is stored. Real LevelDB indexes and pack files on both sides.
 */
import test from 'ava'
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Store, type IndexDumpRow, type StoreOptions, type TextRecord } from '../../../lib/vstore.js'
import { expectTexts, history, insertCommits } from '../../helpers/history.js'
import { rewriteAsOldFormat } from '../../helpers/old-format.js'
import { randomLines, seededRandom } from '../../helpers/random.js'
import { dumpIndex, openStore } from '../../helpers/store.js'
import { makeTempDir } from '../../helpers/tmp.js'

/** Groups of a few files' histories are large enough to copy (1/8 of this cap) in a test-sized store. */
// Without automatic packing: these tests hold the groups and chains their inserts write.
const OPTIONS: StoreOptions = { create: true, maxContentByteLength: 128 * 1024, autoPack: false }

const rowsByKey = async (store: Store) => new Map((await dumpIndex(store)).map(row => [`${row.file}@${row.rev}`, row]))

async function groupBytes(dir: string, row: Pick<IndexDumpRow, 'pack' | 'groupOffset'>, byteLength: number): Promise<Uint8Array> {
  const file = await open(join(dir, row.pack), 'r')
  try {
    const bytes = Buffer.alloc(byteLength)
    await file.read(bytes, 0, byteLength, row.groupOffset)
    return bytes
  } finally {
    await file.close()
  }
}

test('a fetch into an empty store copies the well-filled groups byte for byte, and every text reads back', async t => {
  const commits = history(6, 25, 1)
  const sourceDir = await makeTempDir(t)
  const source = await openStore(t, sourceDir, OPTIONS)
  await source.insert(commits.flat())
  const dir = await makeTempDir(t)
  const target = await openStore(t, dir, OPTIONS)
  const summary = await target.fetch(source)
  const keyCount = commits.flat().length
  t.like(summary, { textCount: keyCount, newTextCount: keyCount })
  t.true(summary.reusedGroupCount > 0, `${summary.reusedGroupCount} of ${summary.groupCount} groups copied`)
  t.is(summary.reusedTextCount, keyCount, 'every group of one insert of this history is well filled')
  await expectTexts(t, target, commits)
  t.deepEqual((await target.verify({ full: true })).problems, [])
  // The same records at the same places in the same bytes: only the pack and offset differ.
  const [ours, theirs] = [await rowsByKey(target), await rowsByKey(source)]
  const groups = (await (async () => { const list = []; for await (const group of source.groups()) list.push(group); return list })())
  for (const [key, row] of ours) {
    const other = theirs.get(key) as IndexDumpRow
    t.like(row, { recordStart: other.recordStart, recordEnd: other.recordEnd, readByteLength: other.readByteLength, hash: other.hash, baseDepth: 0 }, key)
    const group = groups.find(g => `packs/${String(g.packId).padStart(6, '0')}.vpk` === other.pack && g.groupOffset === other.groupOffset)
    const byteLength = (group?.header.headerByteLength ?? 0) + (group?.header.storedByteLength ?? 0)
    t.deepEqual(await groupBytes(dir, row, byteLength), await groupBytes(sourceDir, other, byteLength), key)
  }
  t.is((await target.stats()).packByteLength, (await source.stats()).packByteLength)
  // Fetching again adds nothing.
  t.like(await target.fetch(source), { newTextCount: 0, groupCount: 0, reusedGroupCount: 0 })
})

test('a fetch onto a store with the older versions stores the new ones as deltas on them, not as copied groups', async t => {
  const commits = history(6, 25, 2)
  const source = await openStore(t, await makeTempDir(t), OPTIONS)
  await source.insert(commits.flat())
  const target = await openStore(t, await makeTempDir(t), OPTIONS)
  await target.insert(commits.slice(0, 15).flat())
  const summary = await target.fetch(source)
  t.is(summary.newTextCount, commits.slice(15).flat().length)
  t.is(summary.reusedGroupCount, 0)
  // Ten versions of six files in one group each, on their stored versions: far less than the source's
  // groups that hold them (each starts with the files' fulltexts).
  const sourceStats = await source.stats()
  t.true(summary.storedByteLength < sourceStats.packByteLength / 3, `${summary.storedByteLength} bytes appended, source packs ${sourceStats.packByteLength}`)
  await expectTexts(t, target, commits)
  t.deepEqual((await target.verify({ full: true })).problems, [])
})

test('a copied group that starts on a base text keeps it, with the base chain\'s costs as this store has them', async t => {
  // Deltas on a base are small: 150 versions make groups of about 14 KB, large enough to copy into a
  // store whose cap is 64 KiB (1/8 of it is 8 KiB).
  const commits = history(2, 160, 3)
  const source = await openStore(t, await makeTempDir(t), OPTIONS)
  await source.insert(commits.slice(0, 10).flat())
  // One insert of the next 150 versions: each file's group starts on its stored version 10.
  await source.insert(commits.slice(10).flat())
  const target = await openStore(t, await makeTempDir(t), { ...OPTIONS, maxContentByteLength: 64 * 1024 })
  // The first ten versions a commit at a time: here the bases sit in small groups on bases of their own.
  await insertCommits(target, commits.slice(0, 10))
  const summary = await target.fetch(source)
  t.true(summary.reusedGroupCount > 0, `${summary.reusedGroupCount} of ${summary.groupCount} groups copied`)
  const [ours, theirs] = [await rowsByKey(target), await rowsByKey(source)]
  let based = 0
  for (const record of commits.slice(10).flat()) {
    const key = `${record.file}@${record.rev}`
    const [row, other] = [ours.get(key) as IndexDumpRow, theirs.get(key) as IndexDumpRow]
    if (other.baseDepth === 0 || row.readByteLength !== other.readByteLength || row.recordStart !== other.recordStart) continue
    // Copied: the base is the file's last version of the first ten commits, as this store has it, with a
    // chain of its own.
    const baseRecord = commits.slice(0, 10).flat().filter(r => r.file === record.file).at(-1) as TextRecord
    const base = ours.get(`${baseRecord.file}@${baseRecord.rev}`) as IndexDumpRow
    t.is(row.baseDepth, base.baseDepth + 1, key)
    t.is(row.baseReadByteLength, base.readByteLength + base.baseReadByteLength, key)
    t.is(row.baseDecodedByteLength, base.decodedByteLength + base.baseDecodedByteLength, key)
    based++
  }
  t.true(based > 0, 'some copied texts start on a base')
  t.true([...ours.values()].some(row => row.baseDepth !== theirs.get(`${row.file}@${row.rev}`)?.baseDepth), 'the chains here are not the source\'s')
  await expectTexts(t, target, commits)
  t.deepEqual((await target.verify({ full: true })).problems, [])
})

test('a copied group based on a text stored here at the end of a chain takes this store\'s chain', async t => {
  // The source: ten files' first ten versions in one group, then 150 more versions in one insert (a group
  // per file, on its stored version).
  const commits = history(10, 160, 8)
  const source = await openStore(t, await makeTempDir(t), { ...OPTIONS, maxContentByteLength: 1024 * 1024 })
  await source.insert(commits.slice(0, 10).flat())
  await source.insert(commits.slice(10).flat())
  // The target holds two of those files' first versions, a commit at a time: their last version sits at
  // the end of a chain of bases, where the copied group's base key points.
  const target = await openStore(t, await makeTempDir(t), { ...OPTIONS, maxContentByteLength: 64 * 1024, maxBaseDepth: 16 })
  const copied = new Set(['src/file0.c', 'src/file1.c'])
  await insertCommits(target, commits.slice(0, 10).map(commit => commit.filter(r => copied.has(r.file))))
  const summary = await target.fetch(source)
  t.true(summary.reusedGroupCount > 2, `${summary.reusedGroupCount} of ${summary.groupCount} groups copied`)
  const rows = await rowsByKey(target)
  let based = 0
  for (const file of copied) {
    const base = commits.slice(0, 10).flat().filter(r => r.file === file).at(-1) as TextRecord
    const baseRow = rows.get(`${file}@${base.rev}`) as IndexDumpRow
    t.true(baseRow.baseDepth > 0)
    for (const record of commits.slice(10).flat().filter(r => r.file === file)) {
      const row = rows.get(`${record.file}@${record.rev}`) as IndexDumpRow
      if (row.baseDepth === 0) continue
      t.like(row, { baseDepth: baseRow.baseDepth + 1, baseReadByteLength: baseRow.readByteLength + baseRow.baseReadByteLength }, `${row.file}@${row.rev}`)
      based++
    }
  }
  t.true(based > 0, 'groups on those bases were copied')
  await expectTexts(t, target, commits)
  t.deepEqual((await target.verify({ full: true })).problems, [])
})

test('a file named twice is fetched once, and the totals match the index', async t => {
  const commits = history(2, 5, 9)
  const source = await openStore(t, await makeTempDir(t), OPTIONS)
  await source.insert(commits.flat())
  const target = await openStore(t, await makeTempDir(t), OPTIONS)
  const summary = await target.fetch(source, { files: ['src/file0.c', 'src/file0.c'] })
  const keyCount = commits.flat().filter(record => record.file === 'src/file0.c').length
  t.like(summary, { textCount: keyCount, newTextCount: keyCount })
  t.is((await target.stats()).textCount, keyCount)
  t.deepEqual((await target.verify()).problems, [])
})

test('a group whose reads would pass this store\'s read budget is compressed again, within it', async t => {
  const commits = history(4, 20, 4)
  const source = await openStore(t, await makeTempDir(t), OPTIONS)
  await source.insert(commits.flat())
  const budget = 16 * 1024
  const sourceRows = await dumpIndex(source)
  t.true(sourceRows.some(row => row.readByteLength > budget), 'the source reads more than the budget somewhere')
  const target = await openStore(t, await makeTempDir(t), { ...OPTIONS, maxReadByteLength: budget })
  await target.fetch(source)
  for (const row of await dumpIndex(target)) {
    t.true(row.readByteLength + row.baseReadByteLength <= Math.max(budget, row.textByteLength), `${row.file}@${row.rev} reads ${row.readByteLength} + ${row.baseReadByteLength}`)
  }
  await expectTexts(t, target, commits)
})

test('content two copied groups hold is indexed once where the source names it by its whole hash (store format 3), and copied twice where it keeps a 4-byte check', async t => {
  const big = randomLines(seededRandom(5), 1200)
  const commits = history(4, 12, 5)
  const sourceDir = await makeTempDir(t)
  const source = await openStore(t, sourceDir, OPTIONS)
  // Two batches and two unrelated files: the source stores the text twice.
  const second = [...history(4, 12, 6).flat().map(r => ({ ...r, file: r.file.replace('src/', 'lib/') })), { file: 'original.txt', rev: 'r1', parents: [], text: big }]
  await source.insert([...commits.flat(), { file: 'copy.txt', rev: 'r1', parents: [], text: big }])
  await source.insert(second)
  // This build's source: a check names no content, so each copy keeps its own record.
  const fromChecks = await openStore(t, await makeTempDir(t), OPTIONS)
  const copied = await fromChecks.fetch(source)
  t.true(copied.reusedGroupCount > 1)
  t.is(copied.duplicateTextCount, 0)
  t.deepEqual(await fromChecks.get('copy.txt', 'r1'), big)
  t.deepEqual(await fromChecks.get('original.txt', 'r1'), big)
  await source.close()
  // A format-3 source keeps the whole hash of a large text: the content is indexed once.
  const texts = new Map([...commits.flat(), ...second, { file: 'copy.txt', rev: 'r1', text: big }].map(r => [`${r.file}@${r.rev}`, r.text]))
  await rewriteAsOldFormat(sourceDir, 3, (file, rev) => texts.get(`${file}@${rev}`) as Uint8Array)
  const oldSource = await openStore(t, sourceDir, { readOnly: true })
  const target = await openStore(t, await makeTempDir(t), OPTIONS)
  const summary = await target.fetch(oldSource)
  t.true(summary.reusedGroupCount > 1)
  t.is(summary.duplicateTextCount, 1)
  const rows = await rowsByKey(target)
  const [copy, original] = [rows.get('copy.txt@r1'), rows.get('original.txt@r1')]
  t.deepEqual({ pack: copy?.pack, groupOffset: copy?.groupOffset, recordStart: copy?.recordStart }, { pack: original?.pack, groupOffset: original?.groupOffset, recordStart: original?.recordStart })
  t.deepEqual(await target.get('copy.txt', 'r1'), big)
  t.deepEqual((await target.verify({ full: true })).problems, [])
})

test('a damaged source group is refused with VSTORE_CORRUPT and the target is left as it was', async t => {
  const commits = history(6, 25, 6)
  const sourceDir = await makeTempDir(t)
  const source = await openStore(t, sourceDir, OPTIONS)
  await source.insert(commits.flat())
  const [row] = await dumpIndex(source)
  await source.close()
  // One byte in the middle of the first group's stored content.
  const packFile = join(sourceDir, (row as IndexDumpRow).pack)
  const bytes = await readFile(packFile)
  const file = await open(packFile, 'r+')
  const at = (row as IndexDumpRow).groupOffset + 200
  await file.write(Uint8Array.of((bytes[at] as number) ^ 0x20), 0, 1, at)
  await file.close()
  const damaged = await openStore(t, sourceDir)
  const dir = await makeTempDir(t)
  const target = await openStore(t, dir, OPTIONS)
  await target.insert([{ file: 'other.txt', rev: 'r1', parents: [], text: Buffer.from('kept\n') }])
  const before = await target.stats()
  await t.throwsAsync(target.fetch(damaged), { code: 'VSTORE_CORRUPT' })
  const after = await target.stats()
  t.like(after, { textCount: before.textCount, groupCount: before.groupCount, packByteLength: before.packByteLength })
  // And the target still takes writes.
  t.is((await target.insert([{ file: 'other.txt', rev: 'r2', parents: ['r1'], text: Buffer.from('kept\nmore\n') }])).newTextCount, 1)
})

test('a key stored here with other content than in the source is refused with VSTORE_EXISTS before anything is written', async t => {
  const commits = history(2, 5, 7)
  const source = await openStore(t, await makeTempDir(t), OPTIONS)
  await source.insert(commits.flat())
  const target = await openStore(t, await makeTempDir(t), OPTIONS)
  const first = commits[0]?.[0] as { file: string; rev: string }
  await target.insert([{ file: first.file, rev: first.rev, parents: [], text: Buffer.from('something else\n') }])
  const before = await target.stats()
  await t.throwsAsync(target.fetch(source), { code: 'VSTORE_EXISTS' })
  t.like(await target.stats(), { textCount: before.textCount, packByteLength: before.packByteLength })
  await t.throwsAsync(target.fetch(source, { files: ['no/such/file'] }), { code: 'VSTORE_NOT_FOUND' })
})
