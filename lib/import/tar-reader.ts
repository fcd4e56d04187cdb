/**
 * Reading a tar archive (not compressed) as a stream of regular files. The reader is strict: every header's
 * checksum is checked, sizes must be octal (or GNU base-256), an archive must end with an end-of-archive
 * block, and an entry cut short is an error. It knows ustar names (`prefix/name`), GNU long names
 * (`././@LongLink`, type `L`) and pax headers (type `x`, `path=` and `size=`); only regular files are
 * yielded (symlinks, told to `onSymlink`, folders, devices and FIFOs are not files here). A hard link yields
 * its target's bytes when the target was among the last 64 MiB of files read.
 */
import { latin1 } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import { DEFAULT_MAX_ENTRY_BYTE_LENGTH, decodeEntryName, symlinkPath, type ArchiveEntry, type ArchiveReadOptions } from './archive-entry.js'
import { ByteStreamReader } from './byte-stream.js'
import { normalizeEntryPath } from './releases.js'
import { checkMaxTextByteLength, checkTextByteLength } from './text-limit.js'

const BLOCK_BYTE_LENGTH = 512
const HARD_LINK_WINDOW_BYTE_LENGTH = 64 * 1024 * 1024
/** Headers that describe the entry after them (pax `x`, GNU long names `L` and `K`) or the archive (pax `g`). */
const EXTENDED_TYPES: ReadonlySet<string> = new Set(['x', 'g', 'L', 'K'])
/** Type flags that name no regular file: hard link (handled apart), symlink, devices, folder, FIFO, GNU dumpdir, volume label. */
const SKIPPED_TYPES = new Set(['2', '3', '4', '5', '6', 'D', 'V'])

/** What extended headers said about the entry that follows them. */
interface PendingNames {
  readonly longName?: string | undefined
  readonly longLinkName?: string | undefined
  readonly paxPath?: string | undefined
  readonly paxLinkPath?: string | undefined
  readonly paxSize?: number | undefined
}

/** One archive being read, and what its entries need. */
interface TarArchive {
  readonly reader: ByteStreamReader
  readonly where: string
  readonly options: ArchiveReadOptions
  readonly maxEntryByteLength: number
  readonly hardLinkTargets: RecentFiles
}

/**
 * Yields the regular files of a tar archive (not compressed), in archive order.
 *
 * @throws VstoreError `VSTORE_IMPORT`, where = `<where>@<offset>` (a header's byte offset) for a bad header
 *   checksum or field, a truncated archive (in a header or an entry's data, or no end-of-archive block), a
 *   bad pax record; where = `<where>:<path>` for an entry path that is absolute, escapes the root (`..`) or
 *   is not UTF-8, or a hard link to a file not held. `VSTORE_UNSUPPORTED` for sparse and multi-volume
 *   entries and unknown entry types; `VSTORE_LIMIT` (where = `<where>:<path>`) for an entry over
 *   `maxTextByteLength` or `maxEntryByteLength`, before its data is read.
 * @throws VstoreError `VSTORE_USAGE` for a `maxTextByteLength` that is not a whole number ≥ 0.
 */
export async function* readTarEntries(
  input: Uint8Array | AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
  options: ArchiveReadOptions = {},
): AsyncGenerator<ArchiveEntry> {
  checkMaxTextByteLength(options.maxTextByteLength)
  const reader = new ByteStreamReader(input instanceof Uint8Array ? [input] : input)
  const archive: TarArchive = {
    reader,
    where: options.where ?? 'archive',
    options,
    maxEntryByteLength: options.maxEntryByteLength ?? DEFAULT_MAX_ENTRY_BYTE_LENGTH,
    hardLinkTargets: new RecentFiles(HARD_LINK_WINDOW_BYTE_LENGTH),
  }
  let pending: PendingNames = {}
  let ended = false
  try {
    for (;;) {
      const at = `${archive.where}@${reader.offset}`
      const header = await readHeader(reader, at)
      if (header === undefined) {
        if (Object.values(pending).some(value => value !== undefined)) throw new VstoreError('VSTORE_IMPORT', 'a long-name or pax header is followed by no entry', at)
        ended = true
        break
      }
      const type = String.fromCharCode(header[156] ?? 0)
      const headerSize = readNumber(header.subarray(124, 136), 'size', at)
      if (EXTENDED_TYPES.has(type)) {
        pending = await readExtendedHeader(reader, type, headerSize, at, pending)
        continue
      }
      // pax `size` overrides the header's for the entry it describes, not for extended headers themselves.
      const entry = await readEntry(archive, header, type, pending.paxSize ?? headerSize, pending, at)
      pending = {}
      if (entry !== undefined) yield entry
    }
    // Read what follows the end blocks, so a decompressor behind the stream checks its own trailer.
    await reader.drain()
  } finally {
    if (!ended) await reader.close()
  }
}

