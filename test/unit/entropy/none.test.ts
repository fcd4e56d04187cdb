import test from 'ava'
import { CODEC_NONE, noneCodec } from '../../../lib/entropy/codec.js'

test('none stores content as it is, in a copy', async t => {
  const codec = noneCodec()
  const content = Uint8Array.of(1, 2, 3, 4)
  const stored = await codec.encode(content)
  t.deepEqual(stored, content)
  content[0] = 99
  t.is(stored[0], 1)
  t.is(codec.id, CODEC_NONE)
})

test('none decodes any bytes to themselves, cut at maxOutputByteLength', async t => {
  const codec = noneCodec()
  const stored = Uint8Array.of(5, 6, 7, 8, 9)
  t.deepEqual([...await codec.decodePrefix(stored, 100, 'g')], [5, 6, 7, 8, 9])
  t.deepEqual([...await codec.decodePrefix(stored, 3, 'g')], [5, 6, 7])
  t.is((await codec.decodePrefix(stored, 0, 'g')).length, 0)
})
