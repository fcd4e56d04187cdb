import type { Duplex } from 'node:stream'
import { VstoreError } from '../errors.js'

/** One entropy coder for group content. `id` is the group header's `Codec` byte (formats/group.md). */
export interface EntropyCodec {
  readonly id: number
  readonly name: string
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

export interface PrefixMeasure {
  /** Bytes of stored content to read. */
  readonly storedByteLength: number
  /** Bytes the decoder produces from that prefix. */
  readonly decodedByteLength: number
}

/**
 * For each `end` (ascending offsets in the decoded content), the shortest prefix of `stored`, in
 * steps of `chunkByteLength`, that decodes at least `end` bytes, and what that prefix decodes to.
 */
export async function measurePrefixes(codec: EntropyCodec, stored: Uint8Array, ends: readonly number[], chunkByteLength: number): Promise<PrefixMeasure[]> {
  const decoder = codec.createDecoder(ends.length > 0 ? (ends[ends.length - 1] as number) : 0)
  let decoded = 0
  decoder.on('data', (chunk: Uint8Array) => { decoded += chunk.length })
  const failed = new Promise<never>((_, reject) => decoder.once('error', reject))
  failed.catch(() => undefined)
  const results: PrefixMeasure[] = []
  let next = 0
  for (let start = 0; start < stored.length && next < ends.length; start += chunkByteLength) {
    const end = Math.min(stored.length, start + chunkByteLength)
    await Promise.race([new Promise<void>(resolve => decoder.write(stored.subarray(start, end), () => resolve())), failed])
    while (next < ends.length && decoded >= (ends[next] as number)) {
      results.push({ storedByteLength: end, decodedByteLength: decoded })
      next++
    }
  }
  decoder.destroy()
  while (next < ends.length) {
    throw new Error(`vstore bug: ${codec.name} stream of ${stored.length} bytes decodes to ${decoded}, short of ${ends[next]}`)
  }
  return results
}

export function corruptStream(codecName: string, where: string, cause: unknown): VstoreError {
  const message = cause instanceof Error ? cause.message : String(cause)
  return new VstoreError('VSTORE_CORRUPT', `${codecName} stream does not decode: ${message}`, where, { cause })
}
