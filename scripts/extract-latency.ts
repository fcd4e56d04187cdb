/**
 * Extraction cost on an existing store: a fixed-seed sample of keys, each read cold (no cache), timed
 * in-process, with the pack bytes each one read.
 *
 *   node dist/scripts/extract-latency.js STORE [--sample 1000] [--seed 1]
 */
import { parseArgs } from 'node:util'
import { Store } from '../lib/vstore.js'
import { percentile, seededRandom } from './stats.js'

const { values, positionals } = parseArgs({ allowPositionals: true, options: { sample: { type: 'string' }, seed: { type: 'string' } } })
const dir = positionals[0]
if (dir === undefined) throw new Error('usage: extract-latency STORE [--sample N] [--seed S]')
const store = await Store.open(dir)
const keys: { file: string; rev: string }[] = []
for await (const { file, rev } of store.entries()) keys.push({ file, rev })

const random = seededRandom(Number(values.seed ?? 1))
const sampleSize = Math.min(keys.length, Number(values.sample ?? 1000))
const times: number[] = []
const reads: number[] = []
for (let i = 0; i < sampleSize; i++) {
  const key = keys[Math.floor(random() * keys.length)] as { file: string; rev: string }
  const before = store.readCounter.readByteLength
  const started = performance.now()
  await store.get(key.file, key.rev)
  times.push(performance.now() - started)
  reads.push(store.readCounter.readByteLength - before)
}
await store.close()
console.log(JSON.stringify({
  keys: keys.length,
  sample: sampleSize,
  extractMs: { p50: percentile(times, 0.5), p95: percentile(times, 0.95), p99: percentile(times, 0.99), max: Math.max(...times) },
  readBytes: { p50: percentile(reads, 0.5), max: Math.max(...reads) },
  node: process.version,
}, null, 2))
