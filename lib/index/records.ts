/**
 * LevelDB keys and values of the index (formats/index.md). Keys start with one tag byte:
 * `T` text (file, rev) → TextEntry; `H` first 8 bytes of a content hash → TextLocation (identical
 * texts stored once; the location carries the whole hash, which a lookup compares);
 * `P` pack id → committed length; `M` name → store-wide values. Every value starts with a
 * version byte and ends with a CRC-32 of the key and the value before it.
 */
import {
  ByteReader, ByteWriter, HASH_BYTE_LENGTH, MAX_ID_BYTE_LENGTH, PACK_HEADER_BYTE_LENGTH, crc32, decodeUtf8Strictly, fromHex, hasLoneSurrogate, isHexId, toHex,
} from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import type { TextEntry, TextKey, TextLocation } from './types.js'

export const INDEX_VALUE_VERSION = 1
/** Version of a location whose group names a base text: the location, then the base chain's cost. */
export const INDEX_VALUE_VERSION_BASED = 2
export const TAG_TEXT = 0x54 // 'T'
export const TAG_HASH = 0x48 // 'H'
/**
 * A `T` value keeps the whole 20-byte hash of a text of at least this many bytes, a 4-byte check of a
 * shorter one (store format 3). Builds before this one also wrote an `H` record for each such text, which
 * no reader needs and no writer now reads (formats/index.md). Fetch still stores once a large content
 * that two of its copied groups hold.
 */
export const HASH_RECORD_MIN_TEXT_BYTE_LENGTH = 16 * 1024
/**
 * The store format this build writes (`M format`): 6 since a run may go on from one file into the next
 * (run value version 3, lib/index/runs.ts); 5 coded run values and revision chunks more tightly (value
 * version 2 of each); 4 first kept a file's text entries in runs with
 * revision ids numbered once; 3 kept a `T` entry a text, with a short check in place of the content hash of
 * a text under HASH_RECORD_MIN_TEXT_BYTE_LENGTH, and an origin in another file. Formats 1 to 5 are read,
 * and upgraded before their first write (LevelDbStoreIndex.upgrade).
 */
export const STORE_FORMAT_VERSION = 6
/** The first store format whose text entries keep a short check (TEXT_CHECK_BYTE_LENGTH bytes) for a short text. */
export const SHORT_CHECK_STORE_FORMAT = 3
/** The first store format whose text entries may name an origin: the version of another file a text was copied or moved from. */
export const ORIGIN_STORE_FORMAT = 3
/**
 * Bytes of its content hash a text entry keeps for a text under HASH_RECORD_MIN_TEXT_BYTE_LENGTH (store
 * format 3): enough to find damage (as a CRC-32 would), where the whole hash, which names the content, earns
 * its 20 bytes only for the large texts whose duplicates are looked up by hash.
 */
export const TEXT_CHECK_BYTE_LENGTH = 4
export const TAG_PACK = 0x50 // 'P'
export const TAG_META = 0x4d // 'M'
const HASH_KEY_BYTE_LENGTH = 8
/** How a revision id is stored: as UTF-8 text, or as the bytes of a lowercase SHA-1 or SHA-256 hex id. */
export const REV_TEXT = 0x00
export const REV_SHA1 = 0x01
export const REV_SHA256 = 0x02

/** How `rev` is stored (`Rev_Kind`): REV_SHA1 or REV_SHA256 for a lowercase hex id of that length, else REV_TEXT. */
export function revKindOf(rev: string): number {
  return isHexId(rev) ? (rev.length === 40 ? REV_SHA1 : REV_SHA256) : REV_TEXT
}
export const MAX_PARENTS = 1024
/** Most base hops a text may need (formats/group.md, Base): bounds the work of one extraction. */
export const MAX_BASE_DEPTH = 16

const encoder = new TextEncoder()

/**
 * The UTF-8 bytes of a file or revision id.
 * @throws VSTORE_USAGE (where = the id, cut at 200 characters) for an id no key can have: empty, longer than
 * MAX_ID_BYTE_LENGTH bytes, or with a lone surrogate.
 */
