/**
 * A corpus replayed one revision at a time (a commit, or a release, per insert), the way a VCS plugin
 * or a release-by-release import fills a store, with the store's automatic packing (or without it), and
 * compared with one insert of the same history:
 *
 *   node dist/scripts/replay.js CORPUS_DIR WORK_DIR [--no-auto-pack] [--auto-pack-factor N]
 *     [--pack-factor F] [--final-pack] [--curve] [--codec C] [--max-base-depth D] [--text-only]
 *
 * `--text-only` leaves out every file any version of which is binary (git's rule: a NUL byte in the first
 * 8,000 bytes), in the replay and in the bulk insert it is compared with.
 *
 * Prints one JSON object: the final store and a bulk insert's, the bytes written to packs over the replay
 * (appends, automatic packing and any `--pack-factor` packs) over the bytes stored at the end (write
 * amplification), the slowest insert, and extraction times and reads per extraction for a fixed sample of
 * keys. `--curve` also measures, at every 10 % of the replay, the store against a bulk insert of the
 * history so far, and the extractions there. `--pack-factor F` runs a whole `Store.pack` whenever the pack
 * bytes appended since the last one reach F × its output (and at least 1 MiB); one line per pack, automatic
 * or not, goes to stderr.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { isBinary } from '../lib/delta/line-diff.js'
import { Store, type StoreOptions } from '../lib/vstore.js'
import { readBlob, readManifest, type CorpusEntry } from './corpus.js'
import { percentile, seededRandom } from './stats.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'pack-factor': { type: 'string' }, codec: { type: 'string' }, 'max-base-depth': { type: 'string' }, 'final-pack': { type: 'boolean' },
    'no-auto-pack': { type: 'boolean' }, 'auto-pack-factor': { type: 'string' }, curve: { type: 'boolean' }, 'text-only': { type: 'boolean' },
  },
})
const [corpus, work] = positionals
if (corpus === undefined || work === undefined) throw new Error('usage: replay CORPUS_DIR WORK_DIR [--no-auto-pack] [--auto-pack-factor N] [--pack-factor F] [--final-pack] [--curve] [--text-only]')
const packFactor = Number(values['pack-factor'] ?? 0)
const MIN_PACK_TRIGGER_BYTE_LENGTH = 1024 * 1024
const SAMPLE_SIZE = 200

const options: StoreOptions = {
  ...(values.codec === undefined ? {} : { codec: values.codec }),
  ...(values['max-base-depth'] === undefined ? {} : { maxBaseDepth: Number(values['max-base-depth']) }),
  ...(values['auto-pack-factor'] === undefined ? {} : { autoPackFactor: Number(values['auto-pack-factor']) }),
  autoPack: values['no-auto-pack'] !== true,
}

/**
 * The corpus's versions, without the files any version of which is binary (git's rule) with `--text-only`:
 * what a VCS storing source text would give the store (jq: 12 files, 14 versions).
 */
async function corpusEntries(dir: string, textOnly: boolean): Promise<CorpusEntry[]> {
  const all = await readManifest(dir)
  if (!textOnly) return all
  const binary = new Set<string>()
  for (const entry of all) if (!binary.has(entry.file) && isBinary(await readBlob(dir, entry.sha256))) binary.add(entry.file)
  return all.filter(entry => !binary.has(entry.file))
}

const entries = await corpusEntries(corpus, values['text-only'] === true)
const batches: CorpusEntry[][] = []
for (const entry of entries) {
  const last = batches.at(-1)
  if (last !== undefined && (last[0] as CorpusEntry).rev === entry.rev) last.push(entry)
  else batches.push([entry])
}

async function* recordsOf(batch: readonly CorpusEntry[]) {
  for (const entry of batch) yield { file: entry.file, rev: entry.rev, parents: entry.parents, text: await readBlob(corpus as string, entry.sha256), ...(entry.origin === undefined ? {} : { origin: entry.origin }) }
}

/** Store bytes of one insert (no automatic packing) of the first `batchCount` batches. */
async function bulkByteLength(batchCount: number): Promise<number> {
  const dir = join(work as string, 'bulk')
  await rm(dir, { recursive: true, force: true })
  const bulk = await Store.open(dir, { ...options, create: true, autoPack: false })
  await bulk.insert(recordsOf(batches.slice(0, batchCount).flat()))
  const { storeByteLength } = await bulk.stats()
  await bulk.close()
  await rm(dir, { recursive: true, force: true })
  return storeByteLength
}

/**
 * Extraction times and reads of a fixed-seed sample of the keys stored so far, as the bench samples them:
 * through a reader of its own (a writer keeps decoded groups, which would make the reads warm).
 */
async function extractions(dir: string, stored: readonly CorpusEntry[]) {
  const store = await Store.open(dir, { readOnly: true })
  try {
    return await sampledExtractions(store, stored)
  } finally {
    await store.close()
  }
}

