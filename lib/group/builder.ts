/** One group being built: texts added in order, each delta-compressed against the group's content so far, up to its content cap. */
import { DeltaSource, DEFAULT_MATCHER_OPTIONS, type MatcherOptions } from '../delta/matcher.js'
import { ByteWriter } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import { DEFAULT_GROUP_LIMITS } from './frame.js'
import { chainChargeOf, encodeRecordHeader, MAX_CHAIN_RECORD_COUNT, RECORD_DELTA, RECORD_DELTA_PREVIOUS, RECORD_FULLTEXT } from './records.js'

export interface GroupBuilderOptions {
  /**
   * Close the group before a record would take its content past this many bytes (a lone record may
   * exceed it). For versions of the same file as the group's largest text, the cap is instead
   * `largeTextFactor` times that text's length, when that is more.
   */
  readonly maxContentByteLength: number
  /** Lets versions of a file larger than the cap share a group (as deltas) instead of each sitting alone. */
  readonly largeTextFactor?: number
  /**
   * The most content a group may reach whatever `largeTextFactor` allows: what readers accept
   * (DEFAULT_GROUP_LIMITS.maxContentByteLength, the default), so that no group is written that a reader refuses.
   */
  readonly maxGroupContentByteLength?: number
  readonly matcher?: Partial<MatcherOptions>
  /**
   * A text stored elsewhere that this group's deltas may copy from (formats/group.md, Base): its bytes
   * come before the content as delta source, and `record` (its encoded base record) is the content's
   * first record. `file` is its file id, for the large-text rule.
   */
  readonly base?: { readonly text: Uint8Array; readonly record: Uint8Array; readonly file: string | undefined }
  /**
   * A text may delta against the previous version of its file in the group (formats/group.md, Delta on
   * the previous text) while rebuilding it, its previous texts included, makes at most this many bytes
   * of text, or REBUILD_FACTOR times its own length when that is more (0: never).
   */
  readonly maxRebuildByteLength?: number
  /**
   * Texts longer than `minByteLength` use this minimum copy instead of the matcher's: typescript's
   * bundles stored 25 % larger at 96 than at 32, where other texts gain from 96 (DESIGN.md).
   */
  readonly largeText?: { readonly minByteLength: number; readonly minCopyByteLength: number }
}

export const DEFAULT_MAX_REBUILD_BYTE_LENGTH = 1024 * 1024
/** How many times its own length rebuilding a text may make, when that is more than `maxRebuildByteLength`. */
const REBUILD_FACTOR = 4
/** How many bytes of texts the builder may hold as previous versions (the first files to come keep theirs). */
const MAX_RETAINED_BYTE_LENGTH = 32 * 1024 * 1024

/** The last text of a file added to the group, which the file's next text may delta against. */
interface Previous {
  readonly text: Uint8Array
  readonly recordStart: number
  /** What rebuilding it counts (records.ts chainChargeOf), its own previous texts included. */
  readonly rebuildByteLength: number
  /** Records in its chain, itself included. */
  readonly chainRecordCount: number
}

export interface RecordRange {
  readonly recordStart: number
  readonly recordEnd: number
  readonly kind: 'fulltext' | 'delta' | 'delta-previous'
  /** What rebuilding the record counts towards the rebuild bound, its previous texts included. */
  readonly rebuildByteLength: number
}

/**
 * Builds one group's decompressed content: each text becomes a delta against the content so far,
 * or a fulltext when the delta is no smaller. A cap that is not positive is VSTORE_USAGE.
 */
export class GroupBuilder {
  private readonly source: DeltaSource
  private readonly records: RecordRange[] = []
  private largest: { byteLength: number; file: string | undefined } = { byteLength: 0, file: undefined }
  /** Bytes of the base text before the content in the delta source (0 without a base). */
  private readonly baseByteLength: number
  private readonly previous = new Map<string, Previous>()
  private retainedByteLength = 0

  constructor(private readonly options: GroupBuilderOptions) {
    if (!(options.maxContentByteLength > 0)) throw new VstoreError('VSTORE_USAGE', `maxContentByteLength must be > 0, got ${options.maxContentByteLength}`, 'group options')
    const base = options.base
    this.baseByteLength = base?.text.length ?? 0
    // Sized for what the group can hold, so that its buffers need not grow: with a base (a large text)
    // the content may reach largeTextFactor times it.
    const contentCap = Math.min(options.maxGroupContentByteLength ?? DEFAULT_GROUP_LIMITS.maxContentByteLength, Math.max(options.maxContentByteLength, Math.floor((options.largeTextFactor ?? 0) * this.baseByteLength)))
    this.source = new DeltaSource({ ...DEFAULT_MATCHER_OPTIONS, expectedContentByteLength: this.baseByteLength + contentCap, ...options.matcher })
    if (base !== undefined) {
      this.source.append(base.text, [[0, base.text.length]])
      this.source.appendOpaque(base.record)
      this.largest = { byteLength: base.text.length, file: base.file }
    }
  }

  get contentByteLength(): number {
    return this.source.byteLength - this.baseByteLength
  }