function utf8(value: string, what: string): Uint8Array {
  const problem = idProblem(value)
  if (problem !== undefined) throw new VstoreError('VSTORE_USAGE', `${what} ${problem}`, typeof value !== 'string' ? String(value) : value.length > 200 ? `${value.slice(0, 200)}…` : value)
  return encoder.encode(value)
}

/** Why no key can have `id` as its file or revision id (empty, over MAX_ID_BYTE_LENGTH UTF-8 bytes, or a lone surrogate), or undefined. */
export function idProblem(id: string): string | undefined {
  if (typeof id !== 'string') return `is not a string (${typeof id})`
  if (id === '') return 'is empty'
  if (hasLoneSurrogate(id)) return 'is not well-formed Unicode (a lone surrogate)'
  const byteLength = encoder.encode(id).length
  if (byteLength > MAX_ID_BYTE_LENGTH) return `is ${byteLength} bytes, at most ${MAX_ID_BYTE_LENGTH}`
  return undefined
}

export function describeKey(key: TextKey): string {
  return `${key.file}@${key.rev}`
}

/** Prefix of every text key of `file`. */
export function encodeFilePrefix(file: string): Uint8Array {
  const writer = new ByteWriter(16 + file.length * 3)
  writer.byte(TAG_TEXT)
  const fileBytes = utf8(file, 'file id')
  writer.varint(fileBytes.length)
  writer.bytes(fileBytes)
  return writer.finish()
}

/**
 * A revision id as `Rev_Kind` then its bytes: the raw 20 or 32 bytes of a lowercase hex SHA-1 or
 * SHA-256 id (git commit ids, half the size of their hex), else its UTF-8 text. With `lengthPrefixed`
 * (in values) text is preceded by its varint byte length; in keys it runs to the key's end.
 */
export function writeRev(writer: ByteWriter, rev: string, lengthPrefixed: boolean): void {
  const kind = revKindOf(rev)
  if (kind !== REV_TEXT) {
    writer.byte(kind)
    writer.bytes(fromHex(rev))
    return
  }
  const bytes = utf8(rev, 'revision id')
  writer.byte(REV_TEXT)
  if (lengthPrefixed) writer.varint(bytes.length)
  writer.bytes(bytes)
}

export function readRev(reader: ByteReader, lengthPrefixed: boolean): string {
  const kind = reader.byte()
  if (kind === REV_SHA1) return toHex(reader.take(20))
  if (kind === REV_SHA256) return toHex(reader.take(32))
  if (kind !== REV_TEXT) throw reader.error('VSTORE_CORRUPT', `unknown revision kind ${kind}`)
  const byteLength = lengthPrefixed ? reader.varint() : reader.remainingByteLength
  if (byteLength > MAX_ID_BYTE_LENGTH) throw reader.error('VSTORE_LIMIT', `revision id of ${byteLength} bytes`)
  if (byteLength === 0) throw reader.error('VSTORE_CORRUPT', 'empty revision id')
  const rev = decodeUtf8Strictly(reader.take(byteLength))
  if (rev === undefined) throw reader.error('VSTORE_CORRUPT', 'revision id is not valid UTF-8')
  // A hex id is always stored in its binary form; a text form of one could never be looked up.
  if (isHexId(rev)) throw reader.error('VSTORE_CORRUPT', 'hex revision id stored as text')
  return rev
}

export function encodeTextKey(key: TextKey): Uint8Array {
  const writer = new ByteWriter(16 + (key.file.length + key.rev.length) * 3)
  writer.bytes(encodeFilePrefix(key.file))
  writeRev(writer, key.rev, false)
  return writer.finish()
}

/**
 * Key prefixes under which the stored revisions of `file` that start with `revPrefix` lie; a caller
 * still filters with `startsWith` (a hex prefix of odd length covers a half byte).
 */
export function encodeRevisionPrefixes(file: string, revPrefix: string): Uint8Array[] {
  const filePrefix = encodeFilePrefix(file)
  const prefixes = [Uint8Array.of(...filePrefix, REV_TEXT, ...encoder.encode(revPrefix))]
  if (/^[0-9a-f]*$/.test(revPrefix)) {
    const whole = fromHex(revPrefix.slice(0, revPrefix.length - (revPrefix.length % 2)))
    if (revPrefix.length <= 40) prefixes.push(Uint8Array.of(...filePrefix, REV_SHA1, ...whole))
    if (revPrefix.length <= 64) prefixes.push(Uint8Array.of(...filePrefix, REV_SHA256, ...whole))
  }
  return prefixes
}

