import { open, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { VstoreError } from '../errors.js'

/** Where a spilled text is: its offset in the spill and its length. */
export interface SpillRef {
  readonly offset: number
  readonly byteLength: number
}

/**
 * Holds the texts of an insert between arrival and writing, since the writer wants them in another
 * order (file id, newest first) than they arrive in. Texts stay in memory until they pass
 * `memoryByteLength`, then everything goes to one temporary file and is read back one text at a time,
 * so an insert's memory is bounded by the group being built, not by the history.
 */
export class TextSpill {
  private readonly chunks = new Map<number, Uint8Array>()
  private inMemoryByteLength = 0
  private file: FileHandle | undefined
  private path: string | undefined
  private byteLength = 0

  constructor(private readonly dir: string, private readonly name: string, private readonly memoryByteLength: number) {}

  /** Bytes held so far. */
  get totalByteLength(): number {
    return this.byteLength
  }

  async append(text: Uint8Array): Promise<SpillRef> {
    const ref = { offset: this.byteLength, byteLength: text.length }
    // An empty text takes no room (and would share its offset with the next text).
    if (text.length === 0) return ref
    if (this.file === undefined && this.inMemoryByteLength + text.length <= this.memoryByteLength) {
      this.chunks.set(ref.offset, text)
      this.inMemoryByteLength += text.length
    } else {
      const file = this.file ?? (await this.moveToDisk())
      await this.write(file, text, ref.offset)
    }
    this.byteLength += text.length
    return ref
  }

  async read(ref: SpillRef): Promise<Uint8Array> {
    if (ref.byteLength === 0) return new Uint8Array(0)
    if (this.file === undefined) return this.fromMemory(ref)
    const bytes = new Uint8Array(ref.byteLength)
    let done = 0
    try {
      while (done < ref.byteLength) {
        const { bytesRead } = await this.file.read(bytes, done, ref.byteLength - done, ref.offset + done)
        if (bytesRead === 0) throw new Error('spill file ended early')
        done += bytesRead
      }
    } catch (error) {
      throw new VstoreError('VSTORE_IO', `cannot read the insert's spill file: ${(error as Error).message}`, this.path ?? this.dir, { cause: error })
    }
    return bytes
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
    const chunk = this.chunks.get(ref.offset)
    if (chunk === undefined || chunk.length !== ref.byteLength) throw new Error(`vstore bug: no spilled text at ${ref.offset}+${ref.byteLength}`)
    return chunk
  }

  private async moveToDisk(): Promise<FileHandle> {
    this.path = join(this.dir, `${this.name}.spill`)
    try {
      this.file = await open(this.path, 'w+')
    } catch (error) {
      throw new VstoreError('VSTORE_IO', `cannot create the insert's spill file: ${(error as Error).message}`, this.path, { cause: error })
    }
    for (const [offset, chunk] of this.chunks) await this.write(this.file, chunk, offset)
    this.chunks.clear()
    this.inMemoryByteLength = 0
    return this.file
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
      throw new VstoreError('VSTORE_IO', `cannot write the insert's spill file${code === 'ENOSPC' ? ' (disk full)' : ''}: ${(error as Error).message}`, this.path ?? this.dir, { cause: error })
    }
  }
}
