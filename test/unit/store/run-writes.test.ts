/**
 * The run index at scale and around an older layout (lib/store/run-index.ts, lib/index/run-writes.ts): a
 * batch of one file's 200,000 texts, and the upgrade of 150,000 one-file runs, are written without passing
 * a call's argument limit; in a store of format 5 (a file a run) a damaged run of one file leaves the next
 * file readable. Real LevelDB.
 */
import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { VstoreError } from '../../../lib/errors.js'
import { openLevelDb, type KeyValueStore } from '../../../lib/index/leveldb.js'
import { RUN_VALUE_VERSION, RUN_VALUE_VERSION_2, TAG_FILE_RUN, decodeRunSections, encodeRunKey, encodeRunSections } from '../../../lib/index/runs.js'
import type { TextLocation } from '../../../lib/index/types.js'
import { RunIndex } from '../../../lib/store/run-index.js'
import type { TextEntry } from '../../../lib/store/types.js'
import { makeTempDir } from '../../helpers/tmp.js'

const location = (seed: number): TextLocation => ({
  packId: 1, groupOffset: 8 + seed * 100, readByteLength: 50 + seed, recordStart: 0, recordEnd: 10, decodedByteLength: 10, textByteLength: seed,
  hash: Uint8Array.of(seed & 0xff, 1, 2, 3), baseDepth: 0, baseReadByteLength: 0, baseDecodedByteLength: 0,
})
const entryOf = (seed: number, parents: string[] = []): TextEntry => ({ ...location(seed), parents })

async function withDb<T>(t: ExecutionContext, body: (db: KeyValueStore) => Promise<T>): Promise<T> {
  const dir = await makeTempDir(t)
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: true })
  try {
    return await body(db)
  } finally {
    await db.close()
  }
}

test('one batch of 200,000 texts of one file is written in runs (more changes than a call takes arguments)', async t => {
  await withDb(t, async db => {
    const index = new RunIndex(db)
    const count = 200_000
    const changes = Array.from({ length: count }, (_, i) => ({ key: { file: 'ChangeLog', rev: `r${i}` }, entry: entryOf(i, i === 0 ? [] : [`r${i - 1}`]) }))
    const { operations, written } = await index.operations(changes)
    await db.write(operations, { sync: false })
    written()
    let entries = 0
    for await (const [key, value] of db.entries(Uint8Array.of(TAG_FILE_RUN))) for (const section of decodeRunSections(key, value, 'test')) entries += section.entries.length
    t.is(entries, count)
    t.like(await new RunIndex(db).tryGetEntry({ file: 'ChangeLog', rev: `r${count - 1}` }), { textByteLength: count - 1 })
  })
})

test('the upgrade of 150,000 one-file runs joins them (more operations than a call takes arguments)', async t => {
  await withDb(t, async db => {
    const count = 150_000
    for (let start = 0; start < count; start += 10_000) {
      const operations = []
      for (let i = start; i < Math.min(count, start + 10_000); i++) {
        const file = `src/file${String(i).padStart(7, '0')}.c`
        const key = encodeRunKey(file, i % 16)
        operations.push({ key, value: encodeRunSections(key, [{ file, entries: [{ rev: i % 16, location: location(1), parents: [] }] }], RUN_VALUE_VERSION_2) })
      }
      await db.write(operations, { sync: false })
    }
    const recoded = await new RunIndex(db).recoded()
    const puts = recoded.operations.filter(operation => operation.value !== undefined)
    t.is(puts.length, Math.ceil(count / 64), 'runs of 64 files')
    t.true(puts.every(operation => operation.value?.[0] === RUN_VALUE_VERSION))
    t.is(recoded.operations.length - puts.length, count - puts.length, 'every other key deleted')
  })
})

test('in a store of format 5 (a file a run), a damaged run of one file leaves the next file\'s texts and lookups as they were', async t => {
  await withDb(t, async db => {
    // Runs of one file each, in value version 2, e's damaged (its checksum's last byte flipped).
    const runs = [{ file: 'e', entries: [0, 2] }, { file: 'f', entries: [1] }]
    for (const { file, entries } of runs) {
      const key = encodeRunKey(file, entries[0] as number)
      const value = encodeRunSections(key, [{ file, entries: entries.map(rev => ({ rev, location: location(rev + 1), parents: [] })) }], RUN_VALUE_VERSION_2)
      if (file === 'e') value[value.length - 1] = (value[value.length - 1] as number) ^ 1
      await db.write([{ key, value }], { sync: false })
    }
    const index = new RunIndex(db, () => false)
    const numbers = await index.revisions.number(['r0', 'r1', 'r2'])
    await db.write(numbers.operations, { sync: false })
    numbers.written()
    const history: string[] = []
    for await (const row of index.fileEntries('f')) history.push(row.rev)
    t.deepEqual(history, ['r1'])
    t.truthy(await index.tryGetEntry({ file: 'f', rev: 'r1' }))
    t.is(await index.tryGetEntry({ file: 'f', rev: 'r0' }), undefined, 'a revision f does not have is not found, not refused')
    // Read as format 6, the run before f may hold f's first texts: its damage is then f's too.
    await t.throwsAsync(new RunIndex(db).tryGetEntry({ file: 'f', rev: 'r0' }), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
  })
})
