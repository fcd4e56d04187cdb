/**
 * The one engine that writes a batch (a WritePlan) for insert, pack, repair and fetch alike: it puts each
 * new text in a group (in write order, a file's group starting on its stored version where it continues
 * one), points texts whose content is stored already at it, appends the sealed groups to the packs, and
 * commits them with their index records, at the checkpoints asked for and at the end.
 */
import { bytesEqual, toHex } from '../bytes/index.js'
import { GroupWriter, type BaseCost, type SealedGroup } from '../group/writer.js'
import { describeKey } from '../index/records.js'
import { writeOrder } from '../order/graph.js'
import type { PackSet, PackWrite } from './pack-set.js'
import type { StoreSettings } from './settings.js'
import type { IndexBatch, StoreIndex, Totals } from './store-index.js'
import { entryAt, type KeyedEntry } from './locations.js'
import type { PackKeys } from './pack-keys.js'
import type { RecentTexts } from './recent-texts.js'
import type { TextReader } from './text-reader.js'
import type { InsertSummary, TextEntry, TextKey, TextLocation } from './types.js'
import type { CopiedRecords, PlannedText, WritePlan } from './write-plan.js'
import { hashText, hashesMatch, isWholeHash } from './text-hash.js'

const COMPACT_AFTER_OPERATIONS = 64
/** The writer's family (GroupWriter.add) of every text of a large file; file ids are never empty, so no file is named so. */
const LARGE_FAMILY = ''
/**
 * The top-tier packs a top-tier merge may start its files on: the newest two. Older ones hold versions the
 * history has moved far from: at 80 % of the jq replay one unbased pack of the first fifth of the history
 * was the base of nine others, and the store 1.43× a bulk insert of the same history; starting afresh
 * instead (a new unbased pack) kept every tenth from 40 % on at 1.22–1.34× (one: 1.23–1.37×, three:
 * 1.22–1.40×), the final store and the reads per extraction unchanged.
 */
const TOP_TIER_BASE_PACKS = 2
/** Index lookups a search for a stored base makes along first parents before it reads the file's entries at once. */
const WALK_LOOKUPS = 8
/**
 * With automatic packing, the deepest base chain a text may have: 3 bases, so an extraction takes at most 4
 * reads. A write that makes tier k starts a group only on a version at most max(0, 2 − k) bases deep, so that
 * every tier below can chain one base more on what it writes. Bases also run down the tiers, but that alone
 * bounds a chain by the tiers a store has: with a top tier of 3 or more, a small history merged by 3 reached
 * 4 bases and one merged by 2, 6 (jq's replay, which makes one tier-3 pack, stayed within 3). Held here, those
 * two end at 3, for 7.6 % and 14.7 % more bytes (some of their merges start afresh); jq's and
 * express+lodash's replays end the same but for 1.3 KB (express+lodash), after 17 and 196 KB more appended.
 *
 * A group may also start on a version in its own tier (an insert on a lower-tier version, a merge on one in
 * an older pack of the tier it makes) within that depth: on the jq replay this took the appends from 4.40 to
 * 4.03 MB and write amplification from 5.35 to 5.06, every tenth at or below where it was, the final store
 * and its reads per extraction the same.
 */
const AUTO_PACK_MAX_BASE_DEPTH = 3
/** The minimum copy of texts over the group cap (GroupBuilderOptions.largeText). */
const LARGE_TEXT_MIN_COPY_BYTE_LENGTH = 32

/** A stored text a batch's group may start on (its base): a file's history continuing from an earlier batch. */
interface StoredBase {
  readonly file: string
  readonly rev: string
  readonly entry: TextEntry
}

/** What the group writer places: a text of the batch (by its index in the plan), or a stored base. */
type WriterId = { readonly kind: 'new'; readonly index: number } | { readonly kind: 'stored'; readonly base: StoredBase }

