/**
 * A store's settings: the options `Store.open` takes, their defaults, and their validation (a bad value is
 * VSTORE_USAGE, before anything is opened).
 */
import { parseCodecSetting, type EntropyCodec } from '../entropy/index.js'
import { VstoreError } from '../errors.js'
import { DEFAULT_GROUP_LIMITS } from '../group/frame.js'
import { DEFAULT_MAX_REBUILD_BYTE_LENGTH } from '../group/builder.js'
import { BLOCK_BYTE_LENGTH } from '../delta/matcher.js'
import { INDEX_BLOCK_BYTE_LENGTH } from '../index/leveldb.js'
import { MAX_BASE_DEPTH } from '../index/records.js'

export interface StoreOptions {
  /** Create the store if it does not exist (default false). */
  readonly create?: boolean
  /**
   * Open for reading only, from a private copy of the index as of the writer's last commit, so that a
   * reader never waits for a writer (another process may be importing). Nothing on disk is changed or
   * repaired; `insert` is refused. The copy goes when the store is closed.
   */
  readonly readOnly?: boolean
  /** Entropy coder for new groups: `brotli[:quality[:lgwin]]`, `lzma[:preset]`, `zlib[:level]`, `none`. */
  readonly codec?: string
  /** Decompressed content cap of a group, in bytes. */
  readonly maxContentByteLength?: number
  /** Most bytes one extraction may read (a text larger than this is read alone). */
  readonly maxReadByteLength?: number
  /** Granularity of compressed prefix reads, in bytes. */
  readonly readChunkByteLength?: number
  /**
   * Copies shorter than this stay literal, for the entropy coder (default 96: with deltas on the previous
   * text, jq's packs are 4.7 % smaller than at 32; DESIGN.md).
   */
  readonly minCopyByteLength?: number
  /** Start a new pack file when the current one would pass this. */
  readonly maxPackByteLength?: number
  /**
   * A group that starts with a large text may name the version of the same file written just before it
   * as its base, so that it starts with a delta (formats/group.md, Base): at most this many bases deep
   * (0: never). Bounds the work of one extraction.
   */
  readonly maxBaseDepth?: number
  /**
   * A group of large texts (over the content cap) may grow to this many times its largest text, when
   * that is more than the cap, so that several of them are deltas in one group (0: never). Default 0.5:
   * with bases, smaller groups of large texts match faster and store as small (DESIGN.md).
   */
  readonly largeTextFactor?: number
  /**
   * A text may delta on the previous version of its file in its group while rebuilding it, that version
   * and the chain behind it makes at most this many bytes of text, or 4 × its own length if more
   * (formats/group.md, Delta on the previous text; 0: never). Bounds the work of one extraction.
   */
  readonly maxRebuildByteLength?: number
  /**
   * The longest text an insert or fetch takes (default 64 MiB, at most MAX_STORABLE_TEXT_BYTE_LENGTH): a
   * longer one is refused with VSTORE_LIMIT before anything is stored. The memory an insert and an
   * extraction need grows with the longest text (about 6.5× and 3× it), so this bounds them.
   */
  readonly maxTextByteLength?: number
  /**
   * Keep the store near packed size by itself (default true): each insert (or fetch) writes a pack of its
   * own, and when `autoPackFactor` packs of one tier (by the length of their texts) pile up, the newest
   * packs are merged into one, as `pack` would write them. Off for a bulk load that packs at the end.
   */
  readonly autoPack?: boolean
  /** How many packs of one tier automatic packing merges (2..1000, default 10); each tier weighs this many times the one below. */
  readonly autoPackFactor?: number
  /**
   * The block size of the index tables this writer writes (LevelDB's, 1 KiB to 4 MiB; default 16 KiB):
   * larger blocks compress better, and each lookup decodes one (DESIGN.md, The index).
   */
  readonly indexBlockByteLength?: number
}

/**
 * The longest text any store takes: a text alone in its group, with its record header and a base record,
 * stays within the content every reader accepts (1 GiB), so nothing is stored that cannot be read back.
 */
export const MAX_STORABLE_TEXT_BYTE_LENGTH = DEFAULT_GROUP_LIMITS.maxContentByteLength - 64 * 1024

