import test from 'ava'
import fc from 'fast-check'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ByteWriter } from '../../lib/bytes/writer.js'
import { crc32 } from '../../lib/bytes/crc32.js'
import { toHex } from '../../lib/bytes/hex.js'
import { VstoreError } from '../../lib/errors.js'
import { openLevelDb } from '../../lib/index/leveldb.js'
import {
  decodeLocationValue, decodePackKey, decodePackValue, decodeTextKey, decodeTextValue, decodeTotalsValue, encodeHashKey, encodeLocationValue, encodeMetaKey,
  encodePackKey, encodePackValue, encodeTextKey, encodeTextValue, encodeTotalsValue, TAG_HASH, TAG_PACK, TAG_TEXT,
} from '../../lib/index/records.js'
import {
  TAG_FILE_RUN, TAG_REVISIONS, TAG_REVISION_BUCKET, decodeRevisionBucketValue, decodeRevisionChunkValue, decodeRunKey, decodeRunSections,
  encodeRevisionBucketValue, encodeRevisionChunkValue, encodeRunKey, encodeRunSections, encodeRunValue, RUN_VALUE_VERSION_1, RUN_VALUE_VERSION_2,
  type RunEntry,
} from '../../lib/index/runs.js'
import { RunIndex } from '../../lib/store/run-index.js'
import { Store } from '../../lib/vstore.js'
import { largestAllocation, mutate, mutationsArbitrary } from '../helpers/mutate.js'
import { PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'

/**
 * The index decoders (lib/index/records.ts, lib/index/runs.ts) fed mutated real values: the keys and values
 * a store writes for a small history (runs, revision chunks and buckets; and, as store format 3 kept them,
 * the same entries as `T` records and a content hash record) (git-style hex revisions and text ones, merges, identical texts, odd file ids), each
 * mutated one to four times (test/helpers/mutate.ts: flips, inserts, deletes, cuts, varints claiming up to
 * 2^49) and, half the time, resealed with a correct CRC-32 so that the mutation reaches the parser. Every
 * decoder must return a value or throw a VstoreError, allocate no more than about the input's size (a
 * claimed length is refused, not allocated), and anything it accepts must re-encode to exactly the bytes it
 * read (one encoding per value: no two byte strings alias one key or entry).
 */

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }
/** What a decoder may allocate for an input of `byteLength` bytes. */
const allocationBound = (byteLength: number): number => 2 * byteLength + 64

interface IndexEntry {
  readonly key: Uint8Array
  readonly value: Uint8Array
}

type ValueKind = 'text' | 'location' | 'pack' | 'totals' | 'run' | 'revisions' | 'bucket'

/** The last store format of `T` entries. */
const TEXT_ENTRY_FORMAT = 3

const VALUE_CODECS: Record<ValueKind, {
  decode: (key: Uint8Array, value: Uint8Array, where: string) => unknown
  /** Re-encodes what `value` decoded to, in `value`'s own version where a kind has several. */
  encode: (key: Uint8Array, decoded: never, value: Uint8Array) => Uint8Array
}> = {
  text: { decode: (key, value, where) => decodeTextValue(key, value, where, TEXT_ENTRY_FORMAT), encode: (key, decoded) => encodeTextValue(key, decoded, TEXT_ENTRY_FORMAT) },
  run: { decode: decodeRunSections, encode: (key, decoded, value) => encodeRunSections(key, decoded, value[0]) },
  revisions: { decode: decodeRevisionChunkValue, encode: (key, decoded, value) => encodeRevisionChunkValue(key, decoded, value[0]) },
  bucket: { decode: decodeRevisionBucketValue, encode: encodeRevisionBucketValue },
  location: { decode: decodeLocationValue, encode: encodeLocationValue },
  pack: { decode: decodePackValue, encode: encodePackValue },
  totals: { decode: decodeTotalsValue, encode: encodeTotalsValue },
}

