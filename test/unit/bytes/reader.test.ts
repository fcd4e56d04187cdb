import test from 'ava'
import { ByteReader, readVarint } from '../../../lib/bytes/reader.js'
import { VstoreError } from '../../../lib/errors.js'

const CORRUPT = { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' } as const

test('byte, take and uint32 read in order and track the offset', t => {
  const reader = new ByteReader(Uint8Array.of(7, 1, 2, 3, 0x78, 0x56, 0x34, 0x12, 9), 'buffer')
  t.is(reader.byte(), 7)
  t.deepEqual([...reader.take(3)], [1, 2, 3])
  t.is(reader.offset, 4)
  t.is(reader.uint32(), 0x12345678)
  t.is(reader.remainingByteLength, 1)
  t.false(reader.atEnd)
  t.is(reader.byte(), 9)
  t.true(reader.atEnd)
})

test('uint32 is unsigned and little-endian', t => {
  t.is(new ByteReader(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 'b').uint32(), 0xffffffff)
  t.is(new ByteReader(Uint8Array.of(0, 0, 0, 0x80), 'b').uint32(), 0x80000000)
  t.is(new ByteReader(Uint8Array.of(1, 0, 0, 0), 'b').uint32(), 1)
})

test('take returns a view without copying', t => {
  const bytes = Uint8Array.of(1, 2, 3, 4)
  const view = new ByteReader(bytes, 'b').take(2)
  bytes[0] = 99
  t.is(view[0], 99)
})

test('skip passes over bytes, and refuses to pass the end (VSTORE_CORRUPT) without moving', t => {
  const reader = new ByteReader(Uint8Array.of(1, 2, 3, 4), 'b')
  reader.skip(2)
  t.is(reader.byte(), 3)
  t.throws(() => reader.skip(2), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
  t.is(reader.byte(), 4)
})

test('a byte past the end is VSTORE_CORRUPT naming where and offset', t => {
  const reader = new ByteReader(Uint8Array.of(1), 'packs/1.vpk', 100)
  reader.byte()
  const error = t.throws(() => reader.byte(), CORRUPT)
  t.is(error?.where, 'packs/1.vpk@101')
})

test('taking more than remains is VSTORE_CORRUPT and consumes nothing', t => {
  const reader = new ByteReader(Uint8Array.of(1, 2, 3), 'b')
  t.throws(() => reader.take(4), CORRUPT)
  t.is(reader.offset, 0)
  t.throws(() => new ByteReader(Uint8Array.of(1, 2, 3), 'b').uint32(), CORRUPT)
})

test('string reads a varint length then UTF-8', t => {
  const utf8 = new TextEncoder().encode('héllo')
  const reader = new ByteReader(Uint8Array.of(utf8.length, ...utf8, 0xaa), 'b')
  t.is(reader.string(100), 'héllo')
  t.is(reader.byte(), 0xaa)
})

// Regression: TextDecoder drops a leading byte order mark by default, so the file ids "\uFEFFREADME" and
// "README" decoded from the index as the same id.
test('string keeps a leading U+FEFF (a byte order mark is part of the string)', t => {
  const bytes = Uint8Array.of(9, 0xef, 0xbb, 0xbf, 0x52, 0x45, 0x41, 0x44, 0x4d, 0x45)
  t.is(new ByteReader(bytes, 'b').string(100), '\uFEFFREADME')
  t.is(new ByteReader(Uint8Array.of(6, 0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf), 'b').string(100), '\uFEFF\uFEFF')
})

test('a string longer than its limit is VSTORE_LIMIT', t => {
  const reader = new ByteReader(Uint8Array.of(5, 97, 98, 99, 100, 101), 'b')
  t.throws(() => reader.string(4), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
  t.is(new ByteReader(Uint8Array.of(5, 97, 98, 99, 100, 101), 'b').string(5), 'abcde')
})

test('a string that is not UTF-8 is VSTORE_CORRUPT', t => {
  t.throws(() => new ByteReader(Uint8Array.of(2, 0xc3, 0x28), 'b').string(10), CORRUPT)
  t.throws(() => new ByteReader(Uint8Array.of(1, 0xff), 'b').string(10), CORRUPT)
})

test('a string running past the end is VSTORE_CORRUPT', t => {
  t.throws(() => new ByteReader(Uint8Array.of(4, 97, 98), 'b').string(10), CORRUPT)
})

test('expectEnd throws VSTORE_CORRUPT only when bytes remain', t => {
  const reader = new ByteReader(Uint8Array.of(1, 2), 'b')
  reader.byte()
  t.throws(() => reader.expectEnd('thing'), CORRUPT)
  reader.byte()
  t.notThrows(() => reader.expectEnd('thing'))
})

test('readVarint decodes one to seven bytes', t => {
  const cases: [number[], number][] = [
    [[0x00], 0],
    [[0x7f], 127],
    [[0x80, 0x01], 128],
    [[0xac, 0x02], 300],
    [[0x80, 0x80, 0x80, 0x80, 0x08], 2 ** 31],
    [[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 2 ** 35],
    [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], 2 ** 49 - 1],
  ]
  for (const [bytes, value] of cases) {
    const reader = new ByteReader(Uint8Array.of(...bytes, 0xee), 'b')
    t.is(readVarint(reader), value, bytes.join(' '))
    t.is(reader.offset, bytes.length)
  }
})

test('a varint whose last byte is zero after others is VSTORE_CORRUPT (non-minimal)', t => {
  t.throws(() => readVarint(new ByteReader(Uint8Array.of(0x80, 0x00), 'b')), CORRUPT)
  t.throws(() => readVarint(new ByteReader(Uint8Array.of(0x81, 0x80, 0x00), 'b')), CORRUPT)
})

test('a varint with an eighth byte is VSTORE_CORRUPT', t => {
  t.throws(() => readVarint(new ByteReader(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 'b')), CORRUPT)
})

test('a truncated varint is VSTORE_CORRUPT', t => {
  t.throws(() => readVarint(new ByteReader(Uint8Array.of(0x80), 'b')), CORRUPT)
  t.throws(() => readVarint(new ByteReader(new Uint8Array(0), 'b')), CORRUPT)
})