/** The next header block, checked; undefined for an end-of-archive block. */
async function readHeader(reader: ByteStreamReader, at: string): Promise<Uint8Array | undefined> {
  const header = await reader.read(BLOCK_BYTE_LENGTH)
  if (header.length === 0) throw new VstoreError('VSTORE_IMPORT', 'the archive ends without an end-of-archive block (truncated?)', at)
  if (header.length < BLOCK_BYTE_LENGTH) throw new VstoreError('VSTORE_IMPORT', `the archive ends inside a header (${header.length} of 512 bytes)`, at)
  if (header.every(byte => byte === 0)) return undefined
  checkHeaderChecksum(header, at)
  return header
}

function paddedByteLengthOf(byteLength: number): number {
  return Math.ceil(byteLength / BLOCK_BYTE_LENGTH) * BLOCK_BYTE_LENGTH
}

/** Reads a pax or GNU long-name header's data: what it says about the next entry, added to `pending`. */
async function readExtendedHeader(reader: ByteStreamReader, type: string, dataByteLength: number, at: string, pending: PendingNames): Promise<PendingNames> {
  if (dataByteLength > 1024 * 1024) throw new VstoreError('VSTORE_IMPORT', `extended header of ${dataByteLength} bytes`, at)
  const data = await readData(reader, dataByteLength, paddedByteLengthOf(dataByteLength), at)
  if (type === 'L' || type === 'K') {
    const name = decodeEntryName(data.subarray(0, nulIndex(data)), at)
    return type === 'L' ? { ...pending, longName: name } : { ...pending, longLinkName: name }
  }
  if (type !== 'x') return pending // 'g' (global pax settings) says nothing this reader needs
  const records = parsePaxRecords(data, at)
  const sizeText = records.get('size')
  if (sizeText !== undefined && !/^\d{1,15}$/.test(sizeText)) throw new VstoreError('VSTORE_IMPORT', `pax size ${JSON.stringify(sizeText)}`, at)
  if ([...records.keys()].some(key => key.startsWith('GNU.sparse.'))) {
    throw new VstoreError('VSTORE_UNSUPPORTED', 'sparse tar entries are not supported', at)
  }
  return {
    ...pending,
    paxPath: records.get('path') ?? pending.paxPath,
    paxLinkPath: records.get('linkpath') ?? pending.paxLinkPath,
    paxSize: sizeText === undefined ? pending.paxSize : Number(sizeText),
  }
}

/** Reads (or skips) one entry's data: the file it is, or undefined for an entry that is no regular file. */
async function readEntry(archive: TarArchive, header: Uint8Array, type: string, dataByteLength: number, pending: PendingNames, at: string): Promise<ArchiveEntry | undefined> {
  const { reader, where, options } = archive
  const paddedByteLength = paddedByteLengthOf(dataByteLength)
  const rawName = pending.paxPath ?? pending.longName ?? ustarName(header, at)
  const isRegular = type === '0' || type === '\0' || type === '7'
  if (isRegular && rawName.endsWith('/')) {
    await skipData(reader, paddedByteLength, at) // an old-style folder entry
    return undefined
  }
  if (isRegular || type === '1') {
    const path = normalizeEntryPath(rawName, where)
    if (type === '1') {
      await skipData(reader, paddedByteLength, at)
      return { path, text: hardLinkTarget(archive, header, pending.paxLinkPath ?? pending.longLinkName, path, at) }
    }
    checkTextByteLength(dataByteLength, options.maxTextByteLength, `${where}:${path}`)
    if (dataByteLength > archive.maxEntryByteLength) {
      throw new VstoreError('VSTORE_LIMIT', `entry of ${dataByteLength} bytes, limit ${archive.maxEntryByteLength}`, `${where}:${path}`)
    }
    const text = await readData(reader, dataByteLength, paddedByteLength, `${where}:${path}`)
    archive.hardLinkTargets.add(path, text)
    return { path, text }
  }
  if (SKIPPED_TYPES.has(type)) {
    if (type === '2') options.onSymlink?.(symlinkPath(rawName, where))
    await skipData(reader, paddedByteLength, at)
    return undefined
  }
  const what = type === 'S' ? 'sparse entries' : type === 'M' ? 'multi-volume entries' : `entry type ${JSON.stringify(type)}`
  throw new VstoreError('VSTORE_UNSUPPORTED', `tar ${what} are not supported`, at)
}

/** The bytes of the file a hard link (at `path`) names, which must be among the files read last. */
function hardLinkTarget(archive: TarArchive, header: Uint8Array, linkNameOverride: string | undefined, path: string, at: string): Uint8Array {
  const linkField = header.subarray(157, 257)
  const target = normalizeEntryPath(linkNameOverride ?? decodeEntryName(linkField.subarray(0, nulIndex(linkField)), at), archive.where)
  const text = archive.hardLinkTargets.get(target)
  if (text === undefined) {
    throw new VstoreError('VSTORE_UNSUPPORTED', `hard link to ${JSON.stringify(target)}, a file not among the last ${HARD_LINK_WINDOW_BYTE_LENGTH} bytes of files read`, `${archive.where}:${path}`)
  }
  return text
}

