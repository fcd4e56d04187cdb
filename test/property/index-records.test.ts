import { HASH_BYTE_LENGTH } from '../../lib/bytes/index.js'
import test from 'ava'
import fc from 'fast-check'
import { isDeepStrictEqual } from 'node:util'
import { ByteWriter } from '../../lib/bytes/writer.js'
import { crc32 } from '../../lib/bytes/crc32.js'
import { VstoreError } from '../../lib/errors.js'
import {
  decodeLocationValue, decodePackKey, decodePackValue, decodeTextKey, decodeTextValue, decodeTotalsValue, encodeFilePrefix,
  encodeLocationValue, encodePackKey, encodePackValue, encodeTextKey, encodeTextValue, encodeTotalsValue, MAX_BASE_DEPTH,
  entryHashByteLength, idProblem, INDEX_VALUE_VERSION, STORE_FORMAT_VERSION, TAG_TEXT,
} from '../../lib/index/records.js'
import type { TextEntry, TextLocation } from '../../lib/index/types.js'
import { concatBytes, flipByte, PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }
const big = fc.bigInt({ min: 0n, max: 2n ** 44n }).map(Number)

/** Ids as callers use them: paths, revision numbers, lowercase hex SHA-1/SHA-256, any well-formed Unicode. */
const idArbitrary = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.stringMatching(/^[0-9a-f]{40}$/),
  fc.stringMatching(/^[0-9a-f]{64}$/),
  fc.stringMatching(/^[0-9a-fA-F]{39,41}$/),
)

const locationArbitrary: fc.Arbitrary<TextLocation> = fc.record({
  packId: big, groupOffset: big, readByteLength: big, recordStart: big,
  recordByteLength: fc.bigInt({ min: 1n, max: 2n ** 40n }).map(Number), extraDecoded: fc.nat(5000), textByteLength: big,
  hash: fc.uint8Array({ minLength: HASH_BYTE_LENGTH, maxLength: HASH_BYTE_LENGTH }),
  baseDepth: fc.nat(MAX_BASE_DEPTH), baseReadByteLength: big, baseDecodedByteLength: big,
}).map(({ recordByteLength, extraDecoded, ...rest }) => ({
  ...rest, recordEnd: rest.recordStart + recordByteLength, decodedByteLength: rest.recordStart + recordByteLength + extraDecoded,
  // Without a base the chain costs nothing (version 1 values do not hold these fields).
  ...(rest.baseDepth === 0 ? { baseReadByteLength: 0, baseDecodedByteLength: 0 } : {}),
}))

const originArbitrary = fc.option(fc.record({ file: fc.string({ minLength: 1, maxLength: 12 }).filter(file => idProblem(file) === undefined), rev: idArbitrary }).map(({ file, rev }) => ({ file, rev })), { nil: undefined })
const entryArbitrary: fc.Arbitrary<TextEntry> = fc.tuple(locationArbitrary, fc.array(idArbitrary, { maxLength: 5 }), originArbitrary)
  .map(([location, parents, origin]) => (origin === undefined ? { ...location, parents } : { ...location, parents, origin }))

type Decoder = (key: Uint8Array, value: Uint8Array, where: string) => unknown
const decodeText: Decoder = (key, value, where) => decodeTextValue(key, value, where, STORE_FORMAT_VERSION)
const decodeTextFormat2: Decoder = (key, value, where) => decodeTextValue(key, value, where, 2)
const decoders: readonly [string, Decoder][] = [
  ['text', decodeText], ['text of format 2', decodeTextFormat2], ['location', decodeLocationValue], ['pack', decodePackValue], ['totals', decodeTotalsValue],
]

/** The entry without its origin (format 2 has none). */
function withoutOrigin({ origin: _origin, ...entry }: TextEntry): TextEntry {
  return entry
}

/** An entry as a text entry of `format` keeps it: a short text's hash cut to its check in format 3. */
function asStored(entry: TextEntry, format: number): TextEntry {
  return { ...entry, hash: entry.hash.subarray(0, entryHashByteLength(entry.textByteLength, format)) }
}

function orVstoreError(run: () => unknown): unknown {
  try {
    return run()
  } catch (error) {
    if (!(error instanceof VstoreError)) throw error
    return undefined
  }
}

/** Version byte, `body`, then a correct checksum: gets random bodies past the checksum into the parsers. */
function sealedValue(key: Uint8Array, body: Uint8Array): Uint8Array {
  const writer = new ByteWriter()
  writer.byte(INDEX_VALUE_VERSION)
  writer.bytes(body)
  writer.uint32(crc32(writer.view(), crc32(key)))
  return writer.finish()
}

test('any value bytes give every value decoder a value or a VstoreError', t => {
  t.notThrows(() => fc.assert(fc.property(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ maxLength: 120 }), fc.boolean(), (key, body, seal) => {
    const value = seal ? sealedValue(key, body) : body
    for (const [, decode] of decoders) orVstoreError(() => decode(key, value, 'property'))
  }), options))
})

