/**
 * A corpus replayed one revision at a time (a commit, or a release, per insert), the way a VCS plugin
 * or a release-by-release import fills a store, with `Store.pack` run by a simple rule:
 *
 *   node dist/scripts/replay.js CORPUS_DIR WORK_DIR [--pack-factor F] [--final-pack] [--codec C] [--max-base-depth D]
 *
 * After each insert, when the pack bytes appended since the last pack reach F × the packs' size right
 * after it (and at least 1 MiB), the store is packed. F = 0 never packs; --final-pack packs once more at the end. Prints one JSON object: the
 * final store, the bytes written to packs over the replay (appends and repacks), and their ratio to the
 * bytes stored at the end (write amplification), with one line per pack on stderr.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Store } from '../lib/vstore.js'
import { readBlob, readManifest, type CorpusEntry } from './corpus.js'
import { percentile, seededRandom } from './stats.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'pack-factor': { type: 'string' }, codec: { type: 'string' }, 'max-base-depth': { type: 'string' }, 'final-pack': { type: 'boolean' } },
})
const [corpus, work] = positionals
if (corpus === undefined || work === undefined) throw new Error('usage: replay CORPUS_DIR WORK_DIR [--pack-factor F] [--codec C]')
const packFactor = Number(values['pack-factor'] ?? 0)
const MIN_PACK_TRIGGER_BYTE_LENGTH = 1024 * 1024

const entries = await readManifest(corpus)
const batches: CorpusEntry[][] = []
for (const entry of entries) {
  const last = batches.at(-1)
  if (last !== undefined && (last[0] as CorpusEntry).rev === entry.rev) last.push(entry)
  else batches.push([entry])
}

const storeDir = join(work, 'replay')
await rm(storeDir, { recursive: true, force: true })
const store = await Store.open(storeDir, {
  create: true,
  ...(values.codec === undefined ? {} : { codec: values.codec }),
  ...(values['max-base-depth'] === undefined ? {} : { maxBaseDepth: Number(values['max-base-depth']) }),
})
const started = performance.now()
let appendedByteLength = 0
let repackedByteLength = 0
let packCount = 0
let packSeconds = 0
let packedByteLength = 0
let rawByteLength = 0
const packBytes = async () => (await store.stats()).packByteLength
for (const batch of batches) {
  const summary = await store.insert((async function* () {
    for (const entry of batch) yield { file: entry.file, rev: entry.rev, parents: entry.parents, text: await readBlob(corpus, entry.sha256) }
  })())
  appendedByteLength += summary.storedByteLength
  rawByteLength += summary.rawByteLength
  if (packFactor > 0) {
    const now = await packBytes()
    if (now - packedByteLength >= Math.max(MIN_PACK_TRIGGER_BYTE_LENGTH, packFactor * packedByteLength)) {
      const packStarted = performance.now()
      const packed = await store.pack()
      packSeconds += (performance.now() - packStarted) / 1000
      packCount++
      repackedByteLength += packed.packByteLength
      packedByteLength = packed.packByteLength
      process.stderr.write(`pack ${packCount} after ${batch[0]?.rev}: ${packed.oldPackByteLength} → ${packed.packByteLength} bytes (${packed.oldGroupCount} → ${packed.groupCount} groups)\n`)
    }
  }
}
if (values['final-pack'] === true) {
  const packStarted = performance.now()
  const packed = await store.pack()
  packSeconds += (performance.now() - packStarted) / 1000
  packCount++
  repackedByteLength += packed.packByteLength
}
const seconds = (performance.now() - started) / 1000
const stats = await store.stats()
// Extraction of a fixed-seed sample of keys, as the bench measures it (scripts/bench-vstore.ts).
const random = seededRandom(1)
const times: number[] = []
for (let i = 0; i < Math.min(200, entries.length); i++) {
  const entry = entries[Math.floor(random() * entries.length)] as CorpusEntry
  const extractStarted = performance.now()
  await store.get(entry.file, entry.rev)
  times.push(performance.now() - extractStarted)
}
await store.close()
process.stdout.write(`${JSON.stringify({
  corpus,
  batchCount: batches.length,
  textCount: stats.textCount,
  rawByteLength,
  packFactor,
  packCount,
  storeByteLength: stats.storeByteLength,
  packByteLength: stats.packByteLength,
  indexByteLength: stats.indexByteLength,
  groupCount: stats.groupCount,
  appendedByteLength,
  repackedByteLength,
  writeAmplification: (appendedByteLength + repackedByteLength) / stats.packByteLength,
  readMedian: stats.readByteLength.median,
  readMax: stats.readByteLength.max,
  extract: { p50Ms: percentile(times, 0.5), p95Ms: percentile(times, 0.95), p99Ms: percentile(times, 0.99), maxMs: Math.max(...times) },
  seconds,
  packSeconds,
})}\n`)
