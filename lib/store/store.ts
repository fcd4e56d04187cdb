import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { bytesEqual, toHex } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import { decodeGroupBase, decodeRecord, dumpRecords, type BaseText, type DumpedRecord } from '../group/records.js'
import { DEFAULT_GROUP_LIMITS, MAX_GROUP_HEADER_BYTE_LENGTH, checkGroup, decodeGroup, decodeGroupHeader, decodeGroupPrefix, type GroupHeader } from '../group/frame.js'
import { GroupWriter, type SealedGroup } from '../group/writer.js'
import { openLevelDb, type KeyValueStore } from '../index/leveldb.js'
import {
  HASH_RECORD_MIN_TEXT_BYTE_LENGTH, MAX_BASE_DEPTH, MAX_PARENTS, TAG_HASH, TAG_PACK, TAG_TEXT, decodeLocationValue, decodePackKey, decodePackValue, decodeTextKey, decodeTextValue,
  decodeTotalsValue, describeKey, encodeFilePrefix, encodeHashKey, encodeRevisionPrefixes, encodeLocationValue, encodeMetaKey, encodePackKey,
  encodePackValue, encodeTextKey, encodeTextValue, encodeTotalsValue, type PackState, type Totals,
} from '../index/records.js'
import { ancestryGraph, commonAncestorsOf, writeOrder, type AncestryGraph } from '../order/graph.js'
import { findIndexDamage, salvageLevelDbKeys, type IndexDamage } from '../index/leveldb-files.js'
import { IndexCheck } from '../index/index-check.js'
import { PACK_HEADER_BYTE_LENGTH, PackFile, type ReadCounter } from '../pack/pack-file.js'
import { indexPath, ownerPath, packName, packPath, packsPath, parsePackFileName, tmpPath } from './layout.js'
import { copyIndexSnapshot } from './snapshot.js'
import { describeOwner, liveOwner, processAlive, writeOwner } from './processes.js'
import { keptParents, type Reparented } from './reparent.js'
import { exists, syncDirectory } from './files.js'
import { finishIndexSwap, readableIndexPath, repairIndex, type IndexRepairSummary } from './index-repair.js'
import { TextSpill, type SpillRef } from './spill.js'
import { BaseTextCache, StoredTexts, type TextSource } from './stored-texts.js'
import { annotate, type AnnotatedLine } from './annotate.js'
import { resolveSettings, type StoreOptions, type StoreSettings } from './settings.js'
import { hashText } from './text-hash.js'
import type {
  ByteDistribution, InsertSummary, StoreStats, TextEntry, TextKey, TextLocation, TextRecord, VerifyProblem, VerifyReport,
} from './types.js'

export type { AncestryGraph, AnnotatedLine, Reparented, StoreOptions }
export { DEFAULT_STORE_OPTIONS, MAX_STORABLE_TEXT_BYTE_LENGTH } from './settings.js'

const COMPACT_AFTER_OPERATIONS = 64
/** The writer's family (GroupWriter.add) of every text of a large file; file ids are never empty, so no file is named so. */
const LARGE_FAMILY = ''

/**
 * The store format this build writes (kept in the index under `M format`): 2 since groups may hold
 * deltas on a previous text (group version 2). It reads format 1 too, and a write to a format-1 store
 * makes it format 2 in the same index batch as its first group of version 2.
 */
export const STORE_FORMAT_VERSION = 2
export const READABLE_STORE_FORMATS: readonly number[] = [1, 2]

interface Pending {
  readonly file: string
  readonly rev: string
  readonly parents: readonly string[]
  readonly ref: SpillRef
  readonly hash: Uint8Array
}

/** A stored text a batch's group may name as its base (Store.writeBatch). */
interface StoredBase {
  readonly file: string
  readonly rev: string
  readonly entry: TextEntry
}

/** What a repack's one batch replaces (Store.pack). */
interface Repack {
  /** Packs the batch forgets; their files are deleted once it is committed. */
  readonly oldPackIds: readonly number[]
  /** The repack writes only to packs from this id on, so that no old pack is appended to. */
  readonly firstPackId: number
  /** Every H key before the repack: each is rewritten or deleted. */
  readonly oldHashKeys: readonly Uint8Array[]
  /** T keys the batch deletes (texts a repair could not read back). */
  readonly deletedTextKeys: readonly Uint8Array[]
}

/** Source groups a fetch copies whole (Store.fetch): they are appended and indexed in the batch's one commit. */
interface Adoption {
  /** Appends each group through `append` and returns the index records naming its keys. */
  run(append: (bytes: Uint8Array) => Promise<{ packId: number; offset: number }>): Promise<AdoptedGroups>
}

/** What the commit adds for them (their groups and bytes are counted as the batch's own). */
interface AdoptedGroups {
  readonly operations: readonly { key: Uint8Array; value: Uint8Array }[]
  readonly textCount: number
  readonly rawByteLength: number
  /** Keys pointed at content stored once already (as an insert's duplicates are). */
  readonly duplicateTextCount: number
  /** Where the copied texts that get an `H` record are, by hex hash: the batch stores the same content once. */
  readonly locationsByHash: ReadonlyMap<string, TextLocation>
}

/** A source group a fetch copies, with the wanted keys' entries as they will be in this store. */
interface ReusedGroup {
  readonly packId: number
  readonly groupOffset: number
  readonly groupByteLength: number
  readonly rows: readonly ReusedRow[]
}

/** A wanted key of a copied group, and where its content will be (decided once, by groupsToReuse). */
interface ReusedRow extends TextKey {
  /** Its entry in the copied group: the same ranges and read costs, this store's base chain. */
  readonly entry: TextEntry
  /** Where this store holds the same content already (the key points there, as an insert's would). */
  readonly stored?: TextLocation
  /** The first copy of content that gets an H record, whose key is free: write one. */
  readonly hashRecord?: boolean
}

/** The minimum copy of texts over the group cap (GroupBuilderOptions.largeText). */
const LARGE_TEXT_MIN_COPY_BYTE_LENGTH = 32

/** Index copies a read-only open makes before it reports a pack gone (Store.openSnapshot). */
const SNAPSHOT_ATTEMPTS = 3

/**
 * A fetch copies a source group whole when at least this share of its content is records it wants
 * (Breezy's rule for reusing a group when fetching), and when the group is large enough
 * (REUSE_MIN_CONTENT_FRACTION): the rest of the wanted texts are compressed again, with their neighbours.
 */
const REUSE_MIN_WANTED_FRACTION = 0.75
/** ... of the store's content cap: smaller groups (left by small appends) compress better together. */
const REUSE_MIN_CONTENT_FRACTION = 1 / 8

/** Texts a fetch reads from its source at once (each group they share is read once). */
const FETCH_CHUNK_TEXT_COUNT = 64

/** Texts of old groups a rewrite (pack, repair) keeps for its writer (StoredTexts): a few groups' worth. */
const STORED_TEXTS_CACHE_BYTE_LENGTH = 16 * 1024 * 1024

/** Texts an insert keeps in memory before it spills them to a temporary file. */
const SPILL_MEMORY_BYTE_LENGTH = 4 * 1024 * 1024

export interface InsertOptions {
  /** Called as records arrive and as texts are written; cheap to call, so the caller throttles any rendering. */
  readonly onProgress?: (progress: InsertProgress) => void
  /**
   * Commit whenever this many bytes of new texts have been placed since the last commit (at the next
   * file boundary, so that each file's texts become visible with their parents). A long import killed
   * half-way then keeps what it committed, and running it again adds only the rest. Without it, an
   * insert is all or nothing.
   */
  readonly checkpointByteLength?: number
}

export type PackOptions = Pick<InsertOptions, 'onProgress'>

export interface PackSummary {
  /** Keys rewritten (all of them), and their texts' bytes. */
  readonly textCount: number
  readonly rawByteLength: number
  /** Groups and pack bytes before and after. */
  readonly oldGroupCount: number
  readonly groupCount: number
  readonly oldPackByteLength: number
  readonly packByteLength: number
}

export interface RepairSummary extends PackSummary {
  /** Whether anything was wrong (false: nothing was written). */
  readonly repaired: boolean
  /** Keys dropped because their texts could not be rebuilt (textCount counts the kept ones). */
  readonly lostKeys: readonly TextKey[]
  readonly reparented: readonly Reparented[]
}

export interface FetchOptions extends Pick<InsertOptions, 'onProgress'> {
  /** Only these files' histories (default: every file of the source). */
  readonly files?: readonly string[]
}

export interface FetchSummary extends InsertSummary {
  /** Source groups copied whole, byte for byte, and the new keys they brought (counted in newTextCount). */
  readonly reusedGroupCount: number
  readonly reusedTextCount: number
}

export interface InsertProgress {
  readonly phase: 'reading' | 'writing'
  /** Records received so far, and their bytes. */
  readonly textCount: number
  readonly rawByteLength: number
  /** New keys among them (the rest were stored already), and their bytes. */
  readonly newTextCount: number
  readonly newRawByteLength: number
  /** New texts placed in groups so far, and their bytes. */
  readonly writtenTextCount: number
  readonly writtenRawByteLength: number
  readonly groupCount: number
  /** Pack bytes this insert has written so far. */
  readonly storedByteLength: number
}

export interface GroupDump {
  readonly pack: string
  readonly groupOffset: number
  readonly groupByteLength: number
  readonly codec: number
  readonly contentByteLength: number
  readonly storedByteLength: number
  readonly records: readonly (DumpedRecord & { readonly keys: readonly TextKey[] })[]
}

export interface IndexDumpRow extends TextKey {
  readonly pack: string
  readonly groupOffset: number
  readonly readByteLength: number
  readonly recordStart: number
  readonly recordEnd: number
  readonly decodedByteLength: number
  readonly textByteLength: number
  readonly hash: string
  /** The group's base chain (index.md, Location): hops, and bytes read and decoded for it. */
  readonly baseDepth: number
  readonly baseReadByteLength: number
  readonly baseDecodedByteLength: number
  readonly parents: readonly string[]
}

function groupKeyOf(location: TextLocation): string {
  return `${location.packId}:${location.groupOffset}`
}

function distribution(values: number[]): ByteDistribution {
  if (values.length === 0) return { median: 0, max: 0 }
  values.sort((a, b) => a - b)
  return { median: values[Math.floor((values.length - 1) / 2)] as number, max: values[values.length - 1] as number }
}

/** Bytes of the files under `path`; a file a writer removes meanwhile (a compacted table, an old log) counts nothing. */
async function directoryByteLength(path: string): Promise<number> {
  const gone = (error: unknown) => {
    if ((error as { code?: string }).code === 'ENOENT') return undefined
    throw error
  }
  let total = 0
  for (const entry of (await readdir(path, { withFileTypes: true }).catch(gone)) ?? []) {
    const child = `${path}/${entry.name}`
    if (entry.isDirectory()) total += await directoryByteLength(child)
    else if (entry.isFile()) total += (await stat(child).catch(gone))?.size ?? 0
  }
  return total
}


/** Runs `read` over the index's files; an I/O error other than damage (a permission, a failing disk) is VSTORE_IO. */
async function readingIndex<T>(dir: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (error) {
    if (error instanceof VstoreError) throw error
    throw new VstoreError('VSTORE_IO', `cannot read the index: ${(error as Error).message}`, `${dir}/index`, { cause: error })
  }
}

/** The error of a writer that finds its index damaged: it must not write on it (DESIGN.md, Invariants). */
function damagedIndexError(dir: string, damage: readonly IndexDamage[]): VstoreError {
  const [first] = damage
  const more = damage.length > 1 ? ` and ${damage.length - 1} more` : ''
  return new VstoreError('VSTORE_CORRUPT', `the index is damaged (index/${first?.file}: ${first?.message}${more}); \`vstore verify\` names the keys it affects`, `${dir}/index`)
}


/**
 * A vstore: texts keyed by (file id, revision id), delta-compressed in groups appended to pack files,
 * found through a LevelDB index. One process at a time may open a store.
 */