export function decodeTextKey(bytes: Uint8Array): TextKey {
  const reader = new ByteReader(bytes, 'index key')
  if (reader.byte() !== TAG_TEXT) throw reader.error('VSTORE_CORRUPT', 'not a text key')
  const file = reader.string(MAX_ID_BYTE_LENGTH)
  if (file.length === 0) throw reader.error('VSTORE_CORRUPT', 'empty file id in key')
  const rev = readRev(reader, false)
  reader.expectEnd('text key')
  return { file, rev }
}

/** The `H` key of a content hash: its first HASH_KEY_BYTE_LENGTH bytes. */
export function encodeHashKey(hash: Uint8Array): Uint8Array {
  return Uint8Array.of(TAG_HASH, ...hash.subarray(0, HASH_KEY_BYTE_LENGTH))
}

export function encodePackKey(packId: number): Uint8Array {
  const writer = new ByteWriter(8)
  writer.byte(TAG_PACK)
  writer.varint(packId)
  return writer.finish()
}

export function decodePackKey(bytes: Uint8Array): number {
  const reader = new ByteReader(bytes, 'index key')
  if (reader.byte() !== TAG_PACK) throw reader.error('VSTORE_CORRUPT', 'not a pack key')
  const packId = reader.varint()
  reader.expectEnd('pack key')
  return packId
}

export function encodeMetaKey(name: string): Uint8Array {
  return Uint8Array.of(TAG_META, ...encoder.encode(name))
}

export function sealValue(key: Uint8Array, writer: ByteWriter): Uint8Array {
  writer.uint32(crc32(writer.view(), crc32(key)))
  return writer.finish()
}

/**
 * Checks version and checksum; returns a reader positioned after the version byte over the body.
 * Version 2 is accepted only where a location is read (`based`).
 */
/** Opens a value of version 1, or of `alsoVersion` (2 for a based location or a weighed pack state). */
export function openValue(key: Uint8Array, value: Uint8Array, where: string, alsoVersion?: number | readonly number[]): ByteReader {
  const reader = new ByteReader(value, where)
  const version = reader.byte()
  const readable = [INDEX_VALUE_VERSION, ...(alsoVersion === undefined ? [] : typeof alsoVersion === 'number' ? [alsoVersion] : alsoVersion.filter(other => other !== INDEX_VALUE_VERSION))]
  if (!readable.includes(version)) {
    throw reader.error('VSTORE_UNSUPPORTED', `index value version ${version}, this build reads ${readable.join(', ')}`)
  }
  if (value.length < 5) throw reader.error('VSTORE_CORRUPT', 'index value too short')
  const body = value.subarray(0, value.length - 4)
  const stored = new ByteReader(value.subarray(value.length - 4), where).uint32()
  if (crc32(body, crc32(key)) !== stored) throw new VstoreError('VSTORE_CORRUPT', 'index value checksum mismatch', where)
  return new ByteReader(body.subarray(1), where, 1)
}

/** How many bytes of its content hash a text entry of `format` keeps for a text of `textByteLength` bytes. */
export function entryHashByteLength(textByteLength: number, format: number): number {
  return format >= SHORT_CHECK_STORE_FORMAT && textByteLength < HASH_RECORD_MIN_TEXT_BYTE_LENGTH ? TEXT_CHECK_BYTE_LENGTH : HASH_BYTE_LENGTH
}

