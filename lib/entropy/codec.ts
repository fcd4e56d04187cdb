/**
 * The one codec module: each entropy codec's id (the group header's `Codec` byte, formats/group.md) and
 * name, making a codec from its settings, from a setting string or from an id, and measuring how much of a
 * stored content each record's read needs. The coders themselves are in node-zlib.ts, lzma.ts and none.ts.
 */
import { VstoreError } from '../errors.js'
import type { Coder } from './coder.js'
import { lzmaCoder } from './lzma.js'
import { brotliCoder, zlibCoder } from './node-zlib.js'
import { noneCoder } from './none.js'

export const CODEC_NONE = 0
export const CODEC_ZLIB = 1
export const CODEC_BROTLI = 2
export const CODEC_LZMA = 3
/** Each codec's name, by id. */
const CODEC_NAMES: readonly string[] = ['none', 'zlib', 'brotli', 'lzma']

/** One entropy coder for group content. `id` is the group header's `Codec` byte (formats/group.md). */
export interface EntropyCodec extends Coder {
  readonly id: number
  readonly name: string
}

function codecOf(id: number, coder: (name: string) => Coder): EntropyCodec {
  const name = CODEC_NAMES[id] as string
  return { id, name, ...coder(name) }
}

function usage(message: string): VstoreError {
  return new VstoreError('VSTORE_USAGE', message, 'codec')
}

export interface BrotliOptions {
  /** 0–11. */
  readonly quality: number
  /** log2 of the window, 10–24. */
  readonly lgwin: number
}

/** @throws VSTORE_USAGE for a quality outside 0..11 or a window outside 10..24. */
export function brotliCodec(options: BrotliOptions = { quality: 9, lgwin: 24 }): EntropyCodec {
  const { quality, lgwin } = options
  if (!(quality >= 0 && quality <= 11)) throw usage(`brotli quality must be 0..11, got ${quality}`)
  if (!(lgwin >= 10 && lgwin <= 24)) throw usage(`brotli lgwin must be 10..24, got ${lgwin}`)
  return codecOf(CODEC_BROTLI, name => brotliCoder(name, quality, lgwin))
}

/** Raw deflate. @throws VSTORE_USAGE for a level outside 0..9. */
export function zlibCodec(level = 9): EntropyCodec {
  if (!(level >= 0 && level <= 9)) throw usage(`zlib level must be 0..9, got ${level}`)
  return codecOf(CODEC_ZLIB, name => zlibCoder(name, level))
}

/**
 * Raw LZMA2 (no .xz container: the group header already holds lengths and a checksum).
 * @throws VSTORE_USAGE for a preset outside 0..9.
 */
export function lzmaCodec(preset = 6): EntropyCodec {
  if (!(preset >= 0 && preset <= 9)) throw usage(`lzma preset must be 0..9, got ${preset}`)
  return codecOf(CODEC_LZMA, name => lzmaCoder(name, preset))
}

/** Stores content as it is (tests, and content that does not compress). */
export function noneCodec(): EntropyCodec {
  return codecOf(CODEC_NONE, noneCoder)
}

/** The codec that decodes groups whose `Codec` byte is `id` (decoding needs no encoder settings). */
export function codecForId(id: number, where: string): EntropyCodec {
  switch (id) {
    case CODEC_NONE: return noneCodec()
    case CODEC_ZLIB: return zlibCodec()
    case CODEC_BROTLI: return brotliCodec()
    case CODEC_LZMA: return lzmaCodec()
    default: throw new VstoreError('VSTORE_UNSUPPORTED', `unknown codec ${id}`, where)
  }
}

/**
 * Parses a codec setting such as `brotli`, `brotli:11`, `lzma:9`, `zlib:9`, `none`.
 * @throws VSTORE_USAGE for an unknown name or a level out of its codec's range.
 */
export function parseCodecSetting(setting: string): EntropyCodec {
  const [name = '', level, window] = setting.split(':')
  const number = (text: string | undefined, fallback: number) => (text === undefined || text === '' ? fallback : Number(text))
  switch (CODEC_NAMES.indexOf(name)) {
    case CODEC_BROTLI: return brotliCodec({ quality: number(level, 9), lgwin: number(window, 24) })
    case CODEC_ZLIB: return zlibCodec(number(level, 9))
    case CODEC_LZMA: return lzmaCodec(number(level, 6))
    case CODEC_NONE: return noneCodec()
    default: throw usage(`unknown codec "${setting}" (brotli[:quality[:lgwin]], lzma[:preset], zlib[:level], none)`)
  }
}

export interface PrefixMeasure {
  /** Bytes of stored content to read. */
  readonly storedByteLength: number
  /** Bytes the decoder produces from that prefix. */
  readonly decodedByteLength: number
}

/**
 * For each `end` (ascending offsets in the decoded content), the shortest prefix of `stored`, in
 * steps of `chunkByteLength`, that decodes at least `end` bytes, and what that prefix decodes to. Given
 * the content's length, stored bytes that fit one step are not decoded: every prefix is all of them, which
 * decode to the whole content (a store written a commit at a time seals thousands of such groups, and a
 * streaming decoder costs a thread-pool hop a step).
 */
export async function measurePrefixes(codec: EntropyCodec, stored: Uint8Array, ends: readonly number[], chunkByteLength: number, contentByteLength?: number): Promise<PrefixMeasure[]> {
  if (contentByteLength !== undefined && stored.length <= chunkByteLength) {
    const last = ends.at(-1)
    if (last !== undefined && last > contentByteLength) throw new Error(`vstore bug: an end at ${last} of ${contentByteLength} content bytes`)
    return ends.map(() => ({ storedByteLength: stored.length, decodedByteLength: contentByteLength }))
  }
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
  if (next < ends.length) {
    throw new Error(`vstore bug: ${codec.name} stream of ${stored.length} bytes decodes to ${decoded}, short of ${ends[next]}`)
  }
  return results
}
