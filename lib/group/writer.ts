import { measurePrefixes, type EntropyCodec } from '../entropy/index.js'
import type { MatcherOptions } from '../delta/matcher.js'
import { GroupBuilder, type RecordRange } from './builder.js'
import { encodeGroup } from './frame.js'

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
}

export interface SealedRecord<Id> extends RecordRange {
  readonly id: Id
  readonly textByteLength: number
  /** Bytes from the group's start that rebuild this record. */
  readonly readByteLength: number
  /** Bytes the decoder produces from that read. */
  readonly decodedByteLength: number
}

export interface SealedGroup<Id> {
  /** The framed group, ready to append to a pack. */
  readonly bytes: Uint8Array
  readonly contentByteLength: number
  readonly records: readonly SealedRecord<Id>[]
}

interface Pending<Id> {
  readonly id: Id
  readonly file: string | undefined
  /** Kept only when the writer has no `reload`. */
  readonly text: Uint8Array | undefined
  readonly textByteLength: number
  readonly range: RecordRange
}

/**
 * Packs texts, in the order given, into groups under `policy`, handing each sealed group to `onSealed`
 * in order (awaited, so a slow sink holds the writer back: memory stays at two groups, one being
 * built and one compressing). With `reload`, the
 * writer keeps no texts: the few it must delta again after a cut at the read budget are asked for
 * again by id.
 */
export class GroupWriter<Id> {
  private builder: GroupBuilder
  private pending: Pending<Id>[] = []
  /** The previous group, compressing while the next is built; resolves to the records its cut left over. */
  private inFlight: Promise<Pending<Id>[]> | undefined
  /** Stored bytes per content byte of the last group compressed: how much content the read budget holds. */
  private storedPerContentByte = 0.25
  private aborted = false

  constructor(
    private readonly policy: GroupPolicy,
    private readonly onSealed: (group: SealedGroup<Id>) => Promise<void>,
    private readonly reload?: (id: Id) => Promise<Uint8Array>,
  ) {
    if (!(policy.maxReadByteLength > 0)) throw new RangeError(`maxReadByteLength must be > 0, got ${policy.maxReadByteLength}`)
    if (!(policy.readChunkByteLength > 0)) throw new RangeError(`readChunkByteLength must be > 0, got ${policy.readChunkByteLength}`)
    this.builder = this.newBuilder()
  }

  /**
   * A builder capped at the content cap, or less where recent groups compressed poorly: content whose
   * compressed size would pass the read budget gets cut after compression and deltaed again (on
   * express+lodash, with PNGs and tarred binaries, 7 of 11 groups were cut and 89 MB of texts redone).
   */
  private newBuilder(): GroupBuilder {
    const fits = Math.floor((0.9 * this.policy.maxReadByteLength) / Math.max(this.storedPerContentByte, 1e-3))
    return new GroupBuilder({
      maxContentByteLength: Math.max(Math.min(64 * 1024, this.policy.maxContentByteLength), Math.min(this.policy.maxContentByteLength, fits)),
      ...(this.policy.largeTextFactor === undefined ? {} : { largeTextFactor: this.policy.largeTextFactor }),
      ...(this.policy.matcher === undefined ? {} : { matcher: this.policy.matcher }),
    })
  }

  /** Adds a text; `file` (its file id) lets versions of a file larger than the cap share a group. */
  async add(id: Id, text: Uint8Array, file?: string): Promise<void> {
    let range = this.builder.tryAdd(text, file)
    // Sealing may carry records cut at the read budget into the new group, which can leave it too
    // full for this text again: seal until it fits (an empty group takes any text).
    while (range === undefined) {
      if (this.pending.length === 0) throw new Error('vstore bug: an empty group refused a text')
      await this.seal()
      range = this.builder.tryAdd(text, file)
    }
    this.pending.push({ id, file, text: this.reload === undefined ? text : undefined, textByteLength: text.length, range })
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
    const content = this.builder.content()
    this.pending = []
    this.builder = this.newBuilder()
    const flight = this.compress(records, content)
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

  private async settle(): Promise<Pending<Id>[]> {
    const flight = this.inFlight
    this.inFlight = undefined
    return flight === undefined ? [] : flight
  }

  /**
   * Gives up the group being built and adds `leftover` (records a cut carried over, which came
   * earlier) and then that group's texts again, so texts keep their order.
   */
  private async readdBefore(leftover: readonly Pending<Id>[]): Promise<void> {
    const records = leftover.concat(this.pending)
    this.pending = []
    this.builder = this.newBuilder()
    for (const { id, text, file } of records) await this.add(id, text ?? (await (this.reload as (id: Id) => Promise<Uint8Array>)(id)), file)
  }

  /**
   * Compresses a group, measures each record's read, and hands on the longest prefix of records whose
   * reads keep to the budget; returns the records cut after it (to be deltaed afresh).
   */
  private async compress(initial: Pending<Id>[], initialContent: Uint8Array): Promise<Pending<Id>[]> {
    let records = initial
    let content = initialContent
    let leftover: Pending<Id>[] = []
    for (;;) {
      const { bytes, headerByteLength } = await encodeGroup(content, this.policy.codec)
      // A small group (the last before a commit) says little about the next one.
      if (content.length >= 64 * 1024) this.storedPerContentByte = (bytes.length - headerByteLength) / content.length
      const measures = await measurePrefixes(this.policy.codec, bytes.subarray(headerByteLength), records.map(r => r.range.recordEnd), this.policy.readChunkByteLength)
      const reads = measures.map(m => headerByteLength + m.storedByteLength)
      const cutAt = reads.findIndex((read, i) => i > 0 && read > Math.max(this.policy.maxReadByteLength, (records[i] as Pending<Id>).textByteLength))
      if (cutAt < 0) {
        if (this.aborted) return []
        await this.onSealed({
          bytes,
          contentByteLength: content.length,
          records: records.map((record, i) => ({
            ...record.range,
            id: record.id,
            textByteLength: record.textByteLength,
            readByteLength: reads[i] as number,
            decodedByteLength: Math.min(content.length, (measures[i] as { decodedByteLength: number }).decodedByteLength),
          })),
        })
        return leftover
      }
      // The first `cutAt` records' content is a prefix of this content; the rest must be deltaed afresh.
      leftover = records.slice(cutAt).concat(leftover)
      records = records.slice(0, cutAt)
      content = content.subarray(0, (records[records.length - 1] as Pending<Id>).range.recordEnd)
    }
  }
}
