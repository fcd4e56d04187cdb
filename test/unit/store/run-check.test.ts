/**
 * verify's check of the run records (store format 4) finds what each record's own checksum cannot: two
 * runs of one file that overlap, and a revision id listed under two numbers. Records written by hand with
 * valid checksums into a real store's LevelDB.
 */
import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { openLevelDb } from '../../../lib/index/leveldb.js'
import { TAG_FILE_RUN, decodeRevisionChunkValue, decodeRunKey, decodeRunValue, encodeRevisionChunkKey, encodeRevisionChunkValue, encodeRunKey, encodeRunValue } from '../../../lib/index/runs.js'
import { Store, type TextRecord } from '../../../lib/vstore.js'
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
