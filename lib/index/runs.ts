/**
 * The records of the run-based index layout (store formats 4 to 6, formats/index.md): revision ids numbered once
 * for the whole store (`N` chunks of 16 ids, found again through `Q` buckets keyed by their hash), and text
 * entries in runs (`F`), sorted by file and revision number and delta-coded, one checksum a run; since store
 * format 6 a run may go on from one file into the next, so that files of a few versions share one. A text
 * entry then costs what is particular to it (where its record is, its length, a 4-byte check, its parents as
 * numbers) instead of a LevelDB key, a revision id per parent and a checksum of its own.
 */
import { createHash } from 'node:crypto'
import { isUtf8 } from 'node:buffer'
import { ByteReader, ByteWriter, MAX_ID_BYTE_LENGTH, MAX_VARINT, bytesEqual, compareBytes, decodeUtf8Strictly, fromHex, toHex } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import {
  INDEX_VALUE_VERSION, MAX_BASE_DEPTH, MAX_PARENTS, REV_SHA1, REV_SHA256, REV_TEXT, TEXT_CHECK_BYTE_LENGTH, encodeFilePrefix, openValue, readRev, revKindOf, sealValue, writeRev,
} from './records.js'
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

/** The entries of one file within a run: a run holds one section or (value version 3) several, files in key order. */
export interface RunSection {
  readonly file: string
  readonly entries: readonly RunEntry[]
}