async function sampledExtractions(store: Store, stored: readonly CorpusEntry[]) {
  const random = seededRandom(1)
  const times: number[] = []
  const reads: number[] = []
  for (let i = 0; i < Math.min(SAMPLE_SIZE, stored.length); i++) {
    const entry = stored[Math.floor(random() * stored.length)] as CorpusEntry
    const readsBefore = store.readCounter.readCount
    const started = performance.now()
    await store.get(entry.file, entry.rev)
    times.push(performance.now() - started)
    reads.push(store.readCounter.readCount - readsBefore)
  }
  return { p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99), maxMs: Math.max(...times), readsMax: Math.max(...reads) }
}

const storeDir = join(work, 'replay')
await rm(storeDir, { recursive: true, force: true })
const store = await Store.open(storeDir, { ...options, create: true })
const started = performance.now()
let appendedByteLength = 0
let repackedByteLength = 0
let packCount = 0
let autoPackCount = 0
let packSeconds = 0
let packedByteLength = 0
let rawByteLength = 0
let slowestInsertMs = 0
const curve: unknown[] = []
const tenths = new Set(Array.from({ length: 10 }, (_, i) => Math.max(1, Math.round(((i + 1) * batches.length) / 10))))
let timedSeconds = 0
for (const [i, batch] of batches.entries()) {
  const insertStarted = performance.now()
  const summary = await store.insert(recordsOf(batch))
  const insertMs = performance.now() - insertStarted
  timedSeconds += insertMs / 1000
  slowestInsertMs = Math.max(slowestInsertMs, insertMs)
  appendedByteLength += summary.storedByteLength
  rawByteLength += summary.rawByteLength
  if (summary.packProblem !== undefined) throw new Error(`automatic packing failed: ${summary.packProblem}`)
  if (summary.packed !== undefined) {
    autoPackCount++
    repackedByteLength += summary.packed.writtenByteLength
    process.stderr.write(`auto-pack ${autoPackCount} after ${batch[0]?.rev} (${i + 1}/${batches.length}): ${summary.packed.textCount} texts, wrote ${summary.packed.writtenByteLength} bytes; packs ${summary.packed.oldPackByteLength} → ${summary.packed.packByteLength} (${insertMs.toFixed(0)} ms)\n`)
  }
  if (packFactor > 0) {
    const now = (await store.stats()).packByteLength
    if (now - packedByteLength >= Math.max(MIN_PACK_TRIGGER_BYTE_LENGTH, packFactor * packedByteLength)) {
      const packStarted = performance.now()
      const packed = await store.pack()
      packSeconds += (performance.now() - packStarted) / 1000
      packCount++
      repackedByteLength += packed.writtenByteLength
      packedByteLength = packed.packByteLength
      process.stderr.write(`pack ${packCount} after ${batch[0]?.rev}: ${packed.oldPackByteLength} → ${packed.packByteLength} bytes (${packed.oldGroupCount} → ${packed.groupCount} groups)\n`)
    }
  }
  if (values.curve === true && tenths.has(i + 1)) {
    const stats = await store.stats()
    const bulk = await bulkByteLength(i + 1)
    const point = { batches: i + 1, storeByteLength: stats.storeByteLength, bulkByteLength: bulk, ratio: stats.storeByteLength / bulk, packs: stats.packCount, extract: await extractions(storeDir, batches.slice(0, i + 1).flat()) }
    curve.push(point)
    process.stderr.write(`${JSON.stringify(point)}\n`)
  }
}
if (values['final-pack'] === true) {
  const packStarted = performance.now()
  const packed = await store.pack()
  packSeconds += (performance.now() - packStarted) / 1000
  packCount++
  repackedByteLength += packed.writtenByteLength
}
const seconds = (performance.now() - started) / 1000
const stats = await store.stats()
const extract = await extractions(storeDir, entries)
const packs = stats.packCount
await store.close()
const bulk = await bulkByteLength(batches.length)
process.stdout.write(`${JSON.stringify({
  corpus,
  batchCount: batches.length,
  textCount: stats.textCount,
  rawByteLength,
  autoPack: options.autoPack,
  autoPackCount,
  packFactor,
  packCount,
  packs,
  storeByteLength: stats.storeByteLength,
  bulkByteLength: bulk,
  ratioToBulk: stats.storeByteLength / bulk,
  packByteLength: stats.packByteLength,
  indexByteLength: stats.indexByteLength,
  groupCount: stats.groupCount,
  appendedByteLength,
  repackedByteLength,
  writeAmplification: (appendedByteLength + repackedByteLength) / stats.packByteLength,
  readMedian: stats.readByteLength.median,
  readMax: stats.readByteLength.max,
  extract,
  insertsPerSecond: batches.length / timedSeconds,
  slowestInsertMs,
  seconds,
  packSeconds,
  ...(curve.length === 0 ? {} : { curve }),
})}\n`)
