import test from 'ava'
import fc from 'fast-check'
import { ByteReader, readVarint } from '../../lib/bytes/reader.js'
import { ByteWriter, MAX_VARINT, varintByteLength, writeVarint } from '../../lib/bytes/writer.js'
import { VstoreError } from '../../lib/errors.js'
import { PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }

/** Values near every power of two up to 2^49, where shift and carry mistakes show. */
const varintValue = fc.oneof(
  fc.bigInt({ min: 0n, max: BigInt(MAX_VARINT) }).map(Number),
  fc.tuple(fc.integer({ min: 0, max: 49 }), fc.integer({ min: -2, max: 2 })).map(([power, delta]) => Math.min(MAX_VARINT, Math.max(0, 2 ** power + delta))),
)

test('any bytes give readVarint a canonical value or a VstoreError', t => {
  t.notThrows(() => fc.assert(fc.property(fc.uint8Array({ maxLength: 12 }), bytes => {
    const reader = new ByteReader(bytes, 'property')
    let value: number
    try {
      value = readVarint(reader)
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
      return
    }
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_VARINT) throw new Error(`value ${value}`)
    // Minimal encodings only: the value re-encodes to exactly the bytes consumed.
    const writer = new ByteWriter()
    writeVarint(writer, value)
    if (writer.byteLength !== reader.offset || writer.finish().some((byte, i) => byte !== bytes[i])) throw new Error(`${value} was read from non-canonical bytes`)
  }), options))
})

test('every varint value round-trips through writeVarint and readVarint', t => {
  t.notThrows(() => fc.assert(fc.property(varintValue, fc.uint8Array({ maxLength: 4 }), (value, trailing) => {
    const writer = new ByteWriter()
    writeVarint(writer, value)
    if (writer.byteLength !== varintByteLength(value)) throw new Error(`varintByteLength(${value}) is ${varintByteLength(value)}, wrote ${writer.byteLength}`)
    writer.bytes(trailing)
    const reader = new ByteReader(writer.finish(), 'property')
    const read = readVarint(reader)
    if (read !== value) throw new Error(`wrote ${value}, read ${read}`)
    if (reader.remainingByteLength !== trailing.length) throw new Error('consumed the wrong number of bytes')
  }), options))
})

test('any bytes give ByteReader.string a string or a VstoreError', t => {
  t.notThrows(() => fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(80), (bytes, maxByteLength) => {
    try {
      new ByteReader(bytes, 'property').string(maxByteLength)
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
    }
  }), options))
})

test('strings round-trip through ByteWriter.string and ByteReader.string', t => {
  t.notThrows(() => fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), text => {
    const writer = new ByteWriter()
    writer.string(text)
    const read = new ByteReader(writer.finish(), 'property').string(1000)
    if (read !== text) throw new Error(`wrote ${JSON.stringify(text)}, read ${JSON.stringify(read)}`)
  }), options))
})