/** The parts of an open store a batch writes through. */
export interface BatchTarget {
  readonly index: StoreIndex
  readonly packs: PackSet
  readonly reader: TextReader
  readonly settings: StoreSettings
  /** The texts committed last, kept for the next batch (a writer's; none for a reader). */
  readonly recent?: RecentTexts
  /** The keys of each pack the writer made (a writer's; none for a reader). */
  readonly packKeys?: PackKeys
}

/** Writes `plan`; see the file's comment. Nothing is visible before a commit, and what no commit covered is rolled back. */
export async function writeBatch(plan: WritePlan, target: BatchTarget): Promise<InsertSummary> {
  return new BatchWriter(plan, target).run()
}

class BatchWriter {
  private readonly texts: readonly PlannedText[]
  private readonly ids: readonly WriterId[]
  private readonly locations = new Map<number, TextLocation>()
  /** Texts whose content an earlier text of the batch has: they point at its location. */
  private readonly sameAs = new Map<number, number>()
  private readonly firstWithHash = new Map<string, number>()
  private readonly started = new Set<string>()
  private readonly write: PackWrite
  private readonly groupWriter: GroupWriter<WriterId>
  private readonly largeFiles: ReadonlySet<string>
  /** Texts read for the group writer, kept until their commit hands them to RecentTexts (a small batch only). */
  private readonly readTexts = new Map<number, Uint8Array>()
  /** Stored entries of the files read so far (storedEntriesOf). */
  private readonly storedEntries = new Map<string, Map<string, TextEntry>>()
  /** Whole hashes of the texts that came with a short one (PlannedText.hash), taken from their bytes. */
  private readonly wholeHashes = new Map<number, Uint8Array>()
  /** Texts placed since the last commit, in write order. */
  private uncommitted: number[] = []
  /** A fetch's copied groups, until the commit that indexes them. */
  private copied: CopiedRecords | undefined
  private storedTextCount = 0
  private writtenTextCount = 0
  private writtenRawByteLength = 0
  private groupCount = 0
  private storedByteLength = 0
  private operationCount = 0
  private committedGroupCount = 0
  private committedRawByteLength = 0
  private lastCheckpointRawByteLength = 0

  constructor(private readonly plan: WritePlan, private readonly target: BatchTarget) {
    this.texts = plan.texts
    this.ids = plan.texts.map((_, index) => ({ kind: 'new', index }))
    this.write = target.packs.beginWrite({ firstPackId: plan.replaces?.firstPackId ?? plan.firstPackId ?? 0 })
    this.largeFiles = new Set(plan.texts.filter(text => this.isLarge(text)).map(text => text.file))
    this.groupWriter = this.newGroupWriter()
  }

  /** A rewrite of every pack (pack, repair): every text moves, so nothing stored can be pointed at or kept. */
  private get rewritesAll(): boolean {
    return this.plan.replaces !== undefined && this.plan.replaces.keptTotals === undefined
  }

  private isLarge(text: PlannedText): boolean {
    return text.ref.byteLength > this.target.settings.maxContentByteLength
  }

  private report(): void {
    const { textCount, rawByteLength, newRawByteLength } = this.plan.counts
    this.plan.options.onProgress?.({
      phase: 'writing', textCount, rawByteLength, newTextCount: this.texts.length, newRawByteLength, writtenTextCount: this.writtenTextCount,
      writtenRawByteLength: this.writtenRawByteLength, groupCount: this.groupCount, storedByteLength: this.storedByteLength,
    })
  }