test('a real value with its body damaged but resealed gives a value or a VstoreError', t => {
  t.notThrows(() => fc.assert(fc.property(entryArbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(), (entry, offset, mask, cut) => {
    const key = encodeTextKey({ file: 'f', rev: 'r' })
    const value = encodeTextValue(key, entry)
    const body = value.subarray(1, value.length - 4)
    const damaged = flipByte(body, offset % body.length, mask).subarray(0, body.length - (cut % 4 === 0 ? cut % body.length : 0))
    for (const [, decode] of decoders) orVstoreError(() => decode(key, sealedValue(key, damaged), 'property'))
  }), options))
})

test('any key bytes give decodeTextKey and decodePackKey a value or a VstoreError', t => {
  t.notThrows(() => fc.assert(fc.property(fc.oneof(
    fc.uint8Array({ maxLength: 60 }),
    fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.uint8Array({ maxLength: 40 })).map(([file, tail]) => concatBytes(encodeFilePrefix(file), tail)),
    fc.uint8Array({ maxLength: 40 }).map(tail => concatBytes(Uint8Array.of(TAG_TEXT), tail)),
  ), bytes => {
    orVstoreError(() => decodeTextKey(bytes))
    orVstoreError(() => decodePackKey(bytes))
  }), options))
})

test('text keys round-trip', t => {
  t.notThrows(() => fc.assert(fc.property(idArbitrary, idArbitrary, (file, rev) => {
    const decoded = decodeTextKey(encodeTextKey({ file, rev }))
    if (decoded.file !== file || decoded.rev !== rev) throw new Error(`${JSON.stringify({ file, rev })} came back as ${JSON.stringify(decoded)}`)
  }), options))
})

test('a text key of a file starts with that file\'s prefix and no other file\'s', t => {
  t.notThrows(() => fc.assert(fc.property(idArbitrary, idArbitrary, idArbitrary, (file, other, rev) => {
    const key = encodeTextKey({ file, rev })
    const startsWith = (prefix: Uint8Array) => prefix.length <= key.length && prefix.every((byte, i) => key[i] === byte)
    if (!startsWith(encodeFilePrefix(file))) throw new Error('key does not start with its file prefix')
    if (other !== file && startsWith(encodeFilePrefix(other))) throw new Error(`key of ${file} lies under ${other}`)
  }), options))
})

test('text, location, pack and totals values round-trip', t => {
  t.notThrows(() => fc.assert(fc.property(fc.uint8Array({ maxLength: 30 }), entryArbitrary, big, big, big, (key, entry, a, b, c) => {
    // A pack's committed length is at least its 8-byte header.
    const committed = a + 8
    const { parents, origin, ...location } = entry
    const checks: [unknown, unknown][] = [
      [decodeText(key, encodeTextValue(key, entry), 'property'), asStored(entry, STORE_FORMAT_VERSION)],
      [decodeTextFormat2(key, encodeTextValue(key, withoutOrigin(entry), 2), 'property'), withoutOrigin(entry)],
      [decodeText(key, encodeTextValue(key, asStored(entry, STORE_FORMAT_VERSION)), 'property'), asStored(entry, STORE_FORMAT_VERSION)],
      [decodeLocationValue(key, encodeLocationValue(key, location), 'property'), location],
      [decodePackValue(key, encodePackValue(key, { committedByteLength: committed, groupCount: b }), 'property'), { committedByteLength: committed, groupCount: b }],
      [decodeTotalsValue(key, encodeTotalsValue(key, { textCount: a, rawByteLength: b, groupCount: c }), 'property'), { textCount: a, rawByteLength: b, groupCount: c }],
    ]
    void parents
    void origin
    checks.forEach(([got, want], i) => { if (!isDeepStrictEqual(got, want)) throw new Error(`value ${i}: ${JSON.stringify(want)} came back different`) })
  }), options))
})

test('a flipped byte anywhere in a value is VSTORE_CORRUPT or VSTORE_UNSUPPORTED', t => {
  t.notThrows(() => fc.assert(fc.property(entryArbitrary, fc.uint8Array({ minLength: 1, maxLength: 30 }), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(3), (entry, key, offset, mask, which) => {
    const { parents, ...location } = entry
    void parents
    const [value, decode]: [Uint8Array, Decoder] = [
      [encodeTextValue(key, entry), decodeText],
      [encodeLocationValue(key, location), decodeLocationValue],
      [encodePackValue(key, { committedByteLength: location.groupOffset + 8, groupCount: location.packId }), decodePackValue],
      [encodeTotalsValue(key, { textCount: location.packId, rawByteLength: location.textByteLength, groupCount: location.recordStart }), decodeTotalsValue],
    ][which] as [Uint8Array, Decoder]
    try {
      decode(key, flipByte(value, offset % value.length, mask), 'property')
    } catch (error) {
      if (error instanceof VstoreError && (error.code === 'VSTORE_CORRUPT' || error.code === 'VSTORE_UNSUPPORTED')) return
      throw error
    }
    throw new Error('a damaged value decoded')
  }), options))
})

test('pack keys round-trip', t => {
  t.notThrows(() => fc.assert(fc.property(big, packId => {
    if (decodePackKey(encodePackKey(packId)) !== packId) throw new Error(`pack ${packId}`)
  }), options))
})
