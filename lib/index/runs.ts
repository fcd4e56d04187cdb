/**
 * The records of the run-based index layout (store format 4, formats/index.md): revision ids numbered once
 * for the whole store (`N` chunks of 16 ids, found again through `Q` buckets keyed by their hash), and each
 * file's entries in runs (`F`), sorted by revision number and delta-coded, one checksum a run. A text entry
 * then costs what is particular to it (where its record is, its length, a 4-byte check, its parents as
 * numbers) instead of a LevelDB key, a revision id per parent and a checksum of its own.
 */
import { createHash } from 'node:crypto'
import { ByteReader, ByteWriter, MAX_ID_BYTE_LENGTH, MAX_VARINT } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import { INDEX_VALUE_VERSION, MAX_BASE_DEPTH, MAX_PARENTS, TEXT_CHECK_BYTE_LENGTH, encodeFilePrefix, openValue, readRev, sealValue, writeRev } from './records.js'
import type { TextLocation } from './types.js'

export const TAG_FILE_RUN = 0x46 // 'F'
export const TAG_REVISIONS = 0x4e // 'N'
export const TAG_REVISION_BUCKET = 0x51 // 'Q'
/**
 * Revision ids an `N` record holds: revision number n is in chunk floor(n / 16), at n mod 16. A commit
 * rewrites the last chunk with its new ids, so a chunk is short: on jq, 64 ids would rewrite 670 bytes a
 * commit on average, 16 rewrite 170, for 0.4 more index bytes a text.
 */
export const REVISION_CHUNK_LENGTH = 16
/** Entries a writer puts in one run when it writes a file's runs afresh; a decoder takes up to MAX_RUN_LENGTH. */
export const RUN_LENGTH = 64
/**
 * An append (entries numbered after every one of their file's) rewrites the file's last run only while it
 * has fewer entries than this, and starts a new run after: what a commit rewrites stays small, and a rewrite
 * of the file's tail (a pack moving its texts) joins the short runs again.
 */
export const TAIL_RUN_LENGTH = 4
export const MAX_RUN_LENGTH = 1024
/** Revision numbers fit 32 bits (a key holds 4 bytes of one). */
export const MAX_REVISION_NUMBER = 0xffff_ffff
const BUCKET_TAG_BYTE_LENGTH = 2

/** One text entry of a run: its location (with a 4-byte check), its parents' and origin's revisions by number. */
export interface RunEntry {
  readonly rev: number
  readonly location: TextLocation
  readonly parents: readonly number[]
  readonly origin?: { readonly file: string; readonly rev: number } | undefined
}

function uint32Key(tag: number, prefix: Uint8Array, value: number): Uint8Array {
  const key = new Uint8Array(prefix.length + 4)
  key.set(prefix)
  key[0] = tag
  new DataView(key.buffer).setUint32(prefix.length, value)
  return key
}

function checkNumber(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_REVISION_NUMBER) throw new VstoreError('VSTORE_USAGE', `${what} ${value} is not a revision number`, 'index')
}

/** `F`, the file id as in a `T` key, then the run's first revision number (4 bytes, big-endian: runs sort by it). */
export function encodeRunKey(file: string, firstRev: number): Uint8Array {
  checkNumber(firstRev, 'run start')
  return uint32Key(TAG_FILE_RUN, encodeFilePrefix(file), firstRev)
}

/** Every run key of `file` starts with this. */
export function encodeRunPrefix(file: string): Uint8Array {
  const prefix = encodeFilePrefix(file)
  prefix[0] = TAG_FILE_RUN
  return prefix
}

export function decodeRunKey(key: Uint8Array, where = 'index'): { file: string; firstRev: number } {
  const reader = new ByteReader(key, where)
  if (reader.byte() !== TAG_FILE_RUN) throw reader.error('VSTORE_CORRUPT', 'not a run key')
  const file = reader.string(MAX_ID_BYTE_LENGTH)
  if (file.length === 0) throw reader.error('VSTORE_CORRUPT', 'empty file id')
  const number = reader.take(4)
  reader.expectEnd('run key')
  return { file, firstRev: new DataView(number.buffer, number.byteOffset, 4).getUint32(0) }
}

const zigzag = (value: number): number => (value >= 0 ? value * 2 : -value * 2 - 1)
const unzigzag = (value: number): number => (value % 2 === 0 ? value / 2 : -(value + 1) / 2)

