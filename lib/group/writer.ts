/** GroupWriter: places texts in groups in write order, seals each at its cap or read budget, compresses it in the background and hands it on. */
import { measurePrefixes, type EntropyCodec } from '../entropy/index.js'
import { VstoreError } from '../errors.js'
import type { MatcherOptions } from '../delta/matcher.js'
import { GroupBuilder, type GroupBuilderOptions, type RecordRange } from './builder.js'
import { encodeGroup } from './frame.js'
import { encodeBaseRecord, type BaseText } from './records.js'

export interface GroupPolicy {
  /** Decompressed content cap of a group (a lone text may exceed it). */
  readonly maxContentByteLength: number
  /**
   * Most bytes (group header plus compressed prefix) one text's extraction may read, or the text's own
   * length if that is larger. A group is cut before the first record whose read would pass it, unless
   * that record is the group's first.
   */
  readonly maxReadByteLength: number
  /** See GroupBuilderOptions.largeTextFactor. */
  readonly largeTextFactor?: number
  /** Granularity of the compressed prefix a record's read is rounded up to. */
  readonly readChunkByteLength: number
  readonly codec: EntropyCodec
  readonly matcher?: Partial<MatcherOptions>
  /**
   * A group that starts with a text of at least `maxReadByteLength` bytes may name the text added just
   * before it, when that is a version of the same file, as its base (formats/group.md), so that it
   * starts with a delta instead of a fulltext; at most this many bases deep (0: never).
   */
  readonly maxBaseDepth?: number
  /** See GroupBuilderOptions.maxRebuildByteLength. */
  readonly maxRebuildByteLength?: number
  /** See GroupBuilderOptions.largeText. */
  readonly largeText?: GroupBuilderOptions['largeText']
}

/** What the writer needs to know about a text added earlier to use it as a base. */
export interface BaseLookup<Id> {
  /** Its key, length and whole hash, for the base record; `text` is the base text itself. */
  describe(id: Id, text: Uint8Array): BaseText
  /** What rebuilding it costs, once its group has been handed to `onSealed`. */
  cost(id: Id): BaseCost
}

export interface BaseCost {
  /** Bytes read and decoded to rebuild the text, its own group's prefix and its bases' together. */
  readonly readByteLength: number
  readonly decodedByteLength: number
  /** Its own base depth (0 when its group has no base). */
  readonly baseDepth: number
}

export interface SealedRecord<Id> extends RecordRange {
  readonly id: Id
  readonly textByteLength: number
  /** Bytes from the group's start that rebuild this record. */
  readonly readByteLength: number
  /** Bytes the decoder produces from that read. */
  readonly decodedByteLength: number
  /** The group's base chain: hops, and bytes read and decoded for it (0, 0, 0 without a base). */
  readonly baseDepth: number
  readonly baseReadByteLength: number
  readonly baseDecodedByteLength: number
}

export interface SealedGroup<Id> {
  /** The framed group, ready to append to a pack. */
  readonly bytes: Uint8Array
  readonly contentByteLength: number
  readonly records: readonly SealedRecord<Id>[]
}

interface Pending<Id> {
  readonly id: Id
  /** Its family (see GroupWriter.add) and file id. */
  readonly file: string | undefined
  readonly fileId: string | null | undefined
  /** Kept only when the writer has no `reload`. */
  readonly text: Uint8Array | undefined
  readonly textByteLength: number
  readonly range: RecordRange
  /** Base depth of the group the record was placed in. */
  readonly baseDepth: number
  /** Set on a group's first record when its base chain read too much: it starts its next group without a base. */
  readonly noBase?: boolean
}

/** The base of the group being built. */
interface GroupBase<Id> {
  readonly id: Id
  readonly depth: number
}

/** The last record placed: a candidate base for the next group. */
interface Placed<Id> {
  readonly id: Id
  readonly file: string | undefined
  readonly baseDepth: number
}

