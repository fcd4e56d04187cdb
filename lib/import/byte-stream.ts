/** Reading an async stream of byte chunks by length or by delimiter, for the importers' stream formats. */
import { VstoreError } from '../errors.js'

/**
 * Reads an async stream of byte chunks by length or by delimiter. What it returns is a copy, so a kept
 * result never pins a whole chunk. A chunk that is not a Uint8Array (a stream of strings) is VSTORE_USAGE.
 */
export class ByteStreamReader {
  readonly #chunks: AsyncIterator<unknown>
  #buffer: Uint8Array = new Uint8Array(0)
  #offset = 0
  #consumedByteLength = 0

  constructor(input: AsyncIterable<unknown> | Iterable<unknown>) {
    this.#chunks = Symbol.asyncIterator in input
      ? input[Symbol.asyncIterator]()
      : (async function* () { yield* input })()[Symbol.asyncIterator]()
  }

  /** Bytes consumed so far: the offset of the next byte in the stream. */
  get offset(): number {
    return this.#consumedByteLength
  }

  /** Up to `byteLength` bytes; fewer only at the end of the stream. */
  async read(byteLength: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = []
    let filled = 0
    while (filled < byteLength) {
      if (this.#offset === this.#buffer.length && !(await this.#pull())) break
      const take = Math.min(byteLength - filled, this.#buffer.length - this.#offset)
      parts.push(this.#buffer.subarray(this.#offset, this.#offset + take))
      this.#offset += take
      this.#consumedByteLength += take
      filled += take
    }
    return concatenate(parts, filled)
  }

  /** Skips up to `byteLength` bytes and returns how many it skipped (fewer only at the end). */
  async skip(byteLength: number): Promise<number> {
    let skipped = 0
    while (skipped < byteLength) {
      if (this.#offset === this.#buffer.length && !(await this.#pull())) break
      const take = Math.min(byteLength - skipped, this.#buffer.length - this.#offset)
      this.#offset += take
      this.#consumedByteLength += take
      skipped += take
    }
    return skipped
  }

  /**
   * The bytes before the next `delimiter` (which is consumed), with `complete: true`; at the end of the
   * stream, the rest with `complete: false`; `undefined` when nothing is left.
   */
  async readUntil(delimiter: number, maxByteLength = Number.MAX_SAFE_INTEGER): Promise<{ bytes: Uint8Array; complete: boolean } | undefined> {
    const parts: Uint8Array[] = []
    let filled = 0
    for (;;) {
      if (this.#offset === this.#buffer.length && !(await this.#pull())) {
        return filled === 0 ? undefined : { bytes: concatenate(parts, filled), complete: false }
      }
      const end = this.#buffer.indexOf(delimiter, this.#offset)
      const stop = end === -1 ? this.#buffer.length : end
      parts.push(this.#buffer.subarray(this.#offset, stop))
      filled += stop - this.#offset
      this.#consumedByteLength += stop - this.#offset + (end === -1 ? 0 : 1)
      this.#offset = end === -1 ? stop : end + 1
      if (end !== -1) return { bytes: concatenate(parts, filled), complete: true }
      if (filled > maxByteLength) return { bytes: concatenate(parts, filled), complete: false }
    }
  }

  /** The next byte without consuming it; `undefined` at the end. */
  async peek(): Promise<number | undefined> {
    if (this.#offset === this.#buffer.length && !(await this.#pull())) return undefined
    return this.#buffer[this.#offset]
  }

  /** Reads and drops whatever is left (so a decompressor reaches its own end checks). */
  async drain(): Promise<void> {
    this.#consumedByteLength += this.#buffer.length - this.#offset
    this.#offset = this.#buffer.length
    while (await this.#pull()) {
      this.#consumedByteLength += this.#buffer.length
      this.#offset = this.#buffer.length
    }
  }

  /** Ends the underlying stream early (a generator's `return`). */
  async close(): Promise<void> {
    await this.#chunks.return?.()
  }

  async #pull(): Promise<boolean> {
    for (;;) {
      const next = await this.#chunks.next()
      if (next.done === true) return false
      const chunk: unknown = next.value
      if (!(chunk instanceof Uint8Array)) throw new VstoreError('VSTORE_USAGE', 'a byte stream must give Uint8Array chunks (not strings)', 'byte stream')
      if (chunk.length === 0) continue
      this.#buffer = chunk
      this.#offset = 0
      return true
    }
  }
}

/** The parts one after another, in a new array of `byteLength` (their total) bytes. */
export function concatenate(parts: readonly Uint8Array[], byteLength: number): Uint8Array {
  const bytes = new Uint8Array(byteLength)
  let offset = 0
  for (const part of parts) {
    bytes.set(part, offset)
    offset += part.length
  }
  return bytes
}
