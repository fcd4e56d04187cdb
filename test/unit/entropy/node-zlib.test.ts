import test from 'ava'
import zlib from 'node:zlib'
import { brotliCodec, CODEC_BROTLI, CODEC_ZLIB, zlibCodec } from '../../../lib/entropy/codec.js'
import { VstoreError } from '../../../lib/errors.js'
import { fittedQuality, fittedWindow, SMALL_CONTENT_BYTE_LENGTH } from '../../../lib/entropy/node-zlib.js'
import { randomLines, seededRandom } from '../../helpers/random.js'

test('zlib stores raw deflate that node:zlib inflates', async t => {
  const content = randomLines(seededRandom(41), 200)
  const stored = await zlibCodec(9).encode(content)
  t.true(stored.length < content.length / 2)
  t.deepEqual(new Uint8Array(zlib.inflateRawSync(stored)), content)
  t.is(zlibCodec().id, CODEC_ZLIB)
})

test('brotli stores a brotli stream that node:zlib decompresses', async t => {
  const content = randomLines(seededRandom(42), 200)
  const stored = await brotliCodec({ quality: 5, lgwin: 16 }).encode(content)
  t.true(stored.length < content.length / 2)
  t.deepEqual(new Uint8Array(zlib.brotliDecompressSync(stored)), content)
  t.is(brotliCodec().id, CODEC_BROTLI)
})

test('out-of-range zlib levels and brotli settings are VSTORE_USAGE', t => {
  for (const level of [-1, 10, Number.NaN]) t.throws(() => zlibCodec(level), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, String(level))
  for (const options of [{ quality: -1, lgwin: 16 }, { quality: 12, lgwin: 16 }, { quality: 5, lgwin: 9 }, { quality: 5, lgwin: 25 }]) {
    t.throws(() => brotliCodec(options), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, JSON.stringify(options))
  }
  t.notThrows(() => zlibCodec(0))
  t.notThrows(() => brotliCodec({ quality: 0, lgwin: 10 }))
})

// Regression: node:zlib takes no maximum of 0, so the decoders check the output length themselves.
for (const codec of [zlibCodec(), brotliCodec()]) {
  test(`${codec.name}: a one-byte stream decoded with maxOutputByteLength 0 is VSTORE_CORRUPT`, async t => {
    const stored = await codec.encode(Uint8Array.of(65))
    await t.throwsAsync(codec.decodePrefix(stored, 0, 'g'), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
  })

  test(`${codec.name}: an empty stream decoded with maxOutputByteLength 0 is empty`, async t => {
    const stored = await codec.encode(new Uint8Array(0))
    t.is((await codec.decodePrefix(stored, 0, 'g')).length, 0)
  })
}

test('brotli fits its window to the content, between 10 bits and the window it is given', t => {
  t.is(fittedWindow(0, 24), 10)
  t.is(fittedWindow(1000, 24), 10)
  t.is(fittedWindow(5000, 24), 13)
  t.is(fittedWindow(16 * 1024 - 16, 24), 14)
  t.is(fittedWindow(16 * 1024, 24), 15)
  t.is(fittedWindow(2 * 1024 * 1024, 24), 22)
  t.is(fittedWindow(64 * 1024 * 1024, 24), 24)
  t.is(fittedWindow(5000, 12), 12)
})

test('brotli quality 9 is given as 8 for content under 256 KiB, other qualities as they are', t => {
  t.is(fittedQuality(0, 9), 8)
  t.is(fittedQuality(SMALL_CONTENT_BYTE_LENGTH - 1, 9), 8)
  t.is(fittedQuality(SMALL_CONTENT_BYTE_LENGTH, 9), 9)
  t.is(fittedQuality(1000, 11), 11)
  t.is(fittedQuality(1000, 5), 5)
})
