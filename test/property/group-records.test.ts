import test from 'ava'
import fc from 'fast-check'
import { bytesEqual } from '../../lib/bytes/hex.js'
import { encodeDelta, type DeltaInstruction } from '../../lib/delta/group-delta.js'
import { VstoreError } from '../../lib/errors.js'
import { GroupBuilder } from '../../lib/group/builder.js'
import { decodeRecord, dumpRecords, encodeRecordHeader, RECORD_DELTA, RECORD_FULLTEXT } from '../../lib/group/records.js'
import {
  concatBytes, editHistoryArbitrary, flipByte, PROPERTY_RUNS, PROPERTY_SEED, sharedPrefixArbitrary, withEmptyTextsArbitrary,
} from '../helpers/random.js'

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }
const limits = { maxTextByteLength: 1 << 20 }

const instructionArbitrary: fc.Arbitrary<DeltaInstruction> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 30 }).map(bytes => ({ kind: 'insert' as const, bytes })),
  fc.record({ kind: fc.constant('copy' as const), offset: fc.nat(120), byteLength: fc.integer({ min: 1, max: 40 }) }),
)

/** One record, well-formed or with a wrong kind or length: often valid, sometimes not. */
const recordArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map(text => concatBytes(encodeRecordHeader(RECORD_FULLTEXT, text.length), text)),
  fc.array(instructionArbitrary, { maxLength: 4 }).map(instructions => {
    const body = encodeDelta(instructions.reduce((sum, i) => sum + (i.kind === 'insert' ? i.bytes.length : i.byteLength), 0), instructions)
    return concatBytes(encodeRecordHeader(RECORD_DELTA, body.length), body)
  }),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.nat(50), fc.uint8Array({ maxLength: 40 })).map(([kind, bodyByteLength, body]) => concatBytes(encodeRecordHeader(kind, bodyByteLength), body)),
)

const contentArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.array(recordArbitrary, { maxLength: 6 }).map(records => concatBytes(...records)),
)

function orVstoreError<T>(run: () => T): T | undefined {
  try {
    return run()
  } catch (error) {
    if (!(error instanceof VstoreError)) throw error
    return undefined
  }
}

test('any content and range give decodeRecord a text or a VstoreError', t => {
  t.notThrows(() => fc.assert(fc.property(contentArbitrary, fc.integer({ min: -2, max: 320 }), fc.integer({ min: -2, max: 320 }), (content, recordStart, recordEnd) => {
    orVstoreError(() => decodeRecord(content, recordStart, recordEnd, 'property', limits))
  }), options))
})

test('any content gives dumpRecords records or a VstoreError, and each record it lists decodes to its length', t => {
  t.notThrows(() => fc.assert(fc.property(contentArbitrary, fc.boolean(), (content, withInstructions) => {
    const records = orVstoreError(() => dumpRecords(content, 'property', limits, withInstructions))
    if (records === undefined) return
    let end = 0
    for (const record of records) {
      if (record.recordStart !== end) throw new Error('records are not contiguous')
      end = record.recordEnd
      const text = decodeRecord(content, record.recordStart, record.recordEnd, 'property', limits)
      if (text.length !== record.textByteLength) throw new Error(`record at ${record.recordStart} decodes to ${text.length}, dump says ${record.textByteLength}`)
    }
    if (end !== content.length) throw new Error('records do not cover the content')
  }), options))
})

/** Builds a group of `texts` and checks dumpRecords and decodeRecord give back exactly what went in. */
function checkBuiltGroup(texts: readonly Uint8Array[]): void {
  const builder = new GroupBuilder({ maxContentByteLength: 1 << 20 })
  const ranges = texts.map(text => builder.tryAdd(text))
  const content = builder.content()
  const dumped = dumpRecords(content, 'property', limits, true)
  if (dumped.length !== texts.length) throw new Error(`${dumped.length} records for ${texts.length} texts`)
  dumped.forEach((record, i) => {
    const range = ranges[i]
    if (range === undefined || record.recordStart !== range.recordStart || record.recordEnd !== range.recordEnd || record.kind !== range.kind) throw new Error(`record ${i} range differs`)
    // Only the content up to the record's end is needed.
    const text = decodeRecord(content.slice(0, record.recordEnd), record.recordStart, record.recordEnd, 'property', limits)
    if (!bytesEqual(text, texts[i] as Uint8Array)) throw new Error(`record ${i} does not rebuild its text`)
  })
}

test('a group built from an edited text gives every version back', t => {
  t.notThrows(() => fc.assert(fc.property(editHistoryArbitrary(3000, 10), checkBuiltGroup), options))
})

test('a group built from texts sharing a prefix gives every text back', t => {
  t.notThrows(() => fc.assert(fc.property(sharedPrefixArbitrary(2000, 6), checkBuiltGroup), options))
})

test('a group built with empty texts among others gives every text back', t => {
  t.notThrows(() => fc.assert(fc.property(withEmptyTextsArbitrary(10), checkBuiltGroup), options))
})

test('damaged group content gives dumpRecords and decodeRecord a value or a VstoreError', t => {
  t.notThrows(() => fc.assert(fc.property(editHistoryArbitrary(1000, 5), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(), (texts, offset, mask, cut) => {
    const builder = new GroupBuilder({ maxContentByteLength: 1 << 20 })
    const ranges = texts.map(text => builder.tryAdd(text))
    const content = builder.content()
    const damaged = flipByte(content, offset % content.length, mask).subarray(0, content.length - (cut % 3 === 0 ? cut % (content.length + 1) : 0))
    orVstoreError(() => dumpRecords(damaged, 'property', limits, true))
    for (const range of ranges) if (range) orVstoreError(() => decodeRecord(damaged, range.recordStart, range.recordEnd, 'property', limits))
  }), options))
})
