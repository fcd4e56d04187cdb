/**
 * The run index against a model (lib/store/run-index.ts, lib/index/run-writes.ts): any sequence of batches
 * of puts and deletes over a few files and revisions, committed to a real LevelDB, reads back exactly as a
 * map of keys to entries says, through the index that wrote it (its runs kept in memory, kept current by
 * its own commits), through a fresh one reading from disk, and through a writer that reads every run from
 * disk for each batch. Runs stay within their lengths and hold each entry once, in order of file and number,
 * a run going on from one file into the next where the writer chose so.
 */
import test from 'ava'
import fc from 'fast-check'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { openLevelDb, type KeyValueStore } from '../../lib/index/leveldb.js'
import { MAX_RUN_LENGTH, TAG_FILE_RUN, comparePositions, decodeRunKey, decodeRunSections } from '../../lib/index/runs.js'
import { RunIndex } from '../../lib/store/run-index.js'
import type { TextEntry, TextKey } from '../../lib/store/types.js'
import { PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'

const FILES = ['a', 'b/c.txt', 'b/c.txt2', 'b/d']
const REVS = Array.from({ length: 90 }, (_, i) => (i % 3 === 0 ? `r${i}` : (BigInt(i + 1) * 0x9e3779b97f4a7c15n).toString(16).padStart(40, '0').slice(-40)))

function entryOf(seed: number, parents: readonly string[], origin: TextKey | undefined): TextEntry {
  const base = {
    packId: 1 + (seed % 3), groupOffset: 8 + (seed % 7) * 100, readByteLength: 50 + seed, recordStart: seed % 40, recordEnd: (seed % 40) + 1 + (seed % 9),
    decodedByteLength: 100 + seed, textByteLength: seed * 3, hash: Uint8Array.of(seed & 0xff, 1, 2, 3), baseDepth: 0, baseReadByteLength: 0, baseDecodedByteLength: 0,
  }
  return origin === undefined ? { ...base, parents } : { ...base, parents, origin }
}

/** A batch: puts (with parents among earlier revisions) and deletes, by indexes into FILES and REVS. */
const batchArbitrary = fc.array(fc.record({
  file: fc.nat(FILES.length - 1), rev: fc.nat(REVS.length - 1), put: fc.boolean(), seed: fc.nat(1000),
  parents: fc.array(fc.nat(REVS.length - 1), { maxLength: 2 }), origin: fc.option(fc.nat(REVS.length - 1), { nil: undefined }),
}), { minLength: 1, maxLength: 70 })

async function withDb<T>(body: (db: KeyValueStore) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'vstore-run-index-'))
  const db = await openLevelDb(dir, dir, { create: true })
  try {
    return await body(db)
  } finally {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  }
}

async function commit(db: KeyValueStore, index: RunIndex, changes: { key: TextKey; entry: TextEntry | undefined }[]): Promise<void> {
  const { operations, written } = await index.operations(changes)
  await db.write(operations, { sync: false })
  written()
}

async function readAll(index: RunIndex, files: readonly string[]): Promise<Map<string, TextEntry>> {
  const found = new Map<string, TextEntry>()
  for (const file of files) for await (const row of index.fileEntries(file)) found.set(`${row.file}@${row.rev}`, row.entry)
  return found
}

test('any batches of puts and deletes read back as the model says, from the writer\'s memory, from disk, and by a writer that reads every run again', async t => {
  let spanning = 0
  await t.notThrowsAsync(fc.assert(fc.asyncProperty(fc.array(batchArbitrary, { minLength: 1, maxLength: 6 }), fc.boolean(), async (batches, rereadEachBatch) => {
    await withDb(async db => {
      let writer = new RunIndex(db)
      const model = new Map<string, TextEntry>()
      for (const batch of batches) {
        const changes: { key: TextKey; entry: TextEntry | undefined }[] = []
        for (const draft of batch) {
          const key = { file: FILES[draft.file] as string, rev: REVS[draft.rev] as string }
          const name = `${key.file}@${key.rev}`
          // Parents and origins name revisions only (a run keeps them by number), so any will do.
          const origin = draft.origin === undefined ? undefined : { file: FILES[(draft.file + 1) % FILES.length] as string, rev: REVS[draft.origin] as string }
          const entry = draft.put ? entryOf(draft.seed, draft.parents.filter(p => p !== draft.rev).map(p => REVS[p] as string), origin) : undefined
          changes.push({ key, entry })
          // The index keeps no decoded length (from store format 5 on): it gives the record's end.
          if (entry === undefined) model.delete(name)
          else model.set(name, { ...entry, decodedByteLength: entry.recordEnd })
        }
        if (rereadEachBatch) writer = new RunIndex(db)
        // Half the files are read first, so that the writer keeps their runs in memory.
        if (batch.length % 2 === 0) await readAll(writer, FILES)
        await commit(db, writer, changes)
      }
      for (const reader of [writer, new RunIndex(db)]) {
        const found = await readAll(reader, FILES)
        if (!isDeepStrictEqual(found, model)) throw new Error(`read ${found.size} entries, the model has ${model.size}`)
        for (const [name, entry] of model) {
          const at = name.lastIndexOf('@')
          const got = await reader.tryGetEntry({ file: name.slice(0, at), rev: name.slice(at + 1) })
          if (!isDeepStrictEqual(got, entry)) throw new Error(`${name}: ${JSON.stringify(got)}`)
        }
      }
      // The runs hold each entry once, in position order (file, then number) across runs, each run within
      // the decoder's length and starting at its key.
      let before: { file: string; rev: number } | undefined
      for await (const [key, value] of db.entries(Uint8Array.of(TAG_FILE_RUN))) {
        const { file, firstRev } = decodeRunKey(key)
        const sections = decodeRunSections(key, value, 'test')
        const count = sections.reduce((sum, section) => sum + section.entries.length, 0)
        if (sections.length > 1) spanning++
        if (count > MAX_RUN_LENGTH || sections[0]?.file !== file || sections[0]?.entries[0]?.rev !== firstRev) throw new Error(`run ${file}@${firstRev}`)
        for (const section of sections) {
          for (const entry of section.entries) {
            const position = { file: section.file, rev: entry.rev }
            if (before !== undefined && comparePositions(before, position) >= 0) throw new Error(`${section.file}: entry ${entry.rev} out of order or twice`)
            before = position
          }
        }
      }
    })
  }), { seed: PROPERTY_SEED, numRuns: Math.max(20, Math.floor(PROPERTY_RUNS / 5)) }))
  t.true(spanning > 0, 'some runs went on from one file into the next')
})

