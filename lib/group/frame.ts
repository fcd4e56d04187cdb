/**
 * A group as stored: `Magic` F6 76 67 00, `Version` 2 (1 is read too), `Codec`, `Content_Byte_Length` varint,
 * `Stored_Byte_Length` varint, `Checksum` (CRC-32, little-endian, of every header byte before it and
 * of `Stored_Content`), `Stored_Content`. See formats/group.md.
 */
import { ByteReader, ByteWriter, crc32 } from '../bytes/index.js'
import type { DecodeLimits } from '../delta/limits.js'
import { codecForId, type EntropyCodec } from '../entropy/index.js'
import { VstoreError } from '../errors.js'

export const GROUP_MAGIC = Uint8Array.of(0xf6, 0x76, 0x67, 0x00)
/** The version this build writes: 2 adds records that delta on a previous text. It reads 1 too. */
export const GROUP_VERSION = 2
const READABLE_GROUP_VERSIONS: readonly number[] = [1, 2]
/** Longest possible header: magic, version, codec, two 7-byte varints, checksum. */
export const MAX_GROUP_HEADER_BYTE_LENGTH = 4 + 1 + 1 + 7 + 7 + 4

export interface GroupHeader {
  readonly version: number
  readonly codecId: number
  readonly contentByteLength: number
  readonly storedByteLength: number
  readonly checksum: number
  readonly headerByteLength: number
}

function headerWithoutChecksum(codecId: number, contentByteLength: number, storedByteLength: number, version: number): Uint8Array {
  const writer = new ByteWriter(32)
  writer.bytes(GROUP_MAGIC)
  writer.byte(version)
  writer.byte(codecId)
  writer.varint(contentByteLength)
  writer.varint(storedByteLength)
  return writer.finish()
}

/** Frames stored content: header, checksum, content (`version` other than GROUP_VERSION: for test vectors). */
export function frameGroup(codecId: number, contentByteLength: number, stored: Uint8Array, version = GROUP_VERSION): Uint8Array {
  const head = headerWithoutChecksum(codecId, contentByteLength, stored.length, version)
  const writer = new ByteWriter(head.length + 4 + stored.length)
  writer.bytes(head)
  writer.uint32(crc32(stored, crc32(head)))
  writer.bytes(stored)
  return writer.finish()
}

export async function encodeGroup(content: Uint8Array, codec: EntropyCodec): Promise<{ bytes: Uint8Array; headerByteLength: number }> {
  const stored = await codec.encode(content)
  const bytes = frameGroup(codec.id, content.length, stored)
  return { bytes, headerByteLength: bytes.length - stored.length }
}

/**
 * Reads a group header from the start of `bytes` (which may hold only a prefix of the group).
 * @throws VSTORE_CORRUPT for a bad magic or truncation; VSTORE_UNSUPPORTED for an unknown version or codec; VSTORE_LIMIT past `limits`.
 */
export function decodeGroupHeader(bytes: Uint8Array, where: string, limits: GroupLimits): GroupHeader {
  const reader = new ByteReader(bytes, where)
  const magic = reader.take(4)
  if (magic.some((byte, i) => byte !== GROUP_MAGIC[i])) throw reader.error('VSTORE_CORRUPT', 'not a group (bad magic)')
  const version = reader.byte()
  if (!READABLE_GROUP_VERSIONS.includes(version)) throw reader.error('VSTORE_UNSUPPORTED', `group version ${version}, this build reads ${READABLE_GROUP_VERSIONS.join(' and ')}`)
  const codecId = reader.byte()
  codecForId(codecId, where)
  const contentByteLength = reader.varint()
  if (contentByteLength > limits.maxContentByteLength) throw reader.error('VSTORE_LIMIT', `content of ${contentByteLength} bytes`)
  const storedByteLength = reader.varint()
  if (storedByteLength > limits.maxStoredByteLength) throw reader.error('VSTORE_LIMIT', `stored content of ${storedByteLength} bytes`)
  const checksum = reader.uint32()
  return { version, codecId, contentByteLength, storedByteLength, checksum, headerByteLength: reader.offset }
}

