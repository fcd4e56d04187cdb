/**
 * The text entries of the run-based index layout (store formats 4 to 6, formats/index.md): entries in runs
 * (`F`), sorted by file and revision number and delta-coded, one checksum a run; since store format 6 a run
 * may go on from one file into the next, so that files of a few versions share one. Revisions are named by
 * the numbers of lib/index/revision-records.ts (re-exported here). A text entry then costs what is
 * particular to it (where its record is, its length, a 4-byte check, its parents as numbers) instead of a
 * LevelDB key, a revision id per parent and a checksum of its own.
 */
import { isUtf8 } from 'node:buffer'
import { ByteReader, ByteWriter, MAX_ID_BYTE_LENGTH, MAX_VARINT, bytesEqual, compareBytes, decodeUtf8Strictly } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import { MAX_BASE_DEPTH, MAX_PARENTS, TEXT_CHECK_BYTE_LENGTH, encodeFilePrefix, openValue, sealValue } from './records.js'
import type { TextLocation } from './types.js'
import {
  MAX_REVISION_NUMBER, REVISION_CHUNK_LENGTH, REVISION_CHUNK_VALUE_VERSION, TAG_REVISIONS, TAG_REVISION_BUCKET, checkNumber, decodeRevisionBucketValue,
  decodeRevisionChunkKey, decodeRevisionChunkValue, encodeRevisionBucketValue, encodeRevisionChunkKey, encodeRevisionChunkValue, revisionBucket, uint32Key,
} from './revision-records.js'

export const TAG_FILE_RUN = 0x46 // 'F'
// The revision records' codec, which runs name their revisions through, is part of the same layout.
export {
  MAX_REVISION_NUMBER, REVISION_CHUNK_LENGTH, REVISION_CHUNK_VALUE_VERSION, TAG_REVISIONS, TAG_REVISION_BUCKET, decodeRevisionBucketValue, decodeRevisionChunkKey,
  decodeRevisionChunkValue, encodeRevisionBucketValue, encodeRevisionChunkKey, encodeRevisionChunkValue, revisionBucket,
}
/** Entries a writer puts in one run when it writes a file's runs afresh; a decoder takes up to MAX_RUN_LENGTH. */
export const RUN_LENGTH = 64
/**
 * An append (entries numbered after every one of their file's) rewrites the file's last run only while it
 * has fewer entries than this, and starts a new run after: what a commit rewrites stays small, and a rewrite
 * of the file's tail (a pack moving its texts) joins the short runs again.
 */
export const TAIL_RUN_LENGTH = 4
export const MAX_RUN_LENGTH = 1024

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
  if (version === RUN_VALUE_VERSION) {
    // Version 3: the count less one, doubled, plus 1 when a list of the run's later files follows.
    writer.varint((count - 1) * 2 + (sections.length > 1 ? 1 : 0))
    writeNextFiles(writer, sections)
  } else writer.varint(count)
  let previous: RunEntry | undefined
  for (const [index, section] of sections.entries()) {
    for (const [place, entry] of section.entries.entries()) {
      const switching = index > 0 && place === 0
      checkNumber(entry.rev, 'revision')
      if (previous === undefined ? entry.rev !== firstRev : !switching && entry.rev <= previous.rev) throw new VstoreError('VSTORE_USAGE', `run entry ${entry.rev} out of order`, 'index')
      writeEntry(writer, entry, previous, version, switching, firstRev)
      previous = entry
    }
  }
  return sealValue(key, writer)
}

/**
 * Version 3's list of a run's files after its first: each id as the bytes it shares with the one before
 * (doubled, plus 1 when another file follows) and the rest, then the number of its first entry. The ids
 * come before the entries, so a run damaged among its entries still names every file it holds.
 */
function writeNextFiles(writer: ByteWriter, sections: readonly RunSection[]): void {
  let previous = Buffer.from((sections[0] as RunSection).file, 'utf8')
  for (const [index, section] of sections.entries()) {
    if (index === 0) continue
    // A later file's id is checked as a key's is (encodeFilePrefix throws for one no key can have).
    encodeFilePrefix(section.file)
    if (compareFileIds((sections[index - 1] as RunSection).file, section.file) >= 0) throw new VstoreError('VSTORE_USAGE', `run section ${section.file} out of order`, 'index')
    const bytes = Buffer.from(section.file, 'utf8')
    const shared = sharedPrefixByteLength(previous, bytes)
    writer.varint(shared * 2 + (index < sections.length - 1 ? 1 : 0))
    writer.varint(bytes.length - shared)
    writer.bytes(bytes.subarray(shared))
    const first = (section.entries[0] as RunEntry).rev
    checkNumber(first, 'revision')
    writer.varint(first)
    previous = bytes
  }
}