function sameGroup(a: TextLocation, b: TextLocation): boolean {
  return a.packId === b.packId && a.groupOffset === b.groupOffset && a.baseDepth === b.baseDepth
    && a.baseReadByteLength === b.baseReadByteLength && a.baseDecodedByteLength === b.baseDecodedByteLength
}

/**
 * A run's value: `01`, the entry count, each entry, a CRC-32 of the key and all before it. Entries come in
 * increasing revision number, the first with the key's; each codes what it shares with the one before.
 * @throws VSTORE_USAGE for entries out of order, not starting at the key's number, or with a hash shorter than the check.
 */
export function encodeRunValue(key: Uint8Array, entries: readonly RunEntry[]): Uint8Array {
  const { firstRev } = decodeRunKey(key)
  if (entries.length === 0 || entries.length > MAX_RUN_LENGTH) throw new VstoreError('VSTORE_USAGE', `a run of ${entries.length} entries`, 'index')
  const writer = new ByteWriter(32 * entries.length + 16)
  writer.byte(INDEX_VALUE_VERSION)
  writer.varint(entries.length)
  let previous: RunEntry | undefined
  for (const entry of entries) {
    const { location: at } = entry
    checkNumber(entry.rev, 'revision')
    if (previous === undefined ? entry.rev !== firstRev : entry.rev <= previous.rev) throw new VstoreError('VSTORE_USAGE', `run entry ${entry.rev} out of order`, 'index')
    if (at.hash.length < TEXT_CHECK_BYTE_LENGTH) throw new VstoreError('VSTORE_USAGE', `a hash of ${at.hash.length} bytes`, 'index')
    if (entry.parents.length > MAX_PARENTS) throw new VstoreError('VSTORE_LIMIT', `${entry.parents.length} parents, at most ${MAX_PARENTS}`, 'index')
    const before = previous?.location
    const same = before !== undefined && sameGroup(before, at)
    writer.varint(entry.rev - (previous?.rev ?? firstRev))
    writer.varint(entry.parents.length * 4 + (entry.origin === undefined ? 0 : 2) + (same ? 1 : 0))
    if (!same) {
      writer.varint(at.packId)
      writer.varint(at.groupOffset)
      writer.varint(at.baseDepth)
      if (at.baseDepth > 0) {
        writer.varint(at.baseReadByteLength)
        writer.varint(at.baseDecodedByteLength)
      }
    }
    writer.varint(same ? zigzag(at.readByteLength - before.readByteLength) : at.readByteLength)
    writer.varint(same ? zigzag(at.recordStart - before.recordStart) : at.recordStart)
    writer.varint(at.recordEnd - at.recordStart)
    writer.varint(same ? zigzag(at.decodedByteLength - before.decodedByteLength) : at.decodedByteLength)
    writer.varint(zigzag(at.textByteLength - (before?.textByteLength ?? 0)))
    writer.bytes(at.hash.subarray(0, TEXT_CHECK_BYTE_LENGTH))
    for (const parent of entry.parents) {
      checkNumber(parent, 'parent')
      if (parent === entry.rev) throw new VstoreError('VSTORE_USAGE', `revision ${parent} named as its own parent`, 'index')
      writer.varint(zigzag(entry.rev - parent))
    }
    if (entry.origin !== undefined) {
      checkNumber(entry.origin.rev, 'origin')
      writer.string(entry.origin.file)
      writer.varint(entry.origin.rev)
    }
    previous = entry
  }
  return sealValue(key, writer)
}

/** @throws VSTORE_CORRUPT for a checksum mismatch or a malformed run, VSTORE_LIMIT past a limit, VSTORE_UNSUPPORTED for another version. */
export function decodeRunValue(key: Uint8Array, value: Uint8Array, where: string): RunEntry[] {
  const { firstRev } = decodeRunKey(key, where)
  const reader = openValue(key, value, where)
  const entries: RunEntry[] = []
  readRunEntries(reader, firstRev, entries)
  reader.expectEnd('file run')
  return entries
}

/**
 * The revision numbers of a damaged run's entries, as far as they parse before the damage (unchecked: for
 * naming what a repair loses, never for reading entries).
 */
export function runRevisionsBeforeDamage(key: Uint8Array, value: Uint8Array): number[] {
  const entries: RunEntry[] = []
  try {
    const { firstRev } = decodeRunKey(key)
    readRunEntries(new ByteReader(value.subarray(1, Math.max(1, value.length - 4)), 'index'), firstRev, entries)
  } catch (error) {
    if (!(error instanceof VstoreError)) throw error
  }
  return entries.map(entry => entry.rev)
}