test('a read of a file\'s runs that a commit overlaps is not kept: the next commit of that file builds on what is on disk', async t => {
  await withDb(async real => {
    // A store whose reads of runs take their snapshot, then wait for `release`.
    let release: () => void = () => {}
    let gate: Promise<void> | undefined
    const db: KeyValueStore = {
      ...real,
      async *entries(prefix, from, options) {
        const iterator = real.entries(prefix, from, options)[Symbol.asyncIterator]()
        const first = await iterator.next()
        if (gate !== undefined) await gate
        for (let next = first; next.done !== true; next = await iterator.next()) yield next.value
      },
    }
    const index = new RunIndex(db)
    const put = (rev: string, parents: string[]) => ({ key: { file: 'a', rev }, entry: entryOf(rev.length * 7, parents, undefined) })
    await commit(db, index, [put('r1', [])])
    gate = new Promise(resolve => { release = resolve })
    const reading = readAll(index, ['a'])
    await new Promise(resolve => setTimeout(resolve, 20))
    await commit(db, index, [put('r2', ['r1'])])
    release()
    gate = undefined
    t.deepEqual([...(await reading).keys()], ['a@r1'], 'the read saw the runs as they were')
    await commit(db, index, [put('r3', ['r2'])])
    for (const reader of [index, new RunIndex(real)]) t.deepEqual([...(await readAll(reader, ['a'])).keys()].sort(), ['a@r1', 'a@r2', 'a@r3'])
  })
})

test('a read of a file\'s runs that straddles a commit\'s write (the run before the file read before it, the file\'s own after) is not kept', async t => {
  await withDb(async real => {
    // Reads of a range wait for `gate` when one is set: the read of c's own runs is held until the commit is written.
    let gate: Promise<void> | undefined
    const db: KeyValueStore = {
      ...real,
      async *entries(prefix, from, options) {
        if (gate !== undefined) await gate
        yield* real.entries(prefix, from, options)
      },
    }
    const index = new RunIndex(db)
    const put = (file: string, rev: string, seed: number) => ({ key: { file, rev }, entry: entryOf(seed, [], undefined) })
    await commit(db, index, [put('a', 'r1', 1), put('a', 'r2', 2), put('b', 'r1', 3), put('b', 'r2', 4), put('c', 'r3', 5), put('c', 'r4', 6)])
    // A commit that moves one of c's texts, so that c gets a run of its own; c's history is read meanwhile.
    const moving = await index.operations([put('c', 'r3', 9)])
    let open: () => void = () => {}
    gate = new Promise(resolve => { open = resolve })
    const readingC = readAll(index, ['c'])
    await new Promise(resolve => setTimeout(resolve, 20))
    await real.write(moving.operations, { sync: false })
    gate = undefined
    await readAll(index, ['b'])
    open()
    await readingC
    moving.written()
    // The next commit of c, at a revision numbered before its first (r1, a's and b's): it must build on the runs on disk.
    await commit(db, index, [put('c', 'r1', 10)])
    const expected = ['c@r1', 'c@r3', 'c@r4']
    for (const reader of [index, new RunIndex(real)]) t.deepEqual([...(await readAll(reader, ['c'])).keys()].sort(), expected)
    t.is((await index.tryGetEntry({ file: 'c', rev: 'r3' }))?.textByteLength, entryOf(9, [], undefined).textByteLength, 'the moved text where the commit put it')
  })
})
