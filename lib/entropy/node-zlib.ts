/**
 * The coders over node:zlib: brotli and raw deflate for group content, and brotli's fastest mode for an
 * insert's temporary files.
 */
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { corruptStream, plain, type Coder } from './coder.js'


const brotliCompress = promisify(zlib.brotliCompress)
const deflateRaw = promisify(zlib.deflateRaw)

/** What Node's zlib returns with `info: true`: the output and the engine, which counts input consumed. */
interface Decoded {
  readonly buffer: Uint8Array
  readonly engine: { readonly bytesWritten: number }
}

/** Node's zlib sync decoders past `maxOutputLength`. */
function tooLarge(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'ERR_BUFFER_TOO_LARGE'
}

/**
 * Node's zlib takes no output limit of 0 (it asks for at least 1), so the limit is checked here too.
 * @throws VSTORE_CORRUPT when `decode` fails, or its output passes `maxOutputByteLength`.
 */
function decodeAtMost<T>(codecName: string, where: string, maxOutputByteLength: number, decode: () => T, outputOf: (decoded: T) => Uint8Array): T {
  let decoded: T
  try {
    decoded = decode()
  } catch (error) {
    throw corruptStream(codecName, where, tooLarge(error) ? new Error(`decodes past ${maxOutputByteLength} bytes`) : error)
  }
  if (outputOf(decoded).length > maxOutputByteLength) throw corruptStream(codecName, where, new Error(`decodes past ${maxOutputByteLength} bytes`))
  return decoded
}

/** A whole-stream decode that must end exactly at the end of `stored`. */
function strictly(codecName: string, where: string, stored: Uint8Array, maxOutputByteLength: number, decode: () => Decoded): Uint8Array {
  const decoded = decodeAtMost(codecName, where, maxOutputByteLength, decode, result => result.buffer)
  if (decoded.engine.bytesWritten !== stored.length) {
    throw corruptStream(codecName, where, new Error(`stream ends after ${decoded.engine.bytesWritten} of ${stored.length} stored bytes`))
  }
  return plain(decoded.buffer)
}

/** A prefix decode: what the bytes given decode to, flushed. */
function prefix(codecName: string, where: string, maxOutputByteLength: number, decode: () => Uint8Array): Uint8Array {
  return plain(decodeAtMost(codecName, where, maxOutputByteLength, decode, output => output))
}

/**
 * The window brotli is given for `byteLength` bytes: the smallest that holds them all (at least 10 bits,
 * at most `lgwin`). A window larger than the content compresses no better, while the encoder allocates for
 * the whole window: 300 small jq texts took 0.85 s at lgwin 24 and 0.08 s fitted, and jq inserted a commit
 * at a time 11.2 s against 8.7 s (DESIGN.md, A commit at a time). It does change the bytes brotli writes a
 * little: jq in one insert is 17 bytes larger (of 2.5 MB), replayed a commit at a time 1,340 bytes smaller.
 */
export function fittedWindow(byteLength: number, lgwin: number): number {
  return Math.min(lgwin, Math.max(10, Math.ceil(Math.log2(byteLength + 16))))
}

/**
 * Content under which brotli's quality 9 is given as 8. Quality 9 costs about 1.4 ms a call whatever the
 * content's size (its larger hash tables), quality 8 a few hundredths of that, for the same bytes within
 * 0.3 % on group content of jq up to 64 KiB: a store written a commit at a time compresses two or three
 * small groups per commit and per merge of the lowest tier.
 */
export const SMALL_CONTENT_BYTE_LENGTH = 256 * 1024

/** The quality brotli is given for `byteLength` bytes of content: 9 is 8 below SMALL_CONTENT_BYTE_LENGTH. */
export function fittedQuality(byteLength: number, quality: number): number {
  return quality === 9 && byteLength < SMALL_CONTENT_BYTE_LENGTH ? 8 : quality
}