/** Reads a run's entry count and entries into `entries`, one by one (a damaged run keeps those before the damage). */
function readRunEntries(reader: ByteReader, firstRev: number, entries: RunEntry[]): void {
  const count = reader.varint()
  if (count === 0) throw reader.error('VSTORE_CORRUPT', 'an empty run')
  if (count > MAX_RUN_LENGTH) throw reader.error('VSTORE_LIMIT', `a run of ${count} entries`)
  let previous: RunEntry | undefined
  for (let i = 0; i < count; i++) {
    const step = reader.varint()
    if (previous === undefined ? step !== 0 : step === 0) throw reader.error('VSTORE_CORRUPT', `revision step ${step} in a run`)
    const rev = (previous?.rev ?? firstRev) + step
    if (rev > MAX_REVISION_NUMBER) throw reader.error('VSTORE_CORRUPT', `revision number ${rev}`)
    const shape = reader.varint()
    const same = shape % 2 === 1
    const before = previous?.location
    if (same && before === undefined) throw reader.error('VSTORE_CORRUPT', 'the first entry of a run shares a group')
    const parentCount = Math.floor(shape / 4)
    if (parentCount > MAX_PARENTS) throw reader.error('VSTORE_LIMIT', `${parentCount} parents`)
    let group: Pick<TextLocation, 'packId' | 'groupOffset' | 'baseDepth' | 'baseReadByteLength' | 'baseDecodedByteLength'>
    if (same && before !== undefined) group = before
    else {
      const packId = reader.varint()
      const groupOffset = reader.varint()
      const baseDepth = reader.varint()
      if (baseDepth > MAX_BASE_DEPTH) throw reader.error('VSTORE_CORRUPT', `base depth ${baseDepth} above ${MAX_BASE_DEPTH}`)
      group = baseDepth === 0 ? { packId, groupOffset, baseDepth, baseReadByteLength: 0, baseDecodedByteLength: 0 }
        : { packId, groupOffset, baseDepth, baseReadByteLength: reader.varint(), baseDecodedByteLength: reader.varint() }
      if (before !== undefined && sameGroup(before, { ...before, ...group })) throw reader.error('VSTORE_CORRUPT', 'a group repeated instead of shared')
    }
    const delta = (field: number) => (before !== undefined && same ? field + unzigzag(reader.varint()) : reader.varint())
    const readByteLength = delta(before?.readByteLength ?? 0)
    const recordStart = delta(before?.recordStart ?? 0)
    const recordByteLength = reader.varint()
    const decodedByteLength = delta(before?.decodedByteLength ?? 0)
    const textByteLength = (before?.textByteLength ?? 0) + unzigzag(reader.varint())
    if (readByteLength < 0 || recordStart < 0 || decodedByteLength < 0 || textByteLength < 0) throw reader.error('VSTORE_CORRUPT', 'a negative length or offset')
    // A delta can carry a field past what a varint holds (and, entry after entry, past 2^53, where numbers stop being exact).
    if (Math.max(readByteLength, recordStart, decodedByteLength, textByteLength) > MAX_VARINT) throw reader.error('VSTORE_CORRUPT', 'a length or offset past the largest varint')
    if (recordByteLength === 0) throw reader.error('VSTORE_CORRUPT', 'empty record range')
    const recordEnd = recordStart + recordByteLength
    if (decodedByteLength < recordEnd) throw reader.error('VSTORE_CORRUPT', `decodes ${decodedByteLength} bytes, record ends at ${recordEnd}`)
    const hash = reader.take(TEXT_CHECK_BYTE_LENGTH).slice()
    const parents: number[] = []
    for (let p = 0; p < parentCount; p++) {
      const parent = rev - unzigzag(reader.varint())
      if (parent < 0 || parent > MAX_REVISION_NUMBER || parent === rev) throw reader.error('VSTORE_CORRUPT', `parent revision number ${parent}`)
      parents.push(parent)
    }
    let origin: RunEntry['origin']
    if (shape % 4 >= 2) {
      const file = reader.string(MAX_ID_BYTE_LENGTH)
      if (file.length === 0) throw reader.error('VSTORE_CORRUPT', 'empty file id in an origin')
      const originRev = reader.varint()
      if (originRev > MAX_REVISION_NUMBER) throw reader.error('VSTORE_CORRUPT', `origin revision number ${originRev}`)
      origin = { file, rev: originRev }
    }
    const location: TextLocation = { ...group, readByteLength, recordStart, recordEnd, decodedByteLength, textByteLength, hash }
    const entry: RunEntry = origin === undefined ? { rev, location, parents } : { rev, location, parents, origin }
    entries.push(entry)
    previous = entry
  }
}

