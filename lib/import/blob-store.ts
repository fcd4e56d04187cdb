/**
 * Blob bytes by content hash for the fast-export import: the most recently used in memory up to a budget,
 * the others in one temporary file, removed when the store is closed.
 */
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { VstoreError, messageOf } from '../errors.js'

export class BlobStore {
  readonly #memory = new Map<string, Uint8Array>()
  #memoryByteLength = 0
  readonly #spilled = new Map<string, { readonly position: number; readonly byteLength: number }>()
  #spill: { readonly directory: string; readonly file: FileHandle; byteLength: number } | undefined

  constructor(readonly maxMemoryByteLength: number, readonly temporaryDirectory: string) {}

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    if (this.#memory.has(hash) || this.#spilled.has(hash)) return
    this.#memory.set(hash, bytes)
    this.#memoryByteLength += bytes.length
    for (const [oldHash, oldBytes] of this.#memory) {
      if (this.#memoryByteLength <= this.maxMemoryByteLength) break
      await this.#write(oldHash, oldBytes)
      this.#memory.delete(oldHash)
      this.#memoryByteLength -= oldBytes.length
    }
  }

  async get(hash: string): Promise<Uint8Array> {
    const bytes = this.#memory.get(hash)
    if (bytes !== undefined) {
      this.#memory.delete(hash) // most recently used goes last
      this.#memory.set(hash, bytes)
      return bytes
    }
    const location = this.#spilled.get(hash)
    if (location === undefined || this.#spill === undefined) throw new Error(`vstore bug: blob ${hash} was never stored`)
    const spilledBytes = new Uint8Array(location.byteLength)
    try {
      let filled = 0
      while (filled < location.byteLength) {
        const { bytesRead } = await this.#spill.file.read(spilledBytes, filled, location.byteLength - filled, location.position + filled)
        if (bytesRead === 0) throw new Error('the file is shorter than written')
        filled += bytesRead
      }
    } catch (cause) {
      throw new VstoreError('VSTORE_IO', `cannot read back a blob: ${messageOf(cause)}`, this.#spill.directory, { cause })
    }
    return spilledBytes
  }

  async #write(hash: string, bytes: Uint8Array): Promise<void> {
    try {
      if (this.#spill === undefined) {
        const directory = await mkdtemp(join(this.temporaryDirectory, 'vstore-fast-export-'))
        this.#spill = { directory, file: await open(join(directory, 'blobs'), 'w+'), byteLength: 0 }
      }
      const spill = this.#spill
      let written = 0
      while (written < bytes.length) {
        const { bytesWritten } = await spill.file.write(bytes, written, bytes.length - written, spill.byteLength + written)
        written += bytesWritten
      }
      this.#spilled.set(hash, { position: spill.byteLength, byteLength: bytes.length })
      spill.byteLength += bytes.length
    } catch (cause) {
      throw new VstoreError('VSTORE_IO', `cannot write a blob to the temporary file: ${messageOf(cause)}`, this.temporaryDirectory, { cause })
    }
  }

  async close(): Promise<void> {
    const spill = this.#spill
    this.#spill = undefined
    this.#memory.clear()
    this.#spilled.clear()
    if (spill === undefined) return
    await spill.file.close()
    await rm(spill.directory, { recursive: true, force: true })
  }
}
