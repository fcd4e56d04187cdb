import test from 'ava'
import { CODEC_BROTLI, CODEC_LZMA, CODEC_NONE, CODEC_ZLIB, codecForId, parseCodecSetting } from '../../../lib/entropy/index.js'
import { VstoreError } from '../../../lib/errors.js'

test('codecForId gives the codec whose id is the Codec byte', t => {
  for (const id of [CODEC_NONE, CODEC_ZLIB, CODEC_BROTLI, CODEC_LZMA]) t.is(codecForId(id, 'g').id, id)
  t.deepEqual([CODEC_NONE, CODEC_ZLIB, CODEC_BROTLI, CODEC_LZMA].map(id => codecForId(id, 'g').name), ['none', 'zlib', 'brotli', 'lzma'])
})

test('an unknown codec id is VSTORE_UNSUPPORTED', t => {
  for (const id of [4, 5, 0x7f, 0xff]) t.throws(() => codecForId(id, 'g'), { instanceOf: VstoreError, code: 'VSTORE_UNSUPPORTED' }, String(id))
})

test('parseCodecSetting reads a name and optional level and window', t => {
  t.is(parseCodecSetting('none').name, 'none')
  t.is(parseCodecSetting('zlib:3').name, 'zlib')
  t.is(parseCodecSetting('lzma:9').name, 'lzma')
  t.is(parseCodecSetting('brotli:11:22').name, 'brotli')
  t.is(parseCodecSetting('brotli').id, CODEC_BROTLI)
})

test('parseCodecSetting rejects unknown names and bad numbers with VSTORE_USAGE', t => {
  for (const setting of ['gzip', '', 'zlib:x', 'brotli:12', 'brotli:5:9', 'lzma:10']) {
    t.throws(() => parseCodecSetting(setting), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, setting)
  }
})