  async run(): Promise<InsertSummary> {
    try {
      await this.appendCopied()
      await this.placeAll()
      await this.commit()
    } catch (error) {
      // What was not committed is not indexed: stop the group still compressing in the background
      // (it would append after the rollback), then drop what this batch appended to the packs. After a
      // failed index write the batch may be in the index all the same: the packs keep the bytes it would
      // name (the next open trims them if it is not).
      await this.groupWriter.abort()
      if (!this.target.index.writeFailed) await this.write.rollback()
      throw error
    }
    // LevelDB keeps a fresh batch in its uncompressed log until the log fills; a large batch is worth
    // turning into tables now (jq: 750 KiB of log became 605 KiB of tables). After a small one the index
    // tidies itself as it needs. Either comes after the commit, outside the rollback: a failure here
    // leaves the committed batch as it is.
    if (this.operationCount >= COMPACT_AFTER_OPERATIONS) await this.target.index.compact()
    else await this.target.index.tidy()
    this.report()
    const { textCount, rawByteLength } = this.plan.counts
    return {
      textCount, newTextCount: this.texts.length, duplicateTextCount: this.texts.length - this.storedTextCount, rawByteLength,
      newRawByteLength: this.committedRawByteLength, groupCount: this.groupCount, storedByteLength: this.storedByteLength,
    }
  }

  /** A fetch's copied groups go first, before anything is compressed. */
  private async appendCopied(): Promise<void> {
    if (this.plan.copied === undefined) return
    this.copied = await this.plan.copied.append(async (bytes, rawByteLength) => {
      const at = await this.write.append(bytes, rawByteLength)
      this.groupCount++
      this.storedByteLength += bytes.length
      this.report()
      return at
    })
  }

  /** Each text in write order: a checkpoint commit between families when one is due, then its place. */
  private async placeAll(): Promise<void> {
    const firstBases = await this.storedBases()
    const checkpoint = this.plan.options.checkpointByteLength
    let previousFamily: string | undefined
    const large = { minByteLength: this.target.settings.maxContentByteLength, byteLength: (text: PlannedText) => text.ref.byteLength }
    // An origin in this batch must be committed with, or before, the texts that name it: a checkpoint
    // waits while one is still to be placed.
    const batchKeys = new Set(this.texts.map(describeKey))
    const placed = new Set<string>()
    const placedOrElsewhere = (origin: TextKey | undefined) => origin === undefined || !batchKeys.has(describeKey(origin)) || placed.has(describeKey(origin))
    const originPlaced = (index: number) => placedOrElsewhere((this.texts[index] as PlannedText).origin)
    for (const index of writeOrder(this.texts, large)) {
      const text = this.texts[index] as PlannedText
      const family = this.largeFiles.has(text.file) ? LARGE_FAMILY : text.file
      if (checkpoint !== undefined && family !== previousFamily && this.uncommitted.length > 0
        && this.writtenRawByteLength - this.lastCheckpointRawByteLength >= checkpoint && this.uncommitted.every(originPlaced)
        && (this.copied?.texts ?? []).every(({ entry }) => placedOrElsewhere(entry.origin))) {
        await this.commit()
      }
      placed.add(describeKey(text))
      previousFamily = family
      this.writtenTextCount++
      this.writtenRawByteLength += text.ref.byteLength
      this.uncommitted.push(index)
      await this.place(index, firstBases)
    }
  }

  /**
   * A file whose history continues from an earlier batch starts its group on the stored version its first
   * text here descends from, so that a commit's or a release's texts are deltas, not fulltexts in groups
   * of their own; a file moved or copied here from a stored one (a text without parents that names a stored
   * origin) starts on its origin's version. Texts over the group cap pass through bases of their own instead.
   */
  private async storedBases(): Promise<Map<string, WriterId>> {
    const batchKeys = new Set(this.texts.map(describeKey))
    const bases = new Map<string, WriterId>()
    for (const text of this.texts) {
      if (bases.has(text.file) || this.largeFiles.has(text.file)) continue
      const parent = text.parents.find(rev => !batchKeys.has(describeKey({ file: text.file, rev })))
      const from = parent !== undefined ? { file: text.file, rev: parent }
        : text.parents.length === 0 && text.origin !== undefined && !batchKeys.has(describeKey(text.origin)) ? text.origin : undefined
      if (from === undefined) continue
      const base = await this.baseFrom(from.file, from.rev)
      if (base !== undefined) bases.set(text.file, { kind: 'stored', base })
    }
    return bases
  }

