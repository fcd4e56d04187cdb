/**
 * The content hash of a text, as the index and the record stream keep it: the first 20 bytes
 * (HASH_BYTE_LENGTH) of its SHA-256. Its own module, so that a reader of record streams does not load the store.
 */
import { createHash } from 'node:crypto'
import { HASH_BYTE_LENGTH } from '../bytes/index.js'

export { HASH_BYTE_LENGTH }

export function hashText(text: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(text).digest().subarray(0, HASH_BYTE_LENGTH))
}