/** The header checksum: the sum of its bytes with the checksum field read as spaces (unsigned, or signed by old tars). */
function checkHeaderChecksum(header: Uint8Array, at: string): void {
  const storedSum = readNumber(header.subarray(148, 156), 'checksum', at)
  let unsignedSum = 0
  let signedSum = 0
  header.forEach((byte, index) => {
    const value = index >= 148 && index < 156 ? 0x20 : byte
    unsignedSum += value
    signedSum += value > 127 ? value - 256 : value
  })
  if (storedSum !== unsignedSum && storedSum !== signedSum) {
    throw new VstoreError('VSTORE_IMPORT', `bad header checksum: header says ${storedSum}, bytes sum to ${unsignedSum}`, at)
  }
}

/** An octal field (NUL- or space-terminated), or GNU base-256 when the first byte's top bit is set. */
function readNumber(field: Uint8Array, name: string, at: string): number {
  const first = field[0] ?? 0
  if ((first & 0x80) !== 0) {
    if ((first & 0x40) !== 0) throw new VstoreError('VSTORE_IMPORT', `negative ${name}`, at)
    let value = first & 0x3f
    for (const byte of field.subarray(1)) value = value * 256 + byte
    if (!Number.isSafeInteger(value)) throw new VstoreError('VSTORE_IMPORT', `${name} is too large`, at)
    return value
  }
  const text = latin1(field).replace(/[\0 ]+$/, '').replace(/^ +/, '')
  if (!/^[0-7]{1,17}$/.test(text)) throw new VstoreError('VSTORE_IMPORT', `${name} is not an octal number: ${JSON.stringify(text)}`, at)
  return Number.parseInt(text, 8)
}

function nulIndex(bytes: Uint8Array): number {
  const index = bytes.indexOf(0)
  return index === -1 ? bytes.length : index
}

/** `prefix/name` for POSIX ustar (magic `ustar\0`), `name` alone for GNU and v7 headers. */
function ustarName(header: Uint8Array, at: string): string {
  const name = header.subarray(0, 100)
  const magic = latin1(header.subarray(257, 263))
  const prefix = magic === 'ustar\0' ? header.subarray(345, 500) : new Uint8Array(0)
  const nameText = decodeEntryName(name.subarray(0, nulIndex(name)), at)
  const prefixText = decodeEntryName(prefix.subarray(0, nulIndex(prefix)), at)
  return prefixText === '' ? nameText : `${prefixText}/${nameText}`
}

/** pax records: `<decimal length> <key>=<value>\n`, the length counting the whole record. */
function parsePaxRecords(data: Uint8Array, at: string): Map<string, string> {
  const records = new Map<string, string>()
  let offset = 0
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset)
    const lengthText = space === -1 ? '' : latin1(data.subarray(offset, space))
    const recordByteLength = Number(lengthText)
    if (!/^[1-9]\d{0,8}$/.test(lengthText) || offset + recordByteLength > data.length || data[offset + recordByteLength - 1] !== 0x0a) {
      throw new VstoreError('VSTORE_IMPORT', `bad pax record at byte ${offset} of the extended header`, at)
    }
    const record = decodeEntryName(data.subarray(space + 1, offset + recordByteLength - 1), at)
    const equals = record.indexOf('=')
    if (equals <= 0) throw new VstoreError('VSTORE_IMPORT', `pax record without a key: ${JSON.stringify(record.slice(0, 80))}`, at)
    records.set(record.slice(0, equals), record.slice(equals + 1))
    offset += recordByteLength
  }
  return records
}

async function readData(reader: ByteStreamReader, byteLength: number, paddedByteLength: number, where: string): Promise<Uint8Array> {
  const data = await reader.read(byteLength)
  const padding = await reader.skip(paddedByteLength - byteLength)
  if (data.length < byteLength || padding < paddedByteLength - byteLength) {
    throw new VstoreError('VSTORE_IMPORT', `the archive ends inside an entry's data (${data.length} of ${byteLength} bytes)`, where)
  }
  return data
}

async function skipData(reader: ByteStreamReader, paddedByteLength: number, where: string): Promise<void> {
  const skipped = await reader.skip(paddedByteLength)
  if (skipped < paddedByteLength) throw new VstoreError('VSTORE_IMPORT', `the archive ends inside an entry's data (${skipped} of ${paddedByteLength} bytes)`, where)
}

/** The most recent files by path, up to a byte budget: the targets a hard link may name. */
class RecentFiles {
  readonly #texts = new Map<string, Uint8Array>()
  #byteLength = 0

  constructor(readonly maxByteLength: number) {}

  add(path: string, text: Uint8Array): void {
    this.#forget(path)
    this.#texts.set(path, text)
    this.#byteLength += text.length
    for (const [oldPath] of this.#texts) {
      if (this.#byteLength <= this.maxByteLength) break
      this.#forget(oldPath)
    }
  }

  get(path: string): Uint8Array | undefined {
    return this.#texts.get(path)
  }

  #forget(path: string): void {
    const text = this.#texts.get(path)
    if (text === undefined) return
    this.#texts.delete(path)
    this.#byteLength -= text.length
  }
}