interface Flight<Id> {
  /** Records the cut left over, to be added again. */
  readonly leftover: Pending<Id>[]
  /** The record sealed just before them. */
  readonly lastKept: Placed<Id> | undefined
}

/**
 * Packs texts, in the order given, into groups under `policy`, handing each sealed group to `onSealed`
 * in order (awaited, so a slow sink holds the writer back: memory stays at two groups, one being
 * built and one compressing). With `reload`, the writer keeps no texts: the few it must delta again
 * after a cut at the read budget are asked for again by id. A read budget or chunk that is not positive
 * is VSTORE_USAGE.
 */
export class GroupWriter<Id> {
  private builder: GroupBuilder
  private pending: Pending<Id>[] = []
  private groupBase: GroupBase<Id> | undefined
  private lastPlaced: Placed<Id> | undefined
  /** The previous group, compressing while the next is built; resolves to the records its cut left over. */
  private inFlight: Promise<Flight<Id>> | undefined
  /** Stored bytes per content byte of the last group compressed: how much content the read budget holds. */
  private storedPerContentByte = 0.25
  private aborted = false

  constructor(
    private readonly policy: GroupPolicy,
    private readonly onSealed: (group: SealedGroup<Id>) => Promise<void>,
    private readonly reload?: (id: Id) => Promise<Uint8Array>,
    private readonly bases?: BaseLookup<Id>,
  ) {
    if (!(policy.maxReadByteLength > 0)) throw new VstoreError('VSTORE_USAGE', `maxReadByteLength must be > 0, got ${policy.maxReadByteLength}`, 'group options')
    if (!(policy.readChunkByteLength > 0)) throw new VstoreError('VSTORE_USAGE', `readChunkByteLength must be > 0, got ${policy.readChunkByteLength}`, 'group options')
    this.builder = this.newBuilder()
  }

  /** The next group's builder in place of the current one, which is empty or sealed (its content copied). */
  private replaceBuilder(base?: GroupBuilderOptions['base']): void {
    this.builder.release()
    this.builder = this.newBuilder(base)
  }

  /**
   * A builder capped at the content cap, or less where recent groups compressed poorly: content whose
   * compressed size would pass the read budget gets cut after compression and deltaed again (on
   * express+lodash, with PNGs and tarred binaries, 7 of 11 groups were cut and 89 MB of texts redone).
   */
  private newBuilder(base?: GroupBuilderOptions['base']): GroupBuilder {
    const fits = Math.floor((0.9 * this.policy.maxReadByteLength) / Math.max(this.storedPerContentByte, 1e-3))
    return new GroupBuilder({
      maxContentByteLength: Math.max(Math.min(64 * 1024, this.policy.maxContentByteLength), Math.min(this.policy.maxContentByteLength, fits)),
      ...(this.policy.largeTextFactor === undefined ? {} : { largeTextFactor: this.policy.largeTextFactor }),
      ...(this.policy.matcher === undefined ? {} : { matcher: this.policy.matcher }),
      ...(this.policy.maxRebuildByteLength === undefined ? {} : { maxRebuildByteLength: this.policy.maxRebuildByteLength }),
      ...(this.policy.largeText === undefined ? {} : { largeText: this.policy.largeText }),
      ...(base === undefined ? {} : { base }),
    })
  }

  /**
   * Adds a text. `family` (its file id, or one name for several files) lets versions of a file larger
   * than the cap share a group and bases pass between them; `fileId` (the family when absent, none when
   * null) lets a text delta against the previous version of its file in the group.
   */
  async add(id: Id, text: Uint8Array, family?: string, fileId: string | null | undefined = family, base?: Id): Promise<void> {
    if (base !== undefined) await this.startOn(base, family)
    await this.place(id, text, family, fileId, false)
  }

