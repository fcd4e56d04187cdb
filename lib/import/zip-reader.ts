/**
 * Reading a zip archive as a stream of regular files: stored and deflated entries, each checked against its
 * CRC-32 and declared length, and never inflated past that length.
 */
import { open, type FileHandle } from 'node:fs/promises'
import { Readable, pipeline } from 'node:stream'
import { createInflateRaw } from 'node:zlib'
import { crc32 } from '../bytes/index.js'
import { VstoreError, messageOf } from '../errors.js'
import { DEFAULT_MAX_ENTRY_BYTE_LENGTH, decodeEntryName, symlinkPath, type ArchiveEntry, type ArchiveReadOptions } from './archive-entry.js'
import { normalizeEntryPath } from './releases.js'
import { checkTextByteLength } from './text-limit.js'

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

/** A zip file open for reading, with reads that must stay inside it. */
class ZipFile {
  constructor(readonly path: string, readonly file: FileHandle, readonly byteLength: number) {}

  checkInFile(position: number, byteLength: number, what: string): void {
    if (position < 0 || position + byteLength > this.byteLength) {
      throw new VstoreError('VSTORE_IMPORT', `zip: ${what} runs past the end of the file`, `${this.path}@${position}`)
    }
  }

  async readAt(position: number, byteLength: number, what: string): Promise<Uint8Array> {
    this.checkInFile(position, byteLength, what)
    const bytes = new Uint8Array(byteLength)
    let filled = 0
    while (filled < byteLength) {
      const { bytesRead } = await this.file.read(bytes, filled, byteLength - filled, position + filled)
      if (bytesRead === 0) throw new VstoreError('VSTORE_IMPORT', `zip: ${what} runs past the end of the file`, `${this.path}@${position}`)
      filled += bytesRead
    }
    return bytes
  }
}

/**
 * Yields the regular files of a zip archive in central-directory order. Stored and deflated entries only;
 * every entry's CRC-32 and length are checked. An entry is a file unless its name ends with `/` or a Unix
 * mode gives it another type (an entry without type bits is a file, as `unzip` reads it). Memory: the
 * central directory plus one entry, whose declared length is checked before it is read, and which is never
 * inflated past that length (or past `maxTextByteLength`, to tell a text over the limit from a zip that lies).
 */
export async function* readZipEntries(path: string, options: ArchiveReadOptions): AsyncGenerator<ArchiveEntry> {
  const file = await open(path, 'r')
  try {
    const zip = new ZipFile(path, file, (await file.stat()).size)
    for (const entry of await readCentralDirectory(zip)) {
      if (entry.kind === 'symlink') options.onSymlink?.(symlinkPath(entry.name, path))
      if (entry.kind !== 'file') continue
      const entryPath = normalizeEntryPath(entry.name, path)
      yield { path: entryPath, text: await readZipEntry(zip, entry, `${path}:${entryPath}`, options) }
    }
  } finally {
    await file.close()
  }
}

/** The entries of the central directory that the end record names. */
async function readCentralDirectory(zip: ZipFile): Promise<ZipEntry[]> {
  const { path } = zip
  const tailByteLength = Math.min(zip.byteLength, ZIP_END_BYTE_LENGTH + 0xffff)
  const tail = await zip.readAt(zip.byteLength - tailByteLength, tailByteLength, 'end record')
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
  const endPosition = zip.byteLength - tailByteLength + endOffset
  if (directoryOffset + directoryByteLength > endPosition) {
    throw new VstoreError('VSTORE_IMPORT', 'zip: the central directory overlaps its end record', path)
  }
  const directory = await zip.readAt(directoryOffset, directoryByteLength, 'central directory')
  return parseZipDirectory(directory, entryCount, path, directoryOffset)
}

/** One file entry's bytes, its method, length and CRC-32 checked (`where` = `<path>:<entry>`). */
async function readZipEntry(zip: ZipFile, entry: ZipEntry, where: string, options: ArchiveReadOptions): Promise<Uint8Array> {
  const maxEntryByteLength = options.maxEntryByteLength ?? DEFAULT_MAX_ENTRY_BYTE_LENGTH
  if ((entry.flags & 0x1) !== 0) throw new VstoreError('VSTORE_UNSUPPORTED', 'encrypted zip entries are not supported', where)
  if (entry.method !== 0 && entry.method !== 8) throw new VstoreError('VSTORE_UNSUPPORTED', `zip compression method ${entry.method} is not supported (only stored and deflate)`, where)
  checkTextByteLength(entry.byteLength, options.maxTextByteLength, where)
  if (entry.byteLength > maxEntryByteLength) throw new VstoreError('VSTORE_LIMIT', `entry of ${entry.byteLength} bytes, limit ${maxEntryByteLength}`, where)
  // A stored entry's bytes are its text: a compressed length other than the text's is found before reading.
  if (entry.method === 0 && entry.compressedByteLength !== entry.byteLength) {
    throw new VstoreError('VSTORE_IMPORT', `zip: stored entry of ${entry.compressedByteLength} bytes, directory says ${entry.byteLength}`, where)
  }
  const local = await zip.readAt(entry.localHeaderOffset, ZIP_LOCAL_BYTE_LENGTH, 'local header')
  const localView = new DataView(local.buffer, local.byteOffset, local.byteLength)
  if (localView.getUint32(0, true) !== ZIP_LOCAL_SIGNATURE) throw new VstoreError('VSTORE_IMPORT', 'zip: bad local header signature', where)
  const dataOffset = entry.localHeaderOffset + ZIP_LOCAL_BYTE_LENGTH + localView.getUint16(26, true) + localView.getUint16(28, true)
  let text: Uint8Array
  if (entry.method === 0) {
    text = await zip.readAt(dataOffset, entry.compressedByteLength, 'entry data')
  } else {
    zip.checkInFile(dataOffset, entry.compressedByteLength, 'entry data')
    const readChunks = async function* (): AsyncGenerator<Uint8Array> {
      for (let offset = 0; offset < entry.compressedByteLength; offset += ZIP_READ_CHUNK_BYTE_LENGTH) {
        yield await zip.readAt(dataOffset + offset, Math.min(ZIP_READ_CHUNK_BYTE_LENGTH, entry.compressedByteLength - offset), 'entry data')
      }
    }
    text = await inflateEntry(readChunks(), entry.byteLength, options.maxTextByteLength, where)
  }
  if (crc32(text) !== entry.crc) throw new VstoreError('VSTORE_IMPORT', 'zip: CRC-32 mismatch', where)
  return text
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
    const name = decodeEntryName(directory.subarray(offset + ZIP_CENTRAL_BYTE_LENGTH, offset + ZIP_CENTRAL_BYTE_LENGTH + nameByteLength), at)
    // Unix hosts (3) keep st_mode in the top 16 bits; other hosts mark only folders (by a trailing slash).
    // A mode without type bits names a file, as unzip reads it: Python's zipfile.writestr writes 0o600 alone.
    const unixType = madeBy >>> 8 === 3 ? (externalAttributes >>> 16) & 0o170000 : 0
    const kind = name.endsWith('/') ? 'other' : unixType === 0 || unixType === 0o100000 ? 'file' : unixType === 0o120000 ? 'symlink' : 'other'
    entries.push({ name, flags, method, crc, compressedByteLength, byteLength, localHeaderOffset, kind })
    offset = end
  }
  return entries
}