/** The bytes two file ids share at their start. */
function sharedPrefixByteLength(a: Uint8Array, b: Uint8Array): number {
  let shared = 0
  while (shared < a.length && shared < b.length && a[shared] === b[shared]) shared++
  return shared
}

/** One entry, coded against the one before (`switching`: the first entry of a later file of the run, version 3). */
function writeEntry(writer: ByteWriter, entry: RunEntry, previous: RunEntry | undefined, version: number, switching: boolean, firstRev: number): void {
  const { location: at } = entry
  if (at.hash.length < TEXT_CHECK_BYTE_LENGTH) throw new VstoreError('VSTORE_USAGE', `a hash of ${at.hash.length} bytes`, 'index')
  if (entry.parents.length > MAX_PARENTS) throw new VstoreError('VSTORE_LIMIT', `${entry.parents.length} parents, at most ${MAX_PARENTS}`, 'index')
  for (const parent of entry.parents) {
    checkNumber(parent, 'parent')
    if (parent === entry.rev) throw new VstoreError('VSTORE_USAGE', `revision ${parent} named as its own parent`, 'index')
  }
  const before = previous?.location
  const same = before !== undefined && sameGroup(before, at)
  const step = !switching ? entry.rev - (previous?.rev ?? firstRev) : 0
  const origin = entry.origin === undefined ? 0 : HAS_ORIGIN
  const parentIsPrevious = version !== RUN_VALUE_VERSION_1 && !switching && previous !== undefined && entry.parents.length === 1 && entry.parents[0] === previous.rev
  if (version !== RUN_VALUE_VERSION_1) {
    const parentFlags = parentIsPrevious ? PARENT_IS_PREVIOUS : entry.parents.length > 0 ? HAS_PARENT_LIST : 0
    writer.varint(step * SHAPE_FLAGS + parentFlags + origin + (same ? SHARES_GROUP : 0))
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
    // A file's first entry in a run of several predicts its record right after the one before (a group's
    // files of one version each follow each other); otherwise it ends where the one before starts.
    writer.varint(same ? zigzag(at.recordStart - (switching ? before.recordEnd : before.recordStart - recordByteLength)) : at.recordStart)
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
  const named = new Map<string, { file: string; rev: number }>()
  const name = (file: string, rev: number) => named.set(`${file}\0${rev}`, { file, rev })
  try {
    const { file, firstRev } = decodeRunKey(key)
    const version = value[0] as number
    if (!RUN_VALUE_VERSIONS.includes(version)) return []
    const body = () => new ByteReader(value.subarray(1, Math.max(1, value.length - 4)), 'index')
    // A version 3 run lists its files before its entries: those name their first texts even where the entries are damaged.
    try {
      for (const next of readRunHead(body(), version, Buffer.from(file, 'utf8')).files) {
        const nextFile = decodeUtf8Strictly(next.bytes)
        if (nextFile !== undefined) name(nextFile, next.rev)
      }
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
    }
    readRunEntries(body(), file, firstRev, sections, version)
  } catch (error) {
    if (!(error instanceof VstoreError)) throw error
  }
  for (const section of sections) for (const entry of section.entries) name(section.file, entry.rev)
  return [...named.values()]
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

/** A file of version 3's list: its id's UTF-8 and the number of its first entry. */
interface NextFile {
  readonly bytes: Uint8Array
  readonly rev: number
}

/**
 * A run's entry count, and (version 3) the list of its files after the first (`keyFile`, as UTF-8 bytes).
 * @throws VSTORE_LIMIT for a count past MAX_RUN_LENGTH or an id past 4096 bytes, VSTORE_CORRUPT for a list
 * longer than the entries it needs, or an id that is empty, not UTF-8, shares more or less than it says, or
 * is not after the one before in key order.
 */
function readRunHead(reader: ByteReader, version: number, keyFile: Uint8Array): { count: number; files: NextFile[] } {
  const field = reader.varint()
  const count = version === RUN_VALUE_VERSION ? Math.floor(field / 2) + 1 : field
  if (count === 0) throw reader.error('VSTORE_CORRUPT', 'an empty run')
  if (count > MAX_RUN_LENGTH) throw reader.error('VSTORE_LIMIT', `a run of ${count} entries`)
  const files: NextFile[] = []
  let more = version === RUN_VALUE_VERSION && field % 2 === 1
  let previous = keyFile
  while (more) {
    // Each file needs an entry of its own, the key's file one too.
    if (files.length + 1 >= count) throw reader.error('VSTORE_CORRUPT', `a run of ${count} entries listing more files`)
    const sharedField = reader.varint()
    const shared = Math.floor(sharedField / 2)
    more = sharedField % 2 === 1
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
    files.push({ bytes, rev })
    previous = bytes
  }
  return { count, files }
}

/** What a run's entries decode into: each file's entries, of those `wanted` says to keep (all when it is absent). */
type Sections = { file: string; entries: RunEntry[] }[]

/** The fields of the entry before (all 0 before the first), which an entry is coded against. */
interface Coded {
  packId: number
  groupOffset: number
  baseDepth: number
  baseReadByteLength: number
  baseDecodedByteLength: number
  readByteLength: number
  recordStart: number
  recordEnd: number
  decodedByteLength: number
  textByteLength: number
}

/**
 * Reads an entry's group and lengths into `at`, which holds the entry before's (`same`: the entry shares its
 * group; `switched`: it starts the next file). Returns the decoded length version 1 keeps, else undefined.
 */
function readPlace(reader: ByteReader, at: Coded, version: number, first: boolean, same: boolean, switched: boolean): number | undefined {
  if (same && first) throw reader.error('VSTORE_CORRUPT', 'the first entry of a run shares a group')
  if (!same) {
    const packId = reader.varint()
    const groupOffset = reader.varint()
    const baseDepth = reader.varint()
    if (baseDepth > MAX_BASE_DEPTH) throw reader.error('VSTORE_CORRUPT', `base depth ${baseDepth} above ${MAX_BASE_DEPTH}`)
    const baseReadByteLength = baseDepth === 0 ? 0 : reader.varint()
    const baseDecodedByteLength = baseDepth === 0 ? 0 : reader.varint()
    if (!first && packId === at.packId && groupOffset === at.groupOffset && baseDepth === at.baseDepth && baseReadByteLength === at.baseReadByteLength && baseDecodedByteLength === at.baseDecodedByteLength) {
      throw reader.error('VSTORE_CORRUPT', 'a group repeated instead of shared')
    }
    at.packId = packId
    at.groupOffset = groupOffset
    at.baseDepth = baseDepth
    at.baseReadByteLength = baseReadByteLength
    at.baseDecodedByteLength = baseDecodedByteLength
  }
  // Shared with the entry before: the read and record start are differences from its.
  at.readByteLength = same ? at.readByteLength + unzigzag(reader.varint()) : reader.varint()
  let recordByteLength: number
  let decoded: number | undefined
  if (version === RUN_VALUE_VERSION_1) {
    at.recordStart = same ? at.recordStart + unzigzag(reader.varint()) : reader.varint()
    recordByteLength = reader.varint()
    decoded = at.decodedByteLength = same ? at.decodedByteLength + unzigzag(reader.varint()) : reader.varint()
  } else {
    // Versions 2 and 3 predict that the record ends where the one before starts (a group holds a file's
    // newer versions first), or, for a next file's first entry, starts where it ends; and keep no decoded
    // length: a reader takes the record's end.
    recordByteLength = reader.varint()
    at.recordStart = same ? (switched ? at.recordEnd : at.recordStart - recordByteLength) + unzigzag(reader.varint()) : reader.varint()
  }
  at.textByteLength += unzigzag(reader.varint())
  const { readByteLength, recordStart, textByteLength } = at
  if (readByteLength < 0 || recordStart < 0 || (decoded ?? 0) < 0 || textByteLength < 0) throw reader.error('VSTORE_CORRUPT', 'a negative length or offset')
  // A delta can carry a field past what a varint holds (and, entry after entry, past 2^53, where numbers stop being exact).
  if (Math.max(readByteLength, recordStart, decoded ?? 0, textByteLength) > MAX_VARINT) throw reader.error('VSTORE_CORRUPT', 'a length or offset past the largest varint')
  if (recordByteLength === 0) throw reader.error('VSTORE_CORRUPT', 'empty record range')
  at.recordEnd = recordStart + recordByteLength
  if (at.recordEnd > MAX_VARINT) throw reader.error('VSTORE_CORRUPT', 'a record end past the largest varint')
  if (decoded !== undefined && decoded < at.recordEnd) throw reader.error('VSTORE_CORRUPT', `decodes ${decoded} bytes, record ends at ${at.recordEnd}`)
  return decoded
}

/** An entry's parent numbers (`keep`: into the array returned; else only read and checked). */
function readParents(reader: ByteReader, rev: number, previousRev: number, shape: { parentIsPrevious: boolean; parentCount: number }, sameFile: boolean, version: number, keep: boolean): number[] {
  if (shape.parentIsPrevious) return [previousRev]
  const parents: number[] = []
  for (let p = 0; p < shape.parentCount; p++) {
    const parent = rev - unzigzag(reader.varint())
    if (parent < 0 || parent > MAX_REVISION_NUMBER || parent === rev) throw reader.error('VSTORE_CORRUPT', `parent revision number ${parent}`)
    // One encoding a run: a lone parent that is the entry before (of the same file) is the flag's, never a list's.
    if (shape.parentCount === 1 && parent === previousRev && sameFile && version !== RUN_VALUE_VERSION_1) throw reader.error('VSTORE_CORRUPT', 'a parent list of the entry before alone')
    if (keep) parents.push(parent)
  }
  return parents
}

function readOrigin(reader: ByteReader): { file: string; rev: number } {
  const file = reader.string(MAX_ID_BYTE_LENGTH)
  if (file.length === 0) throw reader.error('VSTORE_CORRUPT', 'empty file id in an origin')
  const rev = reader.varint()
  if (rev > MAX_REVISION_NUMBER) throw reader.error('VSTORE_CORRUPT', `origin revision number ${rev}`)
  return { file, rev }
}

/**
 * Reads a run's entry count and entries into `sections`, one by one (a damaged run keeps those before the
 * damage). Every entry is read and checked; with `wanted`, only that file's entry of that number becomes an
 * object (in a section of its own), since a lookup needs one entry of a run that may hold 64 of many files.
 */
function readRunEntries(reader: ByteReader, keyFile: string, firstRev: number, sections: Sections, version: number, wanted?: { file: string; bytes: Uint8Array; rev: number }): void {
  const { count, files } = readRunHead(reader, version, Buffer.from(keyFile, 'utf8'))
  let section: Sections[number] = { file: keyFile, entries: [] }
  let nextFile = 0
  let inSection = 0
  let keep = wanted === undefined || wanted.file === keyFile
  if (keep) sections.push(section)
  let rev = -1
  const at: Coded = { packId: 0, groupOffset: 0, baseDepth: 0, baseReadByteLength: 0, baseDecodedByteLength: 0, readByteLength: 0, recordStart: 0, recordEnd: 0, decodedByteLength: 0, textByteLength: 0 }
  for (let i = 0; i < count; i++) {
    const first = i === 0
    const shape = readShape(reader, version, first)
    const previousRev = rev
    const switched = !first && shape.step === 0 && version === RUN_VALUE_VERSION
    if (switched) {
      const next = files[nextFile++]
      if (next === undefined) throw reader.error('VSTORE_CORRUPT', 'an entry that starts a file the run does not list')
      keep = wanted === undefined || bytesEqual(next.bytes, wanted.bytes)
      section = { file: wanted !== undefined && keep ? wanted.file : (decodeUtf8Strictly(next.bytes) as string), entries: [] }
      if (keep) sections.push(section)
      inSection = 0
      rev = next.rev
    } else {
      if (first ? shape.step !== 0 : shape.step === 0) throw reader.error('VSTORE_CORRUPT', `revision step ${shape.step} in a run`)
      rev = (first ? firstRev : rev) + shape.step
      if (rev > MAX_REVISION_NUMBER) throw reader.error('VSTORE_CORRUPT', `revision number ${rev}`)
    }
    if (shape.listed && version !== RUN_VALUE_VERSION_1) {
      shape.parentCount = reader.varint()
      if (shape.parentCount === 0) throw reader.error('VSTORE_CORRUPT', 'an empty parent list')
      if (shape.parentCount > MAX_PARENTS) throw reader.error('VSTORE_LIMIT', `${shape.parentCount} parents`)
    }
    const decoded = readPlace(reader, at, version, first, shape.same, switched)
    const made = keep && (wanted === undefined || wanted.rev === rev)
    const check = made ? reader.take(TEXT_CHECK_BYTE_LENGTH).slice() : undefined
    if (!made) reader.skip(TEXT_CHECK_BYTE_LENGTH)
    const parents = readParents(reader, rev, previousRev, shape, inSection > 0, version, made)
    const origin = shape.origin ? readOrigin(reader) : undefined
    inSection++
    if (!made || check === undefined) continue
    const location: TextLocation = {
      packId: at.packId, groupOffset: at.groupOffset, baseDepth: at.baseDepth, baseReadByteLength: at.baseReadByteLength, baseDecodedByteLength: at.baseDecodedByteLength,
      readByteLength: at.readByteLength, recordStart: at.recordStart, recordEnd: at.recordEnd, decodedByteLength: decoded ?? at.recordEnd, textByteLength: at.textByteLength, hash: check,
    }
    section.entries.push(origin === undefined ? { rev, location, parents } : { rev, location, parents, origin })
  }
  if (nextFile < files.length) throw reader.error('VSTORE_CORRUPT', `a run that lists ${files.length - nextFile} file(s) that no entry starts`)
}