/** Writes a location with the first `hashByteLength` bytes of its hash (which is whole, or exactly that long). */
function writeLocation(writer: ByteWriter, location: TextLocation, hashByteLength: number): void {
  writer.varint(location.packId)
  writer.varint(location.groupOffset)
  writer.varint(location.readByteLength)
  writer.varint(location.recordStart)
  writer.varint(location.recordEnd - location.recordStart)
  writer.varint(location.decodedByteLength)
  writer.varint(location.textByteLength)
  if (location.hash.length !== HASH_BYTE_LENGTH && location.hash.length !== hashByteLength) {
    throw new VstoreError('VSTORE_USAGE', `hash must be ${HASH_BYTE_LENGTH}${hashByteLength === HASH_BYTE_LENGTH ? '' : ` or ${hashByteLength}`} bytes`, `pack ${location.packId}@${location.groupOffset}`)
  }
  writer.bytes(location.hash.subarray(0, hashByteLength))
  if (location.baseDepth > 0) {
    writer.varint(location.baseDepth)
    writer.varint(location.baseReadByteLength)
    writer.varint(location.baseDecodedByteLength)
  }
}

function locationVersion(location: TextLocation): number {
  return location.baseDepth > 0 ? INDEX_VALUE_VERSION_BASED : INDEX_VALUE_VERSION
}

/** Reads a location whose hash is `hashByteLength(Text_Byte_Length)` bytes long. */
function readLocation(reader: ByteReader, based: boolean, hashByteLength: (textByteLength: number) => number): TextLocation {
  const packId = reader.varint()
  const groupOffset = reader.varint()
  const readByteLength = reader.varint()
  const recordStart = reader.varint()
  const recordByteLength = reader.varint()
  if (recordByteLength === 0) throw reader.error('VSTORE_CORRUPT', 'empty record range')
  const decodedByteLength = reader.varint()
  const textByteLength = reader.varint()
  const hash = reader.take(hashByteLength(textByteLength)).slice()
  const recordEnd = recordStart + recordByteLength
  if (decodedByteLength < recordEnd) throw reader.error('VSTORE_CORRUPT', `decodes ${decodedByteLength} bytes, record ends at ${recordEnd}`)
  let baseDepth = 0
  let baseReadByteLength = 0
  let baseDecodedByteLength = 0
  if (based) {
    baseDepth = reader.varint()
    if (baseDepth === 0 || baseDepth > MAX_BASE_DEPTH) throw reader.error('VSTORE_CORRUPT', `base depth ${baseDepth} outside 1..${MAX_BASE_DEPTH}`)
    baseReadByteLength = reader.varint()
    baseDecodedByteLength = reader.varint()
  }
  return { packId, groupOffset, readByteLength, recordStart, recordEnd, decodedByteLength, textByteLength, hash, baseDepth, baseReadByteLength, baseDecodedByteLength }
}

/**
 * A text entry as store format `format` (this build's, unless told) writes it: from format 3 on, the
 * parents' count is doubled, plus 1 when an origin (a version of another file) follows the parents.
 * @throws VSTORE_USAGE for an origin in a format that has none.
 */
export function encodeTextValue(key: Uint8Array, entry: TextEntry, format = STORE_FORMAT_VERSION): Uint8Array {
  const writer = new ByteWriter(64)
  writer.byte(locationVersion(entry))
  writeLocation(writer, entry, entryHashByteLength(entry.textByteLength, format))
  const withOrigins = format >= ORIGIN_STORE_FORMAT
  if (entry.origin !== undefined && !withOrigins) throw new VstoreError('VSTORE_USAGE', `store format ${format} holds no origins`, describeKey(entry.origin))
  writer.varint(withOrigins ? entry.parents.length * 2 + (entry.origin === undefined ? 0 : 1) : entry.parents.length)
  for (const parent of entry.parents) writeRev(writer, parent, true)
  if (entry.origin !== undefined) {
    const fileBytes = utf8(entry.origin.file, 'file id')
    writer.varint(fileBytes.length)
    writer.bytes(fileBytes)
    writeRev(writer, entry.origin.rev, true)
  }
  return sealValue(key, writer)
}

/**
 * A text entry of an index of store format `format` (whose hash may be a short check, store format 3).
 * @throws VSTORE_CORRUPT on a checksum mismatch or malformed value, VSTORE_UNSUPPORTED for another version.
 */
