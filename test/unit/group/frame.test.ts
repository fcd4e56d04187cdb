import test from 'ava'
import { ByteWriter } from '../../../lib/bytes/writer.js'
import { crc32 } from '../../../lib/bytes/crc32.js'
import { brotliCodec, lzmaCodec, noneCodec, zlibCodec, type EntropyCodec } from '../../../lib/entropy/index.js'
import { VstoreError } from '../../../lib/errors.js'
import {
  decodeGroup, decodeGroupHeader, decodeGroupPrefix, DEFAULT_GROUP_LIMITS, encodeGroup, frameGroup, GROUP_MAGIC, GROUP_VERSION,
  MAX_GROUP_HEADER_BYTE_LENGTH, type GroupLimits,
} from '../../../lib/group/frame.js'
import { concatBytes, flipByte, randomBytes, randomLines, seededRandom } from '../../helpers/random.js'

const limits = DEFAULT_GROUP_LIMITS
const CORRUPT = { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' } as const
const UNSUPPORTED = { instanceOf: VstoreError, code: 'VSTORE_UNSUPPORTED' } as const
const codecs: readonly EntropyCodec[] = [noneCodec(), zlibCodec(6), brotliCodec({ quality: 5, lgwin: 16 }), lzmaCodec(1)]
const random = seededRandom(81)
const content = concatBytes(randomLines(random, 300), randomBytes(random, 2000))

/** A header with free choice of every field, and a correct checksum over it and `stored`. */
function rawGroup(fields: { magic?: Uint8Array; version?: number; codecId?: number; contentByteLength: number }, stored: Uint8Array): Uint8Array {
  const writer = new ByteWriter()
  writer.bytes(fields.magic ?? GROUP_MAGIC)
  writer.byte(fields.version ?? GROUP_VERSION)
  writer.byte(fields.codecId ?? 0)
  writer.varint(fields.contentByteLength)
  writer.varint(stored.length)
  writer.uint32(crc32(stored, crc32(writer.view())))
  writer.bytes(stored)
  return writer.finish()
}

for (const codec of codecs) {
  test(`${codec.name}: decodeGroup gives back the content encodeGroup framed`, async t => {
    for (const bytes of [content, new Uint8Array(0), Uint8Array.of(7)]) {
      const group = await encodeGroup(bytes, codec)
      const decoded = await decodeGroup(group.bytes, 'g', limits)
      t.deepEqual(new Uint8Array(decoded.content), bytes)
      t.is(decoded.header.codecId, codec.id)
      t.is(decoded.header.contentByteLength, bytes.length)
      t.is(decoded.header.headerByteLength, group.headerByteLength)
      t.is(decoded.header.storedByteLength, group.bytes.length - group.headerByteLength)
    }
  })

  test(`${codec.name}: decodeGroupPrefix of the whole group gives all the content`, async t => {
    const { bytes } = await encodeGroup(content, codec)
    t.deepEqual(new Uint8Array(await decodeGroupPrefix(bytes, content.length, 'g', limits)), content)
  })

  test(`${codec.name}: decodeGroupPrefix of part of the group gives a prefix of the content`, async t => {
    const { bytes, headerByteLength } = await encodeGroup(content, codec)
    const prefix = bytes.subarray(0, headerByteLength + Math.floor((bytes.length - headerByteLength) / 2))
    const decoded = await decodeGroupPrefix(prefix, 100, 'g', limits)
    t.true(decoded.length >= 100 && decoded.length < content.length)
    t.deepEqual(new Uint8Array(decoded), content.subarray(0, decoded.length))
  })
}

test('the header is magic, version, codec, two varint lengths and a little-endian CRC-32', async t => {
  const stored = Uint8Array.of(10, 20, 30)
  const bytes = frameGroup(2, 300, stored)
  const head = [0xf6, 0x76, 0x67, 0x00, 2, 2, 0xac, 0x02, 3]
  const checksum = crc32(stored, crc32(Uint8Array.from(head)))
  t.deepEqual([...bytes], [...head, checksum & 0xff, (checksum >>> 8) & 0xff, (checksum >>> 16) & 0xff, checksum >>> 24, 10, 20, 30])
  t.deepEqual(decodeGroupHeader(bytes, 'g', limits), { version: 2, codecId: 2, contentByteLength: 300, storedByteLength: 3, checksum, headerByteLength: 13 })
})

test('decodeGroupHeader needs only the header bytes', async t => {
  const { bytes, headerByteLength } = await encodeGroup(content, noneCodec())
  t.true(headerByteLength <= MAX_GROUP_HEADER_BYTE_LENGTH)
  t.is(decodeGroupHeader(bytes.subarray(0, headerByteLength), 'g', limits).contentByteLength, content.length)
  t.throws(() => decodeGroupHeader(bytes.subarray(0, headerByteLength - 1), 'g', limits), CORRUPT)
})

test('a flipped stored byte is a checksum mismatch, VSTORE_CORRUPT', async t => {
  for (const codec of codecs) {
    const { bytes, headerByteLength } = await encodeGroup(content, codec)
    for (const offset of [headerByteLength, headerByteLength + 1, Math.floor((bytes.length + headerByteLength) / 2), bytes.length - 1]) {
      await t.throwsAsync(decodeGroup(flipByte(bytes, offset, 0x01), 'g', limits), CORRUPT, `${codec.name} @${offset}`)
    }
  }
})

test('a flipped checksum byte is VSTORE_CORRUPT', async t => {
  const { bytes, headerByteLength } = await encodeGroup(content, noneCodec())
  for (let offset = headerByteLength - 4; offset < headerByteLength; offset++) {
    await t.throwsAsync(decodeGroup(flipByte(bytes, offset, 0x80), 'g', limits), CORRUPT, `@${offset}`)
  }
})

test('a flipped content-length byte is VSTORE_CORRUPT', async t => {
  // Content_Byte_Length is covered by the checksum too.
  const { bytes } = await encodeGroup(content, brotliCodec({ quality: 5, lgwin: 16 }))
  await t.throwsAsync(decodeGroup(flipByte(bytes, 6, 0x01), 'g', limits), CORRUPT)
})

test('a bad magic is VSTORE_CORRUPT', async t => {
  const { bytes } = await encodeGroup(content, noneCodec())
  for (let offset = 0; offset < 4; offset++) {
    t.throws(() => decodeGroupHeader(flipByte(bytes, offset, 0x20), 'g', limits), CORRUPT, `@${offset}`)
  }
  await t.throwsAsync(decodeGroup(rawGroup({ magic: Uint8Array.of(0xf6, 0x76, 0x70, 0x00), contentByteLength: 1 }, Uint8Array.of(1)), 'g', limits), CORRUPT)
})

test('an unknown version is VSTORE_UNSUPPORTED', async t => {
  for (const version of [0, 3, 0xff]) {
    const bytes = rawGroup({ version, contentByteLength: 3 }, Uint8Array.of(1, 2, 3))
    t.throws(() => decodeGroupHeader(bytes, 'g', limits), UNSUPPORTED, String(version))
    await t.throwsAsync(decodeGroup(bytes, 'g', limits), UNSUPPORTED, String(version))
    await t.throwsAsync(decodeGroupPrefix(bytes, 1, 'g', limits), UNSUPPORTED, String(version))
  }
})

test('an unknown codec is VSTORE_UNSUPPORTED', async t => {
  for (const codecId of [4, 9, 0xff]) {
    const bytes = rawGroup({ codecId, contentByteLength: 3 }, Uint8Array.of(1, 2, 3))
    t.throws(() => decodeGroupHeader(bytes, 'g', limits), UNSUPPORTED, String(codecId))
    await t.throwsAsync(decodeGroup(bytes, 'g', limits), UNSUPPORTED, String(codecId))
  }
})

test('a truncated group and bytes after a group are VSTORE_CORRUPT', async t => {
  const { bytes } = await encodeGroup(content, zlibCodec())
  await t.throwsAsync(decodeGroup(bytes.subarray(0, bytes.length - 1), 'g', limits), CORRUPT)
  await t.throwsAsync(decodeGroup(concatBytes(bytes, Uint8Array.of(0)), 'g', limits), CORRUPT)
  await t.throwsAsync(decodeGroup(bytes.subarray(0, 5), 'g', limits), CORRUPT)
  await t.throwsAsync(decodeGroup(new Uint8Array(0), 'g', limits), CORRUPT)
})

test('stored content that decodes to fewer bytes than the header says is VSTORE_CORRUPT', async t => {
  const stored = await brotliCodec().encode(content)
  await t.throwsAsync(decodeGroup(frameGroup(2, content.length + 1, stored), 'g', limits), CORRUPT)
  await t.throwsAsync(decodeGroup(frameGroup(0, 4, Uint8Array.of(1, 2, 3)), 'g', limits), CORRUPT)
})

test('stored content that decodes to more bytes than the header says is VSTORE_CORRUPT', async t => {
  const stored = await brotliCodec().encode(content)
  await t.throwsAsync(decodeGroup(frameGroup(2, content.length - 1, stored), 'g', limits), CORRUPT)
})

test('a none group whose stored content is longer than its content length is VSTORE_CORRUPT', async t => {
  await t.throwsAsync(decodeGroup(frameGroup(0, 3, Uint8Array.of(1, 2, 3, 4, 5)), 'g', limits), CORRUPT)
})

for (const codec of codecs.filter(c => c.name !== 'none')) {
  test(`${codec.name}: a group whose stored content has bytes after the stream is VSTORE_CORRUPT`, async t => {
    const stored = await codec.encode(content)
    await t.throwsAsync(decodeGroup(frameGroup(codec.id, content.length, concatBytes(stored, Uint8Array.of(1, 2, 3))), 'g', limits), CORRUPT)
  })
}

test('lengths past the limits are VSTORE_LIMIT', async t => {
  const small: GroupLimits = { maxTextByteLength: 1000, maxContentByteLength: 1000, maxStoredByteLength: 500 }
  t.throws(() => decodeGroupHeader(frameGroup(0, 1001, new Uint8Array(10)), 'g', small), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
  t.throws(() => decodeGroupHeader(frameGroup(0, 10, new Uint8Array(501)), 'g', small), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
  t.notThrows(() => decodeGroupHeader(frameGroup(0, 1000, new Uint8Array(500)), 'g', small))
})

test('decodeGroupPrefix needing more than the group holds is VSTORE_CORRUPT', async t => {
  const { bytes } = await encodeGroup(content, noneCodec())
  await t.throwsAsync(decodeGroupPrefix(bytes, content.length + 1, 'g', limits), CORRUPT)
})

test('decodeGroupPrefix of too short a prefix is VSTORE_CORRUPT', async t => {
  for (const codec of codecs) {
    const { bytes, headerByteLength } = await encodeGroup(content, codec)
    await t.throwsAsync(decodeGroupPrefix(bytes.subarray(0, headerByteLength + 10), content.length, 'g', limits), CORRUPT, codec.name)
  }
})

// Regression: a prefix decode ran to the header's Content_Byte_Length (up to the 1 GiB limit) even when the
// index expected far less: a crafted group of a few hundred bytes (brotli of 64 MiB of zeros) made a read
// of 10 bytes decode 64 MiB. With the index's expected length, it is refused before that.
test('decodeGroupPrefix refuses a stream that decodes far past what the index expects', async t => {
  const codec = brotliCodec({ quality: 1, lgwin: 24 })
  const content = new Uint8Array(64 * 1024 * 1024)
  const bytes = frameGroup(codec.id, content.length, await codec.encode(content))
  t.true(bytes.length < 100_000, `${bytes.length} bytes`)
  await t.throwsAsync(decodeGroupPrefix(bytes, 10, 'test', DEFAULT_GROUP_LIMITS, 4096), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
  // Expecting the whole content, it decodes.
  t.is((await decodeGroupPrefix(bytes, 10, 'test', DEFAULT_GROUP_LIMITS, content.length)).length, content.length)
})
