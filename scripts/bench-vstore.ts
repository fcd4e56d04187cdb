/**
 * vstore's side of the benchmark, in the same shape as the peers' programs (scripts/peers/):
 *
 *   node dist/scripts/bench-vstore.js CORPUS_DIR WORK_DIR [--sample N] [--seed S] [--codec C] [--cli-sample N]
 *
 * Imports the corpus through the library (one insert of the whole history), then extracts a
 * fixed-seed sample of keys cold (a fresh read per key; vstore keeps no group cache), counting the
 * pack bytes each read takes, and runs `vstore extract` end to end for a smaller sample. Prints
 * one JSON object.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Store } from '../lib/vstore.js'
import { readCorpus, readManifest, type CorpusEntry } from './corpus.js'
import { percentile, seededRandom } from './stats.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sample: { type: 'string' },
    seed: { type: 'string' },
    codec: { type: 'string' },
    'cli-sample': { type: 'string' },
    'large-text-factor': { type: 'string' },
    'max-rebuild': { type: 'string' },
    'min-copy': { type: 'string' },
  },
})
const [corpus, work] = positionals
if (corpus === undefined || work === undefined) throw new Error('usage: bench-vstore CORPUS_DIR WORK_DIR [--sample N] [--seed S] [--codec C]')
const storeDir = join(work, 'vstore')
await rm(storeDir, { recursive: true, force: true })
await mkdir(work, { recursive: true })

const entries = await readManifest(corpus)
const rawByteLength = entries.reduce((sum, e) => sum + e.byteLength, 0)

const importStarted = performance.now()
const store = await Store.open(storeDir, {
  create: true,
  ...(values.codec === undefined ? {} : { codec: values.codec }),
  ...(values['large-text-factor'] === undefined ? {} : { largeTextFactor: Number(values['large-text-factor']) }),
  ...(values['max-rebuild'] === undefined ? {} : { maxRebuildByteLength: Number(values['max-rebuild']) }),
  ...(values['min-copy'] === undefined ? {} : { minCopyByteLength: Number(values['min-copy']) }),
})
await store.insert(readCorpus(corpus))
const importSeconds = (performance.now() - importStarted) / 1000
const stats = await store.stats()

const random = seededRandom(Number(values.seed ?? 1))
const sampleSize = Math.min(entries.length, Number(values.sample ?? 200))
const sample: CorpusEntry[] = []
for (let i = 0; i < sampleSize; i++) sample.push(entries[Math.floor(random() * entries.length)] as CorpusEntry)
const times: number[] = []
const reads: number[] = []
const decoded: number[] = []
for (const entry of sample) {
  const before = store.readCounter.readByteLength
  const started = performance.now()
  const text = await store.get(entry.file, entry.rev)
  times.push(performance.now() - started)
  reads.push(store.readCounter.readByteLength - before)
  decoded.push((await store.getEntry(entry.file, entry.rev)).decodedByteLength)
  if (createHash('sha256').update(text).digest('hex') !== entry.sha256) throw new Error(`wrong bytes for ${entry.file}@${entry.rev}`)
}
await store.close()

// End to end: `vstore extract` as a user runs it, next to the start-up of a bare `node -e ''`.
const cliSample = sample.slice(0, Number(values['cli-sample'] ?? 20))
const bin = join(ROOT, 'bin', 'vstore')
const timeCommand = (args: readonly string[]): number => {
  const started = performance.now()
  const run = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  if (run.status !== 0) throw new Error(`${args.join(' ')}: ${run.stderr.toString()}`)
  return performance.now() - started
}
const cliTimes = cliSample.map(entry => timeCommand([bin, '--store', storeDir, 'extract', `${entry.file}@${entry.rev}`]))
const nodeTimes = cliSample.map(() => timeCommand(['-e', '']))

let commit = 'unknown'
try {
  commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
} catch {
  // not a checkout
}

console.log(JSON.stringify({
  system: 'vstore',
  version: `${commit} (${values.codec ?? 'default codec'})`,
  notes: 'storedBytes = packs + LevelDB index on disk; extraction cold, in-process, one insert of the whole history',
  texts: entries.length,
  rawBytes: rawByteLength,
  storedBytes: stats.storeByteLength,
  packBytes: stats.packByteLength,
  indexBytes: stats.indexByteLength,
  groups: stats.groupCount,
  importSeconds,
  importMBps: rawByteLength / 1e6 / importSeconds,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  extract: { sample: times.length, p50Ms: percentile(times, 0.5), p95Ms: percentile(times, 0.95), p99Ms: percentile(times, 0.99), maxMs: Math.max(...times) },
  readBytes: { p50: percentile(reads, 0.5), max: Math.max(...reads), allKeysMedian: stats.readByteLength.median, allKeysMax: stats.readByteLength.max },
  decompressedBytes: { p50: percentile(decoded, 0.5), max: Math.max(...decoded), allKeysMedian: stats.decompressedByteLength.median, allKeysMax: stats.decompressedByteLength.max },
  cli: { sample: cliTimes.length, extractP50Ms: percentile(cliTimes, 0.5), nodeStartP50Ms: percentile(nodeTimes, 0.5) },
}))
