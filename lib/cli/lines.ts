/** Reads a byte stream as lines, holding no more of a line than a bound (extract --batch's stdin). */
import { VstoreError } from '../errors.js'

/** A line read by readBoundedLines. */
export interface BoundedLine {
  /** The line without its end: all of it, or its first `maxByteLength` bytes when it is longer. */
  readonly bytes: Uint8Array
  /** The whole line's length in bytes, without its end; more than `bytes.length` for a line cut short. */
  readonly byteLength: number
}

const NEWLINE = 0x0a
const CARRIAGE_RETURN = 0x0d

/**
 * The lines of a byte stream, none of them ever held whole past `maxByteLength` bytes: a longer line comes
 * as its first `maxByteLength` bytes and its whole length, the rest of it dropped as it arrives, so memory
 * stays at one chunk of input and `maxByteLength` however long a line is. Lines end at `\n`, and a `\r`
 * just before it is dropped (as git's `strbuf_getline` reads `cat-file --batch` input); a `\r` elsewhere is
 * part of the line. The last line needs no `\n`; nothing after the last `\n` is no line.
 * @throws VSTORE_USAGE for a `maxByteLength` that is not a non-negative integer.
 */
export async function* readBoundedLines(input: AsyncIterable<Uint8Array | string>, maxByteLength: number): AsyncGenerator<BoundedLine> {
  if (!(Number.isSafeInteger(maxByteLength) && maxByteLength >= 0)) throw new VstoreError('VSTORE_USAGE', `maxByteLength must be a non-negative integer, got ${maxByteLength}`, 'lines')
  // One byte of slack: a line of exactly maxByteLength bytes may still be followed by the `\r` of its `\r\n`.
  const kept = new Uint8Array(maxByteLength + 1)
  let keptByteLength = 0
  /** Bytes of the current line so far, a `\r` at its end included. */
  let lineByteLength = 0
  let lastByte: number | undefined

  const append = (piece: Uint8Array): void => {
    if (piece.length === 0) return
    const taken = Math.min(piece.length, kept.length - keptByteLength)
    kept.set(piece.subarray(0, taken), keptByteLength)
    keptByteLength += taken
    lineByteLength += piece.length
    lastByte = piece[piece.length - 1]
  }
  const finish = (): BoundedLine => {
    const byteLength = lastByte === CARRIAGE_RETURN ? lineByteLength - 1 : lineByteLength
    const line = { bytes: kept.slice(0, Math.min(byteLength, maxByteLength)), byteLength }
    keptByteLength = 0
    lineByteLength = 0
    lastByte = undefined
    return line
  }

  for await (const chunk of input) {
    // A Buffer view for its indexOf (memchr), which finds the end of a long line fast.
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let start = 0
    while (start < bytes.length) {
      const newline = bytes.indexOf(NEWLINE, start)
      if (newline === -1) {
        append(bytes.subarray(start))
        break
      }
      append(bytes.subarray(start, newline))
      yield finish()
      start = newline + 1
    }
  }
  if (lineByteLength > 0) yield finish()
}
