import { VstoreError } from '../errors.js'
import type { EntropyCodec } from './codec.js'
import { lzmaCodec } from './lzma.js'
import { brotliCodec, CODEC_BROTLI, CODEC_LZMA, CODEC_NONE, CODEC_ZLIB, zlibCodec } from './node-zlib.js'

export { measurePrefixes, type EntropyCodec, type PrefixMeasure } from './codec.js'
export { brotliCodec, zlibCodec, compressQuickly, decompressQuickly, CODEC_BROTLI, CODEC_LZMA, CODEC_NONE, CODEC_ZLIB } from './node-zlib.js'
export { lzmaCodec } from './lzma.js'
export { noneCodec } from './none.js'
import { noneCodec } from './none.js'

/** The codec that decodes groups whose `Codec` byte is `id` (decoding needs no encoder settings). */
export function codecForId(id: number, where: string): EntropyCodec {
  switch (id) {
    case CODEC_NONE: return noneCodec()
    case CODEC_ZLIB: return zlibCodec()
    case CODEC_BROTLI: return brotliCodec()
    case CODEC_LZMA: return lzmaCodec()
    default: throw new VstoreError('VSTORE_UNSUPPORTED', `unknown codec ${id}`, where)
  }
}

/** Parses a codec setting such as `brotli`, `brotli:11`, `lzma:9`, `zlib:9`, `none`. */
export function parseCodecSetting(setting: string): EntropyCodec {
  const [name, level, window] = setting.split(':')
  const number = (text: string | undefined, fallback: number) => (text === undefined || text === '' ? fallback : Number(text))
  switch (name) {
    case 'brotli': return brotliCodec({ quality: number(level, 9), lgwin: number(window, 24) })
    case 'zlib': return zlibCodec(number(level, 9))
    case 'lzma': return lzmaCodec(number(level, 6))
    case 'none': return noneCodec()
    default: throw new RangeError(`unknown codec "${setting}" (brotli[:quality[:lgwin]], lzma[:preset], zlib[:level], none)`)
  }
}