  /**
   * Starts a group on `base`, a text written before (in an earlier batch: a stored version of the file
   * the next text belongs to), sealing the group being built, when the base's chain leaves room within
   * `maxBaseDepth` and the read budget. Otherwise (or when a cut's leftovers took the new group) the text
   * goes where it would have gone.
   */
  private async startOn(base: Id, file: string | undefined): Promise<void> {
    if (this.bases === undefined || this.reload === undefined) return
    const cost = this.bases.cost(base)
    if (cost.baseDepth + 1 > (this.policy.maxBaseDepth ?? 0) || cost.readByteLength >= this.policy.maxReadByteLength) return
    if (this.pending.length > 0) await this.seal()
    if (this.pending.length > 0 || this.groupBase !== undefined) return
    const baseText = await this.reload(base)
    this.groupBase = { id: base, depth: cost.baseDepth + 1 }
    this.replaceBuilder({ text: baseText, record: encodeBaseRecord(this.bases.describe(base, baseText)), file })
  }

  private async place(id: Id, text: Uint8Array, file: string | undefined, fileId: string | null | undefined, noBase: boolean): Promise<void> {
    if (this.pending.length === 0 && !noBase) await this.startBased(text, file)
    let range = this.builder.tryAdd(text, file, fileId)
    // Sealing may carry records cut at the read budget into the new group, which can leave it too
    // full for this text again: seal until it fits (an empty group takes any text).
    while (range === undefined) {
      if (this.pending.length === 0) throw new Error('vstore bug: an empty group refused a text')
      await this.seal()
      if (!noBase) await this.startBased(text, file)
      range = this.builder.tryAdd(text, file, fileId)
    }
    const baseDepth = this.groupBase?.depth ?? 0
    this.pending.push({ id, file, fileId, text: this.reload === undefined ? text : undefined, textByteLength: text.length, range, baseDepth, ...(noBase ? { noBase } : {}) })
    this.lastPlaced = { id, file, baseDepth }
  }

  /**
   * Gives an empty group the text placed last as its base, when the new text is large and a version of
   * the same file, and the chain would stay within `maxBaseDepth`.
   */
  private async startBased(text: Uint8Array, file: string | undefined): Promise<void> {
    if (this.pending.length > 0 || this.groupBase !== undefined) return
    const previous = this.lastPlaced
    const maxBaseDepth = this.policy.maxBaseDepth ?? 0
    if (this.bases === undefined || this.reload === undefined || previous === undefined || file === undefined || previous.file !== file) return
    if (text.length < this.policy.maxReadByteLength || previous.baseDepth + 1 > maxBaseDepth) return
    const baseText = await this.reload(previous.id)
    this.groupBase = { id: previous.id, depth: previous.baseDepth + 1 }
    this.replaceBuilder({ text: baseText, record: encodeBaseRecord(this.bases.describe(previous.id, baseText)), file })
  }

  /** Seals every group, including those made of records that a cut carried over, and waits for them all. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.pending.length > 0) await this.seal()
      const leftover = await this.settle()
      if (leftover.length > 0) await this.readdBefore(leftover)
      else if (this.pending.length === 0) return
    }
  }

  /**
   * Starts compressing the group being built (on libuv's threadpool) and starts a new one, so that
   * building the next group overlaps compressing this one. At most one group compresses at a time:
   * the previous one is awaited first. If it had to be cut at the read budget, the group built
   * meanwhile is given up and its texts follow the cut ones into new groups, so texts are still
   * sealed in the order they were added.
   */
  private async seal(): Promise<void> {
    const leftover = await this.settle()
    if (leftover.length > 0) {
      await this.readdBefore(leftover)
      return
    }
    const records = this.pending
    // A copy of exactly the content: the builder's buffers (sized for a full group, with its hash tables) go now.
    const content = this.builder.content().slice()
    const base = this.groupBase
    this.pending = []
    this.groupBase = undefined
    this.replaceBuilder()
    const flight = this.compress(records, content, base)
    flight.catch(() => undefined) // the next settle() awaits it; this only keeps it from counting as unhandled meanwhile
    this.inFlight = flight
  }

  /**
   * Stops the writer after its caller failed: the group compressing in the background is waited for
   * and never handed on, so nothing reaches the sink once the caller starts undoing what it wrote.
   */
  async abort(): Promise<void> {
    this.aborted = true
    this.pending = []
    await this.settle().catch(() => undefined)
  }

