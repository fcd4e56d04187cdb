/** The entropy layer as the layers above use it: the codecs (codec.ts) and the quick coding of temporary files. */
export {
  CODEC_BROTLI, CODEC_LZMA, CODEC_NONE, CODEC_ZLIB, brotliCodec, codecForId, lzmaCodec, measurePrefixes, noneCodec, parseCodecSetting, zlibCodec,
  type BrotliOptions, type EntropyCodec, type PrefixMeasure,
} from './codec.js'
export { compressQuickly, decompressQuickly } from './node-zlib.js'
