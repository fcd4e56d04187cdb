/**
 * The packs of a store on the local disk (a PackSet): one file per pack under `packs/`, opened at the
 * lengths the index vouches for. A damaged pack does not stop the store from opening: its intact groups are
 * still read, reads of the rest fail naming what is wrong.
 */
import { readdir, rm } from 'node:fs/promises'
import { VstoreError } from '../errors.js'
import { PACK_HEADER_BYTE_LENGTH } from '../bytes/index.js'
import { PackFile, type ReadCounter } from '../pack/pack-file.js'
import { syncDirectory } from './files.js'
import { packName, packPath, packsPath, parsePackFileName } from './layout.js'
import type { PackSet, PackState, PackWrite } from './pack-set.js'

export class LocalPackSet implements PackSet {
  readonly readCounter: ReadCounter = { readCount: 0, readByteLength: 0 }
  private readonly files = new Map<number, PackFile>()
  private readonly states = new Map<number, PackState>()
  private readonly damaged = new Map<number, string>()
  private readonly missing = new Set<number>()
  closed = false

  private constructor(private readonly dir: string, private readonly maxPackByteLength: number) {}

  /**
   * Opens the packs the index names (`states`). A writer first deletes pack files no index names and trims
   * tails past the committed lengths (a writer that died mid-batch left them); a reader beside a live writer
   * changes nothing.
   */
  static async open(dir: string, states: ReadonlyMap<number, PackState>, options: { writable: boolean; maxPackByteLength: number }): Promise<LocalPackSet> {
    const set = new LocalPackSet(dir, options.maxPackByteLength)
    for (const [packId, state] of states) set.states.set(packId, state)
    if (options.writable) {
      for (const name of await readdir(packsPath(dir))) {
        const packId = parsePackFileName(name)
        if (packId !== undefined && !states.has(packId)) await rm(packPath(dir, packId), { force: true })
      }
    }
    try {
      for (const packId of states.keys()) await set.openPack(packId, options.writable)
    } catch (error) {
      await set.close()
      throw error
    }
    return set
  }

  /** A missing, short or header-damaged pack is noted in `damaged`; a writer never appends to one. */
  private async openPack(packId: number, writable: boolean): Promise<void> {
    const state = this.states.get(packId) as PackState
    let pack: PackFile
    try {
      pack = await PackFile.open(packPath(this.dir, packId), packName(packId), { writable, counter: this.readCounter, tolerateDamagedHeader: true })
    } catch (error) {
      if (!(error instanceof VstoreError && error.code === 'VSTORE_NOT_FOUND')) throw error
      this.damaged.set(packId, 'the pack named by the index is missing')
      this.missing.add(packId)
      return
    }
    this.files.set(packId, pack)
    if (pack.headerProblem !== undefined) this.damaged.set(packId, `its header is damaged: ${pack.headerProblem.message}`)
    if (pack.byteLength < state.committedByteLength) {
      this.damaged.set(packId, `it has ${pack.byteLength} bytes, the index vouches for ${state.committedByteLength}`)
    } else if (writable && pack.byteLength > state.committedByteLength) {
      await pack.truncate(state.committedByteLength)
    }
  }

  packIds(): number[] {
    return [...this.states.keys()].sort((a, b) => a - b)
  }

  committedByteLength(packId: number): number | undefined {
    return this.states.get(packId)?.committedByteLength
  }

  state(packId: number): PackState | undefined {
    return this.states.get(packId)
  }

  totalByteLength(): number {
    return [...this.states.values()].reduce((sum, state) => sum + state.committedByteLength, 0)
  }

  availableByteLength(packId: number): number | undefined {
    const file = this.files.get(packId)
    const committed = this.states.get(packId)?.committedByteLength
    return file === undefined || committed === undefined ? undefined : Math.min(committed, file.byteLength)
  }

  damage(packId: number): string | undefined {
    return this.damaged.get(packId)
  }

  get missingPackCount(): number {
    return this.missing.size
  }

  async read(packId: number, offset: number, byteLength: number, where: string): Promise<Uint8Array> {
    if (this.closed) throw new VstoreError('VSTORE_IO', 'store is closed', this.dir)
    const file = this.files.get(packId)
    if (file === undefined) {
      const why = this.damaged.get(packId) ?? 'the index names no such pack'
      throw new VstoreError('VSTORE_CORRUPT', `${packName(packId)}: ${why} (\`vstore repair\` keeps what can be read)`, where)
    }
    const state = this.states.get(packId)
    if (state === undefined || offset + byteLength > state.committedByteLength) {
      throw new VstoreError('VSTORE_CORRUPT', `index points past the end of ${packName(packId)}`, where)
    }
    return file.read(offset, byteLength)
  }

  beginWrite(options: { readonly firstPackId?: number } = {}): PackWrite {
    return new LocalPackWrite(this, options.firstPackId ?? 0)
  }

  /** Takes packs out of the set's state (their files stay open until `remove`). */
  forget(packIds: readonly number[]): void {
    for (const packId of packIds) {
      this.states.delete(packId)
      this.damaged.delete(packId)
      this.missing.delete(packId)
    }
  }

  async remove(packIds: readonly number[]): Promise<void> {
    this.forget(packIds)
    // All at once: a merge of the lowest tier removes ten packs, one after another 2 ms of its 25.
    await Promise.all(packIds.map(async packId => {
      const file = this.files.get(packId)
      this.files.delete(packId)
      await file?.close()
      await rm(packPath(this.dir, packId), { force: true })
    }))
    await syncDirectory(packsPath(this.dir))
  }