  /**
   * The stored version of `file` a group starts on: `rev`, or with `baseTier` its nearest ancestor high enough
   * in the tiers, or in its own tier, with room left in its chain either way (AUTO_PACK_MAX_BASE_DEPTH).
   */
  private async baseFrom(file: string, rev: string): Promise<StoredBase | undefined> {
    const known = this.target.recent?.get({ file, rev })?.entry ?? (await this.target.index.tryGetEntry({ file, rev }))
    const tiers = this.plan.baseTier
    if (known === undefined) return undefined
    const parent = { file, rev, entry: known }
    if (tiers === undefined) return parent
    // With no pack that high yet (a young store; a merge into the top tier), one tier lower will do: an
    // insert then starts on the version it descends from, a top-tier merge on a version one of the newest
    // TOP_TIER_BASE_PACKS top-tier packs holds without a base (so that chains do not run along the top tier:
    // jq's appends were 7.3 MB with them, 4.5 MB without), or afresh, making a pack the next ones start on.
    const lower = !this.target.packs.packIds().some(packId => tiers.tierOf(packId) >= tiers.minTier)
    const minTier = lower ? tiers.minTier - 1 : tiers.minTier
    const replaced = this.plan.replaces?.oldPackIds
    const topMerge = lower && replaced !== undefined
    // This write makes tier minTier - 1 (an insert: 0); see AUTO_PACK_MAX_BASE_DEPTH. A top-tier merge starts
    // only on versions without a base.
    const deepestBase = topMerge ? 0 : Math.max(0, AUTO_PACK_MAX_BASE_DEPTH - tiers.minTier)
    const newestTop = topMerge ? new Set(this.target.packs.packIds().filter(packId => !replaced.includes(packId) && tiers.tierOf(packId) >= minTier).slice(-TOP_TIER_BASE_PACKS)) : undefined
    // Along first parents: the last commits' entries from what the writer kept, the first steps by lookups,
    // then the file's entries read at once (one range of the index; a long walk would be a lookup a step).
    let entries: Map<string, TextEntry> | undefined
    let lookups = 0
    let candidate: string | undefined = rev
    let entry: TextEntry | undefined = known
    const seen = new Set<string>()
    while (candidate !== undefined && entry !== undefined && !seen.has(candidate)) {
      seen.add(candidate)
      const tier = tiers.tierOf(entry.packId)
      const high = tier >= minTier && entry.baseDepth <= deepestBase && newestTop?.has(entry.packId) !== false
      const same = !lower && tier >= minTier - 1 && entry.baseDepth <= deepestBase
      if (replaced?.includes(entry.packId) !== true && (high || same)) return { file, rev: candidate, entry }
      candidate = entry.parents[0]
      if (candidate === undefined) break
      const key: TextKey = { file, rev: candidate }
      entry = this.target.recent?.get(key)?.entry
      if (entry !== undefined) continue
      if (entries === undefined && lookups++ < WALK_LOOKUPS) entry = await this.target.index.tryGetEntry(key)
      else entry = (entries ??= await this.storedEntriesOf(file)).get(candidate)
    }
    // No ancestor that high (a file new since the last merge): afresh. A chain of its appends would restart
    // with a fulltext every few versions all the same, and cost reads until then (jq replayed: appends 7.1 MB
    // with such chains, 4.7 MB without).
    return undefined
  }

