import { DeltaSource, DEFAULT_MATCHER_OPTIONS, type MatcherOptions } from '../delta/matcher.js'
import { encodeRecordHeader, RECORD_DELTA, RECORD_FULLTEXT } from './records.js'

export interface GroupBuilderOptions {
  /**
   * Close the group before a record would take its content past this many bytes (a lone record may
   * exceed it). For versions of the same file as the group's largest text, the cap is instead
   * `largeTextFactor` times that text's length, when that is more.
   */
  readonly maxContentByteLength: number
  /** Lets versions of a file larger than the cap share a group (as deltas) instead of each sitting alone. */
  readonly largeTextFactor?: number
  readonly matcher?: Partial<MatcherOptions>
  /**
   * A text stored elsewhere that this group's deltas may copy from (formats/group.md, Base): its bytes
   * come before the content as delta source, and `record` (its encoded base record) is the content's
   * first record. `file` is its file id, for the large-text rule.
   */
  readonly base?: { readonly text: Uint8Array; readonly record: Uint8Array; readonly file: string | undefined }
}

export interface RecordRange {
  readonly recordStart: number
  readonly recordEnd: number
  readonly kind: 'fulltext' | 'delta'
}

/**
 * Builds one group's decompressed content: each text becomes a delta against the content so far,
 * or a fulltext when the delta is no smaller.
 */
export class GroupBuilder {
  private readonly source: DeltaSource
  private readonly records: RecordRange[] = []
  private largest: { byteLength: number; file: string | undefined } = { byteLength: 0, file: undefined }
  /** Bytes of the base text before the content in the delta source (0 without a base). */
  private readonly baseByteLength: number

  constructor(private readonly options: GroupBuilderOptions) {
    if (!(options.maxContentByteLength > 0)) throw new RangeError(`maxContentByteLength must be > 0, got ${options.maxContentByteLength}`)
    const base = options.base
    this.baseByteLength = base?.text.length ?? 0
    // Sized for what the group can hold, so that its buffers need not grow: with a base (a large text)
    // the content may reach largeTextFactor times it.
    const contentCap = Math.max(options.maxContentByteLength, Math.floor((options.largeTextFactor ?? 0) * this.baseByteLength))
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

  get recordCount(): number {
    return this.records.length
  }

  /** The content so far (a view, valid until the next add). */
  content(): Uint8Array {
    return this.source.view().subarray(this.baseByteLength)
  }

  /**
   * Appends `text` and returns its record range, or `undefined` (changing nothing) when the group is
   * not empty and the record would take it past the cap.
   */
  tryAdd(text: Uint8Array, file?: string): RecordRange | undefined {
    const delta = this.source.byteLength > 0 ? this.source.encode(text) : undefined
    const useDelta = delta !== undefined && delta.body.length < text.length
    const bodyByteLength = useDelta ? delta.body.length : text.length
    const header = encodeRecordHeader(useDelta ? RECORD_DELTA : RECORD_FULLTEXT, bodyByteLength)
    const recordStart = this.contentByteLength
    const recordEnd = recordStart + header.length + bodyByteLength
    // Only versions of the file the group's largest text so far belongs to may pass the cap.
    const previous = this.largest
    const sameFile = file !== undefined && file === previous.file
    const cap = sameFile
      ? Math.max(this.options.maxContentByteLength, Math.floor((this.options.largeTextFactor ?? 0) * Math.max(previous.byteLength, text.length)))
      : this.options.maxContentByteLength
    if (this.records.length > 0 && recordEnd > cap) return undefined
    if (text.length > previous.byteLength) this.largest = { byteLength: text.length, file }
    this.source.appendOpaque(header)
    if (useDelta) this.source.append(delta.body, delta.literalRanges)
    else this.source.append(text, [[0, text.length]])
    const range: RecordRange = { recordStart, recordEnd, kind: useDelta ? 'delta' : 'fulltext' }
    this.records.push(range)
    return range
  }
}
