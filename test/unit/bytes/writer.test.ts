import test from 'ava'
import { ByteReader, readVarint } from '../../../lib/bytes/reader.js'
import { ByteWriter, MAX_VARINT, varintByteLength, writeVarint } from '../../../lib/bytes/writer.js'
import { VstoreError } from '../../../lib/errors.js'

function varintBytes(value: number): number[] {
  const writer = new ByteWriter()
  writeVarint(writer, value)
  return [...writer.finish()]
}

test('a varint is 7 bits per byte, low bits first, high bit set on all but the last', t => {
  t.deepEqual(varintBytes(0), [0x00])
  t.deepEqual(varintBytes(127), [0x7f])
  t.deepEqual(varintBytes(128), [0x80, 0x01])
  t.deepEqual(varintBytes(300), [0xac, 0x02])
  t.deepEqual(varintBytes(MAX_VARINT), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
})

test('varints past 32 bits round-trip (no 32-bit shifts)', t => {
  for (const value of [2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 35 + 8, 2 ** 42 + 12345, MAX_VARINT]) {
    t.is(readVarint(new ByteReader(Uint8Array.from(varintBytes(value)), 'b')), value, String(value))
  }
})

test('varintByteLength is the length writeVarint writes', t => {
  for (const value of [0, 1, 127, 128, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28, 2 ** 35, 2 ** 42, MAX_VARINT]) {
    t.is(varintByteLength(value), varintBytes(value).length, String(value))
  }
})

test('writeVarint rejects negative, fractional, unsafe and too-large values with VSTORE_USAGE', t => {
  for (const value of [-1, 1.5, Number.NaN, Infinity, MAX_VARINT + 1, 2 ** 53]) {
    t.throws(() => writeVarint(new ByteWriter(), value), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, String(value))
  }
})

test('uint32 is written little-endian and rejects values outside 0..2^32-1', t => {
  const writer = new ByteWriter()
  writer.uint32(0x12345678)
  writer.uint32(0xffffffff)
  t.deepEqual([...writer.finish()], [0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0xff])
  t.throws(() => writer.uint32(-1), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => writer.uint32(2 ** 32), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => writer.uint32(1.5), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('byte rejects values outside 0..255', t => {
  const writer = new ByteWriter()
  for (const value of [-1, 256, 1.5, Number.NaN]) t.throws(() => writer.byte(value), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, String(value))
  t.is(writer.byteLength, 0)
})

test('the buffer grows past its initial capacity and keeps earlier bytes', t => {
  const writer = new ByteWriter(1)
  const expected: number[] = []
  for (let i = 0; i < 1000; i++) {
    writer.byte(i % 251)
    expected.push(i % 251)
  }
  const chunk = Uint8Array.from({ length: 5000 }, (_, i) => i % 13)
  writer.bytes(chunk)
  expected.push(...chunk)
  t.is(writer.byteLength, 6000)
  t.deepEqual([...writer.finish()], expected)
})

test('finish returns a copy while view shares the buffer', t => {
  const writer = new ByteWriter()
  writer.bytes(Uint8Array.of(1, 2, 3))
  const finished = writer.finish()
  const view = writer.view()
  view[0] = 42
  t.is(finished[0], 1)
  t.is(writer.view()[0], 42)
  t.is(finished.length, 3)
  t.is(finished.buffer.byteLength, 3)
})

test('string writes the UTF-8 byte length, not the code-unit count', t => {
  const writer = new ByteWriter()
  writer.string('é€')
  t.deepEqual([...writer.finish()], [5, 0xc3, 0xa9, 0xe2, 0x82, 0xac])
  t.is(new ByteReader(writer.finish(), 'b').string(10), 'é€')
})
