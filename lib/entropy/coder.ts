/**
 * What the codecs' implementations share: a coder (a codec without the id and name codec.ts gives it), the
 * error for a stream that does not decode, and the plain Uint8Array view the core passes around.
 */
import type { Duplex } from 'node:stream'
import { VstoreError, messageOf } from '../errors.js'

/** One entropy coder for group content; codec.ts names it and gives it its `Codec` byte. */
export interface Coder {
  encode(content: Uint8Array): Promise<Uint8Array>
  /**
   * Decodes as much as `stored` (the whole stored content, or a prefix of it) yields, producing at
   * most `maxOutputByteLength` bytes.
   * @throws VSTORE_CORRUPT when the bytes are not a valid stream (prefix) of this codec.
   */
  decodePrefix(stored: Uint8Array, maxOutputByteLength: number, where: string): Promise<Uint8Array>
  /**
   * Decodes a whole stored content strictly: one complete stream, nothing after it, at most
   * `maxOutputByteLength` bytes.
   * @throws VSTORE_CORRUPT for a truncated stream, trailing bytes or an invalid stream.
   */
  decodeWhole(stored: Uint8Array, maxOutputByteLength: number, where: string): Promise<Uint8Array>
  /** A streaming decoder for content of `contentByteLength` bytes, for measuring how much stored input each output offset needs. */
  createDecoder(contentByteLength: number): Duplex
}

export function corruptStream(codecName: string, where: string, cause: unknown): VstoreError {
  return new VstoreError('VSTORE_CORRUPT', `${codecName} stream does not decode: ${messageOf(cause)}`, where, { cause })
}

/** Buffers stay at this edge: the core passes plain Uint8Array views. */
export function plain(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}
