import test from 'ava'
import fc from 'fast-check'
import { ByteReader } from '../../lib/bytes/reader.js'
import { ByteWriter } from '../../lib/bytes/writer.js'
import { applyDelta, decodeDeltaInstructions, encodeDelta, type DeltaInstruction } from '../../lib/delta/group-delta.js'
import { VstoreError } from '../../lib/errors.js'
import { decodeRecord, dumpRecords, encodeRecordHeader, RECORD_DELTA, RECORD_FULLTEXT } from '../../lib/group/records.js'
import { concatBytes, PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'
import { largestAllocation, mutate, mutationsArbitrary } from '../helpers/mutate.js'

/**
 * "Lengths are checked before allocating", for the delta and record decoders: a decoder that
 * refuses its input must not have allocated far more than that input first. Inputs are real deltas and
 * group contents, mutated (test/helpers/mutate.ts), and deltas whose `Target_Byte_Length` claims more than
 * their instructions produce. Allocations are counted (`new Uint8Array(n)`), not timed.
 */

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }
const limits = { maxTextByteLength: 2 ** 30 }
const allocationBound = (byteLength: number): number => 2 * byteLength + 64

const instructionArbitrary = (sourceByteLength: number): fc.Arbitrary<DeltaInstruction> => fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map(bytes => ({ kind: 'insert' as const, bytes })),
  fc.tuple(fc.nat(Math.max(0, sourceByteLength - 1)), fc.integer({ min: 1, max: 200 }))
    .map(([offset, byteLength]) => ({ kind: 'copy' as const, offset, byteLength: Math.max(1, Math.min(byteLength, sourceByteLength - offset)) })),
)

/** A source and a delta body against it that applies cleanly. */
const deltaArbitrary = fc.uint8Array({ minLength: 1, maxLength: 3000 }).chain(source => fc.tuple(
  fc.constant(source),
  fc.array(instructionArbitrary(source.length), { minLength: 1, maxLength: 6 }).map(instructions => {
    const target = instructions.reduce((sum, i) => sum + (i.kind === 'insert' ? i.bytes.length : i.byteLength), 0)
    return encodeDelta(target, instructions)
  }),
))

/** Runs a decoder with allocations counted: a value, or a VstoreError after allocating at most the bound. */
function checked(what: string, inputByteLength: number, decode: () => unknown): void {
  const { largestByteLength, error } = largestAllocation(decode)
  if (error === undefined) return
  if (!(error instanceof VstoreError)) throw error
  if (largestByteLength > allocationBound(inputByteLength)) throw new Error(`${what} allocated ${largestByteLength} bytes before refusing ${inputByteLength} bytes of input`)
}

/** The body with its `Target_Byte_Length` varint replaced by `target`. */
function withTarget(body: Uint8Array, target: number): Uint8Array {
  const reader = new ByteReader(body, 'property')
  reader.varint()
  const writer = new ByteWriter(body.length + 8)
  writer.varint(target)
  writer.bytes(body.subarray(reader.offset))
  return writer.finish()
}

// Regression: applyDelta allocated Target_Byte_Length once it was within (body + 1) × source bytes, before
// the walk found that the instructions produce less; so a damaged length in a 477-byte delta against a
// 2 MiB group prefix allocated 1 GB (and under a memory limit threw a RangeError, not a VstoreError). It
// now walks the instructions once without allocating.
test('applyDelta and decodeRecord refuse a Target_Byte_Length their instructions do not reach before allocating it', t => {
  t.notThrows(() => fc.assert(fc.property(deltaArbitrary, fc.double({ min: 0, max: 1, noNaN: true }), ([source, body], fraction) => {
    // A claim past the allocation bound that the (body + 1) × source guard still lets through.
    const inputByteLength = source.length + body.length + 8
    const lowest = allocationBound(inputByteLength) + 1
    const highest = (body.length + 1) * source.length
    if (highest <= lowest) return
    const claimed = withTarget(body, lowest + Math.floor(fraction * (highest - lowest)))
    checked('applyDelta', source.length + claimed.length, () => applyDelta(source, claimed, 'property', limits))
    const content = concatBytes(source, encodeRecordHeader(RECORD_DELTA, claimed.length), claimed)
    checked('decodeRecord', content.length, () => decodeRecord(content, source.length, content.length, 'property', limits))
  }), options))
})

test('a real delta body, mutated, gives decodeDeltaInstructions instructions or a VstoreError, allocating at most about its length', t => {
  t.notThrows(() => fc.assert(fc.property(deltaArbitrary, mutationsArbitrary, ([, body], mutations) => {
    const mutated = mutate(body, mutations)
    checked('decodeDeltaInstructions', mutated.length, () => decodeDeltaInstructions(mutated, 'property', limits))
  }), options))
})

test('real group content, mutated, gives dumpRecords records or a VstoreError, allocating at most about its length', t => {
  const recordsArbitrary = fc.array(fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map(text => concatBytes(encodeRecordHeader(RECORD_FULLTEXT, text.length), text)),
    deltaArbitrary.map(([, body]) => concatBytes(encodeRecordHeader(RECORD_DELTA, body.length), body)),
  ), { minLength: 1, maxLength: 5 }).map(records => concatBytes(...records))
  t.notThrows(() => fc.assert(fc.property(recordsArbitrary, mutationsArbitrary, fc.boolean(), (content, mutations, withInstructions) => {
    const mutated = mutate(content, mutations)
    checked('dumpRecords', mutated.length, () => dumpRecords(mutated, 'property', limits, withInstructions))
  }), options))
})
