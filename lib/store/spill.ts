/** An insert's new texts until they are written: in memory while small, then in a temporary file (compressed when disk room is short). */
import { mkdir, open, rm, statfs, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { compressQuickly, decompressQuickly } from '../entropy/index.js'
import { VstoreError, messageOf } from '../errors.js'

/** A spilled text: which one (in order of arrival) and its length. */
export interface SpillRef {
  readonly index: number
  readonly byteLength: number
}

/** Where a text is in the spill file: its offset and the bytes it takes there (compressed, or its length when kept as it is). */
interface Stored {
  readonly offset: number
  readonly storedByteLength: number
}

export interface SpillOptions {
  /** Texts held in memory before the spill moves to a file. */
  readonly memoryByteLength: number
  /**
   * The bytes free for the spill file's folder (default: from statfs), asked when the spill moves to disk
   * and after every COMPRESS_CHECK_BYTE_LENGTH of texts; a parameter so that tests can say the disk is short.
   */
  readonly freeByteLength?: (dir: string) => Promise<number>
}

/** Texts shorter than this are spilled as they are: compressing them costs more time than it saves room. */
const MIN_COMPRESSED_BYTE_LENGTH = 512

/** How often (in bytes of texts written raw) a spill asks again how much room is left. */
const COMPRESS_CHECK_BYTE_LENGTH = 64 * 1024 * 1024

/** A spill compresses once fewer bytes than this, or than its raw texts so far, are free. */
const COMPRESS_BELOW_FREE_BYTE_LENGTH = 1024 * 1024 * 1024

async function statfsFreeByteLength(dir: string): Promise<number> {
  try {
    const stats = await statfs(dir)
    return stats.bavail * stats.bsize
  } catch {
    // Unknown room is short room.
    return 0
  }
}

/**
 * Holds the texts of an insert between arrival and writing, since the writer wants them in another
 * order (file id, newest first) than they arrive in. Texts stay in memory until they pass
 * `memoryByteLength`, then everything goes to one temporary file and is read back one text at a time, so
 * an insert's memory is bounded by the group being built, not by the history.
 *
 * The file holds the texts as they are while the disk has room, and compressed (each on its own, brotli's
 * fastest mode: a third of their bytes on jq) once fewer than 1 GiB, or fewer bytes than the raw texts
 * spilled so far, are free: compressing costs jq's import 4.0 → 5.5 s, which a disk with room need not pay.
 */
export class TextSpill {
  /** The texts while the spill is in memory, by index. */
  private readonly chunks = new Map<number, Uint8Array>()
  /** Where each text is in the file, by index, once the spill is on disk. */
  private readonly stored: Stored[] = []
  private textCount = 0
  private inMemoryByteLength = 0
  private file: FileHandle | undefined
  private path: string | undefined
  private byteLength = 0
  private storedByteLength = 0
  private compressing = false
  /** Raw bytes written since room was last asked about. */
  private uncheckedByteLength = 0
  private readonly freeByteLength: (dir: string) => Promise<number>

  constructor(private readonly dir: string, private readonly name: string, private readonly options: SpillOptions) {
    this.freeByteLength = options.freeByteLength ?? statfsFreeByteLength
  }

  /** Bytes of the texts held so far. */
  get totalByteLength(): number {
    return this.byteLength
  }

  /** Bytes the spill file holds so far (0 while the texts are in memory). */
  get fileByteLength(): number {
    return this.storedByteLength
  }

  /** Whether texts now go to the file compressed. */
  get compressed(): boolean {
    return this.compressing
  }

  async append(text: Uint8Array): Promise<SpillRef> {
    const ref = { index: this.textCount++, byteLength: text.length }
    if (this.file === undefined && this.inMemoryByteLength + text.length <= this.options.memoryByteLength) {
      this.chunks.set(ref.index, text)
      this.inMemoryByteLength += text.length
    } else {
      await this.writeText(this.file ?? (await this.moveToDisk()), ref.index, text)
    }
    this.byteLength += text.length
    return ref
  }

  async read(ref: SpillRef): Promise<Uint8Array> {
    if (ref.byteLength === 0) return new Uint8Array(0)
    if (this.file === undefined) return this.fromMemory(ref)
    const at = this.stored[ref.index]
    if (at === undefined) throw new Error(`vstore bug: no spilled text ${ref.index}`)
    const stored = new Uint8Array(at.storedByteLength)
    try {
      let done = 0
      while (done < at.storedByteLength) {
        const { bytesRead } = await this.file.read(stored, done, at.storedByteLength - done, at.offset + done)
        if (bytesRead === 0) throw new Error('spill file ended early')
        done += bytesRead
      }
    } catch (error) {
      throw new VstoreError('VSTORE_IO', `cannot read the insert's spill file: ${messageOf(error)}`, this.path ?? this.dir, { cause: error })
    }
    return at.storedByteLength === ref.byteLength ? stored : decompressQuickly(stored, ref.byteLength, `${this.path ?? this.dir}@${at.offset}`)
  }

  /** Removes the spill file, if any. */
  async close(): Promise<void> {
    this.chunks.clear()
    if (this.file !== undefined) {
      await this.file.close().catch(() => undefined)
      this.file = undefined
    }
    if (this.path !== undefined) await rm(this.path, { force: true })
  }

  private fromMemory(ref: SpillRef): Uint8Array {
    const chunk = this.chunks.get(ref.index)
    if (chunk === undefined || chunk.length !== ref.byteLength) throw new Error(`vstore bug: no spilled text ${ref.index} of ${ref.byteLength} bytes`)
    return chunk
  }

  /** Moves the texts held in memory to the file (compressed already if room is short). */
  private async moveToDisk(): Promise<FileHandle> {
    this.path = join(this.dir, `${this.name}.spill`)
    try {
      // Made only now: a small insert never touches the disk for its spill.
      await mkdir(this.dir, { recursive: true })
      this.file = await open(this.path, 'w+')
    } catch (error) {
      throw new VstoreError('VSTORE_IO', `cannot create the insert's spill file: ${messageOf(error)}`, this.path, { cause: error })
    }
    await this.checkRoom()
    for (const [index, chunk] of this.chunks) await this.writeText(this.file, index, chunk)
    this.chunks.clear()
    this.inMemoryByteLength = 0
    return this.file
  }

  /** Starts compressing when room is short (for good: room only shrinks while the spill grows). */
  private async checkRoom(): Promise<void> {
    this.uncheckedByteLength = 0
    if (this.compressing) return
    const free = await this.freeByteLength(this.dir)
    this.compressing = free < Math.max(COMPRESS_BELOW_FREE_BYTE_LENGTH, this.byteLength)
  }

  /** Appends one text: compressed when the spill compresses and that makes it shorter, else as it is. */
  private async writeText(file: FileHandle, index: number, text: Uint8Array): Promise<void> {
    if (text.length === 0) return
    if (!this.compressing && this.uncheckedByteLength >= COMPRESS_CHECK_BYTE_LENGTH) await this.checkRoom()
    const compressed = this.compressing && text.length >= MIN_COMPRESSED_BYTE_LENGTH ? compressQuickly(text) : text
    const bytes = compressed.length < text.length ? compressed : text
    await this.write(file, bytes, this.storedByteLength)
    this.stored[index] = { offset: this.storedByteLength, storedByteLength: bytes.length }
    this.storedByteLength += bytes.length
    if (bytes === text) this.uncheckedByteLength += text.length
  }

  private async write(file: FileHandle, bytes: Uint8Array, offset: number): Promise<void> {
    try {
      let done = 0
      while (done < bytes.length) {
        const { bytesWritten } = await file.write(bytes, done, bytes.length - done, offset + done)
        done += bytesWritten
      }
    } catch (error) {
      const code = (error as { code?: string }).code
      const full = code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT'
      const message = full ? await this.fullMessage(bytes.length) : messageOf(error)
      throw new VstoreError('VSTORE_IO', `cannot write the insert's spill file: ${message}`, this.path ?? this.dir, { cause: error })
    }
  }

  /** What a full disk (or a file size limit) stopped, and how much room the spill had taken so far. */
  private async fullMessage(wantedByteLength: number): Promise<string> {
    const free = await this.freeByteLength(this.dir)
    return `the disk is full (or the file too large) after ${this.storedByteLength} bytes of spilled texts (${this.byteLength} bytes before `
      + `${this.compressing ? 'compression' : 'any compression'}), writing ${wantedByteLength} more, ${free} bytes free; an insert needs room in `
      + `${this.dir} for its new texts (about a third of their bytes once room is short) until it is written`
  }
}
