/**
 * Compares entropy coders on the same group contents: imports a git history, builds its groups once
 * (default cap, no compression), then encodes and decodes every group with each coder.
 *
 *   node dist/scripts/measure-coders.js REPO [--cap BYTES] [--codecs brotli:9,brotli:11,lzma:6,lzma:9,zlib:9]
 */
import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { GroupWriter } from '../lib/group/writer.js'
import { noneCodec, parseCodecSetting } from '../lib/entropy/index.js'
import { importGit } from '../lib/import/git.js'
import { writeOrder } from '../lib/order/graph.js'
import { decodeGroupHeader, DEFAULT_GROUP_LIMITS } from '../lib/group/frame.js'
import type { TextRecord } from '../lib/store/types.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { cap: { type: 'string' }, codecs: { type: 'string' } },
})
const repo = positionals[0]
if (repo === undefined) throw new Error('usage: measure-coders REPO [--cap BYTES] [--codecs LIST]')
const cap = Number(values.cap ?? 2 * 1024 * 1024)
const codecs = (values.codecs ?? 'zlib:9,brotli:9,brotli:11,lzma:6,lzma:9').split(',')

const records: TextRecord[] = []
for await (const record of importGit(repo)) records.push(record)
const seen = new Set<string>()
const contents: Uint8Array[] = []
const writer = new GroupWriter<number>({ maxContentByteLength: cap, maxReadByteLength: Number.MAX_SAFE_INTEGER, readChunkByteLength: 1 << 20, codec: noneCodec() }, async group => {
  const header = decodeGroupHeader(group.bytes, 'measure', DEFAULT_GROUP_LIMITS)
  contents.push(group.bytes.subarray(header.headerByteLength))
})
let rawByteLength = 0
for (const index of writeOrder(records)) {
  const record = records[index] as TextRecord
  rawByteLength += record.text.length
  const key = createHash('sha256').update(record.text).digest('hex')
  if (seen.has(key)) continue
  seen.add(key)
  await writer.add(index, record.text)
}
await writer.flush()
const contentByteLength = contents.reduce((sum, c) => sum + c.length, 0)
console.log(`# ${repo}: ${records.length} texts, ${(rawByteLength / 1e6).toFixed(1)} MB raw, ${contents.length} groups of ≤ ${cap} bytes, ${(contentByteLength / 1e6).toFixed(2)} MB of group content; Node ${process.version}`)
console.log('| coder | stored bytes | × smallest | encode MB/s (content) | full decode ms/group (mean) |')
console.log('|---|---|---|---|---|')
const rows: { name: string; stored: number; encode: number; decode: number }[] = []
for (const setting of codecs) {
  const codec = parseCodecSetting(setting)
  let stored = 0
  let encodeMs = 0
  let decodeMs = 0
  for (const content of contents) {
    let started = performance.now()
    const encoded = await codec.encode(content)
    encodeMs += performance.now() - started
    stored += encoded.length
    started = performance.now()
    const decoded = await codec.decodePrefix(encoded, content.length, 'measure')
    decodeMs += performance.now() - started
    if (decoded.length !== content.length) throw new Error(`${setting} did not round-trip`)
  }
  rows.push({ name: setting, stored, encode: contentByteLength / 1e6 / (encodeMs / 1000), decode: decodeMs / contents.length })
}
const smallest = Math.min(...rows.map(r => r.stored))
for (const row of rows) console.log(`| ${row.name} | ${row.stored} | ${(row.stored / smallest).toFixed(3)} | ${row.encode.toFixed(1)} | ${row.decode.toFixed(1)} |`)