  /** One text: pointed at content stored already (in the batch, a copied group or the store), or added to a group. */
  private async place(index: number, firstBases: ReadonlyMap<string, WriterId>): Promise<void> {
    const text = this.texts[index] as PlannedText
    // A text a rewrite or fetch moves comes with its stored hash, only a check when the text is short:
    // identical texts are found by whole hashes, so its own is taken from its bytes.
    const read = isWholeHash(text.hash) ? undefined : await this.plan.source.read(text.ref)
    if (read !== undefined) this.wholeHashes.set(index, hashText(read))
    const hash = this.hashOf(index)
    const hashHex = toHex(hash)
    const earlier = this.firstWithHash.get(hashHex)
    if (earlier !== undefined) {
      this.sameAs.set(index, earlier)
      return
    }
    this.firstWithHash.set(hashHex, index)
    const stored = this.copied?.locationsByHash.get(hashHex) ?? (await this.storedSameContent(index, read))
    if (stored !== undefined) {
      this.locations.set(index, stored)
      return
    }
    this.storedTextCount++
    // Texts over the cap pass through bases instead: as a previous text each would hold megabytes more in
    // memory, and typescript stored 24 % larger with them (DESIGN.md).
    const first = !this.started.has(text.file)
    this.started.add(text.file)
    const large = this.isLarge(text)
    const base = first ? firstBases.get(text.file) : undefined
    const bytes = read ?? (await this.plan.source.read(text.ref))
    const recent = this.target.recent
    if (recent !== undefined && !this.rewritesAll && this.plan.counts.newRawByteLength <= recent.maxByteLength) this.readTexts.set(index, bytes)
    await this.groupWriter.add(this.ids[index] as WriterId, bytes, large ? LARGE_FAMILY : text.file, large ? null : text.file, base)
    this.report()
  }

  private hashOf(index: number): Uint8Array {
    return this.wholeHashes.get(index) ?? (this.texts[index] as PlannedText).hash
  }

  /**
   * Where the store has this text's content already: a stored version of its own file (a revert, a merge
   * taking one side) or of its origin's file (a move or copy left as it was), with the same length and hash.
   * A stored short hash is only a check, so such a version's bytes are compared. Other files are not
   * searched: on jq's history these two find 144 of the 160 texts stored before under another key (the
   * rest: release signatures under second names, one copied manual). A rewrite finds nothing: what it moves was
   * deduplicated when it was inserted.
   */
  private async storedSameContent(index: number, read: Uint8Array | undefined): Promise<TextLocation | undefined> {
    if (this.plan.replaces !== undefined) return undefined
    const text = this.texts[index] as PlannedText
    const hash = this.hashOf(index)
    const files = text.origin === undefined ? [text.file] : [text.file, text.origin.file]
    let bytes = read
    for (const file of files) {
      for (const [rev, entry] of await this.storedEntriesOf(file)) {
        if (entry.textByteLength !== text.ref.byteLength || !hashesMatch(entry.hash, hash)) continue
        if (!isWholeHash(entry.hash)) {
          bytes ??= await this.plan.source.read(text.ref)
          if (!bytesEqual(await this.target.reader.get({ file, rev }), bytes)) continue
        }
        return entry
      }
    }
    return undefined
  }

  /** The stored entries of `file` by revision, read once a batch (the base search and the content search share them). */
  private async storedEntriesOf(file: string): Promise<Map<string, TextEntry>> {
    let entries = this.storedEntries.get(file)
    if (entries === undefined) {
      entries = new Map()
      for await (const row of this.target.index.fileEntries(file)) entries.set(row.rev, row.entry)
      this.storedEntries.set(file, entries)
    }
    return entries
  }