/** The order of two file ids in keys (the varint of their UTF-8 length, then their bytes): negative, zero or positive. */
export function compareFileIds(a: string, b: string): number {
  return a === b ? 0 : compareFileBytes(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** The order of two file ids given as UTF-8 bytes, as their keys sort: the varint of the length, then the bytes. */
function compareFileBytes(a: Uint8Array, b: Uint8Array): number {
  for (let x = a.length, y = b.length; x > 0 || y > 0; x = Math.floor(x / 128), y = Math.floor(y / 128)) {
    const byteA = x >= 128 ? (x % 128) | 0x80 : x
    const byteB = y >= 128 ? (y % 128) | 0x80 : y
    if (byteA !== byteB) return byteA - byteB
    if (x < 128) break
  }
  return compareBytes(a, b)
}

/** The order of two text positions (file, then revision number), as their run keys sort. */
export function comparePositions(a: { readonly file: string; readonly rev: number }, b: { readonly file: string; readonly rev: number }): number {
  return compareFileIds(a.file, b.file) || a.rev - b.rev
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
 * The run value version a writer of store format 6 writes: version 2's entries, where an entry with a
 * revision step of 0 after the first starts the next file of the run (formats/index.md, `F`). Versions 1
 * (store format 4) and 2 (store format 5) are still read; they hold one file each.
 */
export const RUN_VALUE_VERSION = 3
/**
 * The run value version of store format 5: each entry's revision step folded into its shape, a parent that
 * is the entry before marked by a flag, the record start predicted from the entry before, and no decoded length.
 */
export const RUN_VALUE_VERSION_2 = 2
/** The run value version of store format 4, which readers still read (and tests and vectors write). */
export const RUN_VALUE_VERSION_1 = 1
const RUN_VALUE_VERSIONS: readonly number[] = [RUN_VALUE_VERSION_1, RUN_VALUE_VERSION_2, RUN_VALUE_VERSION]

/** Version 2's `Shape` flags, below its revision step (× 16). */
const SHARES_GROUP = 1
const HAS_ORIGIN = 2
const PARENT_IS_PREVIOUS = 4
const HAS_PARENT_LIST = 8
const SHAPE_FLAGS = 16

/**
 * A run's value: the version, the entry count, each entry, a CRC-32 of the key and all before it. Entries come
 * in increasing revision number, the first with the key's; each codes what it shares with the one before.
 * @throws VSTORE_USAGE for entries out of order, not starting at the key's number, or with a hash shorter than the check.
 */
export function encodeRunValue(key: Uint8Array, entries: readonly RunEntry[], version = RUN_VALUE_VERSION): Uint8Array {
  return encodeRunSections(key, [{ file: decodeRunKey(key).file, entries }], version)
}

/**
 * A run's value for the entries of one or (version 3) several files: the first section is the key's file and
 * starts at the key's number, each later one a file after the one before in key order.
 * @throws VSTORE_USAGE for sections or entries out of order, or a hash shorter than the check.
 */
export function encodeRunSections(key: Uint8Array, sections: readonly RunSection[], version = RUN_VALUE_VERSION): Uint8Array {
  const { file: keyFile, firstRev } = decodeRunKey(key)
  const count = sections.reduce((sum, section) => sum + section.entries.length, 0)
  if (count === 0 || count > MAX_RUN_LENGTH || sections.some(section => section.entries.length === 0)) throw new VstoreError('VSTORE_USAGE', `a run of ${count} entries`, 'index')
  if (!RUN_VALUE_VERSIONS.includes(version)) throw new Error(`vstore bug: run value version ${version}`)
  if (sections.length > 1 && version !== RUN_VALUE_VERSION) throw new VstoreError('VSTORE_USAGE', `a run of value version ${version} holds one file`, 'index')
  if ((sections[0] as RunSection).file !== keyFile) throw new VstoreError('VSTORE_USAGE', `a run of ${keyFile} whose first file is ${(sections[0] as RunSection).file}`, 'index')
  const writer = new ByteWriter(32 * count + 16)
  writer.byte(version)
  writer.varint(count)
  let previous: RunEntry | undefined
  let previousFile: Uint8Array | undefined
  for (const [index, section] of sections.entries()) {
    // A later file's id is checked as a key's is (encodeFilePrefix throws for one no key can have).
    if (index > 0) encodeFilePrefix(section.file)
    const fileBytes = index === 0 ? undefined : Buffer.from(section.file, 'utf8')
    if (index > 0 && compareFileIds((sections[index - 1] as RunSection).file, section.file) >= 0) throw new VstoreError('VSTORE_USAGE', `run section ${section.file} out of order`, 'index')
    for (const [place, entry] of section.entries.entries()) {
      const switching = fileBytes !== undefined && place === 0
      checkNumber(entry.rev, 'revision')
      if (previous === undefined ? entry.rev !== firstRev : !switching && entry.rev <= previous.rev) throw new VstoreError('VSTORE_USAGE', `run entry ${entry.rev} out of order`, 'index')
      writeEntry(writer, entry, previous, version, switching ? { previous: previousFile as Uint8Array, next: fileBytes } : undefined, firstRev)
      previous = entry
    }
    previousFile = fileBytes ?? Buffer.from(section.file, 'utf8')
  }
  return sealValue(key, writer)
}

/** The bytes two file ids share at their start. */
function sharedPrefixByteLength(a: Uint8Array, b: Uint8Array): number {
  let shared = 0
  while (shared < a.length && shared < b.length && a[shared] === b[shared]) shared++
  return shared
}

/** One entry, coded against the one before (`switching`: the first entry of a later file of the run, version 3). */
function writeEntry(writer: ByteWriter, entry: RunEntry, previous: RunEntry | undefined, version: number, switching: { previous: Uint8Array; next: Uint8Array } | undefined, firstRev: number): void {
  const { location: at } = entry
  if (at.hash.length < TEXT_CHECK_BYTE_LENGTH) throw new VstoreError('VSTORE_USAGE', `a hash of ${at.hash.length} bytes`, 'index')
  if (entry.parents.length > MAX_PARENTS) throw new VstoreError('VSTORE_LIMIT', `${entry.parents.length} parents, at most ${MAX_PARENTS}`, 'index')
  for (const parent of entry.parents) {
    checkNumber(parent, 'parent')
    if (parent === entry.rev) throw new VstoreError('VSTORE_USAGE', `revision ${parent} named as its own parent`, 'index')
  }
  const before = previous?.location
  const same = before !== undefined && sameGroup(before, at)
  const step = switching === undefined ? entry.rev - (previous?.rev ?? firstRev) : 0
  const origin = entry.origin === undefined ? 0 : HAS_ORIGIN
  const parentIsPrevious = version !== RUN_VALUE_VERSION_1 && switching === undefined && previous !== undefined && entry.parents.length === 1 && entry.parents[0] === previous.rev
  if (version !== RUN_VALUE_VERSION_1) {
    const parentFlags = parentIsPrevious ? PARENT_IS_PREVIOUS : entry.parents.length > 0 ? HAS_PARENT_LIST : 0
    writer.varint(step * SHAPE_FLAGS + parentFlags + origin + (same ? SHARES_GROUP : 0))
    if (switching !== undefined) {
      const shared = sharedPrefixByteLength(switching.previous, switching.next)
      writer.varint(shared)
      writer.varint(switching.next.length - shared)
      writer.bytes(switching.next.subarray(shared))
      writer.varint(entry.rev)
    }
    if (parentFlags === HAS_PARENT_LIST) writer.varint(entry.parents.length)
  } else {
    writer.varint(step)
    writer.varint(entry.parents.length * 4 + origin + (same ? 1 : 0))
  }
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
  const recordByteLength = at.recordEnd - at.recordStart
  if (version !== RUN_VALUE_VERSION_1) {
    writer.varint(recordByteLength)
    writer.varint(same ? zigzag(at.recordStart - (before.recordStart - recordByteLength)) : at.recordStart)
  } else {
    writer.varint(same ? zigzag(at.recordStart - before.recordStart) : at.recordStart)
    writer.varint(recordByteLength)
    writer.varint(same ? zigzag(at.decodedByteLength - before.decodedByteLength) : at.decodedByteLength)
  }
  writer.varint(zigzag(at.textByteLength - (before?.textByteLength ?? 0)))
  writer.bytes(at.hash.subarray(0, TEXT_CHECK_BYTE_LENGTH))
  if (!parentIsPrevious) for (const parent of entry.parents) writer.varint(zigzag(entry.rev - parent))
  if (entry.origin !== undefined) {
    checkNumber(entry.origin.rev, 'origin')
    writer.string(entry.origin.file)
    writer.varint(entry.origin.rev)
  }
}

/**
 * The entries of a run of one file (value versions 1 and 2, or a version 3 run that holds one file).
 * @throws VSTORE_CORRUPT for a checksum mismatch or a malformed run, VSTORE_LIMIT past a limit, VSTORE_UNSUPPORTED
 * for another version; VSTORE_USAGE for a run that holds several files (read it with decodeRunSections).
 */
export function decodeRunValue(key: Uint8Array, value: Uint8Array, where: string): RunEntry[] {
  const sections = decodeRunSections(key, value, where)
  if (sections.length !== 1) throw new VstoreError('VSTORE_USAGE', `a run of ${sections.length} files read as one file's`, where)
  return (sections[0] as RunSection).entries as RunEntry[]
}

/** A run's files and their entries. @throws as decodeRunValue, but for a run of several files (version 3). */
export function decodeRunSections(key: Uint8Array, value: Uint8Array, where: string): RunSection[] {
  const { file, firstRev } = decodeRunKey(key, where)
  const reader = openValue(key, value, where, RUN_VALUE_VERSIONS)
  const sections: { file: string; entries: RunEntry[] }[] = []
  readRunEntries(reader, file, firstRev, sections, value[0] as number)
  reader.expectEnd('file run')
  return sections
}

/**
 * The entry of `file` numbered `rev` in a run, or undefined: the whole run is read and checked, but only that
 * entry is made (a lookup's one entry of up to 64). @throws as decodeRunSections.
 */
export function findRunEntry(key: Uint8Array, value: Uint8Array, where: string, file: string, rev: number): RunEntry | undefined {
  const { file: keyFile, firstRev } = decodeRunKey(key, where)
  const reader = openValue(key, value, where, RUN_VALUE_VERSIONS)
  const sections: Sections = []
  readRunEntries(reader, keyFile, firstRev, sections, value[0] as number, { file, bytes: Buffer.from(file, 'utf8'), rev })
  reader.expectEnd('file run')
  return sections.find(section => section.file === file)?.entries[0]
}

/**
 * The text positions of a damaged run's entries, as far as they parse before the damage (unchecked: for
 * naming what a repair loses, never for reading entries).
 */
export function runPositionsBeforeDamage(key: Uint8Array, value: Uint8Array): { file: string; rev: number }[] {
  const sections: { file: string; entries: RunEntry[] }[] = []
  try {
    const { file, firstRev } = decodeRunKey(key)
    const version = value[0] as number
    if (RUN_VALUE_VERSIONS.includes(version)) readRunEntries(new ByteReader(value.subarray(1, Math.max(1, value.length - 4)), 'index'), file, firstRev, sections, version)
  } catch (error) {
    if (!(error instanceof VstoreError)) throw error
  }
  return sections.flatMap(section => section.entries.map(entry => ({ file: section.file, rev: entry.rev })))
}

/** An entry's revision step and flags: version 2's and 3's `Shape`, or version 1's `Rev_Step` and `Shape` as the same flags. */
function readShape(reader: ByteReader, version: number, first: boolean): { step: number; same: boolean; origin: boolean; parentIsPrevious: boolean; listed: boolean; parentCount: number } {
  if (version === RUN_VALUE_VERSION_1) {
    const step = reader.varint()
    const shape = reader.varint()
    const parentCount = Math.floor(shape / 4)
    if (parentCount > MAX_PARENTS) throw reader.error('VSTORE_LIMIT', `${parentCount} parents`)
    return { step, same: shape % 2 === 1, origin: shape % 4 >= 2, parentIsPrevious: false, listed: true, parentCount }
  }
  const shape = reader.varint()
  const flags = shape % SHAPE_FLAGS
  const step = Math.floor(shape / SHAPE_FLAGS)
  const parentIsPrevious = (flags & PARENT_IS_PREVIOUS) !== 0
  const listed = (flags & HAS_PARENT_LIST) !== 0
  if (parentIsPrevious && (listed || first)) throw reader.error('VSTORE_CORRUPT', first ? 'the first entry of a run names the entry before as parent' : 'a parent list and the entry before as parent')
  // A file's first entry in a run of several files (step 0, version 3) names no entry before it either.
  if (parentIsPrevious && step === 0 && version === RUN_VALUE_VERSION) throw reader.error('VSTORE_CORRUPT', 'the first entry of a file names the entry before (another file\'s) as parent')
  return { step, same: (flags & SHARES_GROUP) !== 0, origin: (flags & HAS_ORIGIN) !== 0, parentIsPrevious, listed, parentCount: parentIsPrevious ? 1 : 0 }
}

/** Version 3's next file (after `previous`, as UTF-8 bytes): the bytes it shares with it, the rest, and its first revision number. */
function readNextFile(reader: ByteReader, previous: Uint8Array): { bytes: Uint8Array; rev: number } {
  const shared = reader.varint()
  const rest = reader.varint()
  if (shared > previous.length) throw reader.error('VSTORE_CORRUPT', `a file id sharing ${shared} bytes with one of ${previous.length}`)
  if (shared + rest > MAX_ID_BYTE_LENGTH) throw reader.error('VSTORE_LIMIT', `a file id of ${shared + rest} bytes, limit ${MAX_ID_BYTE_LENGTH}`)
  const tail = reader.take(rest)
  // One encoding: the shared part is all the two ids share.
  if (rest > 0 && shared < previous.length && tail[0] === previous[shared]) throw reader.error('VSTORE_CORRUPT', 'a file id that shares more with the one before than it says')
  const bytes = new Uint8Array(shared + rest)
  bytes.set(previous.subarray(0, shared))
  bytes.set(tail, shared)
  if (bytes.length === 0) throw reader.error('VSTORE_CORRUPT', 'an empty file id')
  // Checked without making a string: a lookup makes one only for the file it wants.
  if (!isUtf8(bytes)) throw reader.error('VSTORE_CORRUPT', 'a file id that is not UTF-8')
  if (compareFileBytes(previous, bytes) >= 0) throw reader.error('VSTORE_CORRUPT', `file ${JSON.stringify(decodeUtf8Strictly(bytes))} is not after the one before it in key order`)
  const rev = reader.varint()
  if (rev > MAX_REVISION_NUMBER) throw reader.error('VSTORE_CORRUPT', `revision number ${rev}`)
  return { bytes, rev }
}

/** What a run's entries decode into: each file's entries, of those `wanted` says to keep (all when it is absent). */
type Sections = { file: string; entries: RunEntry[] }[]

/**
 * Reads a run's entry count and entries into `sections`, one by one (a damaged run keeps those before the
 * damage). Every entry is read and checked; with `wanted`, only that file's entry of that number becomes an
 * object (in a section of its own), since a lookup needs one entry of a run that may hold 64 of many files.
 */
function readRunEntries(reader: ByteReader, keyFile: string, firstRev: number, sections: Sections, version: number, wanted?: { file: string; bytes: Uint8Array; rev: number }): void {
  const count = reader.varint()
  if (count === 0) throw reader.error('VSTORE_CORRUPT', 'an empty run')
  if (count > MAX_RUN_LENGTH) throw reader.error('VSTORE_LIMIT', `a run of ${count} entries`)
  let section: Sections[number] = { file: keyFile, entries: [] }
  let sectionBytes: Uint8Array | undefined
  let inSection = 0
  let keep = wanted === undefined || wanted.file === keyFile
  if (keep) sections.push(section)
  // The entry before, as the fields the next one is coded against.
  let rev = -1
  let packId = 0
  let groupOffset = 0
  let baseDepth = 0
  let baseReadByteLength = 0
  let baseDecodedByteLength = 0
  let readByteLength = 0
  let recordStart = 0
  let decodedByteLength = 0
  let textByteLength = 0
  for (let i = 0; i < count; i++) {
    const first = i === 0
    const { step, same, origin: hasOrigin, parentIsPrevious, listed, parentCount: flaggedCount } = readShape(reader, version, first)
    const previousRev = rev
    if (!first && step === 0 && version === RUN_VALUE_VERSION) {
      const next = readNextFile(reader, sectionBytes ?? Buffer.from(keyFile, 'utf8'))
      sectionBytes = next.bytes
      keep = wanted === undefined || bytesEqual(next.bytes, wanted.bytes)
      section = { file: wanted !== undefined && keep ? wanted.file : (decodeUtf8Strictly(next.bytes) as string), entries: [] }
      if (keep) sections.push(section)
      inSection = 0
      rev = next.rev
    } else {
      if (first ? step !== 0 : step === 0) throw reader.error('VSTORE_CORRUPT', `revision step ${step} in a run`)
      rev = (first ? firstRev : rev) + step
      if (rev > MAX_REVISION_NUMBER) throw reader.error('VSTORE_CORRUPT', `revision number ${rev}`)
    }
    let parentCount = flaggedCount
    if (listed && version !== RUN_VALUE_VERSION_1) {
      parentCount = reader.varint()
      if (parentCount === 0) throw reader.error('VSTORE_CORRUPT', 'an empty parent list')
      if (parentCount > MAX_PARENTS) throw reader.error('VSTORE_LIMIT', `${parentCount} parents`)
    }
    if (same && first) throw reader.error('VSTORE_CORRUPT', 'the first entry of a run shares a group')
    if (!same) {
      const nextPack = reader.varint()
      const nextOffset = reader.varint()
      const nextDepth = reader.varint()
      if (nextDepth > MAX_BASE_DEPTH) throw reader.error('VSTORE_CORRUPT', `base depth ${nextDepth} above ${MAX_BASE_DEPTH}`)
      const nextBaseRead = nextDepth === 0 ? 0 : reader.varint()
      const nextBaseDecoded = nextDepth === 0 ? 0 : reader.varint()
      if (!first && nextPack === packId && nextOffset === groupOffset && nextDepth === baseDepth && nextBaseRead === baseReadByteLength && nextBaseDecoded === baseDecodedByteLength) {
        throw reader.error('VSTORE_CORRUPT', 'a group repeated instead of shared')
      }
      packId = nextPack
      groupOffset = nextOffset
      baseDepth = nextDepth
      baseReadByteLength = nextBaseRead
      baseDecodedByteLength = nextBaseDecoded
    }
    // Shared with the entry before: the read and record start are differences from its.
    readByteLength = same ? readByteLength + unzigzag(reader.varint()) : reader.varint()
    let recordByteLength: number
    let decoded: number | undefined
    if (version === RUN_VALUE_VERSION_1) {
      recordStart = same ? recordStart + unzigzag(reader.varint()) : reader.varint()
      recordByteLength = reader.varint()
      decoded = decodedByteLength = same ? decodedByteLength + unzigzag(reader.varint()) : reader.varint()
    } else {
      // Versions 2 and 3 predict that the record ends where the one before starts (a group holds a file's
      // newer versions first), and keep no decoded length: a reader takes the record's end.
      recordByteLength = reader.varint()
      recordStart = same ? recordStart - recordByteLength + unzigzag(reader.varint()) : reader.varint()
    }
    textByteLength += unzigzag(reader.varint())
    if (readByteLength < 0 || recordStart < 0 || (decoded ?? 0) < 0 || textByteLength < 0) throw reader.error('VSTORE_CORRUPT', 'a negative length or offset')
    // A delta can carry a field past what a varint holds (and, entry after entry, past 2^53, where numbers stop being exact).
    if (Math.max(readByteLength, recordStart, decoded ?? 0, textByteLength) > MAX_VARINT) throw reader.error('VSTORE_CORRUPT', 'a length or offset past the largest varint')
    if (recordByteLength === 0) throw reader.error('VSTORE_CORRUPT', 'empty record range')
    const recordEnd = recordStart + recordByteLength
    if (recordEnd > MAX_VARINT) throw reader.error('VSTORE_CORRUPT', 'a record end past the largest varint')
    if (decoded !== undefined && decoded < recordEnd) throw reader.error('VSTORE_CORRUPT', `decodes ${decoded} bytes, record ends at ${recordEnd}`)
    const made = keep && (wanted === undefined || wanted.rev === rev)
    const check = made ? reader.take(TEXT_CHECK_BYTE_LENGTH).slice() : undefined
    if (!made) reader.skip(TEXT_CHECK_BYTE_LENGTH)
    const parents: number[] = []
    if (parentIsPrevious) parents.push(previousRev)
    else {
      for (let p = 0; p < parentCount; p++) {
        const parent = rev - unzigzag(reader.varint())
        if (parent < 0 || parent > MAX_REVISION_NUMBER || parent === rev) throw reader.error('VSTORE_CORRUPT', `parent revision number ${parent}`)
        // One encoding a run: a lone parent that is the entry before (of the same file) is the flag's, never a list's.
        if (parentCount === 1 && parent === previousRev && inSection > 0 && version !== RUN_VALUE_VERSION_1) throw reader.error('VSTORE_CORRUPT', 'a parent list of the entry before alone')
        if (made) parents.push(parent)
      }
    }
    let origin: RunEntry['origin']
    if (hasOrigin) {
      const file = reader.string(MAX_ID_BYTE_LENGTH)
      if (file.length === 0) throw reader.error('VSTORE_CORRUPT', 'empty file id in an origin')
      const originRev = reader.varint()
      if (originRev > MAX_REVISION_NUMBER) throw reader.error('VSTORE_CORRUPT', `origin revision number ${originRev}`)
      origin = { file, rev: originRev }
    }
    inSection++
    if (!made || check === undefined) continue
    const location: TextLocation = {
      packId, groupOffset, baseDepth, baseReadByteLength, baseDecodedByteLength, readByteLength, recordStart, recordEnd,
      decodedByteLength: decoded ?? recordEnd, textByteLength, hash: check,
    }
    section.entries.push(origin === undefined ? { rev, location, parents } : { rev, location, parents, origin })
  }
}

/** `N` and the chunk number (4 bytes, big-endian). */

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

/**
 * The revision chunk value version a writer of store formats 5 and 6 writes: one `Chunk_Kind` byte for the whole
 * chunk, so that a chunk of git commit ids keeps 20 bytes an id instead of 21. Version 1 (store format 4),
 * each id with its own kind, is still read.
 */
export const REVISION_CHUNK_VALUE_VERSION = 2

/** A chunk's revision ids, in number order. */
export function encodeRevisionChunkValue(key: Uint8Array, revs: readonly string[], version = REVISION_CHUNK_VALUE_VERSION): Uint8Array {
  if (revs.length === 0 || revs.length > REVISION_CHUNK_LENGTH) throw new VstoreError('VSTORE_USAGE', `a chunk of ${revs.length} revisions`, 'index')
  const writer = new ByteWriter(24 * revs.length + 8)
  writer.byte(version)
  writer.varint(revs.length)
  const kind = version === REVISION_CHUNK_VALUE_VERSION ? chunkKind(revs) : REV_TEXT
  if (version === REVISION_CHUNK_VALUE_VERSION) writer.byte(kind)
  for (const rev of revs) {
    if (kind === REV_TEXT) writeRev(writer, rev, true)
    else writer.bytes(fromHex(rev))
  }
  return sealValue(key, writer)
}

/** A chunk's `Chunk_Kind`: the kind all its ids share when that is a hex kind, else REV_TEXT (each id says its own). */
function chunkKind(revs: readonly string[]): number {
  const kind = revKindOf(revs[0] as string)
  return kind !== REV_TEXT && revs.every(rev => revKindOf(rev) === kind) ? kind : REV_TEXT
}

export function decodeRevisionChunkValue(key: Uint8Array, value: Uint8Array, where: string): string[] {
  const reader = openValue(key, value, where, REVISION_CHUNK_VALUE_VERSION)
  const count = reader.varint()
  if (count === 0 || count > REVISION_CHUNK_LENGTH) throw reader.error('VSTORE_CORRUPT', `a chunk of ${count} revisions`)
  const kind = value[0] === REVISION_CHUNK_VALUE_VERSION ? reader.byte() : REV_TEXT
  if (kind !== REV_TEXT && kind !== REV_SHA1 && kind !== REV_SHA256) throw reader.error('VSTORE_CORRUPT', `unknown chunk kind ${kind}`)
  const revs: string[] = []
  for (let i = 0; i < count; i++) revs.push(kind === REV_TEXT ? readRev(reader, true) : toHex(reader.take(kind === REV_SHA1 ? 20 : 32)))
  reader.expectEnd('revision chunk')
  // One encoding a chunk: ids that all share a hex kind are written under it, never each with its own.
  if (value[0] === REVISION_CHUNK_VALUE_VERSION && kind === REV_TEXT && chunkKind(revs) !== REV_TEXT) throw reader.error('VSTORE_CORRUPT', 'ids of one hex kind under Chunk_Kind 00')
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
