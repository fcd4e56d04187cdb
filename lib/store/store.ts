/**
 * Store, the public face of a vstore: texts keyed by (file id, revision id), delta-compressed in groups
 * appended to packs, found through an index. A thin facade: each job is done by its own part (see the
 * imports), and this class only opens them, guards the one write at a time, and hands each call on.
 */
import { VstoreError } from '../errors.js'
import type { GroupHeader } from '../group/frame.js'
import type { ReadCounter } from '../pack/pack-file.js'
import { withAutoPack } from './auto-pack.js'
import type { BatchTarget } from './batch-writer.js'
import { fetchFrom, type FetchSource } from './fetch.js'
import { walkGroups, type WalkedGroup } from './group-walk.js'
import { History, type AncestryGraph, type AnnotatedLine } from './history.js'
import type { IndexRepairSummary } from './index-repair.js'
import { insertRecords } from './insert.js'
import { dumpGroup, dumpIndex, storeStats } from './inspect.js'
import type { KeyedEntry } from './locations.js'
import { openReader, openWriter, repairStoreIndex, verifyUnopenable, type OpenedStore } from './open-store.js'
import type { Reparented } from './reparent.js'
import { packStore, repairStore } from './rewrite.js'
import { PackKeys } from './pack-keys.js'
import { RecentTexts } from './recent-texts.js'
import { resolveSettings, type StoreOptions, type StoreSettings } from './settings.js'
import { GroupContents, TextReader } from './text-reader.js'
import type {
  FetchOptions, FetchSummary, GroupDump, IndexDumpRow, InsertOptions, InsertSummary, PackOptions, PackSummary, RepairSummary, StoreStats, TextEntry,
  TextKey, TextLocation, TextRecord, VerifyReport,
} from './types.js'
import { verifyStore } from './verify.js'
import { hashText, isWholeHash } from './text-hash.js'

export type { AncestryGraph, AnnotatedLine, FetchSource, Reparented, StoreOptions }
export type { FetchOptions, FetchSummary, GroupDump, IndexDumpRow, InsertOptions, InsertProgress, PackOptions, PackSummary, RepairSummary } from './types.js'
export { DEFAULT_STORE_OPTIONS, MAX_STORABLE_TEXT_BYTE_LENGTH } from './settings.js'
export { READABLE_STORE_FORMATS, STORE_FORMAT_VERSION } from './store-index.js'

/** What a writer keeps of the texts it committed last (RecentTexts): several commits' worth. */
const RECENT_TEXTS_BYTE_LENGTH = 16 * 1024 * 1024
/**
 * Decoded group content a writer keeps between reads (GroupContents): the stored versions a commit's groups
 * start on, and what a merge rewrites, sit in a few large groups (DESIGN.md, Appends).
 */
const WRITER_GROUP_CONTENTS_BYTE_LENGTH = 32 * 1024 * 1024

export class Store implements FetchSource {
  private closed = false
  private writing = false
  private readonly reader: TextReader
  /**
   * The reader of a writer's own inserts and merges, which keeps decoded groups between reads
   * (GroupContents); the store's readers (`get` and the rest) read each group afresh, within the bounds
   * the index gives.
   */
  private readonly writerReader: TextReader
  private readonly history: History
  /** A writer's texts committed last (RecentTexts), for the next insert. */
  private readonly recent = new RecentTexts(RECENT_TEXTS_BYTE_LENGTH)
  private readonly packKeys = new PackKeys()

  private constructor(readonly dir: string, private readonly opened: OpenedStore, private readonly settings: StoreSettings, writer: boolean) {
    this.reader = new TextReader(opened.index, opened.packs)
    this.writerReader = writer ? new TextReader(opened.index, opened.packs, new GroupContents(WRITER_GROUP_CONTENTS_BYTE_LENGTH)) : this.reader
    this.history = new History(opened.index, this.reader)
  }

