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
  REVISION_CHUNK_LENGTH, RUN_VALUE_VERSION, RUN_VALUE_VERSION_1, RUN_VALUE_VERSION_2, comparePositions, compareFileIds, decodeRevisionBucketValue, decodeRevisionChunkKey,
  decodeRevisionChunkValue, decodeRunKey, decodeRunSections, decodeRunValue, revisionBucket, encodeRevisionBucketValue, encodeRevisionChunkKey,
  encodeRevisionChunkValue, encodeRunKey, encodeRunSections, encodeRunValue, findRunEntry, type RunEntry, type RunSection,
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

/**
 * Runs as a writer makes them and beyond: entries whose one parent is the entry before (or which name it
 * among others), and records that end where the one before starts (as a group lays out a file's newer
 * versions first), as well as anything else.
 */
const runArbitrary = fc.tuple(
  fileArbitrary, fc.nat(2 ** 31), fc.array(groupArbitrary, { minLength: 1, maxLength: 3 }),
  fc.array(fc.record({
    step: fc.integer({ min: 1, max: 3000 }), group: fc.nat(2), place: placeArbitrary, adjacent: fc.boolean(), parents: fc.array(fc.nat(2 ** 31), { maxLength: 3 }),
    previousParent: fc.constantFrom('none', 'only', 'first', 'last'), origin: fc.option(fc.record({ file: fileArbitrary, rev: fc.nat(2 ** 31) }).map(({ file, rev }) => ({ file, rev })), { nil: undefined }),
  }), { minLength: 1, maxLength: 40 }),
).map(([file, first, groups, drafts]) => {
  const entries: RunEntry[] = []
  let rev = first
  for (const [i, draft] of drafts.entries()) {
    const previous = entries.at(-1)
    if (i > 0) rev += draft.step
    const { recordByteLength, extraDecoded, ...drawn } = draft.place
    const before = previous?.location.recordStart
    const place = draft.adjacent && before !== undefined && before >= recordByteLength ? { ...drawn, recordStart: before - recordByteLength } : drawn
    const location: TextLocation = {
      ...(groups[draft.group % groups.length] as (typeof groups)[number]), ...place,
      recordEnd: place.recordStart + recordByteLength, decodedByteLength: place.recordStart + recordByteLength + extraDecoded,
    }
    const others = draft.parents.filter(parent => parent !== rev && parent !== previous?.rev)
    const parents = [...new Set(previous === undefined || draft.previousParent === 'none' ? others
      : draft.previousParent === 'only' ? [previous.rev] : draft.previousParent === 'first' ? [previous.rev, ...others] : [...others, previous.rev])]
    entries.push(draft.origin === undefined ? { rev, location, parents } : { rev, location, parents, origin: draft.origin })
  }
  return { file, entries }
})

/**
 * Runs of several files (value version 3): runs of distinct files in key order, a later file's first entry
 * often in the group of the entry before it (as a group holds several small files), and a later file's
 * revision numbers anywhere.
 */
const sectionsArbitrary = fc.tuple(fc.array(runArbitrary, { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })).map(([runs, shares]) => {
  const byFile = new Map(runs.map(run => [run.file, run.entries]))
  const files = [...byFile.keys()].sort(compareFileIds)
  const sections: RunSection[] = []
  for (const [i, file] of files.entries()) {
    let entries = byFile.get(file) as RunEntry[]
    const before = sections.at(-1)?.entries.at(-1)
    if (before !== undefined && shares[i] === true) {
      const { packId, groupOffset, baseDepth, baseReadByteLength, baseDecodedByteLength } = before.location
      const first = entries[0] as RunEntry
      entries = [{ ...first, location: { ...first.location, packId, groupOffset, baseDepth, baseReadByteLength, baseDecodedByteLength } }, ...entries.slice(1)]
    }
    sections.push({ file, entries })
  }
  return sections
})

/** Decodes `value`: a VstoreError is an answer, and whatever decodes must re-encode (in `value`'s version) to exactly `value`. */
function decodesToItsEncoding<T>(value: Uint8Array, decode: () => T, encode: (decoded: T) => Uint8Array, what: string): void {
  let decoded: T
  try {
    decoded = decode()
  } catch (error) {
    if (error instanceof VstoreError) return
    throw error
  }
  if (Buffer.compare(encode(decoded), value) !== 0) throw new Error(`a ${what} decoded from bytes that are not its encoding`)
}

/** `value` with its last 4 bytes replaced by the right checksum for the rest. */
function resealed(key: Uint8Array, value: Uint8Array): Uint8Array {
  const writer = new ByteWriter(value.length)
  writer.bytes(value.subarray(0, value.length - 4))
  writer.uint32(crc32(value.subarray(0, value.length - 4), crc32(key)))
  return writer.finish()
}