/** `N` and the chunk number (4 bytes, big-endian). */
export function encodeRevisionChunkKey(chunk: number): Uint8Array {
  checkNumber(chunk, 'chunk')
  return uint32Key(TAG_REVISIONS, Uint8Array.of(TAG_REVISIONS), chunk)
}

export function decodeRevisionChunkKey(key: Uint8Array, where = 'index'): number {
  const reader = new ByteReader(key, where)
  if (reader.byte() !== TAG_REVISIONS) throw reader.error('VSTORE_CORRUPT', 'not a revision chunk key')
  const number = reader.take(4)
  reader.expectEnd('revision chunk key')
  return new DataView(number.buffer, number.byteOffset, 4).getUint32(0)
}

/** A chunk's revision ids, in number order (value form, as parents were written in store format 3). */
export function encodeRevisionChunkValue(key: Uint8Array, revs: readonly string[]): Uint8Array {
  if (revs.length === 0 || revs.length > REVISION_CHUNK_LENGTH) throw new VstoreError('VSTORE_USAGE', `a chunk of ${revs.length} revisions`, 'index')
  const writer = new ByteWriter(24 * revs.length + 8)
  writer.byte(INDEX_VALUE_VERSION)
  writer.varint(revs.length)
  for (const rev of revs) writeRev(writer, rev, true)
  return sealValue(key, writer)
}

export function decodeRevisionChunkValue(key: Uint8Array, value: Uint8Array, where: string): string[] {
  const reader = openValue(key, value, where)
  const count = reader.varint()
  if (count === 0 || count > REVISION_CHUNK_LENGTH) throw reader.error('VSTORE_CORRUPT', `a chunk of ${count} revisions`)
  const revs: string[] = []
  for (let i = 0; i < count; i++) revs.push(readRev(reader, true))
  reader.expectEnd('revision chunk')
  return revs
}

/**
 * Where a revision id is listed: the SHA-256 of its UTF-8 bytes, whose first byte names its `Q` bucket
 * (`key`) and whose next two tag it there (`tag`).
 */
export function revisionBucket(rev: string): { key: Uint8Array; tag: number } {
  const hash = createHash('sha256').update(rev, 'utf8').digest()
  return { key: Uint8Array.of(TAG_REVISION_BUCKET, hash[0] as number), tag: ((hash[1] as number) << 8) | (hash[2] as number) }
}

/** A bucket: the numbers of its revisions, increasing, each with its tag (a lookup reads the `N` chunk of each candidate to confirm it). */
export function encodeRevisionBucketValue(key: Uint8Array, members: readonly { readonly rev: number; readonly tag: number }[]): Uint8Array {
  const writer = new ByteWriter(6 * members.length + 8)
  writer.byte(INDEX_VALUE_VERSION)
  writer.varint(members.length)
  let previous = -1
  for (const { rev, tag } of members) {
    checkNumber(rev, 'revision')
    if (rev <= previous) throw new VstoreError('VSTORE_USAGE', `bucket member ${rev} out of order`, 'index')
    writer.varint(rev - previous - 1)
    writer.byte(tag >> 8)
    writer.byte(tag & 0xff)
    previous = rev
  }
  return sealValue(key, writer)
}

export function decodeRevisionBucketValue(key: Uint8Array, value: Uint8Array, where: string): { rev: number; tag: number }[] {
  const reader = openValue(key, value, where)
  const count = reader.varint()
  if (count > MAX_REVISION_NUMBER) throw reader.error('VSTORE_CORRUPT', `a bucket of ${count} revisions`)
  const members: { rev: number; tag: number }[] = []
  let previous = -1
  for (let i = 0; i < count; i++) {
    const rev = previous + 1 + reader.varint()
    if (rev > MAX_REVISION_NUMBER) throw reader.error('VSTORE_CORRUPT', `revision number ${rev}`)
    const tag = reader.take(BUCKET_TAG_BYTE_LENGTH)
    members.push({ rev, tag: ((tag[0] as number) << 8) | (tag[1] as number) })
    previous = rev
  }
  reader.expectEnd('revision bucket')
  return members
}