  /**
   * Opens the store in `dir`, creating it when `options.create` is set; with `options.readOnly`, from a
   * private copy of the index, without the lock.
   * @throws VSTORE_USAGE for a bad option; VSTORE_NOT_FOUND when there is no store and `create` is not set;
   * VSTORE_LOCKED when another process has it open for writing; VSTORE_UNSUPPORTED for another format version.
   */
  static async open(dir: string, options: StoreOptions = {}): Promise<Store> {
    const settings = resolveSettings(options)
    const opened = options.readOnly === true ? await openReader(dir, settings) : await openWriter(dir, settings, options.create === true)
    return new Store(dir, opened, settings, options.readOnly !== true)
  }

  /**
   * Rebuilds the damaged index of the store in `dir` from every entry still readable and swaps it in,
   * crash-safe; nothing is written when the index is whole. A writer refuses a damaged index, so this comes
   * before `open`; `repair` then deals with damaged packs.
   * @throws VSTORE_LOCKED when a live writer holds the store; VSTORE_IO when the index cannot be read.
   */
  static async repairIndex(dir: string): Promise<IndexRepairSummary> {
    return repairStoreIndex(dir)
  }

  /** What `verify` can say of a store whose index does not open (`openError`): the keys its files still hold. */
  static async verifyUnopenable(dir: string, openError: VstoreError): Promise<VerifyReport> {
    return verifyUnopenable(dir, openError)
  }

  /** Bytes and reads taken from pack files since the store was opened. */
  get readCounter(): ReadCounter {
    return this.opened.packs.readCounter
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.opened.close()
  }

  private open(): OpenedStore {
    if (this.closed) throw new VstoreError('VSTORE_IO', 'store is closed', this.dir)
    return this.opened
  }

  private target(): BatchTarget & { dir: string } {
    const { index, packs } = this.open()
    return { dir: this.dir, index, packs, reader: this.writerReader, settings: this.settings, recent: this.recent, packKeys: this.packKeys }
  }

  // ---- reading ----

  /** The index entry of a key, or undefined. */
  async tryGetEntry(file: string, rev: string): Promise<TextEntry | undefined> {
    return this.open().index.tryGetEntry({ file, rev })
  }

  /** @throws VSTORE_NOT_FOUND when the key is not stored. */
  async getEntry(file: string, rev: string): Promise<TextEntry> {
    this.open()
    return this.reader.getEntry({ file, rev })
  }

  /**
   * The content hash of a stored text, whole (the first 20 bytes of its SHA-256), which names its content:
   * from its entry, or, where the entry keeps only a short check (a text under 16 KiB), from the text.
   * @throws VSTORE_NOT_FOUND when the key is not stored.
   */
  async contentHash(file: string, rev: string): Promise<Uint8Array> {
    const { hash } = await this.getEntry(file, rev)
    return isWholeHash(hash) ? hash : hashText(await this.get(file, rev))
  }

  async has(file: string, rev: string): Promise<boolean> {
    return (await this.tryGetEntry(file, rev)) !== undefined
  }

  /**
   * The text of one version: one index lookup, one read of at most `readByteLength` bytes, a prefix
   * decode, its deltas applied, and the content hash checked.
   * @throws VSTORE_NOT_FOUND for an unknown key; VSTORE_CORRUPT (naming the key) when the bytes are damaged.
   */
  async get(file: string, rev: string): Promise<Uint8Array> {
    this.open()
    return this.reader.get({ file, rev })
  }

  /** Like get, but undefined for a key that is not stored. */
  async tryGet(file: string, rev: string): Promise<Uint8Array | undefined> {
    return (await this.has(file, rev)) ? this.get(file, rev) : undefined
  }

  /**
   * The texts of many keys, reading each group once however many of its keys are asked. Yields in group
   * order (not the order asked).
   * @throws VSTORE_NOT_FOUND, before reading anything, if any key is not stored.
   */
  async *getMany(keys: Iterable<TextKey> | AsyncIterable<TextKey>): AsyncGenerator<TextKey & { text: Uint8Array }> {
    const located: { key: TextKey; location: TextLocation }[] = []
    for await (const key of keys) located.push({ key, location: await this.getEntry(key.file, key.rev) })
    yield* this.reader.readLocated(located)
  }

  /** The length of a stored text, from the index alone. @throws VSTORE_NOT_FOUND. */
  async size(file: string, rev: string): Promise<number> {
    return (await this.getEntry(file, rev)).textByteLength
  }