  private newGroupWriter(): GroupWriter<WriterId> {
    const { settings } = this.target
    return new GroupWriter<WriterId>({
      maxContentByteLength: settings.maxContentByteLength,
      maxReadByteLength: settings.maxReadByteLength,
      readChunkByteLength: settings.readChunkByteLength,
      codec: settings.codecInstance,
      matcher: { minCopyByteLength: settings.minCopyByteLength },
      largeTextFactor: settings.largeTextFactor,
      maxBaseDepth: settings.maxBaseDepth,
      maxRebuildByteLength: settings.maxRebuildByteLength,
      largeText: { minByteLength: settings.maxContentByteLength, minCopyByteLength: Math.min(LARGE_TEXT_MIN_COPY_BYTE_LENGTH, settings.minCopyByteLength) },
    }, group => this.sealed(group), id => this.readText(id), {
      // A stored hash may be short (a check): the base record names the base by its whole hash.
      describe: (id, text) => {
        const { file, rev, hash } = id.kind === 'stored' ? { ...id.base, hash: id.base.entry.hash } : { ...(this.texts[id.index] as PlannedText), hash: this.hashOf(id.index) }
        return { file, rev, textByteLength: text.length, hash: isWholeHash(hash) ? hash : hashText(text) }
      },
      cost: id => this.costOf(id),
    })
  }

  private readText(id: WriterId): Promise<Uint8Array> {
    if (id.kind === 'stored') {
      const key = { file: id.base.file, rev: id.base.rev }
      const recent = this.target.recent?.get(key)
      return recent === undefined ? this.target.reader.get(key) : Promise.resolve(recent.text)
    }
    return this.plan.source.read((this.texts[id.index] as PlannedText).ref)
  }

  private costOf(id: WriterId): BaseCost {
    const location = id.kind === 'stored' ? id.base.entry : this.locations.get(id.index)
    if (location === undefined) throw new Error('vstore bug: a base was used before its group was written')
    return {
      readByteLength: location.readByteLength + location.baseReadByteLength,
      decodedByteLength: location.decodedByteLength + location.baseDecodedByteLength,
      baseDepth: location.baseDepth,
    }
  }

  /** A group the writer sealed: appended, and its records' locations noted for the next commit. */
  private async sealed(group: SealedGroup<WriterId>): Promise<void> {
    const { packId, offset } = await this.write.append(group.bytes, group.records.reduce((sum, record) => sum + record.textByteLength, 0))
    this.groupCount++
    this.storedByteLength += group.bytes.length
    for (const record of group.records) {
      if (record.id.kind !== 'new') throw new Error('vstore bug: a stored base was written as a record')
      // The decoded length as the index gives it back (from store format 5 on it keeps none: the record's end), so
      // that what a writer derives from it (a base chain's cost) is the same whether it kept the entry or
      // read it again.
      this.locations.set(record.id.index, {
        packId, groupOffset: offset, readByteLength: record.readByteLength, recordStart: record.recordStart, recordEnd: record.recordEnd,
        decodedByteLength: record.recordEnd, textByteLength: record.textByteLength, hash: this.hashOf(record.id.index), baseDepth: record.baseDepth,
        baseReadByteLength: record.baseReadByteLength, baseDecodedByteLength: record.baseDecodedByteLength,
      })
    }
  }