export class Store {
  /** Bytes and reads taken from pack files since the store was opened. */
  readonly readCounter: ReadCounter = { readCount: 0, readByteLength: 0 }
  private readonly packs = new Map<number, PackFile>()
  private readonly packStates = new Map<number, PackState>()
  /** Packs the index names that are missing, short or with a damaged header, and what is wrong (Store.openPack). */
  private readonly damagedPacks = new Map<number, string>()
  /** The packs of damagedPacks whose files are missing. */
  private readonly missingPackIds = new Set<number>()
  private closed = false
  private inserting = false
  /**
   * Set when an index batch failed to write: it may still have reached LevelDB's log, naming pack bytes
   * this process no longer trusts, so this Store takes no more inserts (reopening sorts it out: open
   * trims what the index does not vouch for).
   */
  private indexWriteFailure: unknown
  /** The private index copy of a read-only store (StoreOptions.readOnly). */
  private snapshotPath: string | undefined
  /** The store format the index records (`M format`); a commit raises it to STORE_FORMAT_VERSION. */
  private format = STORE_FORMAT_VERSION

  private constructor(readonly dir: string, private readonly db: KeyValueStore, private readonly settings: StoreSettings) {}

  /**
   * Opens the store in `dir`, creating it when `options.create` is set.
   * @throws VSTORE_NOT_FOUND when there is no store and `create` is not set; VSTORE_LOCKED when another
   * process has it open; VSTORE_UNSUPPORTED for another format version.
   */
  static async open(dir: string, options: StoreOptions = {}): Promise<Store> {
    const settings = resolveSettings(options)
    if (options.readOnly === true) return Store.openSnapshot(dir, settings)
    // An index repair killed part-way is finished (or undone) before anything reads the index.
    await readingIndex(dir, () => finishIndexSwap(dir))
    if (!(await exists(indexPath(dir)))) {
      if (!options.create) throw new VstoreError('VSTORE_NOT_FOUND', 'no store here (create one with `vstore init`)', dir)
      await Store.createIndex(dir)
    }
    await mkdir(packsPath(dir), { recursive: true })
    // Before LevelDB opens: it would read a damaged block unchecked, and a compaction could write what it
    // read into new tables with good checksums, hiding the damage for good.
    const damage = await readingIndex(dir, () => findIndexDamage(indexPath(dir)))
    if (damage.length > 0) {
      const owner = await liveOwner(dir)
      if (owner !== undefined) throw new VstoreError('VSTORE_LOCKED', `store is open for writing in another process (${describeOwner(owner, Date.now())})`, dir)
      throw damagedIndexError(dir, damage)
    }
    let db: KeyValueStore
    try {
      db = await openLevelDb(indexPath(dir), `${dir}/index`, { create: false })
    } catch (error) {
      if (error instanceof VstoreError && error.code === 'VSTORE_LOCKED') {
        throw new VstoreError('VSTORE_LOCKED', `store is open for writing in another process (${describeOwner(await liveOwner(dir), Date.now())})`, dir, { cause: error })
      }
      throw error
    }
    // LevelDB's lock is the lock (the kernel drops it when its process dies, so a dead owner never
    // blocks anyone); this file only says who holds it, for the next process's error message.
    await writeOwner(dir, Date.now())
    const store = new Store(dir, db, settings)
    try {
      await store.load()
    } catch (error) {
      await store.close()
      throw error
    }
    return store
  }

  /**
   * Makes a new store's index whole before it exists under its name: a LevelDB with its format record
   * is built beside it, closed, renamed into place, and the directory synced. A creator killed half-way
   * leaves only a staging folder (removed by a later open), never an index without its format record.
   */
  private static async createIndex(dir: string): Promise<void> {
    await mkdir(packsPath(dir), { recursive: true })
    const staging = `${indexPath(dir)}.new-${process.pid}-${Date.now()}`
    const db = await openLevelDb(staging, staging, { create: true })
    try {
      await db.write([{ key: encodeMetaKey('format'), value: Uint8Array.of(STORE_FORMAT_VERSION) }], { sync: true })
    } finally {
      await db.close()
    }
    try {
      await rename(staging, indexPath(dir))
    } catch (error) {
      await rm(staging, { recursive: true, force: true })
      // Another process created the store first: use its index.
      const code = (error as { code?: string }).code
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw new VstoreError('VSTORE_IO', `cannot create the index: ${(error as Error).message}`, dir, { cause: error })
    }
    await syncDirectory(packsPath(dir))
    await syncDirectory(dir)
    // The store directory's own entry (mkdir above may have made it) must survive a power cut too.
    await syncDirectory(dirname(resolve(dir)))
  }

  /**
   * Rebuilds the damaged index of the store in `dir` from every entry that can still be read (the packs
   * are left as they are) and swaps it in, crash-safe (lib/store/index-repair.ts); nothing is written when
   * the index is whole. A writer refuses a damaged index, so this comes before `open`; `repair` then deals
   * with damaged packs.
   * @throws VSTORE_LOCKED when a live writer holds the store; VSTORE_IO when the index cannot be read.
   */
  static async repairIndex(dir: string): Promise<IndexRepairSummary> {
    await readingIndex(dir, () => finishIndexSwap(dir))
    return readingIndex(dir, () => repairIndex(dir, `${dir}/index`, STORE_FORMAT_VERSION))
  }

  /**
   * What `verify` can say of a store whose index LevelDB refuses to open (`openError`): the keys its files
   * still hold, read without LevelDB (lib/index/leveldb-files.ts), all of them unreadable now, and the
   * damaged blocks or records with the keys found in them.
   */
  static async verifyUnopenable(dir: string, openError: VstoreError): Promise<VerifyReport> {
    const salvaged = await salvageLevelDbKeys(indexPath(dir))
    const all = textKeysOf([...salvaged.keysByFile.values()].flat())
    const problems: VerifyProblem[] = [
      { code: openError.code, where: openError.where, message: `the index does not open: ${openError.message}`, keys: all },
      ...salvaged.damaged.map(part => ({ code: 'VSTORE_CORRUPT' as const, where: `index/${part.file}`, message: part.message, keys: textKeysOf(part.keys) })),
    ]
    return { textCount: all.length, groupCount: 0, full: false, problems }
  }

  /**
   * See StoreOptions.readOnly. A pack the copy names may be gone by the time it is opened, when the writer
   * committed a repack (Store.pack) in between: then the index is copied again (a repack's packs outlive
   * the next copy).
   */
  private static async openSnapshot(dir: string, settings: StoreSettings): Promise<Store> {
    for (let attempt = 1; ; attempt++) {
      const store = await Store.openSnapshotOnce(dir, settings)
      // A pack the copy names that is gone: a writer's repack committed in between (its new packs outlive
      // the next copy), or, every time, damage.
      if (store.missingPackIds.size === 0 || attempt >= SNAPSHOT_ATTEMPTS) return store
      await store.close()
    }
  }

  private static async openSnapshotOnce(dir: string, settings: StoreSettings): Promise<Store> {
    const index = await readableIndexPath(dir)
    if (!(await exists(index))) throw new VstoreError('VSTORE_NOT_FOUND', 'no store here (create one with `vstore init`)', dir)
    const copy = await copyIndexSnapshot(index, `${dir}/index`)
    let db: KeyValueStore
    let check: IndexCheck | undefined
    try {
      // A reader reads around damage: what a damaged part may hold is an error, the rest is served.
      check = await readingIndex(dir, () => IndexCheck.open(copy))
      db = await openLevelDb(copy, `${dir}/index`, { create: false, check })
    } catch (error) {
      await check?.close()
      await rm(copy, { recursive: true, force: true })
      throw error
    }
    const store = new Store(dir, db, settings)
    store.snapshotPath = copy
    try {
      await store.load()
    } catch (error) {
      await store.close()
      throw error
    }
    return store
  }

