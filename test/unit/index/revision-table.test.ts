import test from 'ava'
import { join } from 'node:path'
import { openLevelDb, type KeyValueStore } from '../../../lib/index/leveldb.js'
import { RevisionTable } from '../../../lib/index/revision-table.js'
import { makeTempDir } from '../../helpers/tmp.js'

/** A real LevelDB whose reads are counted. */
async function countedDb(dir: string): Promise<{ db: KeyValueStore; reads: () => number }> {
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: true })
  let reads = 0
  const get = db.get.bind(db)
  db.get = async key => {
    reads++
    return get(key)
  }
  return { db, reads: () => reads }
}

test('an id looked up and not found is not looked up in its bucket again, and once numbered and written it is found', async t => {
  const { db, reads } = await countedDb(await makeTempDir(t, 'vstore-revisions-'))
  t.teardown(() => db.close())
  const table = new RevisionTable(db)
  t.is(await table.numberOf('r1'), undefined)
  const afterFirst = reads()
  t.is(await table.numberOf('r1'), undefined)
  t.is(reads(), afterFirst, 'the second look-up read nothing')
  // A batch that numbers it but is never written (a failed commit) leaves it absent, and numbers it the same next time.
  const lost = await table.number(['r1', 'r2'])
  t.deepEqual([...lost.numbers], [['r1', 0], ['r2', 1]])
  t.is(await table.numberOf('r1'), undefined)
  const numbered = await table.number(['r2', 'r1'])
  t.deepEqual([...numbered.numbers], [['r2', 0], ['r1', 1]])
  await db.write(numbered.operations, { sync: true })
  numbered.written()
  t.is(await table.numberOf('r1'), 1)
  t.is(await table.numberOf('r2'), 0)
  // A second table over the same records (another open) finds them through the buckets.
  const reopened = new RevisionTable(db)
  t.is(await reopened.numberOf('r1'), 1)
  t.is(await reopened.numberOf('r3'), undefined)
})