export type Settings = Required<Omit<StoreOptions, 'create' | 'readOnly'>>

export const DEFAULT_STORE_OPTIONS: Settings = {
  codec: 'brotli:9:24',
  maxContentByteLength: 2 * 1024 * 1024,
  maxReadByteLength: 256 * 1024,
  readChunkByteLength: 4096,
  minCopyByteLength: 96,
  maxPackByteLength: 1024 * 1024 * 1024,
  largeTextFactor: 0.5,
  maxBaseDepth: 8,
  maxRebuildByteLength: DEFAULT_MAX_REBUILD_BYTE_LENGTH,
  maxTextByteLength: 64 * 1024 * 1024,
  autoPack: true,
  autoPackFactor: 10,
  indexBlockByteLength: INDEX_BLOCK_BYTE_LENGTH,
}

/** Settings with the codec they name, as the store's parts use them. */
export type StoreSettings = Settings & { readonly codecInstance: EntropyCodec }

function usage(message: string): VstoreError {
  return new VstoreError('VSTORE_USAGE', message, 'store options')
}

/**
 * The options given over the defaults, checked.
 * @throws VSTORE_USAGE for a value out of its range, or a codec setting this build does not know.
 */
export function resolveSettings(options: StoreOptions): StoreSettings {
  const { create: _create, readOnly: _readOnly, ...given } = options
  const settings: Settings = { ...DEFAULT_STORE_OPTIONS, ...given }
  if (!(settings.largeTextFactor >= 0)) throw usage(`largeTextFactor must be >= 0, got ${settings.largeTextFactor}`)
  // Within what every reader accepts (4 × its text limit), with room for the 4 × text rule.
  if (!(settings.maxRebuildByteLength >= 0 && settings.maxRebuildByteLength <= 1024 * 1024 * 1024)) {
    throw usage(`maxRebuildByteLength must be 0 to 1 GiB, got ${settings.maxRebuildByteLength}`)
  }
  if (!(Number.isSafeInteger(settings.maxBaseDepth) && settings.maxBaseDepth >= 0 && settings.maxBaseDepth <= MAX_BASE_DEPTH)) {
    throw usage(`maxBaseDepth must be an integer in 0..${MAX_BASE_DEPTH}, got ${settings.maxBaseDepth}`)
  }
  if (!(Number.isSafeInteger(settings.maxTextByteLength) && settings.maxTextByteLength >= 0 && settings.maxTextByteLength <= MAX_STORABLE_TEXT_BYTE_LENGTH)) {
    throw usage(`maxTextByteLength must be an integer in 0..${MAX_STORABLE_TEXT_BYTE_LENGTH}, got ${settings.maxTextByteLength}`)
  }
  if (typeof settings.autoPack !== 'boolean') throw usage(`autoPack must be true or false, got ${String(settings.autoPack)}`)
  if (!(Number.isSafeInteger(settings.autoPackFactor) && settings.autoPackFactor >= 2 && settings.autoPackFactor <= 1000)) {
    throw usage(`autoPackFactor must be an integer in 2..1000, got ${settings.autoPackFactor}`)
  }
  if (!(Number.isSafeInteger(settings.indexBlockByteLength) && settings.indexBlockByteLength >= 1024 && settings.indexBlockByteLength <= 4 * 1024 * 1024)) {
    throw usage(`indexBlockByteLength must be an integer in 1024..${4 * 1024 * 1024}, got ${settings.indexBlockByteLength}`)
  }
  for (const name of ['maxContentByteLength', 'maxReadByteLength', 'readChunkByteLength', 'minCopyByteLength', 'maxPackByteLength'] as const) {
    const value = settings[name]
    if (!Number.isSafeInteger(value) || value <= 0) throw usage(`${name} must be a positive integer, got ${value}`)
  }
  // The matcher finds copies by blocks of this many bytes: a shorter copy it could never find.
  if (settings.minCopyByteLength < BLOCK_BYTE_LENGTH) throw usage(`minCopyByteLength must be at least ${BLOCK_BYTE_LENGTH}, got ${settings.minCopyByteLength}`)
  return { ...settings, codecInstance: parseCodecSetting(settings.codec) }
}
