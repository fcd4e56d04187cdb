/** Hex, and comparing byte arrays. */
import { VstoreError } from '../errors.js'

/**
 * Lowercase hex. One flat string (Buffer's encoder): building it by `+=` left a rope of 40 pieces per
 * hash, which for the 100,000 hashes an insert keeps was most of its heap (DESIGN.md).
 */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Parses lowercase or uppercase hex. @throws VSTORE_USAGE on odd length or a non-hex digit. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new VstoreError('VSTORE_USAGE', `not hex: ${hex.slice(0, 40)}`, 'hex')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

const HEX_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/

/** Whether `text` is a lowercase hex SHA-1 or SHA-256 id (40 or 64 digits): a git object id, as revisions use. */
export function isHexId(text: string): boolean {
  return HEX_ID.test(text)
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Byte-wise order of two byte strings (a prefix first): negative, zero or positive, as LevelDB orders keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const difference = (a[i] as number) - (b[i] as number)
    if (difference !== 0) return difference
  }
  return a.length - b.length
}