export function decodeTextValue(key: Uint8Array, value: Uint8Array, where: string, format: number): TextEntry {
  const reader = openValue(key, value, where, INDEX_VALUE_VERSION_BASED)
  const location = readLocation(reader, value[0] === INDEX_VALUE_VERSION_BASED, textByteLength => entryHashByteLength(textByteLength, format))
  const parentsField = reader.varint()
  const withOrigins = format >= ORIGIN_STORE_FORMAT
  const parentCount = withOrigins ? Math.floor(parentsField / 2) : parentsField
  if (parentCount > MAX_PARENTS) throw reader.error('VSTORE_LIMIT', `${parentCount} parents`)
  const parents: string[] = []
  for (let i = 0; i < parentCount; i++) parents.push(readRev(reader, true))
  let origin: TextKey | undefined
  if (withOrigins && parentsField % 2 === 1) {
    const file = reader.string(MAX_ID_BYTE_LENGTH)
    if (file.length === 0) throw reader.error('VSTORE_CORRUPT', 'empty file id in an origin')
    origin = { file, rev: readRev(reader, true) }
  }
  reader.expectEnd('text entry')
  return origin === undefined ? { ...location, parents } : { ...location, parents, origin }
}

export function encodeLocationValue(key: Uint8Array, location: TextLocation): Uint8Array {
  const writer = new ByteWriter(48)
  writer.byte(locationVersion(location))
  writeLocation(writer, location, HASH_BYTE_LENGTH)
  return sealValue(key, writer)
}

export function decodeLocationValue(key: Uint8Array, value: Uint8Array, where: string): TextLocation {
  const reader = openValue(key, value, where, INDEX_VALUE_VERSION_BASED)
  const location = readLocation(reader, value[0] === INDEX_VALUE_VERSION_BASED, () => HASH_BYTE_LENGTH)
  reader.expectEnd('location')
  return location
}

/** A pack's committed state: bytes the index vouches for, how many groups they hold, and the texts' bytes. */
export interface PackState {
  readonly committedByteLength: number
  readonly groupCount: number
  /**
   * The length of the texts its groups' records hold (automatic packing weighs packs by it); undefined
   * for a pack whose record predates it (`P` value version 1), which automatic packing leaves alone.
   */
  readonly rawByteLength?: number
}

/** Version of a `P` value that also holds the texts' bytes. */
export const PACK_VALUE_VERSION_WEIGHED = 2

export function encodePackValue(key: Uint8Array, state: PackState): Uint8Array {
  const writer = new ByteWriter(24)
  writer.byte(state.rawByteLength === undefined ? INDEX_VALUE_VERSION : PACK_VALUE_VERSION_WEIGHED)
  writer.varint(state.committedByteLength)
  writer.varint(state.groupCount)
  if (state.rawByteLength !== undefined) writer.varint(state.rawByteLength)
  return sealValue(key, writer)
}

export function decodePackValue(key: Uint8Array, value: Uint8Array, where: string): PackState {
  const reader = openValue(key, value, where, PACK_VALUE_VERSION_WEIGHED)
  const committedByteLength = reader.varint()
  if (committedByteLength < PACK_HEADER_BYTE_LENGTH) throw reader.error('VSTORE_CORRUPT', `committed length ${committedByteLength} is shorter than a pack header`)
  const groupCount = reader.varint()
  const rawByteLength = value[0] === PACK_VALUE_VERSION_WEIGHED ? reader.varint() : undefined
  reader.expectEnd('pack state')
  return rawByteLength === undefined ? { committedByteLength, groupCount } : { committedByteLength, groupCount, rawByteLength }
}

/** Store-wide totals, updated by every commit: verify checks the text count against the text records, and stats and pack report the group count from them. */
export interface Totals {
  readonly textCount: number
  readonly rawByteLength: number
  readonly groupCount: number
}

export function encodeTotalsValue(key: Uint8Array, totals: Totals): Uint8Array {
  const writer = new ByteWriter(16)
  writer.byte(INDEX_VALUE_VERSION)
  writer.varint(totals.textCount)
  writer.varint(totals.rawByteLength)
  writer.varint(totals.groupCount)
  return sealValue(key, writer)
}

export function decodeTotalsValue(key: Uint8Array, value: Uint8Array, where: string): Totals {
  const reader = openValue(key, value, where)
  const textCount = reader.varint()
  const rawByteLength = reader.varint()
  const groupCount = reader.varint()
  reader.expectEnd('totals')
  return { textCount, rawByteLength, groupCount }
}