/** Entries as a run of `version` gives them back: versions 2 and 3 keep no decoded length, and give the record's end. */
function asKept(entries: readonly RunEntry[], version: number): RunEntry[] {
  return entries.map(entry => (version === RUN_VALUE_VERSION_1 ? entry : { ...entry, location: { ...entry.location, decodedByteLength: entry.location.recordEnd } }))
}

test('runs of one file round-trip in every value version, and their keys sort by file, then by first revision number', t => {
  fc.assert(fc.property(runArbitrary, fc.constantFrom(RUN_VALUE_VERSION, RUN_VALUE_VERSION_2, RUN_VALUE_VERSION_1), ({ file, entries }, version) => {
    const key = encodeRunKey(file, (entries[0] as RunEntry).rev)
    const decoded = decodeRunValue(key, encodeRunValue(key, entries, version), 'test')
    if (!isDeepStrictEqual(decoded, asKept(entries, version))) throw new Error(`${JSON.stringify(decoded)} != ${JSON.stringify(entries)}`)
    const later = encodeRunKey(file, (entries[0] as RunEntry).rev + 1)
    if (Buffer.compare(key, later) >= 0) throw new Error('run keys out of order')
    if (!isDeepStrictEqual(decodeRunKey(key), { file, firstRev: (entries[0] as RunEntry).rev })) throw new Error('run key does not round-trip')
  }), options)
  t.pass()
})

test('a run value of any version, mutated and resealed, decodes to a run that re-encodes to exactly its bytes, or throws a VstoreError', t => {
  fc.assert(fc.property(runArbitrary, fc.constantFrom(RUN_VALUE_VERSION, RUN_VALUE_VERSION_2, RUN_VALUE_VERSION_1), mutationsArbitrary, fc.boolean(), ({ file, entries }, version, mutations, reseal) => {
    const key = encodeRunKey(file, (entries[0] as RunEntry).rev)
    let value = mutate(encodeRunValue(key, entries, version), mutations)
    if (reseal && value.length >= 5) value = resealed(key, value)
    decodesToItsEncoding(value, () => decodeRunValue(key, value, 'test'), run => encodeRunValue(key, run, value[0]), 'run')
  }), options)
  t.pass()
})

const keyOf = (sections: readonly RunSection[]) => encodeRunKey((sections[0] as RunSection).file, ((sections[0] as RunSection).entries[0] as RunEntry).rev)

test('runs of several files (version 3) round-trip, each file after the one before in key order', t => {
  fc.assert(fc.property(sectionsArbitrary, sections => {
    const key = keyOf(sections)
    const decoded = decodeRunSections(key, encodeRunSections(key, sections), 'test')
    const kept = sections.map(section => ({ file: section.file, entries: asKept(section.entries, RUN_VALUE_VERSION) }))
    if (!isDeepStrictEqual(decoded, kept)) throw new Error(`${JSON.stringify(decoded)} != ${JSON.stringify(kept)}`)
    // A lookup's reading finds each entry alone, and nothing at a number a file does not have.
    const value = encodeRunSections(key, sections)
    for (const section of kept) {
      for (const entry of section.entries) if (!isDeepStrictEqual(findRunEntry(key, value, 'test', section.file, entry.rev), entry)) throw new Error(`${section.file}#${entry.rev} not found alone`)
      const missing = (section.entries.at(-1) as RunEntry).rev + 1
      if (findRunEntry(key, value, 'test', section.file, missing) !== undefined) throw new Error('found an entry that is not there')
    }
  }), options)
  t.pass()
})

test('a run of several files, mutated and resealed, decodes to sections that re-encode to exactly its bytes, or throws a VstoreError', t => {
  fc.assert(fc.property(sectionsArbitrary, mutationsArbitrary, fc.boolean(), (sections, mutations, reseal) => {
    const key = keyOf(sections)
    let value = mutate(encodeRunSections(key, sections), mutations)
    if (reseal && value.length >= 5) value = resealed(key, value)
    decodesToItsEncoding(value, () => decodeRunSections(key, value, 'test'), decoded => encodeRunSections(key, decoded, value[0]), 'run')
  }), options)
  t.pass()
})

test('positions order as their run keys do: by file id (its length, then its bytes), then by revision number', t => {
  // Ids of up to 300 bytes: a length of 128 or more takes a 2-byte varint, which does not sort as the number does.
  const longFile = fc.oneof(fileArbitrary, fc.string({ minLength: 100, maxLength: 300 }).filter(file => idProblem(file) === undefined))
  fc.assert(fc.property(longFile, fc.nat(2 ** 32 - 1), longFile, fc.nat(2 ** 32 - 1), (fileA, revA, fileB, revB) => {
    const byKey = Math.sign(Buffer.compare(encodeRunKey(fileA, revA), encodeRunKey(fileB, revB)))
    if (Math.sign(comparePositions({ file: fileA, rev: revA }, { file: fileB, rev: revB })) !== byKey) throw new Error('orders differ')
  }), options)
  t.pass()
})

