/**
 * The run layout's records (lib/index/runs.ts): any runs, revision chunks and buckets round-trip; any bytes
 * under a run key, mutated and resealed, decode to a run that re-encodes to exactly those bytes, or throw a
 * VstoreError.
 */
import test from 'ava'
import fc from 'fast-check'
import { isDeepStrictEqual } from 'node:util'
import { crc32 } from '../../lib/bytes/crc32.js'
import { ByteWriter } from '../../lib/bytes/writer.js'
import { VstoreError } from '../../lib/errors.js'
import { MAX_BASE_DEPTH, idProblem } from '../../lib/index/records.js'
import {
  decodeRevisionBucketValue, decodeRevisionChunkKey, decodeRevisionChunkValue, decodeRunKey, decodeRunValue, revisionBucket,
  encodeRevisionBucketValue, encodeRevisionChunkKey, encodeRevisionChunkValue, encodeRunKey, encodeRunValue, type RunEntry,
} from '../../lib/index/runs.js'
import type { TextLocation } from '../../lib/index/types.js'
import { mutate, mutationsArbitrary } from '../helpers/mutate.js'
import { PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }
const size = fc.nat(2 ** 40)
const fileArbitrary = fc.string({ minLength: 1, maxLength: 16 }).filter(file => idProblem(file) === undefined)

/** Groups that later entries may share, as a writer's runs do. */
const groupArbitrary = fc.record({ packId: fc.nat(5000), groupOffset: size, baseDepth: fc.nat(MAX_BASE_DEPTH), baseReadByteLength: size, baseDecodedByteLength: size })
  .map(group => (group.baseDepth === 0 ? { ...group, baseReadByteLength: 0, baseDecodedByteLength: 0 } : group))

const placeArbitrary = fc.record({
  readByteLength: size, recordStart: size, recordByteLength: fc.integer({ min: 1, max: 2 ** 30 }), extraDecoded: fc.nat(5000), textByteLength: size,
  hash: fc.uint8Array({ minLength: 4, maxLength: 4 }),
})

const runArbitrary = fc.tuple(
  fileArbitrary, fc.nat(2 ** 31), fc.array(groupArbitrary, { minLength: 1, maxLength: 3 }),
  fc.array(fc.record({ step: fc.integer({ min: 1, max: 3000 }), group: fc.nat(2), place: placeArbitrary, parents: fc.array(fc.nat(2 ** 31), { maxLength: 3 }), origin: fc.option(fc.record({ file: fileArbitrary, rev: fc.nat(2 ** 31) }).map(({ file, rev }) => ({ file, rev })), { nil: undefined }) }), { minLength: 1, maxLength: 40 }),
).map(([file, first, groups, drafts]) => {
  const entries: RunEntry[] = []
  let rev = first
  for (const [i, draft] of drafts.entries()) {
    if (i > 0) rev += draft.step
    const { recordByteLength, extraDecoded, ...place } = draft.place
    const location: TextLocation = {
      ...(groups[draft.group % groups.length] as (typeof groups)[number]), ...place,
      recordEnd: place.recordStart + recordByteLength, decodedByteLength: place.recordStart + recordByteLength + extraDecoded,
    }
    const parents = [...new Set(draft.parents.filter(parent => parent !== rev))]
    entries.push(draft.origin === undefined ? { rev, location, parents } : { rev, location, parents, origin: draft.origin })
  }
  return { file, entries }
})

test('runs round-trip, and their keys sort by file, then by first revision number', t => {
  fc.assert(fc.property(runArbitrary, ({ file, entries }) => {
    const key = encodeRunKey(file, (entries[0] as RunEntry).rev)
    const decoded = decodeRunValue(key, encodeRunValue(key, entries), 'test')
    if (!isDeepStrictEqual(decoded, entries)) throw new Error(`${JSON.stringify(decoded)} != ${JSON.stringify(entries)}`)
    const later = encodeRunKey(file, (entries[0] as RunEntry).rev + 1)
    if (Buffer.compare(key, later) >= 0) throw new Error('run keys out of order')
    if (!isDeepStrictEqual(decodeRunKey(key), { file, firstRev: (entries[0] as RunEntry).rev })) throw new Error('run key does not round-trip')
  }), options)
  t.pass()
})