function kindOf(key: Uint8Array): ValueKind | undefined {
  if (key[0] === TAG_TEXT) return 'text'
  if (key[0] === TAG_HASH) return 'location'
  if (key[0] === TAG_PACK) return 'pack'
  if (key[0] === TAG_FILE_RUN) return 'run'
  if (key[0] === TAG_REVISIONS) return 'revisions'
  if (key[0] === TAG_REVISION_BUCKET) return 'bucket'
  if (toHex(key) === toHex(encodeMetaKey('totals'))) return 'totals'
  return undefined
}

const hex = (seed: number, length: number): string => Array.from({ length }, (_, i) => ((seed * 7 + i * 13) % 16).toString(16)).join('')

/** The raw index of a store holding a small, varied history. */
let entriesValue: IndexEntry[] | undefined
const dir = mkdtempSync(join(tmpdir(), 'vstore-index-mutations-'))
test.after.always(() => rmSync(dir, { recursive: true, force: true }))
test.before(async () => {
  const store = await Store.open(dir, { create: true })
  const text = (s: string) => new TextEncoder().encode(s)
  const c = [hex(1, 40), hex(2, 40), hex(3, 40), hex(4, 64)]
  await store.insert([
    { file: 'README.md', rev: c[0] as string, parents: [], text: text('one\n') },
    { file: 'README.md', rev: c[1] as string, parents: [c[0] as string], text: text('two\n') },
    { file: 'README.md', rev: c[2] as string, parents: [c[0] as string], text: text('three\n') },
    { file: 'README.md', rev: c[3] as string, parents: [c[1] as string, c[2] as string], text: text('merged\n') },
    { file: 'docs/we@ird name.txt', rev: 'v1@beta', parents: [], text: text('one\n') },
    { file: 'docs/we@ird name.txt', rev: 'v2', parents: ['v1@beta'], text: text('') },
    { file: 'é/😀', rev: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01', parents: [], text: text('x'.repeat(20_000)) },
  ])
  await store.close()
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  const entries: IndexEntry[] = []
  for await (const [key, value] of db.entries(new Uint8Array(0))) {
    entries.push({ key: key.slice(), value: value.slice() })
    // Runs and revision chunks as store formats 4 and 5 wrote them too (a file a run, value versions 1 and
    // 2), which readers still decode.
    if (key[0] === TAG_FILE_RUN) {
      for (const section of decodeRunSections(key, value, 'fixture')) {
        const runKey = encodeRunKey(section.file, (section.entries[0] as RunEntry).rev)
        for (const version of [RUN_VALUE_VERSION_1, RUN_VALUE_VERSION_2]) entries.push({ key: runKey, value: encodeRunValue(runKey, section.entries, version) })
      }
    }
    if (key[0] === TAG_REVISIONS) entries.push({ key: key.slice(), value: encodeRevisionChunkValue(key, decodeRevisionChunkValue(key, value, 'fixture'), 1) })
  }
  // The same entries as `T` records, and a content hash record for the large text, as store format 3
  // wrote them (readers still decode those an older store holds).
  // (A large text's entry kept its whole hash: the check, then 16 made-up bytes, stands in for it.)
  for await (const row of new RunIndex(db).entries()) {
    const key = encodeTextKey(row)
    const large = row.entry.textByteLength === 20_000
    const entry = large ? { ...row.entry, hash: Uint8Array.of(...row.entry.hash, ...new Uint8Array(16).fill(7)) } : row.entry
    entries.push({ key, value: encodeTextValue(key, entry, TEXT_ENTRY_FORMAT) })
    if (!large) continue
    const hashKey = encodeHashKey(entry.hash)
    entries.push({ key: hashKey, value: encodeLocationValue(hashKey, entry) })
  }
  await db.close()
  entriesValue = entries
})

function entries(): IndexEntry[] {
  if (entriesValue === undefined) throw new Error('the index was not read')
  return entriesValue
}

/** `body` (version byte included) followed by a correct CRC-32 of the key and the body. */
function sealed(key: Uint8Array, body: Uint8Array): Uint8Array {
  const writer = new ByteWriter(body.length + 4)
  writer.bytes(body)
  writer.uint32(crc32(body, crc32(key)))
  return writer.finish()
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}

/** Decodes with allocation counted; a non-VstoreError or an allocation past the bound fails the property. */
function decodeChecked(what: string, input: Uint8Array, decode: () => unknown): unknown {
  let value: unknown
  const { largestByteLength, error } = largestAllocation(() => { value = decode() })
  if (error !== undefined && !(error instanceof VstoreError)) throw error
  if (largestByteLength > allocationBound(input.length)) throw new Error(`${what} allocated ${largestByteLength} bytes for ${input.length} bytes of input`)
  return error === undefined ? value : undefined
}

test('the fixture index holds run, revision chunk and bucket values, and text, hash, pack and totals values', t => {
  const kinds = new Set(entries().map(entry => kindOf(entry.key)))
  t.deepEqual([...kinds].filter(kind => kind !== undefined).sort(), ['bucket', 'location', 'pack', 'revisions', 'run', 'text', 'totals'])
  const runVersions = new Set(entries().filter(entry => kindOf(entry.key) === 'run').map(entry => entry.value[0]))
  t.deepEqual([...runVersions].sort(), [1, 2, 3], 'runs of every value version')
  const files = entries().filter(entry => kindOf(entry.key) === 'run').map(({ key, value }) => decodeRunSections(key, value, 'fixture').length)
  t.true(files.some(count => count === 3), 'a run of all three files')
})

test('a real index value of every kind, mutated and often resealed, gives every value decoder a value or a VstoreError, a bounded allocation, and re-encodes exactly', t => {
  const valued = entries().filter(entry => kindOf(entry.key) !== undefined)
  t.notThrows(() => fc.assert(fc.property(fc.constantFrom(...valued), mutationsArbitrary, fc.boolean(), ({ key, value }, mutations, reseal) => {
    const mutated = reseal ? sealed(key, mutate(value.subarray(0, value.length - 4), mutations)) : mutate(value, mutations)
    for (const [kind, { decode, encode }] of Object.entries(VALUE_CODECS)) {
      const decoded = decodeChecked(`decode ${kind} value`, mutated, () => decode(key, mutated, 'property'))
      if (decoded === undefined) continue
      const again = encode(key, decoded as never, mutated)
      if (!sameBytes(again, mutated)) throw new Error(`a ${kind} value decoded from ${toHex(mutated)} re-encodes as ${toHex(again)}`)
    }
  }), options))
})

test('a real run, text or pack key, mutated, gives decodeRunKey, decodeTextKey and decodePackKey a key or a VstoreError, a bounded allocation, and re-encodes exactly', t => {
  const keyed = entries().filter(entry => entry.key[0] === TAG_TEXT || entry.key[0] === TAG_PACK || entry.key[0] === TAG_FILE_RUN)
  t.notThrows(() => fc.assert(fc.property(fc.constantFrom(...keyed), mutationsArbitrary, ({ key }, mutations) => {
    const mutated = mutate(key, mutations)
    const textKey = decodeChecked('decodeTextKey', mutated, () => decodeTextKey(mutated)) as { file: string; rev: string } | undefined
    if (textKey !== undefined && !sameBytes(encodeTextKey(textKey), mutated)) throw new Error(`text key ${toHex(mutated)} decodes to ${JSON.stringify(textKey)}, which encodes otherwise`)
    const run = decodeChecked('decodeRunKey', mutated, () => decodeRunKey(mutated)) as { file: string; firstRev: number } | undefined
    if (run !== undefined && !sameBytes(encodeRunKey(run.file, run.firstRev), mutated)) throw new Error(`run key ${toHex(mutated)} decodes to ${JSON.stringify(run)}, which encodes otherwise`)
    const packId = decodeChecked('decodePackKey', mutated, () => decodePackKey(mutated)) as number | undefined
    if (packId !== undefined && !sameBytes(encodePackKey(packId), mutated)) throw new Error(`pack key ${toHex(mutated)} decodes to ${packId}, which encodes otherwise`)
  }), options))
})