  private async load(): Promise<void> {
    const formatKey = encodeMetaKey('format')
    const format = await this.db.get(formatKey)
    if (format === undefined) {
      throw new VstoreError('VSTORE_CORRUPT', 'index has no format record', `${this.dir}/index`)
    } else if (format.length !== 1) {
      throw new VstoreError('VSTORE_CORRUPT', `format record of ${format.length} bytes, expected 1`, `${this.dir}/index`)
    } else if (!READABLE_STORE_FORMATS.includes(format[0] as number)) {
      throw new VstoreError('VSTORE_UNSUPPORTED', `store format ${format[0]}, this build reads ${READABLE_STORE_FORMATS.join(' and ')}`, `${this.dir}/index`)
    }
    this.format = format[0] as number
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_PACK))) {
      const packId = decodePackKey(key)
      this.packStates.set(packId, decodePackValue(key, value, `index:${packName(packId)}`))
    }
    if (this.snapshotPath !== undefined) {
      // A reader beside a live writer: packs only grow past what this index vouches for; change nothing.
      for (const packId of this.packStates.keys()) await this.openPack(packId, { writable: false })
      return
    }
    // A writer that died may have left spill files, a pack tail, or a whole pack that no index batch
    // names. This process holds the lock, so none of it belongs to a live writer.
    await rm(tmpPath(this.dir), { recursive: true, force: true })
    for (const name of await readdir(this.dir)) {
      const staging = /^index\.new-(\d+)-\d+$/.exec(name)
      if (staging && !processAlive(Number(staging[1]))) await rm(`${this.dir}/${name}`, { recursive: true, force: true })
    }
    for (const name of await readdir(packsPath(this.dir))) {
      const packId = parsePackFileName(name)
      if (packId !== undefined && !this.packStates.has(packId)) await rm(packPath(this.dir, packId), { force: true })
    }
    for (const packId of this.packStates.keys()) await this.openPack(packId, { writable: true })
  }

  /**
   * Opens a pack the index names. A damaged pack (missing, shorter than the index vouches for, or with a
   * damaged header) does not stop the store from opening: it is noted in `damagedPacks`, its intact groups
   * are still read (each is checked by its own CRC-32 and each text by its hash), reads of the rest fail
   * naming their keys, `verify` names what it takes with it, and `repair` drops that. A writer trims a tail
   * past the committed length (a writer that died mid-batch left it) and never appends to a damaged pack.
   */
  private async openPack(packId: number, options: { writable: boolean }): Promise<void> {
    const state = this.packStates.get(packId) as PackState
    let pack: PackFile
    try {
      pack = await PackFile.open(packPath(this.dir, packId), packName(packId), { ...options, counter: this.readCounter, tolerateDamagedHeader: true })
    } catch (error) {
      if (!(error instanceof VstoreError && error.code === 'VSTORE_NOT_FOUND')) throw error
      this.damagedPacks.set(packId, 'the pack named by the index is missing')
      this.missingPackIds.add(packId)
      return
    }
    this.packs.set(packId, pack)
    if (pack.headerProblem !== undefined) this.damagedPacks.set(packId, `its header is damaged: ${pack.headerProblem.message}`)
    if (pack.byteLength < state.committedByteLength) {
      this.damagedPacks.set(packId, `it has ${pack.byteLength} bytes, the index vouches for ${state.committedByteLength}`)
    } else if (options.writable && pack.byteLength > state.committedByteLength) {
      await pack.truncate(state.committedByteLength)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const pack of this.packs.values()) await pack.close()
    this.packs.clear()
    // The owner file names this process only while it holds the lock (taken away before the lock goes).
    if (this.snapshotPath === undefined) await rm(ownerPath(this.dir), { force: true }).catch(() => undefined)
    await this.db.close()
    if (this.snapshotPath !== undefined) await rm(this.snapshotPath, { recursive: true, force: true })
  }

  private checkOpen(): void {
    if (this.closed) throw new VstoreError('VSTORE_IO', 'store is closed', this.dir)
  }

  // ---- reading ----

  /** The index entry of a key, or undefined. */
  async tryGetEntry(file: string, rev: string): Promise<TextEntry | undefined> {
    this.checkOpen()
    const key = encodeTextKey({ file, rev })
    let value: Uint8Array | undefined
    try {
      value = await this.db.get(key)
    } catch (error) {
      throw this.naming(error, { file, rev })
    }
    return value === undefined ? undefined : decodeTextValue(key, value, `index:${describeKey({ file, rev })}`)
  }

  /** @throws VSTORE_NOT_FOUND when the key is not stored. */
  async getEntry(file: string, rev: string): Promise<TextEntry> {
    const entry = await this.tryGetEntry(file, rev)
    if (entry === undefined) throw new VstoreError('VSTORE_NOT_FOUND', 'no such text', describeKey({ file, rev }))
    return entry
  }

  async has(file: string, rev: string): Promise<boolean> {
    return (await this.tryGetEntry(file, rev)) !== undefined
  }

  /**
   * The text of one version: one index lookup, one read of at most `readByteLength` bytes, a prefix
   * decode, one delta applied, and the content hash checked.
   * @throws VSTORE_NOT_FOUND for an unknown key; VSTORE_CORRUPT (naming the key) when the bytes are damaged.
   */
  async get(file: string, rev: string): Promise<Uint8Array> {
    return this.getText({ file, rev }, MAX_BASE_DEPTH)
  }

  /** A text whose group may name a base at most `depthLeft` hops deep. */
  private async getText(key: TextKey, depthLeft: number, bases?: BaseTextCache): Promise<Uint8Array> {
    const entry = await this.getEntry(key.file, key.rev)
    const bytes = await this.readGroupBytes(entry, entry.readByteLength, key)
    return this.rebuild(bytes, [{ key, location: entry }], entry.recordEnd, depthLeft, bases).then(texts => texts[0] as Uint8Array)
  }

  /**
   * The base text a group's content names (undefined when it names none), rebuilt and checked against
   * the length and hash the base record gives.
   * @throws VSTORE_CORRUPT, naming `key`, when the base is missing, damaged or the chain too deep.
   */
  private async baseTextOf(content: Uint8Array, where: string, key: TextKey, depthLeft: number, rebuilt?: ReadonlyMap<string, Uint8Array>, bases?: BaseTextCache): Promise<Uint8Array | undefined> {
    try {
      const based = decodeGroupBase(content, where, DEFAULT_GROUP_LIMITS)
      if (based === undefined) return undefined
      const baseKey = { file: based.base.file, rev: based.base.rev }
      if (depthLeft <= 0) throw new VstoreError('VSTORE_CORRUPT', `base chain deeper than ${MAX_BASE_DEPTH} at ${describeKey(baseKey)}`, where)
      let text: Uint8Array
      try {
        // A text verify has just rebuilt (and hashed) need not be rebuilt through its chain again.
        text = rebuilt?.get(describeKey(baseKey)) ?? bases?.get(describeKey(baseKey)) ?? (await this.getText(baseKey, depthLeft - 1, bases))
        bases?.set(describeKey(baseKey), text)
      } catch (error) {
        if (error instanceof VstoreError && error.code === 'VSTORE_NOT_FOUND') {
          throw new VstoreError('VSTORE_CORRUPT', `base text ${describeKey(baseKey)} is not in the index`, where, { cause: error })
        }
        throw error
      }
      if (text.length !== based.base.textByteLength || !bytesEqual(hashText(text), based.base.hash)) {
        throw new VstoreError('VSTORE_CORRUPT', `base text ${describeKey(baseKey)} does not match the base record's length and hash`, where)
      }
      return text
    } catch (error) {
      throw this.naming(error, key)
    }
  }

  /** Like get, but undefined for a key that is not stored. */
  async tryGet(file: string, rev: string): Promise<Uint8Array | undefined> {
    return (await this.has(file, rev)) ? this.get(file, rev) : undefined
  }

  /**
   * The texts of many keys, reading each group once however many of its keys are asked. Yields in
   * group order (not the order asked).
   * @throws VSTORE_NOT_FOUND, before reading anything, if any key is not stored.
   */
  async *getMany(keys: Iterable<TextKey> | AsyncIterable<TextKey>): AsyncGenerator<TextKey & { text: Uint8Array }> {
    const located: { key: TextKey; location: TextLocation }[] = []
    for await (const key of keys) located.push({ key, location: await this.getEntry(key.file, key.rev) })
    yield* this.readLocated(located)
  }

  /** getMany for keys whose index entries the caller has read already (annotate reads a file's at once). */
  private async *readLocated(located: readonly { key: TextKey; location: TextLocation }[], bases?: BaseTextCache): AsyncGenerator<TextKey & { text: Uint8Array }> {
    const byGroup = new Map<string, { key: TextKey; location: TextLocation }[]>()
    for (const { key, location } of located) {
      const list = byGroup.get(groupKeyOf(location))
      if (list) list.push({ key, location })
      else byGroup.set(groupKeyOf(location), [{ key, location }])
    }
    for (const wanted of byGroup.values()) {
      const first = wanted[0] as { key: TextKey; location: TextLocation }
      const readByteLength = Math.max(...wanted.map(w => w.location.readByteLength))
      const recordEnd = Math.max(...wanted.map(w => w.location.recordEnd))
      const bytes = await this.readGroupBytes(first.location, readByteLength, first.key)
      const texts = await this.rebuild(bytes, wanted, recordEnd, MAX_BASE_DEPTH, bases)
      for (let i = 0; i < wanted.length; i++) yield { ...(wanted[i] as { key: TextKey }).key, text: texts[i] as Uint8Array }
    }
  }

  /** The open pack, or VSTORE_CORRUPT naming `key` (or the pack) when it is missing. */
  private packFile(packId: number, key?: TextKey): PackFile {
    const pack = this.packs.get(packId)
    if (pack === undefined) {
      const why = this.damagedPacks.get(packId) ?? 'the index names no such pack'
      throw new VstoreError('VSTORE_CORRUPT', `${packName(packId)}: ${why} (\`vstore repair\` keeps what can be read)`, key === undefined ? packName(packId) : describeKey(key))
    }
    return pack
  }

  /** @throws VSTORE_CORRUPT, naming `key`, when the pack is missing or ends first. */
  private async readGroupBytes(location: TextLocation, readByteLength: number, key: TextKey): Promise<Uint8Array> {
    this.checkOpen()
    const pack = this.packFile(location.packId, key)
    const state = this.packStates.get(location.packId)
    if (state === undefined || location.groupOffset + readByteLength > state.committedByteLength) {
      throw new VstoreError('VSTORE_CORRUPT', `index points past the end of ${packName(location.packId)}`, describeKey(key))
    }
    try {
      return await pack.read(location.groupOffset, readByteLength)
    } catch (error) {
      throw this.naming(error, key)
    }
  }

  private async rebuild(groupBytes: Uint8Array, wanted: readonly { key: TextKey; location: TextLocation }[], recordEnd: number, depthLeft: number, bases?: BaseTextCache): Promise<Uint8Array[]> {
    const first = wanted[0] as { key: TextKey; location: TextLocation }
    const where = `${packName(first.location.packId)}@${first.location.groupOffset}`
    let content: Uint8Array
    try {
      content = await decodeGroupPrefix(groupBytes, recordEnd, where, DEFAULT_GROUP_LIMITS, Math.max(...wanted.map(w => w.location.decodedByteLength)))
    } catch (error) {
      throw this.naming(error, first.key)
    }
    const baseText = await this.baseTextOf(content, where, first.key, depthLeft, undefined, bases)
    // Texts of one group often rebuild through each other (deltas on the previous version): once each.
    const rebuilt = new Map<number, Uint8Array>()
    const handedOut = new Set<Uint8Array>()
    return wanted.map(({ key, location }) => {
      try {
        const decoded = decodeRecord(content, location.recordStart, location.recordEnd, where, DEFAULT_GROUP_LIMITS, baseText, rebuilt)
        // Keys stored once (identical texts) share a record: each caller gets bytes of its own.
        const text = handedOut.has(decoded) ? decoded.slice() : decoded
        handedOut.add(decoded)
        if (text.length !== location.textByteLength) {
          throw new VstoreError('VSTORE_CORRUPT', `rebuilt ${text.length} bytes, index says ${location.textByteLength}`, where)
        }
        if (!bytesEqual(hashText(text), location.hash)) throw new VstoreError('VSTORE_CORRUPT', 'rebuilt text does not match its content hash', where)
        return text
      } catch (error) {
        throw this.naming(error, key)
      }
    })
  }

  /** @throws VSTORE_LIMIT when a text of `byteLength` bytes is longer than this store takes (StoreOptions.maxTextByteLength). */
  private checkTextByteLength(byteLength: number, key: TextKey): void {
    if (byteLength > this.settings.maxTextByteLength) {
      throw new VstoreError('VSTORE_LIMIT', `${byteLength} bytes, over the limit of ${this.settings.maxTextByteLength} bytes for one text (maxTextByteLength, --max-text-size)`, describeKey(key))
    }
  }

  /** Re-labels a decoding error with the key it affects. */
  private naming(error: unknown, key: TextKey): unknown {
    if (!(error instanceof VstoreError)) return error
    return new VstoreError(error.code, `${error.where}: ${error.message}`, describeKey(key), { cause: error })
  }

  /** @throws VSTORE_NOT_FOUND for an unknown key. */
  async parents(file: string, rev: string): Promise<readonly string[]> {
    return (await this.getEntry(file, rev)).parents
  }

  /** Index entries of one file, in key order. */
  private async *fileEntries(file: string): AsyncGenerator<TextKey & { entry: TextEntry }> {
    this.checkOpen()
    try {
      // Damage the file's keys may sit in is an error before the first entry: a history is whole or an error.
      for await (const [key, value] of this.db.entries(encodeFilePrefix(file))) {
        const textKey = decodeTextKey(key)
        yield { ...textKey, entry: decodeTextValue(key, value, `index:${describeKey(textKey)}`) }
      }
    } catch (error) {
      if (!(error instanceof VstoreError) || !error.where.endsWith('/index')) throw error
      throw new VstoreError(error.code, error.message, `index:${file}`, { cause: error })
    }
  }

  /** Revisions of `file`, parents before children (empty for an unknown file). */
  async revisions(file: string): Promise<string[]> {
    const items: { file: string; rev: string; parents: readonly string[] }[] = []
    for await (const { rev, entry } of this.fileEntries(file)) items.push({ file, rev, parents: entry.parents })
    return writeOrder(items).reverse().map(i => (items[i] as { rev: string }).rev)
  }

  /** Revisions of `file` that no other revision of it names as a parent, newest first (empty for an unknown file). */
  async heads(file: string): Promise<string[]> {
    const items: { file: string; rev: string; parents: readonly string[] }[] = []
    const named = new Set<string>()
    for await (const { rev, entry } of this.fileEntries(file)) {
      items.push({ file, rev, parents: entry.parents })
      for (const parent of entry.parents) named.add(parent)
    }
    return writeOrder(items).map(i => (items[i] as { rev: string }).rev).filter(rev => !named.has(rev))
  }

  /**
   * For each line of one version, the revision of the file that introduced it and its line number there,
   * following the file's own graph through merges (like `git blame`; lib/store/annotate.ts).
   * @throws VSTORE_NOT_FOUND for an unknown key; VSTORE_CORRUPT when a parent named in the index is missing.
   */
  async annotate(file: string, rev: string): Promise<AnnotatedLine[]> {
    const entries = new Map<string, TextEntry>()
    for await (const row of this.fileEntries(file)) entries.set(row.rev, row.entry)
    if (!entries.has(rev)) throw new VstoreError('VSTORE_NOT_FOUND', 'no such text', describeKey({ file, rev }))
    return annotate(rev, {
      entry: r => {
        const entry = entries.get(r)
        if (entry === undefined) throw new VstoreError('VSTORE_CORRUPT', 'a parent named in the index is not stored', describeKey({ file, rev: r }))
        return entry
      },
      texts: async revs => {
        const read = new Map<string, Uint8Array>()
        for await (const { rev: r, text } of this.readLocated(revs.map(r => ({ key: { file, rev: r }, location: entries.get(r) as TextEntry })))) read.set(r, text)
        return read
      },
    })
  }

  /** The length of a stored text, from the index alone (nothing is read from the packs). @throws VSTORE_NOT_FOUND. */
  async size(file: string, rev: string): Promise<number> {
    return (await this.getEntry(file, rev)).textByteLength
  }

  /** `file`'s revisions and parents, from the index alone. */
  private async fileParents(file: string): Promise<Map<string, readonly string[]>> {
    const parents = new Map<string, readonly string[]>()
    for await (const { rev, entry } of this.fileEntries(file)) parents.set(rev, entry.parents)
    return parents
  }

  /** `file`'s ancestry as a graphlib graph: a node per revision, an edge from each parent to its child (empty for an unknown file). */
  async ancestry(file: string): Promise<AncestryGraph> {
    return ancestryGraph([...(await this.fileParents(file))].map(([rev, parents]) => ({ rev, parents })))
  }

  /**
   * The best common ancestors of two revisions of `file` in its own graph (like `git merge-base --all`):
   * several after criss-cross merges, none for unrelated lines. A revision counts as its own ancestor.
   * @throws VSTORE_NOT_FOUND when either revision is not stored.
   */
  async commonAncestors(file: string, a: string, b: string): Promise<string[]> {
    const parents = await this.fileParents(file)
    for (const rev of [a, b]) if (!parents.has(rev)) throw new VstoreError('VSTORE_NOT_FOUND', 'no such text', describeKey({ file, rev }))
    return commonAncestorsOf(a, b, rev => parents.get(rev))
  }

  /**
   * The one stored revision of `file` that starts with `prefix` (a whole revision id always matches itself).
   * @throws VSTORE_NOT_FOUND when none does, VSTORE_USAGE when several do.
   */
  async resolveRevision(file: string, prefix: string): Promise<string> {
    if (await this.has(file, prefix)) return prefix
    const matches = new Set<string>()
    for (const keyPrefix of encodeRevisionPrefixes(file, prefix)) {
      for await (const [key] of this.db.entries(keyPrefix)) {
        const { rev } = decodeTextKey(key)
        if (rev.startsWith(prefix)) matches.add(rev)
        if (matches.size > 1) break
      }
    }
    if (matches.size === 0) throw new VstoreError('VSTORE_NOT_FOUND', 'no such revision', describeKey({ file, rev: prefix }))
    if (matches.size > 1) throw new VstoreError('VSTORE_USAGE', `revision prefix is ambiguous (${[...matches].join(', ')})`, describeKey({ file, rev: prefix }))
    return [...matches][0] as string
  }

  /** Every key with its index entry, in index order. */
  async *entries(filePrefix?: string): AsyncGenerator<TextKey & { entry: TextEntry }> {
    this.checkOpen()
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_TEXT))) {
      const textKey = decodeTextKey(key)
      if (filePrefix !== undefined && !textKey.file.startsWith(filePrefix)) continue
      yield { ...textKey, entry: decodeTextValue(key, value, `index:${describeKey(textKey)}`) }
    }
  }

  /** Distinct file ids, sorted. */
  async files(): Promise<string[]> {
    const files = new Set<string>()
    for await (const { file } of this.entries()) files.add(file)
    return [...files].sort()
  }

  private async totals(): Promise<Totals> {
    const key = encodeMetaKey('totals')
    const value = await this.db.get(key)
    return value === undefined ? { textCount: 0, rawByteLength: 0, groupCount: 0 } : decodeTotalsValue(key, value, 'index:totals')
  }

  async stats(): Promise<StoreStats> {
    const files = new Set<string>()
    const reads: number[] = []
    const decoded: number[] = []
    let rawByteLength = 0
    for await (const { file, entry } of this.entries()) {
      files.add(file)
      reads.push(entry.readByteLength + entry.baseReadByteLength)
      decoded.push(entry.decodedByteLength + entry.baseDecodedByteLength)
      rawByteLength += entry.textByteLength
    }
    const packByteLength = [...this.packStates.values()].reduce((sum, state) => sum + state.committedByteLength, 0)
    const indexByteLength = await directoryByteLength(indexPath(this.dir))
    return {
      textCount: reads.length,
      fileCount: files.size,
      groupCount: (await this.totals()).groupCount,
      packCount: this.packStates.size,
      storeByteLength: packByteLength + indexByteLength,
      packByteLength,
      indexByteLength,
      rawByteLength,
      readByteLength: distribution(reads),
      decompressedByteLength: distribution(decoded),
    }
  }

  // ---- writing ----

  /**
   * Stores a batch of texts. Nothing of the batch is visible until all of it is durable; a key already
   * stored with the same content is skipped, so an insert can be repeated.
   * @throws VSTORE_MISSING_PARENT when a parent is neither stored nor earlier in the batch;
   * VSTORE_EXISTS when a key is already stored (or repeated in the batch) with other content.
   * In both cases nothing of the batch is stored.
   */
  async insert(records: Iterable<TextRecord> | AsyncIterable<TextRecord>, options: InsertOptions = {}): Promise<InsertSummary> {
    return this.writing(() => this.insertAlone(records, options))
  }

  /**
   * Runs one write (an insert or a pack) as this store's only writer.
   * @throws VSTORE_USAGE on a read-only store; VSTORE_LOCKED while another write runs; VSTORE_IO after a
   * failed index write.
   */
  private async writing<T>(write: () => Promise<T>): Promise<T> {
    this.checkOpen()
    // Two writes would append at the same pack offsets; one process has one writer at a time.
    if (this.snapshotPath !== undefined) throw new VstoreError('VSTORE_USAGE', 'this store was opened read-only', this.dir)
    if (this.inserting) throw new VstoreError('VSTORE_LOCKED', 'another insert is running on this store', this.dir)
    if (this.indexWriteFailure !== undefined) {
      throw new VstoreError('VSTORE_IO', 'an earlier index write failed; reopen the store to write again', this.dir, { cause: this.indexWriteFailure })
    }
    this.inserting = true
    try {
      return await write()
    } finally {
      this.inserting = false
    }
  }

  private async insertAlone(records: Iterable<TextRecord> | AsyncIterable<TextRecord>, options: InsertOptions): Promise<InsertSummary> {
    await mkdir(tmpPath(this.dir), { recursive: true })
    const spill = new TextSpill(tmpPath(this.dir), `insert-${process.pid}-${Date.now()}`, { memoryByteLength: SPILL_MEMORY_BYTE_LENGTH })
    try {
      const batch: Pending[] = []
      const seen = new Map<string, Map<string, { hash: Uint8Array; parents: readonly string[] }>>()
      let textCount = 0
      let rawByteLength = 0
      let newRawByteLength = 0
      const progress = { phase: 'reading' as const, writtenTextCount: 0, writtenRawByteLength: 0, groupCount: 0, storedByteLength: 0 }
      for await (const record of records) {
        checkRecord(record)
        this.checkTextByteLength(record.text.length, record)
        textCount++
        rawByteLength += record.text.length
        const hash = hashText(record.text)
        const inBatch = seen.get(record.file)?.get(record.rev)
        const stored = inBatch ?? (await this.tryGetEntry(record.file, record.rev))
        if (stored !== undefined) {
          if (!bytesEqual(stored.hash, hash)) throw new VstoreError('VSTORE_EXISTS', 'this key is already stored with other content', describeKey(record))
          if (!sameParents(stored.parents, record.parents)) {
            throw new VstoreError('VSTORE_EXISTS', `this key is already stored with parents [${stored.parents.join(', ')}]`, describeKey(record))
          }
        } else {
          for (const parent of record.parents) {
            if (seen.get(record.file)?.has(parent) || (await this.has(record.file, parent))) continue
            throw new VstoreError('VSTORE_MISSING_PARENT', `parent ${parent} is neither stored nor earlier in this batch`, describeKey(record))
          }
          const parents = [...new Set(record.parents)]
          const revs = seen.get(record.file) ?? new Map<string, { hash: Uint8Array; parents: readonly string[] }>()
          revs.set(record.rev, { hash, parents })
          seen.set(record.file, revs)
          batch.push({ file: record.file, rev: record.rev, parents, ref: await spill.append(record.text), hash })
          newRawByteLength += record.text.length
        }
        options.onProgress?.({ ...progress, textCount, rawByteLength, newTextCount: batch.length, newRawByteLength })
      }
      return await this.writeBatch(batch, spill, { textCount, rawByteLength, newRawByteLength }, options)
    } finally {
      await spill.close()
    }
  }

  private async writeBatch(
    batch: readonly Pending[],
    spill: TextSource,
    counts: { textCount: number; rawByteLength: number; newRawByteLength: number },
    options: InsertOptions,
    repack?: Repack,
    adoption?: Adoption,
  ): Promise<InsertSummary> {
    const { textCount, rawByteLength, newRawByteLength } = counts
    let writtenTextCount = 0
    let writtenRawByteLength = 0
    const report = () => options.onProgress?.({
      phase: 'writing', textCount, rawByteLength, newTextCount: batch.length, newRawByteLength, writtenTextCount, writtenRawByteLength, groupCount, storedByteLength,
    })
    const locations = new Map<number, TextLocation>()
    /** Stored texts this batch's groups may start on (the writer's ids from batch.length on). */
    const stored: StoredBase[] = []
    const batchKeys = new Set(batch.map(describeKey))
    const sameAs = new Map<number, number>()
    const firstWithHash = new Map<string, number>()
    let newHashes: number[] = []
    let storedTextCount = 0
    let touched = new Map<number, PackState>()
    let created: number[] = []
    let groupCount = 0
    let storedByteLength = 0
    let operationCount = 0
    /** Texts placed since the last commit, in write order. */
    let uncommitted: number[] = []
    let committedGroupCount = 0
    let committedRawByteLength = 0
    let lastCheckpointRawByteLength = 0
    /** A fetch's groups copied whole, until the commit that indexes them. */
    let adopted: AdoptedGroups | undefined

    const onSealed = async (group: SealedGroup<number>): Promise<void> => {
      const { packId, offset } = await this.appendGroup(group.bytes, touched, created, repack?.firstPackId ?? 0)
      groupCount++
      storedByteLength += group.bytes.length
      for (const record of group.records) {
        const item = batch[record.id] as Pending
        locations.set(record.id, {
          packId,
          groupOffset: offset,
          readByteLength: record.readByteLength,
          recordStart: record.recordStart,
          recordEnd: record.recordEnd,
          decodedByteLength: record.decodedByteLength,
          textByteLength: record.textByteLength,
          hash: item.hash,
          baseDepth: record.baseDepth,
          baseReadByteLength: record.baseReadByteLength,
          baseDecodedByteLength: record.baseDecodedByteLength,
        })
      }
    }
    const writer = new GroupWriter<number>({
      maxContentByteLength: this.settings.maxContentByteLength,
      maxReadByteLength: this.settings.maxReadByteLength,
      readChunkByteLength: this.settings.readChunkByteLength,
      codec: this.settings.codecInstance,
      matcher: { minCopyByteLength: this.settings.minCopyByteLength },
      largeTextFactor: this.settings.largeTextFactor,
      maxBaseDepth: this.settings.maxBaseDepth,
      maxRebuildByteLength: this.settings.maxRebuildByteLength,
      largeText: { minByteLength: this.settings.maxContentByteLength, minCopyByteLength: Math.min(LARGE_TEXT_MIN_COPY_BYTE_LENGTH, this.settings.minCopyByteLength) },
    }, onSealed, id => (id < batch.length ? spill.read((batch[id] as Pending).ref) : this.get((stored[id - batch.length] as StoredBase).file, (stored[id - batch.length] as StoredBase).rev)), {
      describe: id => {
        if (id >= batch.length) {
          const { file, rev, entry } = stored[id - batch.length] as StoredBase
          return { file, rev, textByteLength: entry.textByteLength, hash: entry.hash }
        }
        const item = batch[id] as Pending
        return { file: item.file, rev: item.rev, textByteLength: item.ref.byteLength, hash: item.hash }
      },
      cost: id => {
        const location = id < batch.length ? locations.get(id) : (stored[id - batch.length] as StoredBase).entry
        if (location === undefined) throw new Error('vstore bug: a base was used before its group was written')
        return {
          readByteLength: location.readByteLength + location.baseReadByteLength,
          decodedByteLength: location.decodedByteLength + location.baseDecodedByteLength,
          baseDepth: location.baseDepth,
        }
      },
    })

    /**
     * Makes every text placed so far durable and visible: seals the open group, fsyncs the packs (and
     * the packs directory after a new pack), then one synced LevelDB batch. Only ever called between
     * files, so each file's texts become visible together with their parents.
     */
    const commit = async (): Promise<void> => {
      await writer.flush()
      // A rewrite that keeps no text still leaves a pack (its header alone) numbered after the old ones,
      // so that no later pack takes the number, and the name, of one a reader's older index copy names.
      if (repack !== undefined && repack.oldPackIds.length > 0 && touched.size === 0) {
        touched.set(repack.firstPackId, await this.createPack(repack.firstPackId, created))
      }
      for (const packId of touched.keys()) await (this.packs.get(packId) as PackFile).sync()
      if (created.length > 0) await syncDirectory(packsPath(this.dir))
      const operations: { key: Uint8Array; value: Uint8Array | undefined }[] = []
      let rawBytes = 0
      for (const index of uncommitted) {
        const item = batch[index] as Pending
        const earlier = sameAs.get(index)
        const location = locations.get(earlier ?? index) as TextLocation
        const key = encodeTextKey(item)
        operations.push({ key, value: encodeTextValue(key, { ...location, parents: item.parents }) })
        rawBytes += item.ref.byteLength
      }
      for (const index of newHashes) {
        const key = encodeHashKey((batch[index] as Pending).hash)
        operations.push({ key, value: encodeLocationValue(key, locations.get(index) as TextLocation) })
      }
      for (const [packId, state] of touched) {
        const key = encodePackKey(packId)
        operations.push({ key, value: encodePackValue(key, state) })
      }
      if (repack !== undefined) {
        // The same batch forgets the old packs (the next open deletes their files if this process cannot)
        // and every H record this batch does not rewrite.
        const rewritten = new Set(newHashes.map(index => toHex(encodeHashKey((batch[index] as Pending).hash))))
        for (const key of repack.oldHashKeys) if (!rewritten.has(toHex(key))) operations.push({ key, value: undefined })
        for (const packId of repack.oldPackIds) operations.push({ key: encodePackKey(packId), value: undefined })
        for (const key of repack.deletedTextKeys) operations.push({ key, value: undefined })
      }
      if (this.format !== STORE_FORMAT_VERSION) operations.push({ key: encodeMetaKey('format'), value: Uint8Array.of(STORE_FORMAT_VERSION) })
      operations.push(...(adopted?.operations ?? []))
      // A repack commits once, with every key: its totals start from nothing.
      const before = repack === undefined ? await this.totals() : { textCount: 0, rawByteLength: 0, groupCount: 0 }
      const totalsKey = encodeMetaKey('totals')
      operations.push({
        key: totalsKey,
        value: encodeTotalsValue(totalsKey, {
          textCount: before.textCount + uncommitted.length + (adopted?.textCount ?? 0),
          rawByteLength: before.rawByteLength + rawBytes + (adopted?.rawByteLength ?? 0),
          groupCount: before.groupCount + groupCount - committedGroupCount,
        }),
      })
      try {
        await this.db.write(operations, { sync: true })
      } catch (error) {
        this.indexWriteFailure = error
        throw error
      }
      for (const [packId, state] of touched) this.packStates.set(packId, state)
      for (const packId of repack?.oldPackIds ?? []) this.packStates.delete(packId)
      this.format = STORE_FORMAT_VERSION
      operationCount += operations.length
      committedGroupCount = groupCount
      committedRawByteLength += rawBytes
      lastCheckpointRawByteLength = writtenRawByteLength
      adopted = undefined
      uncommitted = []
      newHashes = []
      touched = new Map()
      created = []
    }

    // Texts over the group cap are written together, by revision (writeOrder), as one family for the
    // writer; with the small versions of their files they are committed as one unit, like a file.
    const large = { minByteLength: this.settings.maxContentByteLength, byteLength: (item: Pending) => item.ref.byteLength }
    const isLarge = (item: Pending) => item.ref.byteLength > large.minByteLength
    const largeFiles = new Set(batch.filter(isLarge).map(item => item.file))
    const familyOf = (item: Pending) => (largeFiles.has(item.file) ? LARGE_FAMILY : item.file)
    // A file whose history continues from an earlier batch starts its group on the stored version its
    // first text here descends from (the writer's ids past the batch name these), so that a commit's or a
    // release's texts are deltas, not fulltexts in groups of their own.
    const storedBaseOf = new Map<string, number>()
    for (const item of batch) {
      if (storedBaseOf.has(item.file) || largeFiles.has(item.file)) continue
      const parent = item.parents.find(rev => !batchKeys.has(describeKey({ file: item.file, rev })))
      if (parent === undefined) continue
      const entry = await this.tryGetEntry(item.file, parent)
      if (entry === undefined) continue
      storedBaseOf.set(item.file, batch.length + stored.length)
      stored.push({ file: item.file, rev: parent, entry })
    }
    const started = new Set<string>()
    try {
      // Copied before anything is compressed, and indexed by the first commit (a fetch makes only one).
      if (adoption !== undefined) {
        adopted = await adoption.run(async bytes => {
          const at = await this.appendGroup(bytes, touched, created, repack?.firstPackId ?? 0)
          groupCount++
          storedByteLength += bytes.length
          report()
          return at
        })
      }
      let previousFamily: string | undefined
      for (const index of writeOrder(batch, large)) {
        const item = batch[index] as Pending
        const family = familyOf(item)
        if (options.checkpointByteLength !== undefined && family !== previousFamily && uncommitted.length > 0
          && writtenRawByteLength - lastCheckpointRawByteLength >= options.checkpointByteLength) {
          await commit()
        }
        previousFamily = family
        writtenTextCount++
        writtenRawByteLength += item.ref.byteLength
        uncommitted.push(index)
        const hashHex = toHex(item.hash)
        const earlier = firstWithHash.get(hashHex)
        if (earlier !== undefined) {
          sameAs.set(index, earlier)
          continue
        }
        firstWithHash.set(hashHex, index)
        if (item.ref.byteLength >= HASH_RECORD_MIN_TEXT_BYTE_LENGTH) {
          // A repack rewrites every location: the H records there are still point into the old packs.
          const copied = adopted?.locationsByHash.get(hashHex)
          const { location, keyTaken } = copied !== undefined ? { location: copied, keyTaken: true }
            : repack === undefined ? await this.storedWithHash(item.hash) : { location: undefined, keyTaken: false }
          if (location !== undefined) {
            locations.set(index, location)
            continue
          }
          if (!keyTaken) newHashes.push(index)
        }
        storedTextCount++
        // Texts over the cap pass through bases instead: as a previous text each would hold megabytes more
        // in memory, and typescript stored 24 % larger with them (DESIGN.md).
        const first = !started.has(item.file)
        started.add(item.file)
        await writer.add(index, await spill.read(item.ref), isLarge(item) ? LARGE_FAMILY : item.file, isLarge(item) ? null : item.file, first ? storedBaseOf.get(item.file) : undefined)
        report()
      }
      await commit()
    } catch (error) {
      // What was not committed is not indexed: stop the group still compressing in the background
      // (it would append after the rollback), then drop what this insert appended to the packs.
      await writer.abort()
      // After a failed index write the batch may be in the index all the same: keep the pack bytes it
      // would name (the next open trims them if it is not).
      if (this.indexWriteFailure === undefined) await this.rollback(touched)
      throw error
    }
    // LevelDB keeps a fresh batch in its uncompressed log until the log fills; a large batch is
    // worth turning into tables now (jq: 750 KiB of log became 605 KiB of tables). Small batches
    // are left to LevelDB.
    if (operationCount >= COMPACT_AFTER_OPERATIONS) await this.db.compact()
    report()
    return {
      textCount,
      newTextCount: batch.length,
      duplicateTextCount: batch.length - storedTextCount,
      rawByteLength,
      newRawByteLength: committedRawByteLength,
      groupCount,
      storedByteLength,
    }
  }

  /**
   * Rewrites every text into new groups and packs, as one insert of the whole history would place them,
   * and drops the old packs: what many small inserts (a commit at a time, a release at a time) leave
   * as small groups without deltas across them becomes full groups again. One index batch switches every
   * key to the new packs; until then the old ones serve every read, and a repack killed at any point
   * leaves the store as it was (the next open deletes the unfinished packs, or, after that batch, the old
   * ones). Needs free disk space for the new packs only: the texts are read from the old packs as they are written.
   * @throws VSTORE_CORRUPT, naming the key, when a text cannot be rebuilt; nothing is changed then.
   */
  async pack(options: PackOptions = {}): Promise<PackSummary> {
    return this.writing(async () => (await this.rewriteAll(options, { salvage: false })).summary)
  }

  /**
   * Brings a damaged store back to one that verifies: every text that can still be read (its text rebuilt
   * and its hash checked; in a damaged group, each record before the damage) is kept and rewritten, as
   * `pack` rewrites, into new packs; the keys whose texts cannot be rebuilt are dropped from the index, and
   * a kept text whose parent was dropped takes that parent's nearest kept ancestors as its parents, so
   * every parent named is stored. Killed at any point, it leaves the store as it was or as repaired. A store
   * with nothing to repair (verify with checksums finds no problem) is left as it is.
   * @throws VSTORE_CORRUPT when the index itself is damaged (the store does not open for writing then).
   */
  async repair(options: PackOptions = {}): Promise<RepairSummary> {
    return this.writing(async () => {
      if ((await this.verify({ full: false })).problems.length === 0) {
        const totals = await this.totals()
        const packByteLength = [...this.packStates.values()].reduce((sum, state) => sum + state.committedByteLength, 0)
        return {
          repaired: false, textCount: totals.textCount, rawByteLength: totals.rawByteLength, oldGroupCount: totals.groupCount, groupCount: totals.groupCount,
          oldPackByteLength: packByteLength, packByteLength, lostKeys: [], reparented: [],
        }
      }
      const { summary, lostKeys, reparented } = await this.rewriteAll(options, { salvage: true })
      return { repaired: true, ...summary, lostKeys, reparented }
    })
  }

  /**
   * Pack and repair: reads every key (each group once, packs front to back), then writes them all as one
   * insert would, in one index batch that also forgets the old packs. With `salvage`, a group that cannot
   * be read whole is read key by key, and the keys that still fail are dropped (Store.repair).
   */
  private async rewriteAll(options: PackOptions, { salvage }: { salvage: boolean }): Promise<{ summary: PackSummary; lostKeys: TextKey[]; reparented: Reparented[] }> {
    const oldPackIds = [...this.packStates.keys()]
    const oldPackByteLength = [...this.packStates.values()].reduce((sum, state) => sum + state.committedByteLength, 0)
    const oldGroupCount = (await this.totals()).groupCount
    const keys: (TextKey & { entry: TextEntry })[] = []
    for await (const row of this.entries()) keys.push(row)
    const oldHashKeys: Uint8Array[] = []
    for await (const [key] of this.db.entries(Uint8Array.of(TAG_HASH))) oldHashKeys.push(key)
    // In the order the old groups hold them (each group read once, packs front to back): the old write
    // order, newest first along each file's history; reversed below into the history order writeOrder expects.
    const at = (entry: TextEntry) => [entry.packId, entry.groupOffset, entry.recordStart]
    keys.sort((a, b) => {
      const [x, y] = [at(a.entry), at(b.entry)]
      return (x[0] as number) - (y[0] as number) || (x[1] as number) - (y[1] as number) || (x[2] as number) - (y[2] as number)
    })
    const byGroup = new Map<string, (TextKey & { entry: TextEntry })[]>()
    for (const row of keys) {
      const rows = byGroup.get(groupKeyOf(row.entry))
      if (rows === undefined) byGroup.set(groupKeyOf(row.entry), [row])
      else rows.push(row)
    }
    // Keys whose texts cannot be read back (repair only; a pack stops at the first).
    const lostKeys = salvage ? await this.unreadableKeys(byGroup, options) : []
    const lost = new Set(lostKeys.map(describeKey))
    const kept = keys.filter(row => !lost.has(describeKey(row)))
    // The writer reads the texts from the old packs as it goes: a rewrite needs room for its new packs only.
    // Base texts rebuilt once: a store filled a commit at a time chains each file's groups through bases.
    const bases = new BaseTextCache(STORED_TEXTS_CACHE_BYTE_LENGTH)
    const source = new StoredTexts(kept, row => groupKeyOf(row.entry), rows => this.readRows(rows, bases), STORED_TEXTS_CACHE_BYTE_LENGTH)
    const { parentsOf, reparented } = keptParents(keys, lostKeys)
    const batch: Pending[] = kept.map((row, index) => ({ file: row.file, rev: row.rev, parents: parentsOf(row), ref: { index, byteLength: row.entry.textByteLength }, hash: row.entry.hash })).reverse()
    const rawByteLength = kept.reduce((sum, row) => sum + row.entry.textByteLength, 0)
    const firstPackId = oldPackIds.length === 0 ? 1 : Math.max(...oldPackIds) + 1
    const deletedTextKeys = lostKeys.map(key => encodeTextKey(key))
    const summary = keys.length === 0 ? { groupCount: 0 } : await this.writeBatch(batch, source, { textCount: batch.length, rawByteLength, newRawByteLength: rawByteLength }, options, {
      oldPackIds, firstPackId, oldHashKeys, deletedTextKeys,
    })
    // Committed: the index no longer names the old packs. A failure from here on leaves files that the
    // next open deletes.
    for (const packId of keys.length === 0 ? [] : oldPackIds) {
      const pack = this.packs.get(packId)
      this.packs.delete(packId)
      this.damagedPacks.delete(packId)
      this.missingPackIds.delete(packId)
      await pack?.close()
      await rm(packPath(this.dir, packId), { force: true })
    }
    await syncDirectory(packsPath(this.dir))
    const packByteLength = [...this.packStates.values()].reduce((sum, state) => sum + state.committedByteLength, 0)
    return { summary: { textCount: batch.length, rawByteLength, oldGroupCount, groupCount: summary.groupCount, oldPackByteLength, packByteLength }, lostKeys, reparented }
  }

  /** The texts of some keys of one group, each with its row (readLocated, for StoredTexts), sharing base texts through `bases`. */
  private async *readRows(rows: readonly (TextKey & { entry: TextEntry })[], bases?: BaseTextCache): AsyncGenerator<{ row: TextKey & { entry: TextEntry }; text: Uint8Array }> {
    const rowOf = new Map(rows.map(row => [describeKey(row), row]))
    for await (const { file, rev, text } of this.readLocated(rows.map(row => ({ key: row, location: row.entry })), bases)) {
      yield { row: rowOf.get(describeKey({ file, rev })) as TextKey & { entry: TextEntry }, text }
    }
  }

  /**
   * The keys whose texts cannot be read back (Store.repair): each group is read whole, and a group that
   * fails is read key by key, so that the records before its damage (a prefix of the group decodes, and
   * each text matches its hash) are kept. Nothing read is kept: the rewrite reads the texts again.
   */
  private async unreadableKeys(byGroup: ReadonlyMap<string, readonly (TextKey & { entry: TextEntry })[]>, options: PackOptions): Promise<TextKey[]> {
    const lostKeys: TextKey[] = []
    let textCount = 0
    let rawByteLength = 0
    const counted = (row: TextKey & { entry: TextEntry }) => {
      textCount++
      rawByteLength += row.entry.textByteLength
      options.onProgress?.({
        phase: 'reading', textCount, rawByteLength, newTextCount: textCount, newRawByteLength: rawByteLength,
        writtenTextCount: 0, writtenRawByteLength: 0, groupCount: 0, storedByteLength: 0,
      })
    }
    for (const rows of byGroup.values()) {
      const done = new Set<string>()
      try {
        for await (const { row } of this.readRows(rows)) {
          done.add(describeKey(row))
          counted(row)
        }
      } catch (error) {
        if (!(error instanceof VstoreError) || error.code === 'VSTORE_IO') throw error
        for (const row of rows) {
          if (done.has(describeKey(row))) continue
          try {
            await this.getText(row, MAX_BASE_DEPTH)
            counted(row)
          } catch (rowError) {
            if (!(rowError instanceof VstoreError) || rowError.code === 'VSTORE_IO') throw rowError
            lostKeys.push({ file: row.file, rev: row.rev })
          }
        }
      }
    }
    return lostKeys
  }

  /**
   * Copies into this store the texts of `source` it lacks (every file, or `options.files`), as a VCS's
   * pull does. A source group is copied whole, its bytes unchanged, when it is well filled with wanted
   * texts (REUSE_MIN_WANTED_FRACTION) and large enough, its base (if it names one) is here with the same
   * content, and its reads still keep to this store's read budget and base depth through this store's
   * base chain; the other wanted texts are compressed again, as an insert would, each file continuing
   * from its stored versions. All of it is committed in one index batch.
   * @throws VSTORE_NOT_FOUND for a file the source lacks; VSTORE_EXISTS when a key is stored in both
   * with other content or parents; VSTORE_CORRUPT, naming the source group or key, for damage in the
   * source. Nothing is stored then.
   */
  async fetch(source: Store, options: FetchOptions = {}): Promise<FetchSummary> {
    return this.writing(() => this.fetchAlone(source, options))
  }

  private async fetchAlone(source: Store, options: FetchOptions): Promise<FetchSummary> {
    // The keys this store lacks, each file's parents before its children (the order an insert takes).
    const wanted: (TextKey & { entry: TextEntry })[] = []
    const wantedKeys = new Set<string>()
    let textCount = 0
    let rawByteLength = 0
    for (const file of new Set(options.files ?? (await source.files()))) {
      const rows: (TextKey & { entry: TextEntry })[] = []
      for await (const row of source.fileEntries(file)) rows.push(row)
      if (rows.length === 0) throw new VstoreError('VSTORE_NOT_FOUND', 'no such file in the source store', file)
      for (const index of writeOrder(rows.map(row => ({ ...row, parents: row.entry.parents }))).reverse()) {
        const row = rows[index] as TextKey & { entry: TextEntry }
        textCount++
        rawByteLength += row.entry.textByteLength
        const stored = await this.tryGetEntry(row.file, row.rev)
        if (stored === undefined) {
          this.checkTextByteLength(row.entry.textByteLength, row)
          // A damaged source index could name a parent it does not hold: refused, as an insert refuses it.
          for (const parent of row.entry.parents) {
            if (wantedKeys.has(describeKey({ file: row.file, rev: parent })) || (await this.has(row.file, parent))) continue
            throw new VstoreError('VSTORE_MISSING_PARENT', `parent ${parent} is neither in the source nor here`, describeKey(row))
          }
          wanted.push(row)
          wantedKeys.add(describeKey(row))
        }
        else if (!bytesEqual(stored.hash, row.entry.hash)) throw new VstoreError('VSTORE_EXISTS', 'this key is stored here with other content than in the source', describeKey(row))
        else if (!sameParents(stored.parents, row.entry.parents)) {
          throw new VstoreError('VSTORE_EXISTS', `this key is stored here with parents [${stored.parents.join(', ')}]`, describeKey(row))
        }
      }
    }
    const reused = await this.groupsToReuse(source, wanted, wantedKeys)
    const reusedKeys = new Set(reused.flatMap(group => group.rows.map(describeKey)))
    const rest = wanted.filter(row => !reusedKeys.has(describeKey(row)))
    const newRawByteLength = wanted.reduce((sum, row) => sum + row.entry.textByteLength, 0)
    await mkdir(tmpPath(this.dir), { recursive: true })
    const spill = new TextSpill(tmpPath(this.dir), `fetch-${process.pid}-${Date.now()}`, { memoryByteLength: SPILL_MEMORY_BYTE_LENGTH })
    try {
      const batch: Pending[] = []
      let readRawByteLength = 0
      for (let start = 0; start < rest.length; start += FETCH_CHUNK_TEXT_COUNT) {
        const chunk = rest.slice(start, start + FETCH_CHUNK_TEXT_COUNT)
        const texts = new Map<string, Uint8Array>()
        for await (const { file, rev, text } of source.getMany(chunk)) texts.set(describeKey({ file, rev }), text)
        for (const { file, rev, entry } of chunk) {
          const text = texts.get(describeKey({ file, rev })) as Uint8Array
          batch.push({ file, rev, parents: entry.parents, ref: await spill.append(text), hash: entry.hash })
          readRawByteLength += text.length
        }
        options.onProgress?.({
          phase: 'reading', textCount, rawByteLength, newTextCount: wanted.length, newRawByteLength, writtenTextCount: 0, writtenRawByteLength: 0, groupCount: 0, storedByteLength: 0,
        })
      }
      let adopted: AdoptedGroups = { operations: [], textCount: 0, rawByteLength: 0, duplicateTextCount: 0, locationsByHash: new Map() }
      const summary = await this.writeBatch(batch, spill, { textCount, rawByteLength, newRawByteLength: readRawByteLength }, options, undefined, {
        run: async append => (adopted = await this.appendReused(source, reused, append)),
      })
      return {
        ...summary,
        newTextCount: summary.newTextCount + adopted.textCount,
        newRawByteLength: summary.newRawByteLength + adopted.rawByteLength,
        duplicateTextCount: summary.duplicateTextCount + adopted.duplicateTextCount,
        reusedGroupCount: reused.length,
        reusedTextCount: adopted.textCount,
      }
    } finally {
      await spill.close()
    }
  }

  /**
   * The source groups a fetch copies whole, in source pack order (a base's group before the groups on
   * it), with their wanted keys' entries as they will be here: the same ranges and read costs in the
   * group, and the base chain's costs as this store has it.
   */
  private async groupsToReuse(source: Store, wanted: readonly (TextKey & { entry: TextEntry })[], wantedKeys: ReadonlySet<string>): Promise<ReusedGroup[]> {
    const byGroup = new Map<string, (TextKey & { entry: TextEntry })[]>()
    for (const row of wanted) {
      const rows = byGroup.get(groupKeyOf(row.entry))
      if (rows === undefined) byGroup.set(groupKeyOf(row.entry), [row])
      else rows.push(row)
    }
    const groups = [...byGroup.values()].sort((a, b) => {
      const [x, y] = [(a[0] as { entry: TextEntry }).entry, (b[0] as { entry: TextEntry }).entry]
      return x.packId - y.packId || x.groupOffset - y.groupOffset
    })
    const continuing = new Set(wanted.filter(row => row.entry.parents.some(parent => !wantedKeys.has(describeKey({ file: row.file, rev: parent })))).map(row => row.file))
    const reusedEntries = new Map<string, TextEntry>()
    /** The first copied entry of each content that gets an H record (appendReused points later ones at it). */
    const copiedByHash = new Map<string, TextEntry>()
    // Each H lookup once: the fill rule and the placement below ask for the same hashes.
    const lookups = new Map<string, Promise<{ location: TextLocation | undefined; keyTaken: boolean }>>()
    const storedWithHash = (hash: Uint8Array) => {
      const hashHex = toHex(hash)
      const known = lookups.get(hashHex) ?? this.storedWithHash(hash)
      lookups.set(hashHex, known)
      return known
    }
    const reused: ReusedGroup[] = []
    for (const rows of groups) {
      const { entry: first } = rows[0] as TextKey & { entry: TextEntry }
      const where = `source ${packName(first.packId)}@${first.groupOffset}`
      // Records wanted, once each (keys with equal texts may share one), against the whole content. Not
      // counted: a text whose content this store holds under another key (an insert stores it once), and,
      // in a group without a base, the texts of a file whose history continues from a version stored
      // here: the group holds one of them whole, while an insert stores them all as deltas on that
      // version. (On jq, 1,270 new texts onto an older clone, copying groups that held such files made
      // the packs 22 % larger than compressing them again.)
      const records = new Map<number, number>()
      for (const row of rows) {
        const { entry } = row
        if (first.baseDepth === 0 && continuing.has(row.file)) continue
        if (entry.textByteLength >= HASH_RECORD_MIN_TEXT_BYTE_LENGTH && (await storedWithHash(entry.hash)).location !== undefined) continue
        records.set(entry.recordStart, entry.recordEnd - entry.recordStart)
      }
      const wantedByteLength = [...records.values()].reduce((a, b) => a + b, 0)
      const header = await source.readGroupHeader(first, rows[0] as TextKey)
      if (header.contentByteLength < REUSE_MIN_CONTENT_FRACTION * this.settings.maxContentByteLength) continue
      if (wantedByteLength < REUSE_MIN_WANTED_FRACTION * header.contentByteLength) continue
      let chain = { readByteLength: 0, decodedByteLength: 0, baseDepth: -1 }
      if (first.baseDepth > 0) {
        const base = await source.groupBase(first, header, rows[0] as TextKey, where)
        const here = reusedEntries.get(describeKey(base)) ?? (await this.tryGetEntry(base.file, base.rev))
        if (here === undefined || !bytesEqual(here.hash, base.hash) || here.baseDepth + 1 > this.settings.maxBaseDepth) continue
        chain = { readByteLength: here.readByteLength + here.baseReadByteLength, decodedByteLength: here.decodedByteLength + here.baseDecodedByteLength, baseDepth: here.baseDepth }
      }
      // The budget an insert keeps to (GroupWriter): this store's, through this store's base chain.
      if (rows.some(({ entry }) => entry.readByteLength + chain.readByteLength > Math.max(this.settings.maxReadByteLength, entry.textByteLength))) continue
      // Each key's placement, and its entry as it will be here for the groups based on it: a text whose
      // content is stored here already points at it, with that location's chain (as an insert's would).
      const here: ReusedRow[] = []
      for (const row of rows) {
        const entry: TextEntry = { ...row.entry, baseDepth: chain.baseDepth + 1, baseReadByteLength: chain.readByteLength, baseDecodedByteLength: chain.decodedByteLength }
        let final = entry
        let placed: ReusedRow = { file: row.file, rev: row.rev, entry }
        if (entry.textByteLength >= HASH_RECORD_MIN_TEXT_BYTE_LENGTH) {
          const hashHex = toHex(entry.hash)
          const { location: stored, keyTaken } = await storedWithHash(entry.hash)
          const earlier = copiedByHash.get(hashHex)
          if (stored !== undefined) {
            final = { ...stored, parents: entry.parents }
            placed = { ...placed, stored }
          } else if (earlier !== undefined) final = earlier
          else {
            copiedByHash.set(hashHex, entry)
            placed = { ...placed, hashRecord: !keyTaken }
          }
        }
        reusedEntries.set(describeKey(row), final)
        here.push(placed)
      }
      reused.push({ packId: first.packId, groupOffset: first.groupOffset, groupByteLength: header.headerByteLength + header.storedByteLength, rows: here })
    }
    return reused
  }

  /** Copies the groups groupsToReuse chose (each checked whole first) and makes their index records. */
  private async appendReused(source: Store, reused: readonly ReusedGroup[], append: (bytes: Uint8Array) => Promise<{ packId: number; offset: number }>): Promise<AdoptedGroups> {
    const operations: { key: Uint8Array; value: Uint8Array }[] = []
    const locationsByHash = new Map<string, TextLocation>()
    let textCount = 0
    let rawByteLength = 0
    let duplicateTextCount = 0
    for (const group of reused) {
      const first = group.rows[0] as ReusedRow
      const bytes = await source.readGroupBytes(first.entry, group.groupByteLength, first)
      // A damaged source group is refused, not copied: its CRC-32 covers every byte.
      checkGroup(bytes, `source ${packName(group.packId)}@${group.groupOffset}`, DEFAULT_GROUP_LIMITS)
      const { packId, offset } = await append(bytes)
      for (const row of group.rows) {
        const key = encodeTextKey(row)
        textCount++
        rawByteLength += row.entry.textByteLength
        // As groupsToReuse placed it: content with an H record is stored once, where it was first.
        const hashHex = toHex(row.entry.hash)
        const known = row.stored ?? (row.entry.textByteLength >= HASH_RECORD_MIN_TEXT_BYTE_LENGTH ? locationsByHash.get(hashHex) : undefined)
        const location: TextLocation = known ?? { ...row.entry, packId, groupOffset: offset }
        if (known !== undefined) duplicateTextCount++
        else if (row.entry.textByteLength >= HASH_RECORD_MIN_TEXT_BYTE_LENGTH) locationsByHash.set(hashHex, location)
        if (row.hashRecord === true) {
          const hashKey = encodeHashKey(row.entry.hash)
          operations.push({ key: hashKey, value: encodeLocationValue(hashKey, location) })
        }
        operations.push({ key, value: encodeTextValue(key, { ...location, parents: row.entry.parents }) })
      }
    }
    return { operations, textCount, rawByteLength, duplicateTextCount, locationsByHash }
  }

  /**
   * Where a text with this content is stored, found by its `H` record (texts of at least
   * HASH_RECORD_MIN_TEXT_BYTE_LENGTH bytes have one); `keyTaken` when the record's key, which holds only a
   * prefix of the hash, names another text.
   */
  private async storedWithHash(hash: Uint8Array): Promise<{ location: TextLocation | undefined; keyTaken: boolean }> {
    const hashKey = encodeHashKey(hash)
    const known = await this.db.get(hashKey)
    if (known === undefined) return { location: undefined, keyTaken: false }
    const location = decodeLocationValue(hashKey, known, `index:hash ${toHex(hash)}`)
    return bytesEqual(location.hash, hash) ? { location, keyTaken: true } : { location: undefined, keyTaken: true }
  }

  /** The header of the group holding `location` (read from its first bytes). */
  private async readGroupHeader(location: TextLocation, key: TextKey): Promise<GroupHeader> {
    const committed = this.packStates.get(location.packId)?.committedByteLength ?? 0
    const bytes = await this.readGroupBytes(location, Math.min(MAX_GROUP_HEADER_BYTE_LENGTH, Math.max(0, committed - location.groupOffset)), key)
    return decodeGroupHeader(bytes, `${packName(location.packId)}@${location.groupOffset}`, DEFAULT_GROUP_LIMITS)
  }

  /** The base text the group holding `location` names (from the first bytes of its content). */
  private async groupBase(location: TextLocation, header: GroupHeader, key: TextKey, where: string): Promise<BaseText> {
    return groupBaseIn(await this.readGroupBytes(location, header.headerByteLength + header.storedByteLength, key), header, where)
  }

  /** Appends one framed group to the current pack (or a new one past the pack cap). */
  private async appendGroup(bytes: Uint8Array, touched: Map<number, PackState>, created: number[], firstPackId: number): Promise<{ packId: number; offset: number }> {
    const ids = [...new Set([...this.packStates.keys(), ...touched.keys()])]
    let packId = ids.length === 0 ? 0 : Math.max(...ids)
    let state = touched.get(packId) ?? this.packStates.get(packId)
    const full = state !== undefined && state.committedByteLength > PACK_HEADER_BYTE_LENGTH && state.committedByteLength + bytes.length > this.settings.maxPackByteLength
    if (state === undefined || packId < firstPackId || full || this.damagedPacks.has(packId)) {
      packId = Math.max(packId + 1, firstPackId)
      state = await this.createPack(packId, created)
    }
    const pack = this.packs.get(packId) as PackFile
    const offset = state.committedByteLength
    // Touched before the write: a write cut short (a full disk) leaves bytes that the rollback must remove.
    touched.set(packId, state)
    await pack.writeAt(offset, bytes)
    touched.set(packId, { committedByteLength: offset + bytes.length, groupCount: state.groupCount + 1 })
    return { packId, offset }
  }

  /** A new pack holding only its header, opened for appends. */
  private async createPack(packId: number, created: number[]): Promise<PackState> {
    const pack = await PackFile.create(packPath(this.dir, packId), packName(packId), this.readCounter)
    this.packs.set(packId, pack)
    created.push(packId)
    return { committedByteLength: PACK_HEADER_BYTE_LENGTH, groupCount: 0 }
  }

  /** Undoes the pack appends of a batch that failed before its index write. */
  private async rollback(touched: Map<number, PackState>): Promise<void> {
    for (const packId of touched.keys()) {
      const state = this.packStates.get(packId)
      const pack = this.packs.get(packId)
      try {
        if (state === undefined) {
          await pack?.close()
          this.packs.delete(packId)
          await rm(packPath(this.dir, packId), { force: true })
        } else {
          await pack?.truncate(state.committedByteLength)
        }
      } catch {
        // The next open truncates what the index does not vouch for.
      }
    }
  }

  // ---- inspection ----

  /** Group headers of every pack, in pack order. */
  async *groups(): AsyncGenerator<{ packId: number; groupOffset: number; header: GroupHeader }> {
    this.checkOpen()
    for (const packId of [...this.packStates.keys()].sort((a, b) => a - b)) {
      const state = this.packStates.get(packId) as PackState
      const pack = this.packFile(packId)
      let offset = PACK_HEADER_BYTE_LENGTH
      while (offset < state.committedByteLength) {
        const where = `${packName(packId)}@${offset}`
        const headerBytes = await pack.read(offset, Math.min(MAX_GROUP_HEADER_BYTE_LENGTH, state.committedByteLength - offset))
        const header = decodeGroupHeader(headerBytes, where, DEFAULT_GROUP_LIMITS)
        if (offset + header.headerByteLength + header.storedByteLength > state.committedByteLength) {
          throw new VstoreError('VSTORE_CORRUPT', 'group runs past the committed end of the pack', where)
        }
        yield { packId, groupOffset: offset, header }
        offset += header.headerByteLength + header.storedByteLength
      }
    }
  }

  /**
   * Every group the packs hold, for verify: like groups(), but damage does not end the walk. A damaged pack
   * is a problem (a missing one names the keys of every group the index puts in it); a group header that
   * does not decode, or a group that runs past the end of its pack, is a problem naming the keys of that
   * group; the walk goes on at the next group the index names in the same pack. Groups reported are marked
   * `damaged`, and `visited` as the groups yielded are.
   */
  private async *groupsAroundDamage(
    byGroup: ReadonlyMap<string, readonly TextKey[]>,
    report: { problems: VerifyProblem[]; damaged: Set<string>; visited: Set<string> },
  ): AsyncGenerator<{ packId: number; groupOffset: number; header: GroupHeader }> {
    const offsetsByPack = new Map<number, number[]>()
    for (const groupKey of byGroup.keys()) {
      const [packId, offset] = groupKey.split(':').map(Number) as [number, number]
      offsetsByPack.set(packId, [...(offsetsByPack.get(packId) ?? []), offset])
    }
    const lost = (groupKey: string, error: unknown, where: string): void => {
      report.problems.push(problemOf(error, where, byGroup.get(groupKey) ?? []))
      report.damaged.add(groupKey)
      report.visited.add(groupKey)
    }
    for (const packId of [...this.packStates.keys()].sort((a, b) => a - b)) {
      const state = this.packStates.get(packId) as PackState
      const known = (offsetsByPack.get(packId) ?? []).sort((a, b) => a - b)
      const pack = this.packs.get(packId)
      const why = this.damagedPacks.get(packId)
      if (pack === undefined) {
        const keys = known.flatMap(offset => byGroup.get(`${packId}:${offset}`) ?? [])
        report.problems.push(problemOf(new VstoreError('VSTORE_CORRUPT', why ?? 'the pack is not open', packName(packId)), packName(packId), keys))
        for (const offset of known) {
          report.damaged.add(`${packId}:${offset}`)
          report.visited.add(`${packId}:${offset}`)
        }
        continue
      }
      // A damaged header alone takes nothing with it: the groups are checked one by one below.
      if (why !== undefined) report.problems.push({ code: 'VSTORE_CORRUPT', where: packName(packId), message: why, keys: [] })
      const end = Math.min(state.committedByteLength, pack.byteLength)
      let offset = PACK_HEADER_BYTE_LENGTH
      while (offset < state.committedByteLength) {
        const where = `${packName(packId)}@${offset}`
        let header: GroupHeader
        try {
          if (offset >= end) throw new VstoreError('VSTORE_CORRUPT', `the pack ends at ${pack.byteLength} bytes, before this group`, where)
          header = decodeGroupHeader(await pack.read(offset, Math.min(MAX_GROUP_HEADER_BYTE_LENGTH, end - offset)), where, DEFAULT_GROUP_LIMITS)
          if (offset + header.headerByteLength + header.storedByteLength > end) {
            throw new VstoreError('VSTORE_CORRUPT', `the group runs past the end of the pack (${end} bytes)`, where)
          }
        } catch (error) {
          lost(`${packId}:${offset}`, error, where)
          const next = known.find(known => known > offset)
          if (next === undefined) break
          offset = next
          continue
        }
        yield { packId, groupOffset: offset, header }
        offset += header.headerByteLength + header.storedByteLength
      }
    }
  }

  /** Reads and decodes a whole group that `groups()` found (its header read and bounds checked there). */
  private async readWholeGroup(group: { packId: number; groupOffset: number; header: GroupHeader }): Promise<Uint8Array> {
    const { packId, groupOffset, header } = group
    const bytes = await (this.packs.get(packId) as PackFile).read(groupOffset, header.headerByteLength + header.storedByteLength)
    return (await decodeGroup(bytes, `${packName(packId)}@${groupOffset}`, DEFAULT_GROUP_LIMITS)).content
  }

  /** Keys by group (`packId:groupOffset`), for dumps and verify. */
  private async keysByGroup(): Promise<Map<string, (TextKey & { entry: TextEntry })[]>> {
    const byGroup = new Map<string, (TextKey & { entry: TextEntry })[]>()
    for await (const item of this.entries()) {
      const list = byGroup.get(groupKeyOf(item.entry))
      if (list) list.push(item)
      else byGroup.set(groupKeyOf(item.entry), [item])
    }
    return byGroup
  }

  /** One group's header and records, with the delta instructions and the keys that point at each record. */
  async dumpGroup(packId: number, groupOffset: number): Promise<GroupDump> {
    let found: { packId: number; groupOffset: number; header: GroupHeader } | undefined
    for await (const group of this.groups()) if (group.packId === packId && group.groupOffset === groupOffset) found = group
    if (found === undefined) throw new VstoreError('VSTORE_NOT_FOUND', 'no group starts here', `${packName(packId)}@${groupOffset}`)
    const { header } = found
    const content = await this.readWholeGroup(found)
    const where = `${packName(packId)}@${groupOffset}`
    const keys = (await this.keysByGroup()).get(`${packId}:${groupOffset}`) ?? []
    return {
      pack: packName(packId),
      groupOffset,
      groupByteLength: header.headerByteLength + header.storedByteLength,
      codec: header.codecId,
      contentByteLength: header.contentByteLength,
      storedByteLength: header.storedByteLength,
      records: dumpRecords(content, where, DEFAULT_GROUP_LIMITS, true).map(record => ({
        ...record,
        keys: keys.filter(k => k.entry.recordStart === record.recordStart).map(({ file, rev }) => ({ file, rev })),
      })),
    }
  }

  async *dumpIndex(filePrefix?: string): AsyncGenerator<IndexDumpRow> {
    for await (const { file, rev, entry } of this.entries(filePrefix)) {
      yield {
        file,
        rev,
        pack: packName(entry.packId),
        groupOffset: entry.groupOffset,
        readByteLength: entry.readByteLength,
        recordStart: entry.recordStart,
        recordEnd: entry.recordEnd,
        decodedByteLength: entry.decodedByteLength,
        textByteLength: entry.textByteLength,
        hash: toHex(entry.hash),
        baseDepth: entry.baseDepth,
        baseReadByteLength: entry.baseReadByteLength,
        baseDecodedByteLength: entry.baseDecodedByteLength,
        parents: entry.parents,
      }
    }
  }

  /**
   * Reads every group whole (checksum, decode, record structure) and rebuilds every text, checking its
   * length and content hash. Problems name the keys they affect; nothing is repaired.
   */
  async verify(options: { readonly full?: boolean } = {}): Promise<VerifyReport> {
    this.checkOpen()
    const full = options.full ?? true
    const problems: VerifyProblem[] = []
    const byGroup = new Map<string, (TextKey & { entry: TextEntry })[]>()
    let textCount = 0
    // Around the damaged parts of the index, which are reported below with the keys they still name.
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_TEXT), undefined, { aroundDamage: true })) {
      let textKey: TextKey
      try {
        textKey = decodeTextKey(key)
      } catch (error) {
        problems.push(problemOf(error, `index key ${toHex(key)}`, []))
        continue
      }
      textCount++
      try {
        const entry = decodeTextValue(key, value, `index:${describeKey(textKey)}`)
        const list = byGroup.get(groupKeyOf(entry))
        if (list) list.push({ ...textKey, entry })
        else byGroup.set(groupKeyOf(entry), [{ ...textKey, entry }])
      } catch (error) {
        problems.push(problemOf(error, `index:${describeKey(textKey)}`, [textKey]))
      }
    }
    // LevelDB's own block and record checksums, which its reads do not check: each damaged part with the
    // text keys it still names (as far as it parses).
    for (const part of await readingIndex(this.dir, () => findIndexDamage(this.snapshotPath ?? indexPath(this.dir)))) {
      problems.push({ code: 'VSTORE_CORRUPT', where: `index/${part.file}`, message: `${part.message}; the texts of its keys cannot be read`, keys: textKeysOf(part.keys) })
    }
    // The totals count every text committed: fewer `T` records than that means some went missing.
    try {
      const totals = await this.totals()
      if (totals.textCount !== textCount) {
        problems.push({ code: 'VSTORE_CORRUPT', where: 'index', message: `${textCount} text entries, but the totals count ${totals.textCount}`, keys: [] })
      }
    } catch (error) {
      problems.push(problemOf(error, 'index:totals', []))
    }
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_HASH), undefined, { aroundDamage: true })) {
      try {
        decodeLocationValue(key, value, `index:hash ${toHex(key.subarray(1))}`)
      } catch (error) {
        problems.push(problemOf(error, `index:hash ${toHex(key.subarray(1))}`, []))
      }
    }
    let groupCount = 0
    const visited = new Set<string>()
    // Checksums only: which groups failed, and which group holds each based group's base.
    const damaged = new Set<string>()
    const baseGroupOf = new Map<string, { groupKey: string | undefined; base: TextKey }>()
    /** Full: the texts of the last group's last record, rebuilt and checked. */
    const lastRebuilt = new Map<string, Uint8Array>()
    try {
      for await (const group of this.groupsAroundDamage(byGroup, { problems, damaged, visited })) {
        const { packId, groupOffset } = group
        groupCount++
        const groupKey = `${packId}:${groupOffset}`
        visited.add(groupKey)
        const keys = byGroup.get(groupKey) ?? []
        const where = `${packName(packId)}@${groupOffset}`
        if (!full) {
          try {
            const bytes = await (this.packs.get(packId) as PackFile).read(groupOffset, group.header.headerByteLength + group.header.storedByteLength)
            checkGroup(bytes, where, DEFAULT_GROUP_LIMITS)
            if (keys.some(key => key.entry.baseDepth > 0)) baseGroupOf.set(groupKey, await this.baseGroupOf(bytes, group.header, where))
          } catch (error) {
            problems.push(problemOf(error, where, keys))
            damaged.add(groupKey)
          }
          continue
        }
        let content: Uint8Array
        let baseText: Uint8Array | undefined
        /** For each record start, the last record that deltas on its text: a rebuilt text is kept until then. */
        const lastUse = new Map<number, number>()
        try {
          content = await this.readWholeGroup(group)
          for (const record of dumpRecords(content, where, DEFAULT_GROUP_LIMITS)) {
            if (record.previousStart !== undefined) lastUse.set(record.previousStart, record.recordStart)
          }
          baseText = await this.baseTextOf(content, where, keys[0] ?? { file: '?', rev: '?' }, MAX_BASE_DEPTH, lastRebuilt)
        } catch (error) {
          problems.push(problemOf(error, where, keys))
          continue
        }
        lastRebuilt.clear()
        const lastRecordStart = Math.max(...keys.map(k => k.entry.recordStart))
        const rebuilt = new Map<number, Uint8Array>()
        for (const { file, rev, entry } of [...keys].sort((a, b) => a.entry.recordStart - b.entry.recordStart)) {
          try {
            const text = decodeRecord(content, entry.recordStart, entry.recordEnd, where, DEFAULT_GROUP_LIMITS, baseText, rebuilt)
            // Only texts a later record still deltas on stay: memory is a few texts, not the group's.
            for (const start of rebuilt.keys()) if ((lastUse.get(start) ?? -1) <= entry.recordStart) rebuilt.delete(start)
            if (text.length !== entry.textByteLength || !bytesEqual(hashText(text), entry.hash)) {
              throw new VstoreError('VSTORE_CORRUPT', 'rebuilt text does not match its length and content hash', where)
            }
            // The group's last text is the next group's base, usually (a group names the text written before it).
            if (entry.recordStart === lastRecordStart) lastRebuilt.set(describeKey({ file, rev }), text)
          } catch (error) {
            problems.push(problemOf(error, describeKey({ file, rev }), [{ file, rev }]))
          }
        }
      }
    } catch (error) {
      problems.push(problemOf(error, 'packs', []))
    }
    for (const [groupKey, keys] of byGroup) {
      if (!visited.has(groupKey)) {
        problems.push({ code: 'VSTORE_CORRUPT', where: groupKey, message: 'index points at no group', keys: keys.map(({ file, rev }) => ({ file, rev })) })
        damaged.add(groupKey)
      }
    }
    // A group whose base is in a damaged group (or missing) cannot rebuild its texts either.
    for (let changed = true; changed;) {
      changed = false
      for (const [groupKey, { groupKey: baseGroupKey, base }] of baseGroupOf) {
        if (damaged.has(groupKey) || (baseGroupKey !== undefined && !damaged.has(baseGroupKey))) continue
        damaged.add(groupKey)
        changed = true
        const keys = (byGroup.get(groupKey) ?? []).map(({ file, rev }) => ({ file, rev }))
        const message = baseGroupKey === undefined ? `base text ${describeKey(base)} is not in the index` : `base text ${describeKey(base)} is in a damaged group`
        problems.push({ code: 'VSTORE_CORRUPT', where: groupKey, message, keys })
      }
    }
    return { textCount, groupCount, full, problems: await this.withoutReadableKeys(problems) }
  }

  /**
   * The problems with only the keys they take with them: a key named because its group (or the group of a
   * base on its chain) is damaged may still read back, when its record lies before the damage (a prefix of
   * the group decodes, and its text matches its hash), so each named key is read as `get` reads it, and the
   * ones that come back are left out (the message says how many). So verify names exactly what `repair`
   * drops. Only damaged parts are read again.
   */
  private async withoutReadableKeys(problems: readonly VerifyProblem[]): Promise<VerifyProblem[]> {
    const readable = new Map<string, boolean>()
    const reads = async (key: TextKey): Promise<boolean> => {
      const known = readable.get(describeKey(key))
      if (known !== undefined) return known
      let ok: boolean
      try {
        await this.getText(key, MAX_BASE_DEPTH)
        ok = true
      } catch (error) {
        if (!(error instanceof VstoreError) || error.code === 'VSTORE_IO') throw error
        ok = false
      }
      readable.set(describeKey(key), ok)
      return ok
    }
    const result: VerifyProblem[] = []
    for (const problem of problems) {
      const lost: TextKey[] = []
      for (const key of problem.keys) if (!(await reads(key))) lost.push(key)
      const kept = problem.keys.length - lost.length
      result.push(kept === 0 ? problem : { ...problem, message: `${problem.message} (${kept} of the ${problem.keys.length} texts it holds still read back)`, keys: lost })
    }
    return result
  }

  /** The base a group names and the group that holds it (read from the first bytes of its content). */
  private async baseGroupOf(bytes: Uint8Array, header: GroupHeader, where: string): Promise<{ groupKey: string | undefined; base: TextKey }> {
    const named = await groupBaseIn(bytes, header, where)
    const base = { file: named.file, rev: named.rev }
    const entry = await this.tryGetEntry(base.file, base.rev)
    return { groupKey: entry === undefined ? undefined : groupKeyOf(entry), base }
  }
}