  /**
   * Makes every text placed so far durable and visible: seals the open group, syncs the packs, then one
   * synced index batch. Only ever called between files, so each file's texts become visible together with
   * their parents.
   */
  private async commit(): Promise<void> {
    await this.groupWriter.flush()
    const replaces = this.plan.replaces
    // A rewrite that keeps no text still leaves a pack (its header alone) numbered after the old ones, so
    // that no later pack takes the number, and the name, of one a reader's older index copy names.
    if (replaces !== undefined && replaces.oldPackIds.length > 0 && this.write.touched.size === 0) await this.write.ensurePack(replaces.firstPackId)
    const batch = this.target.index.batch()
    // Read before anything of the commit is durable: a failed read then leaves the packs to the rollback.
    if (replaces !== undefined) await batch.dropHashRecords(this.rewritesAll ? undefined : replaces.oldPackIds)
    const rawBytes = this.uncommittedRawByteLength()
    const totals = await this.totalsAfter(rawBytes)
    await this.write.sync()
    const rows = this.addTexts(batch)
    for (const [packId, state] of this.write.touched) batch.putPack(packId, state)
    if (replaces !== undefined) {
      // The same batch forgets the old packs (the next open deletes their files if this process cannot)
      // and the hash records of older builds locating texts in them (dropHashRecords above).
      for (const packId of replaces.oldPackIds) batch.deletePack(packId)
      for (const key of replaces.deletedKeys) batch.deleteText(key)
    }
    for (const { key, entry } of this.copied?.texts ?? []) batch.putText(key, entry)
    batch.setTotals(totals)
    const createdPackIds = [...this.write.touched.keys()].filter(packId => this.target.packs.state(packId) === undefined)
    await batch.commit()
    // Before anything else: once the batch is in the index, the set must know its packs, or a failure in
    // what follows would roll back (delete) packs the index names. The replaced packs go from the set's
    // state with the commit that forgets them; their files after.
    this.write.committed(replaces?.oldPackIds ?? [])
    this.notePackKeys(rows, createdPackIds)
    this.operationCount += batch.operationCount
    this.committedGroupCount = this.groupCount
    this.committedRawByteLength += rawBytes
    this.lastCheckpointRawByteLength = this.writtenRawByteLength
    this.remember()
    this.copied = undefined
    this.uncommitted = []
  }

  /** The texts just committed go to RecentTexts, with their entries as the index now has them. */
  private remember(): void {
    for (const index of this.uncommitted) {
      const bytes = this.readTexts.get(index)
      if (bytes === undefined) continue
      this.readTexts.delete(index)
      const text = this.texts[index] as PlannedText
      this.target.recent?.put(text, entryAt(this.locations.get(index) as TextLocation, text.parents, text.origin), bytes)
    }
  }

  /** Bytes of the texts placed since the last commit. */
  private uncommittedRawByteLength(): number {
    return this.uncommitted.reduce((sum, index) => sum + (this.texts[index] as PlannedText).ref.byteLength, 0)
  }

  /** The text records of the texts placed since the last commit; returns the texts' keys with their entries. */
  private addTexts(batch: IndexBatch): KeyedEntry[] {
    const rows: KeyedEntry[] = []
    for (const index of this.uncommitted) {
      const text = this.texts[index] as PlannedText
      const location = this.locations.get(this.sameAs.get(index) ?? index) as TextLocation
      const entry = entryAt(location, text.parents, text.origin)
      batch.putText(text, entry)
      rows.push({ file: text.file, rev: text.rev, entry })
    }
    return rows
  }

  /** After a commit: the writer's lists of each pack's keys (PackKeys) take what it wrote (`createdPackIds`: the packs the commit created) and forget what it replaced. */
  private notePackKeys(rows: readonly KeyedEntry[], createdPackIds: readonly number[]): void {
    const packKeys = this.target.packKeys
    if (packKeys === undefined) return
    const replaces = this.plan.replaces
    if (replaces !== undefined) packKeys.forget(this.rewritesAll ? undefined : replaces.oldPackIds)
    for (const packId of createdPackIds) packKeys.created(packId)
    for (const row of rows) packKeys.committed(row)
    for (const { key, entry } of this.copied?.texts ?? []) packKeys.committed({ ...key, entry })
  }

  /** The totals after this commit; a rewrite commits once, with every key it moves, so its totals start from what it keeps. */
  private async totalsAfter(rawBytes: number): Promise<Totals> {
    const replaces = this.plan.replaces
    const before = replaces === undefined ? await this.target.index.totals() : replaces.keptTotals ?? { textCount: 0, rawByteLength: 0, groupCount: 0 }
    return {
      textCount: before.textCount + this.uncommitted.length + (this.copied?.textCount ?? 0),
      rawByteLength: before.rawByteLength + rawBytes + (this.copied?.rawByteLength ?? 0),
      groupCount: before.groupCount + this.groupCount - this.committedGroupCount,
    }
  }
}