test('a run of several files refuses files out of order or twice, a first file other than the key\'s, and an empty file; version 2 holds one file', t => {
  const location: TextLocation = { packId: 1, groupOffset: 8, readByteLength: 100, recordStart: 0, recordEnd: 10, decodedByteLength: 10, textByteLength: 10, hash: Uint8Array.of(1, 2, 3, 4), baseDepth: 0, baseReadByteLength: 0, baseDecodedByteLength: 0 }
  const at = (file: string, rev: number): RunSection => ({ file, entries: [{ rev, location, parents: [] }] })
  const key = encodeRunKey('b', 5)
  t.throws(() => encodeRunSections(key, [at('b', 5), at('a', 1)]), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, 'a shorter id sorts first')
  t.throws(() => encodeRunSections(key, [at('b', 5), at('b', 9)]), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => encodeRunSections(key, [at('c', 5)]), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => encodeRunSections(key, [at('b', 5), { file: 'bb', entries: [] }]), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => encodeRunSections(key, [at('b', 5), at('bb', 1)], RUN_VALUE_VERSION_2), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  const good = encodeRunSections(key, [at('b', 5), at('bb', 1), at('abc', 0)])
  t.deepEqual(decodeRunSections(key, good, 'test').map(section => [section.file, section.entries.map(entry => entry.rev)]), [['b', [5]], ['bb', [1]], ['abc', [0]]])
  t.throws(() => decodeRunValue(key, good, 'test'), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, 'read as one file\'s')
})

/** Revision ids of every kind, and chunks of one hex kind (which version 2 codes without a kind byte an id). */
const revisionArbitrary = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{40}$/), fc.stringMatching(/^[0-9a-f]{64}$/),
  fc.string({ minLength: 1, maxLength: 12 }).filter(rev => idProblem(rev) === undefined && !/^[0-9a-f]{40}$/.test(rev) && !/^[0-9a-f]{64}$/.test(rev)),
)
const chunkRevisionsArbitrary = fc.oneof(
  fc.array(revisionArbitrary, { minLength: 1, maxLength: REVISION_CHUNK_LENGTH }),
  fc.array(fc.stringMatching(/^[0-9a-f]{40}$/), { minLength: 1, maxLength: REVISION_CHUNK_LENGTH }),
  fc.array(fc.stringMatching(/^[0-9a-f]{64}$/), { minLength: 1, maxLength: REVISION_CHUNK_LENGTH }),
)

test('revision chunks of either version round-trip, and so do buckets; a bucket key depends only on the revision id', t => {
  fc.assert(fc.property(fc.nat(2 ** 25), chunkRevisionsArbitrary, fc.constantFrom(1, 2), (chunk, revs, version) => {
    const key = encodeRevisionChunkKey(chunk)
    if (decodeRevisionChunkKey(key) !== chunk) throw new Error('chunk key')
    if (!isDeepStrictEqual(decodeRevisionChunkValue(key, encodeRevisionChunkValue(key, revs, version), 'test'), revs)) throw new Error('chunk value')
    const members = revs.map((_, i) => ({ rev: chunk * 64 + i, tag: (i * 7919) & 0xffff }))
    const bucketKey = revisionBucket(revs[0] as string).key
    if (!isDeepStrictEqual(decodeRevisionBucketValue(bucketKey, encodeRevisionBucketValue(bucketKey, members), 'test'), members)) throw new Error('bucket value')
    if (Buffer.compare(bucketKey, revisionBucket(`${revs[0] as string}`).key) !== 0) throw new Error('bucket key')
  }), options)
  t.pass()
})

test('a revision chunk of either version, mutated and resealed, decodes to ids that re-encode to exactly its bytes, or throws a VstoreError', t => {
  fc.assert(fc.property(fc.nat(2 ** 25), chunkRevisionsArbitrary, fc.constantFrom(1, 2), mutationsArbitrary, fc.boolean(), (chunk, revs, version, mutations, reseal) => {
    const key = encodeRevisionChunkKey(chunk)
    let value = mutate(encodeRevisionChunkValue(key, revs, version), mutations)
    if (reseal && value.length >= 5) value = resealed(key, value)
    decodesToItsEncoding(value, () => decodeRevisionChunkValue(key, value, 'test'), revs => encodeRevisionChunkValue(key, revs, value[0]), 'chunk')
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
