import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { corruptStream, type EntropyCodec } from './codec.js'

const brotliCompress = promisify(zlib.brotliCompress)
const deflateRaw = promisify(zlib.deflateRaw)

export const CODEC_NONE = 0
export const CODEC_ZLIB = 1
export const CODEC_BROTLI = 2
export const CODEC_LZMA = 3

/** Buffers stay at this edge: the core passes plain Uint8Array views. */
export function plain(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

/** What Node's zlib returns with `info: true`: the output and the engine, which counts input consumed. */
interface Decoded {
  readonly buffer: Uint8Array
  readonly engine: { readonly bytesWritten: number }
}

/** A whole-stream decode that must end exactly at the end of `stored`. */
function strictly(codecName: string, where: string, stored: Uint8Array, maxOutputByteLength: number, decode: () => Decoded): Uint8Array {
  let decoded: Decoded
  let output: Uint8Array
  try {
    decoded = decode()
    output = atMost(maxOutputByteLength, decoded.buffer)
  } catch (error) {
    throw corruptStream(codecName, where, tooLarge(error) ? new Error('decodes past the content length') : error)
  }
  if (decoded.engine.bytesWritten !== stored.length) {
    throw corruptStream(codecName, where, new Error(`stream ends after ${decoded.engine.bytesWritten} of ${stored.length} stored bytes`))
  }
  return output
}

/**
 * Node's zlib takes no output limit of 0 (it asks for at least 1), so the limit is checked here too.
 * @throws RangeError, turned into VSTORE_CORRUPT by the callers, when `output` passes `maxOutputByteLength`.
 */
function atMost(maxOutputByteLength: number, output: Uint8Array): Uint8Array {
  if (output.length > maxOutputByteLength) throw new RangeError(`decodes past ${maxOutputByteLength} bytes`)
  return plain(output)
}

function tooLarge(error: unknown): boolean {
  return error instanceof RangeError || (error as { code?: string } | null)?.code === 'ERR_BUFFER_TOO_LARGE'
}

export interface BrotliOptions {
  /** 0–11. */
  readonly quality: number
  /** log2 of the window, 10–24. */
  readonly lgwin: number
}

export function brotliCodec(options: BrotliOptions = { quality: 9, lgwin: 24 }): EntropyCodec {
  const { quality, lgwin } = options
  if (!(quality >= 0 && quality <= 11)) throw new RangeError(`brotli quality must be 0..11, got ${quality}`)
  if (!(lgwin >= 10 && lgwin <= 24)) throw new RangeError(`brotli lgwin must be 10..24, got ${lgwin}`)
  return {
    id: CODEC_BROTLI,
    name: 'brotli',
    async encode(content) {
      return plain(await brotliCompress(content, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: quality,
          [zlib.constants.BROTLI_PARAM_LGWIN]: lgwin,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: content.length,
        },
      }))
    },
    async decodePrefix(stored, maxOutputByteLength, where) {
      try {
        return atMost(maxOutputByteLength, zlib.brotliDecompressSync(stored, { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH, maxOutputLength: Math.max(1, maxOutputByteLength) }))
      } catch (error) {
        if (tooLarge(error)) throw corruptStream('brotli', where, new Error(`decodes past ${maxOutputByteLength} bytes`))
        throw corruptStream('brotli', where, error)
      }
    },
    async decodeWhole(stored, maxOutputByteLength, where) {
      return strictly('brotli', where, stored, maxOutputByteLength, () => zlib.brotliDecompressSync(stored, { info: true, maxOutputLength: Math.max(1, maxOutputByteLength) } as zlib.BrotliOptions) as unknown as Decoded)
    },
    createDecoder: () => zlib.createBrotliDecompress(),
  }
}

export function zlibCodec(level = 9): EntropyCodec {
  if (!(level >= 0 && level <= 9)) throw new RangeError(`zlib level must be 0..9, got ${level}`)
  return {
    id: CODEC_ZLIB,
    name: 'zlib',
    async encode(content) {
      return plain(await deflateRaw(content, { level, memLevel: 9 }))
    },
    async decodePrefix(stored, maxOutputByteLength, where) {
      try {
        return atMost(maxOutputByteLength, zlib.inflateRawSync(stored, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: Math.max(1, maxOutputByteLength) }))
      } catch (error) {
        if (tooLarge(error)) throw corruptStream('zlib', where, new Error(`decodes past ${maxOutputByteLength} bytes`))
        throw corruptStream('zlib', where, error)
      }
    },
    async decodeWhole(stored, maxOutputByteLength, where) {
      return strictly('zlib', where, stored, maxOutputByteLength, () => zlib.inflateRawSync(stored, { info: true, maxOutputLength: Math.max(1, maxOutputByteLength) }) as unknown as Decoded)
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
