import test from 'ava'
import { CODEC_LZMA, lzmaCodec } from '../../../lib/entropy/codec.js'
import { VstoreError } from '../../../lib/errors.js'
import { randomLines, seededRandom } from '../../helpers/random.js'

test('lzma compresses text-like content and decodes it back', async t => {
  const codec = lzmaCodec(6)
  const content = randomLines(seededRandom(51), 300)
  const stored = await codec.encode(content)
  t.true(stored.length < content.length / 2)
  t.deepEqual(new Uint8Array(await codec.decodePrefix(stored, content.length, 'g')), content)
  t.is(codec.id, CODEC_LZMA)
})

test('lzma presets outside 0..9 are VSTORE_USAGE', t => {
  for (const preset of [-1, 10, Number.NaN]) t.throws(() => lzmaCodec(preset), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, String(preset))
  t.notThrows(() => lzmaCodec(0))
  t.notThrows(() => lzmaCodec(9))
})

test('lzma with maxOutputByteLength 0 refuses a non-empty stream', async t => {
  const codec = lzmaCodec(1)
  const stored = await codec.encode(Uint8Array.of(65))
  await t.throwsAsync(codec.decodePrefix(stored, 0, 'g'), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
})

test('an lzma stream that is a prefix ends without error where the input does', async t => {
  const codec = lzmaCodec(1)
  const content = randomLines(seededRandom(52), 400)
  const stored = await codec.encode(content)
  const decoded = await codec.decodePrefix(stored.subarray(0, Math.floor(stored.length / 2)), content.length, 'g')
  t.true(decoded.length > 0 && decoded.length < content.length)
  t.deepEqual(new Uint8Array(decoded), content.subarray(0, decoded.length))
})
