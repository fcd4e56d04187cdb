/**
 * A pack file: an 8-byte header (`Magic` F6 76 70 00, `Version` 1, three reserved zero bytes), then
 * opaque records appended one after another. The pack knows nothing of what the records are; the
 * index remembers where each one starts and how long the pack is. See formats/pack.md.
 */
import { open, rm, statfs, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ByteReader, PACK_HEADER_BYTE_LENGTH } from '../bytes/index.js'
import { VstoreError, messageOf } from '../errors.js'

export const PACK_MAGIC = Uint8Array.of(0xf6, 0x76, 0x70, 0x00)
export const PACK_VERSION = 1

export function encodePackHeader(): Uint8Array {
  return Uint8Array.of(...PACK_MAGIC, PACK_VERSION, 0, 0, 0)
}

/** @throws VSTORE_CORRUPT for a short or foreign header, VSTORE_UNSUPPORTED for another version. */
export function decodePackHeader(bytes: Uint8Array, where: string): void {
  const reader = new ByteReader(bytes, where)
  const magic = reader.take(4)
  if (magic.some((byte, i) => byte !== PACK_MAGIC[i])) throw reader.error('VSTORE_CORRUPT', 'not a vstore pack (bad magic)')
  const version = reader.byte()
  if (version !== PACK_VERSION) throw reader.error('VSTORE_UNSUPPORTED', `pack version ${version}, this build reads ${PACK_VERSION}`)
  for (let i = 0; i < 3; i++) if (reader.byte() !== 0) throw reader.error('VSTORE_CORRUPT', 'reserved header byte is not zero')
}

function ioError(error: unknown, where: string, doing: string, note = ''): VstoreError {
  const code = (error as { code?: string } | null)?.code
  return new VstoreError(code === 'ENOENT' ? 'VSTORE_NOT_FOUND' : 'VSTORE_IO', `${doing}: ${messageOf(error)}${note}`, where, { cause: error })
}

/** `, N bytes free` for the file system of `path`, or nothing when that cannot be told. */
async function freeSpaceNote(path: string): Promise<string> {
  try {
    const stats = await statfs(dirname(path))
    return `, ${stats.bavail * stats.bsize} bytes free`
  } catch {
    return ''
  }
}

/** Counts what readers take from disk, so tests and stats can see the read bound hold. */
export interface ReadCounter {
  readCount: number
  readByteLength: number
}

export class PackFile {
  private constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
    readonly where: string,
    private length: number,
    private readonly counter: ReadCounter,
    /** What is wrong with the header, when the pack was opened despite it (`tolerateDamagedHeader`). */
    readonly headerProblem: VstoreError | undefined,
  ) {}

  /**
   * Opens an existing pack for reading (and appending at `committedByteLength`, if writable). With
   * `tolerateDamagedHeader`, a pack whose header is damaged (not a version it does not know) opens all
   * the same, with `headerProblem` set: its groups carry checksums of their own, so each can still be read
   * and checked.
   * @throws VSTORE_NOT_FOUND for a missing file; VSTORE_CORRUPT or VSTORE_UNSUPPORTED for its header.
   */
  static async open(path: string, where: string, options: { writable: boolean; counter: ReadCounter; tolerateDamagedHeader?: boolean }): Promise<PackFile> {
    let handle: FileHandle
    try {
      handle = await open(path, options.writable ? 'r+' : 'r')
    } catch (error) {
      throw ioError(error, where, 'cannot open pack')
    }
    try {
      const { size } = await handle.stat()
      const header = new Uint8Array(PACK_HEADER_BYTE_LENGTH)
      const { bytesRead } = await handle.read(header, 0, PACK_HEADER_BYTE_LENGTH, 0)
      let headerProblem: VstoreError | undefined
      try {
        decodePackHeader(header.subarray(0, bytesRead), where)
      } catch (error) {
        // A version this build does not know is not damage: refused, so its texts are never dropped as lost.
        if (!(options.tolerateDamagedHeader === true && error instanceof VstoreError && error.code === 'VSTORE_CORRUPT')) throw error
        headerProblem = error
      }
      return new PackFile(handle, path, where, size, options.counter, headerProblem)
    } catch (error) {
      await handle.close()
      throw error
    }
  }

  /** Creates a new pack holding only its header; fails if the file exists. */
  static async create(path: string, where: string, counter: ReadCounter): Promise<PackFile> {
    let handle: FileHandle
    try {
      handle = await open(path, 'wx+')
    } catch (error) {
      if ((error as { code?: string } | null)?.code === 'EEXIST') throw new VstoreError('VSTORE_EXISTS', 'pack file already exists', where, { cause: error })
      throw ioError(error, where, 'cannot create pack')
    }
    try {
      await handle.write(encodePackHeader(), 0, PACK_HEADER_BYTE_LENGTH, 0)
    } catch (error) {
      await handle.close()
      // A file no index names would only wait for the next writer to remove it.
      await rm(path, { force: true }).catch(() => undefined)
      throw ioError(error, where, 'cannot create pack')
    }
    return new PackFile(handle, path, where, PACK_HEADER_BYTE_LENGTH, counter, undefined)
  }

  /** Bytes in the file now (including any tail not yet committed to the index). */
  get byteLength(): number {
    return this.length
  }

  /**
   * Reads exactly `byteLength` bytes at `offset`.
   * @throws VSTORE_CORRUPT when the file ends first.
   */
  async read(offset: number, byteLength: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(byteLength)
    let done = 0
    try {
      while (done < byteLength) {
        const { bytesRead } = await this.handle.read(bytes, done, byteLength - done, offset + done)
        if (bytesRead === 0) break
        done += bytesRead
      }
    } catch (error) {
      throw ioError(error, `${this.where}@${offset}`, 'cannot read pack')
    }
    this.counter.readCount++
    this.counter.readByteLength += done
    if (done < byteLength) {
      throw new VstoreError('VSTORE_CORRUPT', `pack ends after ${done} of ${byteLength} bytes`, `${this.where}@${offset}`)
    }
    return bytes
  }

  /**
   * Writes `bytes` at `offset` (the committed end). Not durable until `sync()`.
   * @throws VSTORE_IO; on a full disk (or a file size limit) the message says how many bytes the write
   * needed and how many are free.
   */
  async writeAt(offset: number, bytes: Uint8Array): Promise<void> {
    try {
      let done = 0
      while (done < bytes.length) {
        const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, offset + done)
        done += bytesWritten
      }
    } catch (error) {
      const code = (error as { code?: string } | null)?.code
      const full = code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT'
      const room = full ? `; ${bytes.length} bytes of groups needed room${await freeSpaceNote(this.path)}` : ''
      throw ioError(error, `${this.where}@${offset}`, 'cannot write pack', room)
    }
    this.length = Math.max(this.length, offset + bytes.length)
  }

  /** Drops everything after `byteLength` (an uncommitted tail left by a writer that died). */
  async truncate(byteLength: number): Promise<void> {
    try {
      await this.handle.truncate(byteLength)
    } catch (error) {
      throw ioError(error, this.where, 'cannot truncate pack')
    }
    this.length = byteLength
  }

  async sync(): Promise<void> {
    try {
      await this.handle.sync()
    } catch (error) {
      throw ioError(error, this.where, 'cannot sync pack')
    }
  }

  async close(): Promise<void> {
    await this.handle.close()
  }
}