  /** @throws VSTORE_NOT_FOUND for an unknown key. */
  async parents(file: string, rev: string): Promise<readonly string[]> {
    return (await this.getEntry(file, rev)).parents
  }

  /** One file's keys with their entries, in key order; damage they may sit in is an error before the first. */
  async *fileEntries(file: string): AsyncGenerator<KeyedEntry> {
    yield* this.open().index.fileEntries(file)
  }

  /** Every key with its index entry (or those whose file id starts with `filePrefix`), in index order. */
  async *entries(filePrefix?: string): AsyncGenerator<KeyedEntry> {
    yield* this.open().index.entries(filePrefix)
  }

  /** The header of the group holding `location`. */
  async readGroupHeader(location: Pick<TextLocation, 'packId' | 'groupOffset'>, key: TextKey): Promise<GroupHeader> {
    this.open()
    return this.reader.readGroupHeader(location, key)
  }

  /** `byteLength` bytes of the group holding `location`, as stored. @throws VSTORE_CORRUPT naming `key` past the pack's end. */
  async readGroupBytes(location: Pick<TextLocation, 'packId' | 'groupOffset'>, byteLength: number, key: TextKey): Promise<Uint8Array> {
    this.open()
    return this.reader.readGroupBytes(location, byteLength, key)
  }

  // ---- history ----

  /** Revisions of `file`, parents before children (empty for an unknown file). */
  async revisions(file: string): Promise<string[]> {
    this.open()
    return this.history.revisions(file)
  }

  /** Revisions of `file` that no other revision of it names as a parent, newest first (empty for an unknown file). */
  async heads(file: string): Promise<string[]> {
    this.open()
    return this.history.heads(file)
  }

  /**
   * For each line of one version, the revision of the file that introduced it and its line number there,
   * following the file's own graph through merges (like `git blame`).
   * @throws VSTORE_NOT_FOUND for an unknown key; VSTORE_CORRUPT when a parent named in the index is missing.
   */
  async annotate(file: string, rev: string): Promise<AnnotatedLine[]> {
    this.open()
    return this.history.annotate(file, rev)
  }

  /** `file`'s ancestry as a graphlib graph: a node per revision, an edge from each parent to its child (empty for an unknown file). */
  async ancestry(file: string): Promise<AncestryGraph> {
    this.open()
    return this.history.ancestry(file)
  }

  /**
   * The best common ancestors of two revisions of `file` in its own graph (like `git merge-base --all`):
   * several after criss-cross merges, none for unrelated lines. A revision counts as its own ancestor.
   * @throws VSTORE_NOT_FOUND when either revision is not stored.
   */
  async commonAncestors(file: string, a: string, b: string): Promise<string[]> {
    this.open()
    return this.history.commonAncestors(file, a, b)
  }

  /**
   * The one stored revision of `file` that starts with `prefix` (a whole revision id always matches itself).
   * @throws VSTORE_NOT_FOUND when none does, VSTORE_USAGE when several do.
   */
  async resolveRevision(file: string, prefix: string): Promise<string> {
    this.open()
    return this.history.resolveRevision(file, prefix)
  }

  /** Distinct file ids, sorted. */
  async files(): Promise<string[]> {
    this.open()
    return this.history.files()
  }

  // ---- writing ----

  /**
   * Runs one write as this store's only writer.
   * @throws VSTORE_USAGE on a read-only store; VSTORE_LOCKED while another write runs; VSTORE_IO after a
   * failed index write (reopen the store to write again).
   */
  private async write<T>(run: (target: BatchTarget & { dir: string }) => Promise<T>): Promise<T> {
    const target = this.target()
    // Two writes would append at the same pack offsets; one process has one writer at a time.
    if (this.opened.readOnly) throw new VstoreError('VSTORE_USAGE', 'this store was opened read-only', this.dir)
    if (this.writing) throw new VstoreError('VSTORE_LOCKED', 'another insert is running on this store', this.dir)
    target.index.assertWritable()
    this.writing = true
    try {
      // An older store format is converted before its first write (and only then: readers read it as it is).
      await target.index.upgrade()
      return await run(target)
    } finally {
      this.writing = false
    }
  }