  /** Waits for the group compressing in the background; returns the records its cut left over. */
  private async settle(): Promise<Pending<Id>[]> {
    const flight = this.inFlight
    this.inFlight = undefined
    if (flight === undefined) return []
    const { leftover, lastKept } = await flight
    if (leftover.length > 0) this.lastPlaced = lastKept
    return leftover
  }

  /**
   * Gives up the group being built and adds `leftover` (records a cut carried over, which came
   * earlier) and then that group's texts again, so texts keep their order.
   */
  private async readdBefore(leftover: readonly Pending<Id>[]): Promise<void> {
    const records = leftover.concat(this.pending)
    this.pending = []
    this.groupBase = undefined
    this.replaceBuilder()
    for (const { id, text, file, fileId, noBase } of records) {
      await this.place(id, text ?? (await (this.reload as (id: Id) => Promise<Uint8Array>)(id)), file, fileId, noBase === true)
    }
  }

  /**
   * Compresses a group, measures each record's read, and hands on the longest prefix of records whose
   * reads (with the base chain's) keep to the budget; returns the records cut after it (to be deltaed
   * afresh). A group whose first record already reads too much through its base is given up whole, and
   * that record starts the next group without a base.
   */
  private async compress(initial: Pending<Id>[], initialContent: Uint8Array, base: GroupBase<Id> | undefined): Promise<Flight<Id>> {
    let records = initial
    let content = initialContent
    let leftover: Pending<Id>[] = []
    // Every group before this one has been handed on, the base's among them.
    const chain: BaseCost = base === undefined ? { readByteLength: 0, decodedByteLength: 0, baseDepth: -1 } : (this.bases as BaseLookup<Id>).cost(base.id)
    const budget = (record: Pending<Id>) => Math.max(this.policy.maxReadByteLength, record.textByteLength)
    for (;;) {
      const { bytes, headerByteLength } = await encodeGroup(content, this.policy.codec)
      // A small group (the last before a commit) says little about the next one.
      if (content.length >= 64 * 1024) this.storedPerContentByte = (bytes.length - headerByteLength) / content.length
      const measures = await measurePrefixes(this.policy.codec, bytes.subarray(headerByteLength), records.map(r => r.range.recordEnd), this.policy.readChunkByteLength, content.length)
      const reads = measures.map(m => headerByteLength + m.storedByteLength)
      const first = records[0] as Pending<Id>
      if (base !== undefined && (reads[0] as number) + chain.readByteLength > budget(first)) {
        return { leftover: [{ ...first, noBase: true }, ...records.slice(1), ...leftover], lastKept: { id: base.id, file: first.file, baseDepth: chain.baseDepth } }
      }
      const cutAt = reads.findIndex((read, i) => i > 0 && read + chain.readByteLength > budget(records[i] as Pending<Id>))
      if (cutAt < 0) {
        if (this.aborted) return { leftover: [], lastKept: undefined }
        await this.onSealed({
          bytes,
          contentByteLength: content.length,
          records: records.map((record, i) => ({
            ...record.range,
            id: record.id,
            textByteLength: record.textByteLength,
            readByteLength: reads[i] as number,
            decodedByteLength: Math.min(content.length, (measures[i] as { decodedByteLength: number }).decodedByteLength),
            baseDepth: chain.baseDepth + 1,
            baseReadByteLength: chain.readByteLength,
            baseDecodedByteLength: chain.decodedByteLength,
          })),
        })
        const last = records[records.length - 1] as Pending<Id>
        return { leftover, lastKept: { id: last.id, file: last.file, baseDepth: last.baseDepth } }
      }
      // The first `cutAt` records' content is a prefix of this content; the rest must be deltaed afresh.
      leftover = records.slice(cutAt).concat(leftover)
      records = records.slice(0, cutAt)
      content = content.subarray(0, (records[records.length - 1] as Pending<Id>).range.recordEnd)
    }
  }
}
