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

/**
 * Whether two content hashes of texts agree. A stored hash may be a prefix of the text's (formats/index.md:
 * store format 3 keeps 4 bytes for a text under 16 KiB), so the shorter one's bytes are compared: a check
 * against damage, not proof of equal content, when one is short (isWholeHash).
 */
export function hashesMatch(a: Uint8Array, b: Uint8Array): boolean {
  const length = Math.min(a.length, b.length)
  if (length === 0) return false
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Whether `hash` is a text's whole content hash (HASH_BYTE_LENGTH bytes), which names its content. */
export function isWholeHash(hash: Uint8Array): boolean {
  return hash.length === HASH_BYTE_LENGTH
}