  async close(): Promise<void> {
    this.closed = true
    for (const file of this.files.values()) await file.close()
    this.files.clear()
  }

  // ---- for LocalPackWrite ----

  /** The pack a write appends `byteLength` bytes to: the last one, or a new one past the cap, a damaged pack or `firstPackId`. */
  target(touched: ReadonlyMap<number, PackState>, byteLength: number, firstPackId: number): { packId: number; state: PackState | undefined } {
    const ids = [...new Set([...this.states.keys(), ...touched.keys()])]
    const packId = ids.length === 0 ? 0 : Math.max(...ids)
    const state = touched.get(packId) ?? this.states.get(packId)
    const full = state !== undefined && state.committedByteLength > PACK_HEADER_BYTE_LENGTH && state.committedByteLength + byteLength > this.maxPackByteLength
    if (state === undefined || packId < firstPackId || full || this.damaged.has(packId)) return { packId: Math.max(packId + 1, firstPackId), state: undefined }
    return { packId, state }
  }

  /** A new pack holding only its header, opened for appends. */
  async create(packId: number): Promise<PackState> {
    this.files.set(packId, await PackFile.create(packPath(this.dir, packId), packName(packId), this.readCounter))
    return { committedByteLength: PACK_HEADER_BYTE_LENGTH, groupCount: 0, rawByteLength: 0 }
  }

  file(packId: number): PackFile {
    return this.files.get(packId) as PackFile
  }

  commitState(packId: number, state: PackState): void {
    this.states.set(packId, state)
  }

  /** Undoes appends to one pack: a pack the index does not name is deleted, another is cut back. */
  async undo(packId: number): Promise<void> {
    const state = this.states.get(packId)
    const file = this.files.get(packId)
    if (state === undefined) {
      await file?.close()
      this.files.delete(packId)
      await rm(packPath(this.dir, packId), { force: true })
    } else {
      await file?.truncate(state.committedByteLength)
    }
  }

  async syncDirectory(): Promise<void> {
    await syncDirectory(packsPath(this.dir))
  }
}

/** The text bytes of a pack after `rawByteLength` more: unknown stays unknown (a pack recorded before they were counted). */
function weighed(state: PackState, rawByteLength: number): { rawByteLength?: number } {
  return state.rawByteLength === undefined ? {} : { rawByteLength: state.rawByteLength + rawByteLength }
}

/**
 * Appended groups are held in memory up to this many bytes and written in one call (at the latest by
 * `sync`): each write is a hop to libuv's threads, and a commit's groups are small (the jq replay wrote
 * 9,538 times, one call a group, 5 an insert; now 2). Most of that wait overlapped other work: the replay's
 * idle time fell by about 5 % (DESIGN.md, A commit's pack writes).
 */
const WRITE_BUFFER_BYTE_LENGTH = 256 * 1024

class LocalPackWrite implements PackWrite {
  touched = new Map<number, PackState>()
  private created: number[] = []
  /** Groups appended but not yet written: to `packId` from `offset` on. */
  private pending: { packId: number; offset: number; chunks: Uint8Array[]; byteLength: number } | undefined

  constructor(private readonly set: LocalPackSet, private readonly firstPackId: number) {}

  async append(bytes: Uint8Array, rawByteLength = 0): Promise<{ packId: number; offset: number }> {
    const target = this.set.target(this.touched, bytes.length, this.firstPackId)
    if (this.pending !== undefined && this.pending.packId !== target.packId) await this.flush()
    const state = target.state ?? (await this.createPack(target.packId))
    const offset = state.committedByteLength
    // Touched before any byte is written: a write cut short (a full disk) leaves bytes that the rollback must remove.
    this.touched.set(target.packId, state)
    this.pending ??= { packId: target.packId, offset, chunks: [], byteLength: 0 }
    this.pending.chunks.push(bytes)
    this.pending.byteLength += bytes.length
    this.touched.set(target.packId, { committedByteLength: offset + bytes.length, groupCount: state.groupCount + 1, ...weighed(state, rawByteLength) })
    if (this.pending.byteLength >= WRITE_BUFFER_BYTE_LENGTH) await this.flush()
    return { packId: target.packId, offset }
  }

  /** Writes the groups held in memory. */
  private async flush(): Promise<void> {
    const pending = this.pending
    if (pending === undefined) return
    this.pending = undefined
    const bytes = pending.chunks.length === 1 ? pending.chunks[0] as Uint8Array : Buffer.concat(pending.chunks, pending.byteLength)
    await this.set.file(pending.packId).writeAt(pending.offset, bytes)
  }

  async ensurePack(packId: number): Promise<void> {
    if (!this.touched.has(packId) && this.set.committedByteLength(packId) === undefined) this.touched.set(packId, await this.createPack(packId))
  }

  private async createPack(packId: number): Promise<PackState> {
    const state = await this.set.create(packId)
    this.created.push(packId)
    return state
  }

  async sync(): Promise<void> {
    await this.flush()
    for (const packId of this.touched.keys()) await this.set.file(packId).sync()
    if (this.created.length > 0) await this.set.syncDirectory()
  }

  committed(forgotten: readonly number[] = []): void {
    for (const [packId, state] of this.touched) this.set.commitState(packId, state)
    this.set.forget(forgotten)
    this.touched = new Map()
    this.created = []
  }

  async rollback(): Promise<void> {
    this.pending = undefined
    for (const packId of this.touched.keys()) {
      try {
        await this.set.undo(packId)
      } catch {
        // The next open truncates what the index does not vouch for.
      }
    }
    this.touched = new Map()
    this.created = []
  }
}