/** The base text a whole group (`bytes`, from its header) names, read from the first bytes of its content. */
async function groupBaseIn(bytes: Uint8Array, header: GroupHeader, where: string): Promise<BaseText> {
  let based: ReturnType<typeof decodeGroupBase>
  try {
    // The base record comes first and is short: a 16 KiB compressed prefix holds it.
    const prefix = bytes.subarray(0, Math.min(bytes.length, header.headerByteLength + 16 * 1024))
    based = decodeGroupBase(await decodeGroupPrefix(prefix, 1, where, DEFAULT_GROUP_LIMITS, 1024 * 1024), where, DEFAULT_GROUP_LIMITS)
  } catch {
    based = decodeGroupBase((await decodeGroup(bytes, where, DEFAULT_GROUP_LIMITS)).content, where, DEFAULT_GROUP_LIMITS)
  }
  if (based === undefined) throw new VstoreError('VSTORE_CORRUPT', 'the index says this group has a base, its content names none', where)
  return based.base
}

/** The text keys among index keys (read from damaged index files), once each; a key that does not decode names nothing. */
function textKeysOf(keys: readonly Uint8Array[]): TextKey[] {
  const found = new Map<string, TextKey>()
  for (const key of keys) {
    if (key[0] !== TAG_TEXT) continue
    try {
      const textKey = decodeTextKey(key)
      found.set(describeKey(textKey), textKey)
    } catch {
      // A damaged key names nothing.
    }
  }
  return [...found.values()]
}

