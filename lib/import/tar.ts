/**
 * Release archives as streams of regular files: tar (plain, gzip, xz, bzip2, zstd), zip, or a plain folder.
 *
 * The tar reader is strict: every header's checksum is checked, sizes must be octal (or GNU base-256), an
 * archive must end with an end-of-archive block, and an entry cut short is an error. It knows ustar names
 * (`prefix/name`), GNU long names (`././@LongLink`, type `L`) and pax headers (type `x`, `path=` and
 * `size=`); only regular files are yielded (symlinks, told to `onSymlink`, folders, devices and FIFOs are not
 * files here). A hard link yields its target's bytes when the target was among the last 64 MiB of files read.
 *
 * Decompression streams: gzip through node:zlib; xz, bzip2 and zstd through the system commands (`xz -dc`
 * …), which are spawned, read and waited for. Memory: one entry's bytes (plus the hard-link window); a zip
 * also holds its central directory.
 */
import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { open, readdir, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { Readable, pipeline } from 'node:stream'
import { createGunzip, createInflateRaw } from 'node:zlib'
import { crc32, decodeUtf8Strictly, latin1 } from '../bytes/index.js'
import { VstoreError, messageOf } from '../errors.js'
import type { TextRecord } from '../store/types.js'
import { ByteStreamReader } from './byte-stream.js'
import { exitOf, firstStderrLine, keepStderr, type ChildExit } from './child-process.js'
import { findReleaseOutOfOrder } from './release-order.js'
import { importReleases, normalizeEntryPath, releaseOrderError, type Release, type ReleaseImportOptions } from './releases.js'
import { checkMaxTextByteLength, checkTextByteLength, type TextLimitOptions } from './text-limit.js'

/** One regular file of an archive: its canonical path (`a/b`, no `.` or empty segments) and its bytes. */
export interface ArchiveEntry {
  readonly path: string
  readonly text: Uint8Array
}

/**
 * `maxTextByteLength` is checked against each file's size before its bytes are read: a tar header's (or pax
 * `size`), a zip directory's uncompressed size (and the inflater stops once it passes the limit, since a zip
 * may lie), a folder's file size from `stat`. Its error names `<where>:<path>`, the file's path in the archive.
 */
export interface ArchiveReadOptions extends TextLimitOptions {
  /** Names the archive in errors; default `archive` (`openArchive`: the archive's path). */
  readonly where?: string
  /** A larger entry is `VSTORE_LIMIT`, whatever `maxTextByteLength`: the reader's own bound; default 1 GiB. */
  readonly maxEntryByteLength?: number
  /** The commands that decompress `.tar.xz`, `.tar.bz2`, `.tar.zst`; default `xz`, `bzip2`, `zstd`. */
  readonly commands?: { readonly xz?: string; readonly bzip2?: string; readonly zstd?: string }
  /** Told the path of each symlink, which is skipped: canonical as a file's, or as the archive gives it. */
  readonly onSymlink?: (path: string) => void
}

const DEFAULT_MAX_ENTRY_BYTE_LENGTH = 2 ** 30
const HARD_LINK_WINDOW_BYTE_LENGTH = 64 * 1024 * 1024


// ---------------------------------------------------------------------------------------------------------
// tar

const BLOCK_BYTE_LENGTH = 512

/** Type flags that name no regular file: hard link (handled apart), symlink, devices, folder, FIFO, GNU dumpdir, volume label. */
const SKIPPED_TYPES = new Set(['2', '3', '4', '5', '6', 'D', 'V'])

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
  const where = options.where ?? 'archive'
  const maxEntryByteLength = options.maxEntryByteLength ?? DEFAULT_MAX_ENTRY_BYTE_LENGTH
  const reader = new ByteStreamReader(input instanceof Uint8Array ? [input] : input)
  const hardLinkTargets = new RecentFiles(HARD_LINK_WINDOW_BYTE_LENGTH)
  let longName: string | undefined
  let longLinkName: string | undefined
  let paxPath: string | undefined
  let paxLinkPath: string | undefined
  let paxSize: number | undefined
  let ended = false
  try {
    for (;;) {
      const headerOffset = reader.offset
      const at = `${where}@${headerOffset}`
      const header = await reader.read(BLOCK_BYTE_LENGTH)
      if (header.length === 0) {
        throw new VstoreError('VSTORE_IMPORT', 'the archive ends without an end-of-archive block (truncated?)', at)
      }
      if (header.length < BLOCK_BYTE_LENGTH) {
        throw new VstoreError('VSTORE_IMPORT', `the archive ends inside a header (${header.length} of 512 bytes)`, at)
      }
      if (header.every(byte => byte === 0)) {
        if (longName !== undefined || longLinkName !== undefined || paxPath !== undefined || paxLinkPath !== undefined || paxSize !== undefined) {
          throw new VstoreError('VSTORE_IMPORT', 'a long-name or pax header is followed by no entry', at)
        }
        ended = true
        break
      }
      checkHeaderChecksum(header, at)
      const type = String.fromCharCode(header[156] ?? 0)
      const headerSize = readNumber(header.subarray(124, 136), 'size', at)
      // pax `size` overrides the header's for the entry it describes, not for extended headers themselves.
      const dataByteLength = type === 'x' || type === 'g' || type === 'L' || type === 'K' ? headerSize : paxSize ?? headerSize
      const paddedByteLength = Math.ceil(dataByteLength / BLOCK_BYTE_LENGTH) * BLOCK_BYTE_LENGTH

      if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
        if (dataByteLength > 1024 * 1024) throw new VstoreError('VSTORE_IMPORT', `extended header of ${dataByteLength} bytes`, at)
        const data = await readData(reader, dataByteLength, paddedByteLength, at)
        if (type === 'x') {
          const records = parsePaxRecords(data, at)
          paxPath = records.get('path') ?? paxPath
          paxLinkPath = records.get('linkpath') ?? paxLinkPath
          const sizeText = records.get('size')
          if (sizeText !== undefined) {
            if (!/^\d{1,15}$/.test(sizeText)) throw new VstoreError('VSTORE_IMPORT', `pax size ${JSON.stringify(sizeText)}`, at)
            paxSize = Number(sizeText)
          }
          if ([...records.keys()].some(key => key.startsWith('GNU.sparse.'))) {
            throw new VstoreError('VSTORE_UNSUPPORTED', 'sparse tar entries are not supported', at)
          }
        } else if (type === 'L' || type === 'K') {
          const name = decodeName(data.subarray(0, nulIndex(data)), at)
          if (type === 'L') longName = name
          else longLinkName = name
        }
        continue // 'g' (global pax settings) says nothing this reader needs
      }

      const rawName = paxPath ?? longName ?? ustarName(header, at)
      const linkNameOverride = paxLinkPath ?? longLinkName
      longName = undefined
      longLinkName = undefined
      paxPath = undefined
      paxLinkPath = undefined
      paxSize = undefined
      const isRegular = type === '0' || type === '\0' || type === '7'
      if (isRegular && rawName.endsWith('/')) {
        await skipData(reader, paddedByteLength, at) // an old-style folder entry
        continue
      }
      if (isRegular || type === '1') {
        const path = normalizeEntryPath(rawName, where)
        if (type === '1') {
          await skipData(reader, paddedByteLength, at)
          const linkField = header.subarray(157, 257)
          const target = normalizeEntryPath(linkNameOverride ?? decodeName(linkField.subarray(0, nulIndex(linkField)), at), where)
          const text = hardLinkTargets.get(target)
          if (text === undefined) {
            throw new VstoreError('VSTORE_UNSUPPORTED', `hard link to ${JSON.stringify(target)}, a file not among the last ${HARD_LINK_WINDOW_BYTE_LENGTH} bytes of files read`, `${where}:${path}`)
          }
          yield { path, text }
          continue
        }
        checkTextByteLength(dataByteLength, options.maxTextByteLength, `${where}:${path}`)
        if (dataByteLength > maxEntryByteLength) {
          throw new VstoreError('VSTORE_LIMIT', `entry of ${dataByteLength} bytes, limit ${maxEntryByteLength}`, `${where}:${path}`)
        }
        const text = await readData(reader, dataByteLength, paddedByteLength, `${where}:${path}`)
        hardLinkTargets.add(path, text)
        yield { path, text }
        continue
      }
      if (SKIPPED_TYPES.has(type)) {
        if (type === '2') options.onSymlink?.(symlinkPath(rawName, where))
        await skipData(reader, paddedByteLength, at)
        continue
      }
      const what = type === 'S' ? 'sparse entries' : type === 'M' ? 'multi-volume entries' : `entry type ${JSON.stringify(type)}`
      throw new VstoreError('VSTORE_UNSUPPORTED', `tar ${what} are not supported`, at)
    }
    // Read what follows the end blocks, so a decompressor behind the stream checks its own trailer.
    await reader.drain()
  } finally {
    if (!ended) await reader.close()
  }
}