  /**
   * Stores a batch of texts. Nothing of the batch is visible until all of it is durable (or, with
   * `checkpointByteLength`, until each checkpoint); a key already stored with the same content is skipped,
   * so an insert can be repeated.
   * @throws VSTORE_MISSING_PARENT when a parent is neither stored nor earlier in the batch; VSTORE_EXISTS
   * when a key is already stored (or repeated in the batch) with other content; VSTORE_USAGE for a malformed
   * record; VSTORE_LIMIT for a text over maxTextByteLength. In each case nothing of the batch is stored.
   */
  async insert(records: Iterable<TextRecord> | AsyncIterable<TextRecord>, options: InsertOptions = {}): Promise<InsertSummary> {
    return this.write(async target => withAutoPack(await insertRecords(records, options, target), options, target))
  }

  /**
   * Rewrites every text into new groups and packs, as one insert of the whole history would place them,
   * and drops the old packs, in one index batch; until then the old packs serve every read, and a pack
   * killed at any point leaves the store as it was. Needs free disk space for the new packs only.
   * @throws VSTORE_CORRUPT, naming the key, when a text cannot be rebuilt; nothing is changed then.
   */
  async pack(options: PackOptions = {}): Promise<PackSummary> {
    return this.write(target => packStore(options, target))
  }

  /**
   * Converts a store of an older format to this build's (STORE_FORMAT_VERSION) in one atomic, synced index
   * batch, as the first write to such a store does anyway; a store of this format is left as it is. Killed
   * at any point, it leaves the store as it was or converted.
   * @returns the formats before and after (equal when there was nothing to do).
   */
  async upgrade(): Promise<{ from: number; to: number }> {
    const from = this.opened.index.format
    await this.write(async () => undefined)
    return { from, to: this.opened.index.format }
  }

  /**
   * Brings a damaged store back to one that verifies: every text that can still be read is kept and
   * rewritten, as `pack` rewrites; the keys whose texts cannot be rebuilt are dropped, and a kept text whose
   * parent was dropped takes that parent's nearest kept ancestors as its parents. Killed at any point, it
   * leaves the store as it was or as repaired. A store with nothing to repair is left as it is.
   */
  async repair(options: PackOptions = {}): Promise<RepairSummary> {
    // Read afresh: what the writer kept decoded must not stand in for bytes damaged since.
    return this.write(async writing => {
      const target = { ...writing, reader: this.reader }
      const packIds = target.packs.packIds()
      try {
        return await repairStore(options, target, (await verifyStore(target, { full: false })).problems.length)
      } finally {
        this.writerReader.forgetPacks(packIds)
      }
    })
  }

  /**
   * Copies into this store the texts of `source` it lacks (every file, or `options.files`), as a VCS's pull
   * does, in one index batch; well-filled source groups are copied whole (lib/store/fetch.ts).
   * @throws VSTORE_NOT_FOUND for a file the source lacks; VSTORE_EXISTS when a key is stored in both with
   * other content or parents; VSTORE_CORRUPT, naming the source group or key, for damage in the source.
   * Nothing is stored then.
   */
  async fetch(source: FetchSource, options: FetchOptions = {}): Promise<FetchSummary> {
    return this.write(async target => withAutoPack(await fetchFrom(source, options, target), options, target))
  }

  // ---- inspection ----

  async stats(): Promise<StoreStats> {
    return storeStats(this.open())
  }

  /** Group headers of every pack, in pack order. */
  async *groups(): AsyncGenerator<WalkedGroup> {
    yield* walkGroups(this.open().packs)
  }

  /** One group's header and records, with the delta instructions and the keys that point at each record. */
  async dumpGroup(packId: number, groupOffset: number): Promise<GroupDump> {
    return dumpGroup(this.open(), packId, groupOffset)
  }

  async *dumpIndex(filePrefix?: string): AsyncGenerator<IndexDumpRow> {
    yield* dumpIndex(this.open(), filePrefix)
  }

  /**
   * Reads every group whole (checksum, decode, record structure) and, with `full` (the default), rebuilds
   * every text, checking its length and content hash. Problems name the keys they take with them; nothing
   * is repaired.
   */
  async verify(options: { readonly full?: boolean } = {}): Promise<VerifyReport> {
    return verifyStore({ ...this.open(), reader: this.reader }, options)
  }
}
