/** The coder that stores content as it is (tests, and content that does not compress). */
import { PassThrough } from 'node:stream'
import { VstoreError } from '../errors.js'
import type { Coder } from './coder.js'

export function noneCoder(): Coder {
  return {
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
