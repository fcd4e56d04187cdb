import { PassThrough } from 'node:stream'
import { VstoreError } from '../errors.js'
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
    async decodeWhole(stored, maxOutputByteLength, where) {
      if (stored.length > maxOutputByteLength) {
        throw new VstoreError('VSTORE_CORRUPT', `stored content of ${stored.length} bytes is longer than the content length ${maxOutputByteLength}`, where)
      }
      return stored
    },
    createDecoder: () => new PassThrough(),
  }
}