test('a run value, mutated and resealed, decodes to a run that re-encodes to exactly its bytes, or throws a VstoreError', t => {
  fc.assert(fc.property(runArbitrary, mutationsArbitrary, fc.boolean(), ({ file, entries }, mutations, reseal) => {
    const key = encodeRunKey(file, (entries[0] as RunEntry).rev)
    let value = mutate(encodeRunValue(key, entries), mutations)
    if (reseal && value.length >= 5) {
      const writer = new ByteWriter(value.length)
      writer.bytes(value.subarray(0, value.length - 4))
      writer.uint32(crc32(value.subarray(0, value.length - 4), crc32(key)))
      value = writer.finish()
    }
    let run: RunEntry[]
    try {
      run = decodeRunValue(key, value, 'test')
    } catch (error) {
      if (error instanceof VstoreError) return
      throw error
    }
    if (Buffer.compare(encodeRunValue(key, run), value) !== 0) throw new Error('a run decoded from bytes that are not its encoding')
  }), options)
  t.pass()
})

test('revision chunks and buckets round-trip; a bucket key depends only on the revision id', t => {
  fc.assert(fc.property(fc.nat(2 ** 25), fc.array(fc.oneof(fc.stringMatching(/^[0-9a-f]{40}$/), fc.string({ minLength: 1, maxLength: 12 }).filter(rev => idProblem(rev) === undefined && !/^[0-9a-f]{40}$/.test(rev))), { minLength: 1, maxLength: 64 }), (chunk, revs) => {
    const key = encodeRevisionChunkKey(chunk)
    if (decodeRevisionChunkKey(key) !== chunk) throw new Error('chunk key')
    if (!isDeepStrictEqual(decodeRevisionChunkValue(key, encodeRevisionChunkValue(key, revs), 'test'), revs)) throw new Error('chunk value')
    const members = revs.map((_, i) => ({ rev: chunk * 64 + i, tag: (i * 7919) & 0xffff }))
    const bucketKey = revisionBucket(revs[0] as string).key
    if (!isDeepStrictEqual(decodeRevisionBucketValue(bucketKey, encodeRevisionBucketValue(bucketKey, members), 'test'), members)) throw new Error('bucket value')
    if (Buffer.compare(bucketKey, revisionBucket(`${revs[0] as string}`).key) !== 0) throw new Error('bucket key')
  }), options)
  t.pass()
})

test('a run refuses entries out of order, and a first entry that is not the key\'s revision', t => {
  const location: TextLocation = { packId: 1, groupOffset: 8, readByteLength: 100, recordStart: 0, recordEnd: 10, decodedByteLength: 90, textByteLength: 10, hash: Uint8Array.of(1, 2, 3, 4), baseDepth: 0, baseReadByteLength: 0, baseDecodedByteLength: 0 }
  const key = encodeRunKey('f', 5)
  t.throws(() => encodeRunValue(key, [{ rev: 6, location, parents: [] }]), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => encodeRunValue(key, [{ rev: 5, location, parents: [] }, { rev: 5, location, parents: [] }]), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  const good = encodeRunValue(key, [{ rev: 5, location, parents: [] }, { rev: 9, location: { ...location, recordStart: 10, recordEnd: 30 }, parents: [5] }])
  t.deepEqual(decodeRunValue(key, good, 'test').map(entry => [entry.rev, entry.parents]), [[5, []], [9, [5]]])
  t.throws(() => decodeRunValue(encodeRunKey('f', 6), good, 'test'), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
})
