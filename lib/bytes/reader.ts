/** ByteReader: varints, strings and fixed fields read from bytes, each error naming where it happened. */
import { VstoreError, type VstoreCode } from '../errors.js'
import { decodeUtf8Strictly } from './text.js'

/**
 * Bounds-checked reading of a byte array. Every read past the end throws VSTORE_CORRUPT naming
 * `where` and the offset, so decoders never see a RangeError or `undefined`.
 */
export class ByteReader {
  private position = 0

  constructor(private readonly bytes: Uint8Array, readonly where: string, private readonly baseOffset = 0) {}

  get offset(): number {
    return this.position
  }

  get remainingByteLength(): number {
    return this.bytes.length - this.position
  }

  get atEnd(): boolean {
    return this.position >= this.bytes.length
  }

  error(code: VstoreCode, message: string): VstoreError {
    return new VstoreError(code, message, `${this.where}@${this.baseOffset + this.position}`)
  }

  byte(): number {
    if (this.position >= this.bytes.length) throw this.error('VSTORE_CORRUPT', 'unexpected end of data')
    return this.bytes[this.position++] as number
  }

  take(byteLength: number): Uint8Array {
    if (byteLength > this.remainingByteLength) {
      throw this.error('VSTORE_CORRUPT', `needs ${byteLength} bytes, ${this.remainingByteLength} left`)
    }
    const view = this.bytes.subarray(this.position, this.position + byteLength)
    this.position += byteLength
    return view
  }

  /** Passes over `byteLength` bytes without a view of them. */
  skip(byteLength: number): void {
    if (byteLength > this.remainingByteLength) {
      throw this.error('VSTORE_CORRUPT', `needs ${byteLength} bytes, ${this.remainingByteLength} left`)
    }
    this.position += byteLength
  }

  uint32(): number {
    const b = this.take(4)
    return ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16)) + (b[3] as number) * 0x1000000
  }

  varint(): number {
    return readVarint(this)
  }

  /** A varint length (at most `maxByteLength`) then that many UTF-8 bytes. */
  string(maxByteLength: number): string {
    const byteLength = this.varint()
    if (byteLength > maxByteLength) throw this.error('VSTORE_LIMIT', `string of ${byteLength} bytes, limit ${maxByteLength}`)
    const text = decodeUtf8Strictly(this.take(byteLength))
    if (text === undefined) throw this.error('VSTORE_CORRUPT', 'string is not valid UTF-8')
    return text
  }

  expectEnd(what: string): void {
    if (!this.atEnd) throw this.error('VSTORE_CORRUPT', `${this.remainingByteLength} trailing bytes after ${what}`)
  }
}

export function readVarint(reader: ByteReader): number {
  let value = 0
  for (let i = 0; i < 7; i++) {
    const byte = reader.byte()
    if (i > 0 && byte === 0) throw reader.error('VSTORE_CORRUPT', 'non-minimal varint')
    value += (byte & 0x7f) * 2 ** (7 * i)
    if (byte < 0x80) return value
  }
  throw reader.error('VSTORE_CORRUPT', 'varint longer than 7 bytes')
}