  /** Done with this group (sealed, or given up): its delta source's tables go to the next builder. */
  release(): void {
    this.source.release()
  }

  /** The content so far (a view, valid until the next add). */
  content(): Uint8Array {
    return this.source.view().subarray(this.baseByteLength)
  }

  /**
   * Appends `text` and returns its record range, or `undefined` (changing nothing) when the group is
   * not empty and the record would take it past the cap. `family` groups files for the large-text cap;
   * `file` (the family when absent; null: none) finds the previous version to delta against.
   */
  tryAdd(text: Uint8Array, family?: string, file: string | null | undefined = family): RecordRange | undefined {
    const previous = file === undefined || file === null ? undefined : this.previousFor(file, text.length)
    let delta = this.source.byteLength > 0 || previous !== undefined ? this.source.encode(text, previous?.source, this.minCopyFor(text)) : undefined
    let prefix: Uint8Array | undefined
    if (delta !== undefined && previous !== undefined) {
      if (delta.previousCopyCount > 0) {
        const distance = new ByteWriter(8)
        distance.varint(this.contentByteLength - previous.recordStart)
        prefix = distance.finish()
      } else {
        // Nothing came from the previous text: a plain delta, which rebuilds without it.
        delta = this.source.byteLength > 0 ? this.source.encode(text, undefined, this.minCopyFor(text)) : undefined
      }
    }
    previous?.source.release()
    const bodyByteLength = delta === undefined ? text.length : delta.body.length + (prefix?.length ?? 0)
    const useDelta = delta !== undefined && bodyByteLength < text.length
    const kind = !useDelta ? RECORD_FULLTEXT : prefix === undefined ? RECORD_DELTA : RECORD_DELTA_PREVIOUS
    const recordByteLength = useDelta ? bodyByteLength : text.length
    const header = encodeRecordHeader(kind, recordByteLength)
    const recordStart = this.contentByteLength
    const recordEnd = recordStart + header.length + recordByteLength
    // Only versions of the file the group's largest text so far belongs to may pass the cap.
    const largest = this.largest
    const sameFamily = family !== undefined && family === largest.file
    // Never past what every reader accepts (a lone record is kept under it by the store's text limit).
    const cap = Math.min(this.options.maxGroupContentByteLength ?? DEFAULT_GROUP_LIMITS.maxContentByteLength, sameFamily
      ? Math.max(this.options.maxContentByteLength, Math.floor((this.options.largeTextFactor ?? 0) * Math.max(largest.byteLength, text.length)))
      : this.options.maxContentByteLength)
    if (this.records.length > 0 && recordEnd > cap) return undefined
    if (text.length > largest.byteLength) this.largest = { byteLength: text.length, file: family }
    this.source.appendOpaque(header)
    if (kind === RECORD_FULLTEXT) this.source.append(text, [[0, text.length]])
    else {
      const encoded = delta as NonNullable<typeof delta>
      if (prefix !== undefined) this.source.appendOpaque(prefix)
      this.source.append(encoded.body, encoded.literalRanges)
    }
    const chained = kind === RECORD_DELTA_PREVIOUS ? (previous as Previous) : undefined
    const rebuildByteLength = chainChargeOf(text.length) + (chained?.rebuildByteLength ?? 0)
    if (file !== undefined && file !== null) this.retain(file, { text, recordStart, rebuildByteLength, chainRecordCount: 1 + (chained?.chainRecordCount ?? 0) })
    const range: RecordRange = {
      recordStart,
      recordEnd,
      kind: kind === RECORD_FULLTEXT ? 'fulltext' : kind === RECORD_DELTA ? 'delta' : 'delta-previous',
      rebuildByteLength,
    }
    this.records.push(range)
    return range
  }

  private minCopyFor(text: Uint8Array): number | undefined {
    const large = this.options.largeText
    return large !== undefined && text.length > large.minByteLength ? large.minCopyByteLength : undefined
  }

  /** The previous version of `file` in the group, indexed, when a text of `byteLength` may delta against it. */
  private previousFor(file: string, byteLength: number): (Previous & { source: DeltaSource }) | undefined {
    const previous = this.previous.get(file)
    const bound = this.options.maxRebuildByteLength ?? DEFAULT_MAX_REBUILD_BYTE_LENGTH
    if (previous === undefined || bound === 0) return undefined
    const maxRebuild = Math.max(bound, REBUILD_FACTOR * byteLength)
    if (previous.rebuildByteLength + chainChargeOf(byteLength) > maxRebuild || previous.chainRecordCount >= MAX_CHAIN_RECORD_COUNT) return undefined
    return { ...previous, source: DeltaSource.ofText(previous.text, { ...DEFAULT_MATCHER_OPTIONS, ...this.options.matcher }) }
  }

  private retain(file: string, entry: Previous): void {
    const known = this.previous.get(file)
    const retained = this.retainedByteLength - (known?.text.length ?? 0) + entry.text.length
    if (known === undefined && retained > MAX_RETAINED_BYTE_LENGTH) return
    this.previous.set(file, entry)
    this.retainedByteLength = retained
  }
}