export interface GroupLimits extends DecodeLimits {
  readonly maxContentByteLength: number
  readonly maxStoredByteLength: number
}

/** How far past the expected length a prefix decode may run before it counts as damage. */
const PREFIX_SLACK_BYTE_LENGTH = 64 * 1024

export const DEFAULT_GROUP_LIMITS: GroupLimits = {
  maxTextByteLength: 1024 * 1024 * 1024,
  maxContentByteLength: 1024 * 1024 * 1024,
  maxStoredByteLength: 1024 * 1024 * 1024,
}

/**
 * Decodes the group content that a prefix of the group (`bytes`, starting at the header) yields, up to
 * at least `neededByteLength` bytes.
 * @throws VSTORE_CORRUPT when the prefix does not decode that far.
 */
export async function decodeGroupPrefix(bytes: Uint8Array, neededByteLength: number, where: string, limits: GroupLimits, expectedByteLength?: number): Promise<Uint8Array> {
  const header = decodeGroupHeader(bytes, where, limits)
  if (neededByteLength > header.contentByteLength) {
    throw new VstoreError('VSTORE_CORRUPT', `needs ${neededByteLength} bytes of a group holding ${header.contentByteLength}`, where)
  }
  const stored = bytes.subarray(header.headerByteLength, header.headerByteLength + header.storedByteLength)
  // A caller that knows what the prefix decoded to when the group was written passes it, with room: a
  // damaged or hostile stream that would decode much further is refused before it is produced. Without it
  // (a text read through the index, which keeps no decoded length since store format 5) the bound is the
  // group's content length, within the reader's limits.
  const maxOutputByteLength = expectedByteLength === undefined
    ? header.contentByteLength
    : Math.min(header.contentByteLength, Math.max(neededByteLength, expectedByteLength) + PREFIX_SLACK_BYTE_LENGTH)
  const content = await codecForId(header.codecId, where).decodePrefix(stored, maxOutputByteLength, where)
  if (content.length < neededByteLength) {
    throw new VstoreError('VSTORE_CORRUPT', `group prefix decodes to ${content.length} bytes, ${neededByteLength} needed`, where)
  }
  return content
}

/**
 * Checks a whole group's header, length and checksum without decoding its content (a single changed
 * byte anywhere in it fails the CRC-32).
 * @throws VSTORE_CORRUPT on a checksum or length mismatch.
 */
export function checkGroup(bytes: Uint8Array, where: string, limits: GroupLimits): GroupHeader {
  const header = decodeGroupHeader(bytes, where, limits)
  const end = header.headerByteLength + header.storedByteLength
  if (bytes.length < end) throw new VstoreError('VSTORE_CORRUPT', `group of ${end} bytes truncated to ${bytes.length}`, where)
  if (bytes.length > end) throw new VstoreError('VSTORE_CORRUPT', `${bytes.length - end} bytes after the group`, where)
  const actual = crc32(bytes.subarray(header.headerByteLength, end), crc32(bytes.subarray(0, header.headerByteLength - 4)))
  if (actual !== header.checksum) {
    throw new VstoreError('VSTORE_CORRUPT', `checksum ${hex8(actual)}, header says ${hex8(header.checksum)}`, where)
  }
  return header
}

/**
 * Checks a whole group's checksum and decodes all its content.
 * @throws VSTORE_CORRUPT on a checksum or length mismatch.
 */
export async function decodeGroup(bytes: Uint8Array, where: string, limits: GroupLimits): Promise<{ header: GroupHeader; content: Uint8Array }> {
  const header = checkGroup(bytes, where, limits)
  const stored = bytes.subarray(header.headerByteLength, header.headerByteLength + header.storedByteLength)
  const content = await codecForId(header.codecId, where).decodeWhole(stored, header.contentByteLength, where)
  if (content.length !== header.contentByteLength) {
    throw new VstoreError('VSTORE_CORRUPT', `content decodes to ${content.length} bytes, header says ${header.contentByteLength}`, where)
  }
  return { header, content }
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0')
}