/**
 * Content under which a coder compresses in the calling thread: a store written a commit at a time seals
 * thousands of groups of a few KiB (jq replayed: 7,177 groups under 16 KiB, 1.4 KiB on average), for which
 * a hop to libuv's threads cost more than the compression (0.56 ms a group there, with the pool busy; brotli
 * 8 of 1.4 KiB takes 0.1 ms in the thread itself). The bytes are the same either way.
 */
export const SYNC_ENCODE_BYTE_LENGTH = 16 * 1024

export function brotliCoder(name: string, quality: number, lgwin: number): Coder {
  return {
    async encode(content) {
      const options = {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: fittedQuality(content.length, quality),
          [zlib.constants.BROTLI_PARAM_LGWIN]: fittedWindow(content.length, lgwin),
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: content.length,
        },
      }
      return plain(content.length < SYNC_ENCODE_BYTE_LENGTH ? zlib.brotliCompressSync(content, options) : await brotliCompress(content, options))
    },
    async decodePrefix(stored, maxOutputByteLength, where) {
      return prefix(name, where, maxOutputByteLength, () => zlib.brotliDecompressSync(stored, { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH, maxOutputLength: Math.max(1, maxOutputByteLength) }))
    },
    async decodeWhole(stored, maxOutputByteLength, where) {
      return strictly(name, where, stored, maxOutputByteLength, () => zlib.brotliDecompressSync(stored, { info: true, maxOutputLength: Math.max(1, maxOutputByteLength) } as zlib.BrotliOptions) as unknown as Decoded)
    },
    createDecoder: () => zlib.createBrotliDecompress(),
  }
}

export function zlibCoder(name: string, level: number): Coder {
  return {
    async encode(content) {
      const options = { level, memLevel: 9 }
      return plain(content.length < SYNC_ENCODE_BYTE_LENGTH ? zlib.deflateRawSync(content, options) : await deflateRaw(content, options))
    },
    async decodePrefix(stored, maxOutputByteLength, where) {
      return prefix(name, where, maxOutputByteLength, () => zlib.inflateRawSync(stored, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: Math.max(1, maxOutputByteLength) }))
    },
    async decodeWhole(stored, maxOutputByteLength, where) {
      return strictly(name, where, stored, maxOutputByteLength, () => zlib.inflateRawSync(stored, { info: true, maxOutputLength: Math.max(1, maxOutputByteLength) }) as unknown as Decoded)
    },
    createDecoder: () => zlib.createInflateRaw(),
  }
}

/**
 * Brotli at quality 0, in the calling thread, for temporary files (an insert's spill): on jq's 4,798 texts
 * (129.9 MB) 33.2 % of their bytes in 0.36 s, read back in 0.40 s. Quality 1 made 31.8 % in 0.57 s;
 * compressing on libuv's threads, text by text, took 1.4 s of the import (a hop per text costs more than
 * brotli's fastest mode). The window follows the text's length, so a short text allocates little.
 */
export function compressQuickly(bytes: Uint8Array): Uint8Array {
  const lgwin = Math.max(10, Math.min(24, Math.ceil(Math.log2(bytes.length + 1))))
  return plain(zlib.brotliCompressSync(bytes, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 0, [zlib.constants.BROTLI_PARAM_LGWIN]: lgwin, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }))
}

/**
 * Reads back what compressQuickly made of `byteLength` bytes.
 * @throws VSTORE_CORRUPT when `stored` does not decode to exactly `byteLength` bytes.
 */
export function decompressQuickly(stored: Uint8Array, byteLength: number, where: string): Uint8Array {
  let bytes: Uint8Array
  try {
    bytes = plain(zlib.brotliDecompressSync(stored, { maxOutputLength: Math.max(1, byteLength) }))
  } catch (error) {
    throw corruptStream('brotli', where, error)
  }
  if (bytes.length !== byteLength) throw corruptStream('brotli', where, new Error(`decodes to ${bytes.length} bytes, expected ${byteLength}`))
  return bytes
}
