import { PassThrough } from 'node:stream'
import type { EntropyCodec } from './codec.js'
import { CODEC_NONE } from './node-zlib.js'

/** Stores content as it is (tests, and content that does not compress). */
export function noneCodec(): EntropyCodec {
  return {
    id: CODEC_NONE,
    name: 'none',
    async encode(content) {
      return content.slice()
    },
    async decodePrefix(stored, maxOutputByteLength) {
      return stored.subarray(0, maxOutputByteLength)
    },
    createDecoder: () => new PassThrough(),
  }
}
