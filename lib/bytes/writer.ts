/** ByteWriter: bytes built from varints, strings and fixed fields. */
import { VstoreError } from '../errors.js'

/**
 * A growable byte buffer, grown by doubling. Appends only; `finish()` returns a copy of what was written,
 * `view()` a view of it. A value its field cannot hold (a byte past 255, a negative varint) is VSTORE_USAGE.
 */
export class ByteWriter {
  private buffer: Uint8Array
  private length = 0

  constructor(initialByteLength = 256) {
    // A length that is not a number (a caller's NaN) would make a buffer that never grows.
    this.buffer = new Uint8Array(Number.isSafeInteger(initialByteLength) ? Math.max(16, initialByteLength) : 256)
  }

  get byteLength(): number {
    return this.length
  }

  /** The bytes it holds room for (what it has grown to). */
  get capacity(): number {
    return this.buffer.length
  }

  /** Empties it for reuse, keeping its buffer. */
  reset(): void {
    this.length = 0
  }

  private reserve(extraByteLength: number): void {
    const needed = this.length + extraByteLength
    if (needed <= this.buffer.length) return
    let capacity = this.buffer.length * 2
    while (capacity < needed) capacity *= 2
    const grown = new Uint8Array(capacity)
    grown.set(this.buffer.subarray(0, this.length))
    this.buffer = grown
  }

  byte(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw usage(`byte: ${value}`)
    this.reserve(1)
    this.buffer[this.length++] = value
  }

  bytes(value: Uint8Array): void {
    this.reserve(value.length)
    this.buffer.set(value, this.length)
    this.length += value.length
  }

  /** A 32-bit unsigned integer, little-endian. */
  uint32(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw usage(`uint32: ${value}`)
    this.reserve(4)
    const b = this.buffer
    b[this.length] = value & 0xff
    b[this.length + 1] = (value >>> 8) & 0xff
    b[this.length + 2] = (value >>> 16) & 0xff
    b[this.length + 3] = (value >>> 24) & 0xff
    this.length += 4
  }

  varint(value: number): void {
    writeVarint(this, value)
  }

  /** A varint byte length followed by the UTF-8 bytes of `value`. */
  string(value: string): void {
    const encoded = new TextEncoder().encode(value)
    this.varint(encoded.length)
    this.bytes(encoded)
  }

  /** A view of the bytes written so far (valid until the next write). */
  view(): Uint8Array {
    return this.buffer.subarray(0, this.length)
  }

  /** A copy of the bytes written, sized exactly. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length)
  }
}

/** Largest value a varint may carry: 7 bytes of 7 bits. */
export const MAX_VARINT = 2 ** 49 - 1

export function writeVarint(writer: ByteWriter, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_VARINT) throw usage(`varint: ${value}`)
  let rest = value
  while (rest >= 0x80) {
    writer.byte(0x80 + (rest % 0x80))
    rest = Math.floor(rest / 0x80)
  }
  writer.byte(rest)
}

/** How many bytes `value` takes as a varint. */
export function varintByteLength(value: number): number {
  let byteLength = 1
  let rest = value
  while (rest >= 0x80) {
    byteLength++
    rest = Math.floor(rest / 0x80)
  }
  return byteLength
}

function usage(message: string): VstoreError {
  return new VstoreError('VSTORE_USAGE', message, 'byte writer')
}