/**
 * A symlink's path as a file's would be, or as the archive gives it when that is no release path: a symlink
 * is only counted, never stored, so its name is no reason to fail the import.
 */
function symlinkPath(rawName: string, where: string): string {
  try {
    return normalizeEntryPath(rawName, where)
  } catch (error) {
    if (error instanceof VstoreError) return rawName
    throw error
  }
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

/** An entry name as UTF-8 (a leading U+FEFF kept: `\uFEFFREADME` is not `README`). */
function decodeName(bytes: Uint8Array, where: string): string {
  const name = decodeUtf8Strictly(bytes)
  if (name === undefined) throw new VstoreError('VSTORE_IMPORT', `entry name is not UTF-8: ${latin1(bytes)}`, where)
  return name
}

/** `prefix/name` for POSIX ustar (magic `ustar\0`), `name` alone for GNU and v7 headers. */
function ustarName(header: Uint8Array, at: string): string {
  const name = header.subarray(0, 100)
  const magic = latin1(header.subarray(257, 263))
  const prefix = magic === 'ustar\0' ? header.subarray(345, 500) : new Uint8Array(0)
  const nameText = decodeName(name.subarray(0, nulIndex(name)), at)
  const prefixText = decodeName(prefix.subarray(0, nulIndex(prefix)), at)
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
    const record = decodeName(data.subarray(space + 1, offset + recordByteLength - 1), at)
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

// ---------------------------------------------------------------------------------------------------------
// Opening archives by name

type ArchiveKind = 'tar' | 'gzip' | 'xz' | 'bzip2' | 'zstd' | 'zip'

const SUFFIXES: ReadonlyArray<readonly [suffix: string, kind: ArchiveKind]> = [
  ['.tar.gz', 'gzip'], ['.tgz', 'gzip'],
  ['.tar.xz', 'xz'], ['.txz', 'xz'],
  ['.tar.bz2', 'bzip2'], ['.tbz2', 'bzip2'], ['.tbz', 'bzip2'],
  ['.tar.zst', 'zstd'], ['.tzst', 'zstd'],
  ['.tar', 'tar'],
  ['.zip', 'zip'],
]

/**
 * The release name an archive's file name gives: the name without its archive suffix (`.tar.gz`, `.tgz`,
 * `.tar.xz`, `.txz`, `.tar.bz2`, `.tbz2`, `.tar.zst`, `.tar`, `.zip`, any case); a folder's own name. So
 * `zstd-1.5.6.tar.gz` is `zstd-1.5.6` and npm's `express-4.18.2.tgz` is `express-4.18.2`.
 */
export function releaseNameOf(archivePath: string): string {
  const name = basename(archivePath.replace(/[/\\]+$/, ''))
  const lower = name.toLowerCase()
  const suffix = SUFFIXES.find(([candidate]) => lower.endsWith(candidate) && lower.length > candidate.length)
  return suffix === undefined ? name : name.slice(0, name.length - suffix[0].length)
}

/**
 * Yields the regular files of the archive or folder at `path`; each call opens it afresh. The kind comes from
 * the name: `.tar`; `.tar.gz`/`.tgz` (node:zlib, streamed); `.tar.xz`/`.txz`, `.tar.bz2`/`.tbz2`,
 * `.tar.zst`/`.tzst` (through `xz -dc`, `bzip2 -dc`, `zstd -dc`); `.zip` (stored and deflated entries); or a
 * folder, walked for regular files (symlinks are not followed), sorted by path. Paths are canonical (see
 * `normalizeEntryPath`) and keep any top folder.
 *
 * Stopping early (`break`) closes the file and ends any decompressor process.
 *
 * @throws VstoreError `VSTORE_IMPORT` for a path that cannot be read, a corrupt archive or compression, a
 *   decompressor that fails, and the errors of `readTarEntries` (where = `<path>@<offset>` or
 *   `<path>:<entry>`); `VSTORE_UNSUPPORTED` for an unknown suffix, an encrypted or Zip64 zip, or an entry
 *   compression other than stored or deflate; `VSTORE_LIMIT` (where = `<path>:<entry>`) for a file over
 *   `maxTextByteLength` (see `ArchiveReadOptions`) or `maxEntryByteLength`.
 * @throws VstoreError `VSTORE_USAGE` for a `maxTextByteLength` that is not a whole number ≥ 0.
 */
export async function* openArchive(path: string, options: Omit<ArchiveReadOptions, 'where'> = {}): AsyncGenerator<ArchiveEntry> {
  checkMaxTextByteLength(options.maxTextByteLength)
  const readOptions: ArchiveReadOptions = { ...options, where: path }
  let isFolder: boolean
  try {
    isFolder = (await stat(path)).isDirectory()
  } catch (cause) {
    throw new VstoreError('VSTORE_IMPORT', `cannot read: ${messageOf(cause)}`, path, { cause })
  }
  if (isFolder) {
    yield* walkFolder(path, readOptions)
    return
  }
  const lower = basename(path).toLowerCase()
  const kind = SUFFIXES.find(([suffix]) => lower.endsWith(suffix))?.[1]
  switch (kind) {
    case 'tar':
      yield* readTarEntries(createReadStream(path), readOptions)
      return
    case 'gzip':
      yield* readGzippedTar(path, readOptions)
      return
    case 'xz':
    case 'bzip2':
    case 'zstd':
      yield* readTarThroughCommand(options.commands?.[kind] ?? kind, path, readOptions)
      return
    case 'zip':
      yield* readZipEntries(path, readOptions)
      return
    case undefined:
      throw new VstoreError('VSTORE_UNSUPPORTED', `not a known archive type (${SUFFIXES.map(([suffix]) => suffix).join(', ')} or a folder)`, path)
  }
}

async function* readGzippedTar(path: string, options: ArchiveReadOptions): AsyncGenerator<ArchiveEntry> {
  const gunzip = createGunzip()
  // pipeline: a read error destroys gunzip with it, so the loop below sees it.
  const stream = pipeline(createReadStream(path), gunzip, () => {})
  try {
    yield* readTarEntries(stream, options)
  } catch (error) {
    if (error instanceof VstoreError) throw error
    throw new VstoreError('VSTORE_IMPORT', `gzip: ${messageOf(error)}`, path, { cause: error })
  } finally {
    stream.destroy()
  }
}

/** A tar decompressed by a system command writing to stdout; its exit status is checked. */
async function* readTarThroughCommand(command: string, path: string, options: ArchiveReadOptions): AsyncGenerator<ArchiveEntry> {
  const child = spawn(command, ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
  const stderr = keepStderr(child.stderr)
  const exit = exitOf(child)
  const commandError = (status: ChildExit, cause?: unknown): VstoreError => {
    const firstLine = firstStderrLine(stderr())
    const detail = status.error !== undefined ? `cannot run ${command}: ${status.error.message}` : `${command} -dc exited with ${status.code ?? status.signal ?? '?'}`
    return new VstoreError('VSTORE_IMPORT', firstLine === undefined ? detail : `${firstLine} (${detail})`, path, { cause: status.error ?? cause })
  }
  let finished = false
  try {
    try {
      yield* readTarEntries(child.stdout, options)
    } catch (error) {
      // A truncated or corrupt stream ends the tar early: the command's own complaint says more.
      child.kill('SIGTERM')
      const status = await exit
      if (status.error !== undefined || (status.code !== null && status.code !== 0)) throw commandError(status, error)
      throw error
    }
    const status = await exit
    finished = true
    if (status.error !== undefined || status.code !== 0) throw commandError(status)
  } finally {
    if (!finished) {
      child.kill('SIGTERM')
      child.stdout.destroy()
      await exit
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// zip

const ZIP_END_SIGNATURE = 0x06054b50
const ZIP_CENTRAL_SIGNATURE = 0x02014b50
const ZIP_LOCAL_SIGNATURE = 0x04034b50
const ZIP_END_BYTE_LENGTH = 22
const ZIP_CENTRAL_BYTE_LENGTH = 46
const ZIP_LOCAL_BYTE_LENGTH = 30
/** Deflated bytes are read this many at a time, so an entry's compressed bytes are never held whole either. */
const ZIP_READ_CHUNK_BYTE_LENGTH = 64 * 1024

interface ZipEntry {
  readonly name: string
  readonly flags: number
  readonly method: number
  readonly crc: number
  readonly compressedByteLength: number
  readonly byteLength: number
  readonly localHeaderOffset: number
  readonly kind: 'file' | 'symlink' | 'other'
}

/**
 * Yields the regular files of a zip archive in central-directory order. Stored and deflated entries only;
 * every entry's CRC-32 and length are checked. An entry is a file unless its name ends with `/` or a Unix
 * mode gives it another type (an entry without type bits is a file, as `unzip` reads it). Memory: the
 * central directory plus one entry, whose declared length is checked before it is read, and which is never
 * inflated past that length (or past `maxTextByteLength`, to tell a text over the limit from a zip that lies).
 */
async function* readZipEntries(path: string, options: ArchiveReadOptions): AsyncGenerator<ArchiveEntry> {
  const maxEntryByteLength = options.maxEntryByteLength ?? DEFAULT_MAX_ENTRY_BYTE_LENGTH
  const file = await open(path, 'r')
  try {
    const fileByteLength = (await file.stat()).size
    const checkInFile = (position: number, byteLength: number, what: string): void => {
      if (position < 0 || position + byteLength > fileByteLength) {
        throw new VstoreError('VSTORE_IMPORT', `zip: ${what} runs past the end of the file`, `${path}@${position}`)
      }
    }
    const readAt = async (position: number, byteLength: number, what: string): Promise<Uint8Array> => {
      checkInFile(position, byteLength, what)
      const bytes = new Uint8Array(byteLength)
      let filled = 0
      while (filled < byteLength) {
        const { bytesRead } = await file.read(bytes, filled, byteLength - filled, position + filled)
        if (bytesRead === 0) throw new VstoreError('VSTORE_IMPORT', `zip: ${what} runs past the end of the file`, `${path}@${position}`)
        filled += bytesRead
      }
      return bytes
    }

    const tailByteLength = Math.min(fileByteLength, ZIP_END_BYTE_LENGTH + 0xffff)
    const tail = await readAt(fileByteLength - tailByteLength, tailByteLength, 'end record')
    const tailView = new DataView(tail.buffer, tail.byteOffset, tail.byteLength)
    let endOffset = -1
    for (let offset = tail.length - ZIP_END_BYTE_LENGTH; offset >= 0; offset--) {
      if (tailView.getUint32(offset, true) === ZIP_END_SIGNATURE && offset + ZIP_END_BYTE_LENGTH + tailView.getUint16(offset + 20, true) === tail.length) {
        endOffset = offset
        break
      }
    }
    if (endOffset === -1) throw new VstoreError('VSTORE_IMPORT', 'zip: no end of central directory record (not a zip, or truncated)', path)
    const diskNumber = tailView.getUint16(endOffset + 4, true)
    const directoryDisk = tailView.getUint16(endOffset + 6, true)
    const entryCount = tailView.getUint16(endOffset + 10, true)
    const directoryByteLength = tailView.getUint32(endOffset + 12, true)
    const directoryOffset = tailView.getUint32(endOffset + 16, true)
    if (entryCount === 0xffff || directoryByteLength === 0xffffffff || directoryOffset === 0xffffffff) {
      throw new VstoreError('VSTORE_UNSUPPORTED', 'Zip64 archives are not supported', path)
    }
    if (diskNumber !== 0 || directoryDisk !== 0) throw new VstoreError('VSTORE_UNSUPPORTED', 'multi-disk zip archives are not supported', path)
    const endPosition = fileByteLength - tailByteLength + endOffset
    if (directoryOffset + directoryByteLength > endPosition) {
      throw new VstoreError('VSTORE_IMPORT', 'zip: the central directory overlaps its end record', path)
    }
    const directory = await readAt(directoryOffset, directoryByteLength, 'central directory')
    const entries = parseZipDirectory(directory, entryCount, path, directoryOffset)

    for (const entry of entries) {
      if (entry.kind === 'symlink') options.onSymlink?.(symlinkPath(entry.name, path))
      if (entry.kind !== 'file') continue
      const entryPath = normalizeEntryPath(entry.name, path)
      const where = `${path}:${entryPath}`
      if ((entry.flags & 0x1) !== 0) throw new VstoreError('VSTORE_UNSUPPORTED', 'encrypted zip entries are not supported', where)
      if (entry.method !== 0 && entry.method !== 8) throw new VstoreError('VSTORE_UNSUPPORTED', `zip compression method ${entry.method} is not supported (only stored and deflate)`, where)
      checkTextByteLength(entry.byteLength, options.maxTextByteLength, where)
      if (entry.byteLength > maxEntryByteLength) throw new VstoreError('VSTORE_LIMIT', `entry of ${entry.byteLength} bytes, limit ${maxEntryByteLength}`, where)
      // A stored entry's bytes are its text: a compressed length other than the text's is found before reading.
      if (entry.method === 0 && entry.compressedByteLength !== entry.byteLength) {
        throw new VstoreError('VSTORE_IMPORT', `zip: stored entry of ${entry.compressedByteLength} bytes, directory says ${entry.byteLength}`, where)
      }
      const local = await readAt(entry.localHeaderOffset, ZIP_LOCAL_BYTE_LENGTH, 'local header')
      const localView = new DataView(local.buffer, local.byteOffset, local.byteLength)
      if (localView.getUint32(0, true) !== ZIP_LOCAL_SIGNATURE) throw new VstoreError('VSTORE_IMPORT', 'zip: bad local header signature', where)
      const dataOffset = entry.localHeaderOffset + ZIP_LOCAL_BYTE_LENGTH + localView.getUint16(26, true) + localView.getUint16(28, true)
      let text: Uint8Array
      if (entry.method === 0) {
        text = await readAt(dataOffset, entry.compressedByteLength, 'entry data')
      } else {
        checkInFile(dataOffset, entry.compressedByteLength, 'entry data')
        const readChunks = async function* (): AsyncGenerator<Uint8Array> {
          for (let offset = 0; offset < entry.compressedByteLength; offset += ZIP_READ_CHUNK_BYTE_LENGTH) {
            yield await readAt(dataOffset + offset, Math.min(ZIP_READ_CHUNK_BYTE_LENGTH, entry.compressedByteLength - offset), 'entry data')
          }
        }
        text = await inflateEntry(readChunks(), entry.byteLength, options.maxTextByteLength, where)
      }
      if (crc32(text) !== entry.crc) throw new VstoreError('VSTORE_IMPORT', 'zip: CRC-32 mismatch', where)
      yield { path: entryPath, text }
    }
  } finally {
    await file.close()
  }
}

/**
 * Inflates a deflated entry into the `byteLength` bytes its directory declares. A zip may lie about that
 * length, so the inflater stops as soon as its output passes it, or passes `maxTextByteLength` when that is
 * larger: then the entry is over the limit (the same error as a declared length over it), else it is not the
 * length declared. So a lying zip (a zip bomb) costs no more memory than its declared length, and no more
 * inflating than the limit.
 * @throws VstoreError `VSTORE_LIMIT` past `maxTextByteLength`; `VSTORE_IMPORT` for bad deflate data or a
 *   length other than `byteLength`, and the errors of `compressed`.
 */
async function inflateEntry(compressed: AsyncIterable<Uint8Array>, byteLength: number, maxTextByteLength: number | undefined, where: string): Promise<Uint8Array> {
  const text = new Uint8Array(byteLength)
  const stopByteLength = Math.max(byteLength, maxTextByteLength ?? byteLength)
  let inflatedByteLength = 0
  const inflater = createInflateRaw()
  // pipeline: an error reading the file destroys the inflater with it, so the loop below sees it.
  pipeline(Readable.from(compressed, { objectMode: false }), inflater, () => {})
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      if (inflatedByteLength + chunk.length <= byteLength) text.set(chunk, inflatedByteLength)
      inflatedByteLength += chunk.length
      if (inflatedByteLength > stopByteLength) break
    }
  } catch (cause) {
    if (cause instanceof VstoreError) throw cause
    throw new VstoreError('VSTORE_IMPORT', `zip: cannot inflate: ${messageOf(cause)}`, where, { cause })
  } finally {
    inflater.destroy()
  }
  checkTextByteLength(inflatedByteLength, maxTextByteLength, where)
  if (inflatedByteLength > byteLength) throw new VstoreError('VSTORE_IMPORT', `zip: entry inflates to more than the ${byteLength} bytes the directory says`, where)
  if (inflatedByteLength < byteLength) throw new VstoreError('VSTORE_IMPORT', `zip: entry is ${inflatedByteLength} bytes, directory says ${byteLength}`, where)
  return text
}

function parseZipDirectory(directory: Uint8Array, entryCount: number, path: string, directoryOffset: number): ZipEntry[] {
  const view = new DataView(directory.buffer, directory.byteOffset, directory.byteLength)
  const entries: ZipEntry[] = []
  let offset = 0
  for (let index = 0; index < entryCount; index++) {
    const at = `${path}@${directoryOffset + offset}`
    if (offset + ZIP_CENTRAL_BYTE_LENGTH > directory.length || view.getUint32(offset, true) !== ZIP_CENTRAL_SIGNATURE) {
      throw new VstoreError('VSTORE_IMPORT', `zip: bad central directory entry ${index}`, at)
    }
    const madeBy = view.getUint16(offset + 4, true)
    const flags = view.getUint16(offset + 8, true)
    const method = view.getUint16(offset + 10, true)
    const crc = view.getUint32(offset + 16, true)
    const compressedByteLength = view.getUint32(offset + 20, true)
    const byteLength = view.getUint32(offset + 24, true)
    const nameByteLength = view.getUint16(offset + 28, true)
    const extraByteLength = view.getUint16(offset + 30, true)
    const commentByteLength = view.getUint16(offset + 32, true)
    const externalAttributes = view.getUint32(offset + 38, true)
    const localHeaderOffset = view.getUint32(offset + 42, true)
    const end = offset + ZIP_CENTRAL_BYTE_LENGTH + nameByteLength + extraByteLength + commentByteLength
    if (end > directory.length) throw new VstoreError('VSTORE_IMPORT', `zip: central directory entry ${index} runs past the directory`, at)
    if (compressedByteLength === 0xffffffff || byteLength === 0xffffffff || localHeaderOffset === 0xffffffff) {
      throw new VstoreError('VSTORE_UNSUPPORTED', 'Zip64 entries are not supported', at)
    }
    const name = decodeName(directory.subarray(offset + ZIP_CENTRAL_BYTE_LENGTH, offset + ZIP_CENTRAL_BYTE_LENGTH + nameByteLength), at)
    // Unix hosts (3) keep st_mode in the top 16 bits; other hosts mark only folders (by a trailing slash).
    // A mode without type bits names a file, as unzip reads it: Python's zipfile.writestr writes 0o600 alone.
    const unixType = madeBy >>> 8 === 3 ? (externalAttributes >>> 16) & 0o170000 : 0
    const kind = name.endsWith('/') ? 'other' : unixType === 0 || unixType === 0o100000 ? 'file' : unixType === 0o120000 ? 'symlink' : 'other'
    entries.push({ name, flags, method, crc, compressedByteLength, byteLength, localHeaderOffset, kind })
    offset = end
  }
  return entries
}

// ---------------------------------------------------------------------------------------------------------
// Folders

/** The regular files under `root` (symlinks not followed, told to `onSymlink`), sorted by their `/`-separated path. */
async function* walkFolder(root: string, options: ArchiveReadOptions): AsyncGenerator<ArchiveEntry> {
  const maxEntryByteLength = options.maxEntryByteLength ?? DEFAULT_MAX_ENTRY_BYTE_LENGTH
  const paths: string[] = []
  const visit = async (relativeFolder: string): Promise<void> => {
    const folder = relativeFolder === '' ? root : join(root, relativeFolder)
    let entries
    try {
      entries = await readdir(folder, { withFileTypes: true })
    } catch (cause) {
      throw new VstoreError('VSTORE_IMPORT', `cannot read folder: ${messageOf(cause)}`, `${root}:${relativeFolder}`, { cause })
    }
    for (const entry of entries) {
      const relativePath = relativeFolder === '' ? entry.name : `${relativeFolder}/${entry.name}`
      if (entry.isDirectory()) await visit(relativePath)
      else if (entry.isFile()) paths.push(relativePath)
      else if (entry.isSymbolicLink()) options.onSymlink?.(symlinkPath(relativePath, root))
    }
  }
  await visit('')
  paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  for (const relativePath of paths) {
    const where = `${root}:${relativePath}`
    const file = await open(join(root, relativePath), 'r').catch((cause: unknown) => {
      throw new VstoreError('VSTORE_IMPORT', `cannot read: ${messageOf(cause)}`, where, { cause })
    })
    let text: Uint8Array
    try {
      const byteLength = (await file.stat()).size
      checkTextByteLength(byteLength, options.maxTextByteLength, where)
      if (byteLength > maxEntryByteLength) throw new VstoreError('VSTORE_LIMIT', `file of ${byteLength} bytes, limit ${maxEntryByteLength}`, where)
      text = new Uint8Array(await file.readFile())
    } finally {
      await file.close()
    }
    yield { path: normalizeEntryPath(relativePath, root), text }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Tarball histories

/** `maxTextByteLength` is handed to `openArchive` for each archive: see `ArchiveReadOptions`. */
export interface TarballImportOptions extends ReleaseImportOptions, TextLimitOptions {
  /** One revision per path, in the same order, instead of each archive's release name (a `--rev` per archive). */
  readonly revs?: readonly string[]
  readonly maxEntryByteLength?: number
  readonly commands?: ArchiveReadOptions['commands']
}

/**
 * Imports a sequence of release archives (or folders) as one linear history per file: see `importReleases`.
 * Revision = `revs[i]` or `releaseNameOf(paths[i])`; file id = the path inside the archive, its single top
 * folder (`zstd-1.5.6/`) stripped. Each archive is read up to twice (once to list it, once for new texts).
 *
 * @throws VstoreError `VSTORE_USAGE` when `revs` is given with a length other than `paths`', or
 *   `maxTextByteLength` is not a whole number ≥ 0.
 * @throws VstoreError as `openArchive` and `importReleases`; `VSTORE_IMPORT` (where = the path) when two
 *   archives give the same release name; `VSTORE_USAGE` (where = the path), unless `allowOlder`, when a
 *   release's version is older than one given before it. Both before any archive is read. `VSTORE_LIMIT`
 *   (where = `<archive>:<path>`) for a file over `maxTextByteLength`, found while its release is listed, so
 *   before any text of that release.
 */
export async function* importTarballs(paths: readonly string[], options: TarballImportOptions = {}): AsyncGenerator<TextRecord> {
  const { revs } = options
  if (revs !== undefined && revs.length !== paths.length) {
    throw new VstoreError('VSTORE_USAGE', `revs has ${revs.length} names for ${paths.length} archives`, 'import options')
  }
  checkMaxTextByteLength(options.maxTextByteLength)
  const archiveOptions = {
    ...(options.maxTextByteLength === undefined ? {} : { maxTextByteLength: options.maxTextByteLength }),
    ...(options.maxEntryByteLength === undefined ? {} : { maxEntryByteLength: options.maxEntryByteLength }),
    ...(options.commands === undefined ? {} : { commands: options.commands }),
  }
  const releases: Release[] = paths.map((path, index) => ({
    rev: revs?.[index] ?? releaseNameOf(path),
    where: path,
    files: read => openArchive(path, { ...archiveOptions, onSymlink: read.onSymlink }),
  }))
  // Found before anything is read: a mistake in the arguments, not in one release.
  const seen = new Set<string>()
  for (const release of releases) {
    if (seen.has(release.rev)) throw new VstoreError('VSTORE_IMPORT', `release ${JSON.stringify(release.rev)} is given twice`, release.where as string)
    seen.add(release.rev)
  }
  const outOfOrder = options.allowOlder === true ? undefined : findReleaseOutOfOrder(releases.map(release => release.rev))
  if (outOfOrder !== undefined) {
    throw releaseOrderError(outOfOrder.older, outOfOrder.newer, releases.find(release => release.rev === outOfOrder.older)?.where ?? outOfOrder.older)
  }
  yield* importReleases(releases, releaseOptionsOf(options))
}

/** Only the options `importReleases` reads (exactOptionalPropertyTypes: no `undefined` values). */
export function releaseOptionsOf(options: ReleaseImportOptions): ReleaseImportOptions {
  return {
    ...(options.previous === undefined ? {} : { previous: options.previous }),
    ...(options.stored === undefined ? {} : { stored: options.stored }),
    ...(options.onReleaseDone === undefined ? {} : { onReleaseDone: options.onReleaseDone }),
    ...(options.onSymlink === undefined ? {} : { onSymlink: options.onSymlink }),
    ...(options.allowOlder === undefined ? {} : { allowOlder: options.allowOlder }),
  }
}
