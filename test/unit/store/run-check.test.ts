/**
 * verify's check of the run records (store formats 4 to 6) finds what each record's own checksum cannot:
 * two runs that overlap (of one file, or a run of several files and one after it), and a revision id listed
 * under two numbers; and the upgrade from
 * format 4 leaves a run it cannot write again as it is. Records written by hand with valid checksums into
 * a real store's LevelDB.
 */
import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { openLevelDb } from '../../../lib/index/leveldb.js'
import {
  RUN_VALUE_VERSION, RUN_VALUE_VERSION_1, TAG_FILE_RUN, decodeRevisionChunkValue, decodeRunKey, decodeRunSections, decodeRunValue, encodeRevisionChunkKey,
  encodeRevisionChunkValue, encodeRunKey, encodeRunValue, type RunEntry, type RunSection,
} from '../../../lib/index/runs.js'
import { Store, type TextRecord } from '../../../lib/vstore.js'
import { rewriteAsRunFormat } from '../../helpers/old-format.js'
import { makeTempDir } from '../../helpers/tmp.js'

const encoder = new TextEncoder()

async function storeOf(t: ExecutionContext, records: readonly TextRecord[]): Promise<string> {
  const dir = await makeTempDir(t)
  const store = await Store.open(dir, { create: true })
  await store.insert(records)
  await store.close()
  return dir
}

const history = (file: string, count: number): TextRecord[] => Array.from({ length: count }, (_, i) => ({
  file, rev: `r${i}`, parents: i === 0 ? [] : [`r${i - 1}`], text: encoder.encode(`${file} version ${i}\n`.repeat(4 + i)),
}))

async function problemsOf(dir: string): Promise<string[]> {
  const store = await Store.open(dir, { readOnly: true })
  try {
    return (await store.verify({ full: false })).problems.map(problem => problem.message)
  } finally {
    await store.close()
  }
}

test('a run that starts inside the run before it is reported by verify, naming the run', async t => {
  const dir = await storeOf(t, history('a.txt', 6))
  t.deepEqual(await problemsOf(dir), [])
  // The file's one run, split in two whose second restarts inside the first.
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  try {
    let run: { key: Uint8Array; value: Uint8Array } | undefined
    for await (const [key, value] of db.entries(Uint8Array.of(TAG_FILE_RUN))) run = { key, value }
    if (run === undefined) return t.fail('no run')
    const entries = decodeRunValue(run.key, run.value, 'test')
    const { file } = decodeRunKey(run.key)
    const tail = entries.slice(2)
    const tailKey = encodeRunKey(file, (tail[0] as { rev: number }).rev)
    await db.write([{ key: tailKey, value: encodeRunValue(tailKey, tail) }], { sync: true })
  } finally {
    await db.close()
  }
  const problems = await problemsOf(dir)
  t.true(problems.some(message => /starts at or before the end of the one before/.test(message)), problems.join('\n'))
})

test('a run that starts inside a run of several files before it is reported by verify', async t => {
  const dir = await storeOf(t, [...history('a.txt', 2), ...history('b.txt', 3)])
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  try {
    const runs: { key: Uint8Array; value: Uint8Array }[] = []
    for await (const [key, value] of db.entries(Uint8Array.of(TAG_FILE_RUN))) runs.push({ key, value })
    const [run] = runs
    if (run === undefined || runs.length !== 1) return t.fail(`${runs.length} runs`)
    const sections = decodeRunSections(run.key, run.value, 'test')
    t.deepEqual(sections.map(section => section.file), ['a.txt', 'b.txt'], 'both files in one run')
    // b.txt's entries again, in a run of their own that the run before still covers.
    const b = sections[1] as RunSection
    const key = encodeRunKey(b.file, (b.entries[0] as RunEntry).rev)
    await db.write([{ key, value: encodeRunValue(key, b.entries) }], { sync: true })
  } finally {
    await db.close()
  }
  const problems = await problemsOf(dir)
  t.true(problems.some(message => /starts at or before the end of the one before \(b\.txt at revision number/.test(message)), problems.join('\n'))
})

test('a revision id listed under two numbers is reported by verify', async t => {
  const dir = await storeOf(t, history('a.txt', 3))
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  try {
    const key = encodeRevisionChunkKey(0)
    const revs = decodeRevisionChunkValue(key, (await db.get(key)) as Uint8Array, 'test')
    await db.write([{ key, value: encodeRevisionChunkValue(key, [...revs, revs[0] as string]) }], { sync: true })
  } finally {
    await db.close()
  }
  const problems = await problemsOf(dir)
  t.true(problems.some(message => /is listed twice, as numbers 0 and 3/.test(message)), problems.join('\n'))
})

test('the upgrade from store format 4 leaves a version 1 run that decodes but does not fit this build\'s version as it is, and upgrades the rest', async t => {
  const dir = await storeOf(t, [...history('a.txt', 2), ...history('b.txt', 3)])
  await rewriteAsRunFormat(dir, 4)
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  let odd: Uint8Array | undefined
  for await (const [key, value] of db.entries(Uint8Array.of(TAG_FILE_RUN))) {
    if (decodeRunKey(key).file !== 'a.txt') continue
    const entries = decodeRunValue(key, value, 'test')
    // Checksum right, fields absurd: a second record 2^48 bytes long starting 2^48 - 1 bytes in, whose
    // start, coded against where the first begins less its length, needs more than a varint.
    const [first, second] = entries as [typeof entries[number], typeof entries[number]]
    const big = 2 ** 48
    entries[0] = { ...first, location: { ...first.location, recordStart: 0, recordEnd: 1, decodedByteLength: big } }
    entries[1] = { ...second, location: { ...first.location, recordStart: big - 1, recordEnd: 2 * big - 1, decodedByteLength: 2 * big - 1 } }
    odd = encodeRunValue(key, entries, RUN_VALUE_VERSION_1)
  }
  if (odd === undefined) return t.fail('no run of a.txt')
  await db.write([{ key: encodeRunKey('a.txt', 0), value: odd }], { sync: true })
  await db.close()
  const store = await Store.open(dir)
  await store.upgrade()
  await store.close()
  const after = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  const versions = new Map<string, number>()
  for await (const [key, value] of after.entries(Uint8Array.of(TAG_FILE_RUN))) {
    versions.set(decodeRunKey(key).file, value[0] as number)
    if (decodeRunKey(key).file === 'a.txt') t.deepEqual(value, odd, 'left as it was')
  }
  await after.close()
  t.deepEqual(Object.fromEntries(versions), { 'a.txt': RUN_VALUE_VERSION_1, 'b.txt': RUN_VALUE_VERSION })
})