function problemOf(error: unknown, where: string, keys: readonly TextKey[]): VerifyProblem {
  const plainKeys = keys.map(({ file, rev }) => ({ file, rev }))
  if (error instanceof VstoreError) return { code: error.code, where: error.where || where, message: error.message, keys: plainKeys }
  throw error
}

function sameParents(stored: readonly string[], given: readonly string[]): boolean {
  const unique = [...new Set(given)]
  return unique.length === stored.length && unique.every((parent, i) => parent === stored[i])
}

function checkRecord(record: TextRecord): void {
  if (typeof record !== 'object' || record === null) throw new TypeError('a record must be an object { file, rev, parents, text }')
  if (typeof record.file !== 'string' || record.file.length === 0) throw new TypeError('record.file must be a non-empty string')
  if (typeof record.rev !== 'string' || record.rev.length === 0) throw new TypeError(`record.rev must be a non-empty string (${record.file})`)
  if (!Array.isArray(record.parents) || record.parents.some(p => typeof p !== 'string' || p.length === 0)) {
    throw new TypeError(`record.parents must be an array of revision ids (${record.file}@${record.rev})`)
  }
  if (!(record.text instanceof Uint8Array)) throw new TypeError(`record.text must be a Uint8Array (${record.file}@${record.rev})`)
  if (record.parents.includes(record.rev)) throw new TypeError(`a text cannot be its own parent (${record.file}@${record.rev})`)
  if (record.parents.length > MAX_PARENTS) {
    throw new VstoreError('VSTORE_LIMIT', `${record.parents.length} parents, at most ${MAX_PARENTS}`, describeKey(record))
  }
}
