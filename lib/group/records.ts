/**
 * A group's decompressed content is a run of records, each `Kind` (1 byte), `Body_Byte_Length`
 * (varint), body. See formats/group.md.
 */
import { ByteReader, ByteWriter, HASH_BYTE_LENGTH, MAX_ID_BYTE_LENGTH } from '../bytes/index.js'
import { applyDelta, decodeDeltaInstructions, type DeltaInstruction } from '../delta/group-delta.js'
import { maxRebuildByteLengthOf, type DecodeLimits } from '../delta/limits.js'
import { VstoreError } from '../errors.js'

export const RECORD_FULLTEXT = 0x01
export const RECORD_DELTA = 0x02
/** Names the group's base text; only ever a group's first record, and not itself a text. */
export const RECORD_BASE = 0x03
/**
 * A delta whose source starts with the text of an earlier record of the group (its *previous* text,
 * usually the next-newer version of the same file): body `Previous_Distance` varint, then a delta body.
 */
export const RECORD_DELTA_PREVIOUS = 0x04

/**
 * A text stored elsewhere whose bytes come before the group's content as delta source: copies address
 * the base text at `[0, Text_Byte_Length)` and the content at `Text_Byte_Length + offset`.
 */
export interface BaseText {
  readonly file: string
  readonly rev: string
  readonly textByteLength: number
  readonly hash: Uint8Array
}

/**
 * A whole base record (header and body): `File`, `Rev` (varint length, UTF-8), `Text_Byte_Length` varint, `Hash`.
 * @throws VSTORE_USAGE for a hash of another length.
 */
export function encodeBaseRecord(base: BaseText): Uint8Array {
  if (base.hash.length !== HASH_BYTE_LENGTH) throw new VstoreError('VSTORE_USAGE', `base hash must be ${HASH_BYTE_LENGTH} bytes`, `${base.file}@${base.rev}`)
  const body = new ByteWriter(64)
  body.string(base.file)
  body.string(base.rev)
  body.varint(base.textByteLength)
  body.bytes(base.hash)
  const bytes = body.finish()
  const writer = new ByteWriter(bytes.length + 8)
  writer.bytes(encodeRecordHeader(RECORD_BASE, bytes.length))
  writer.bytes(bytes)
  return writer.finish()
}

/**
 * The base a group's content names in its first record, with the offset where its text records start;
 * `undefined` for a group without a base.
 * @throws VSTORE_CORRUPT for a malformed base record.
 */
export function decodeGroupBase(content: Uint8Array, where: string, limits: DecodeLimits): { base: BaseText; recordsStart: number; bodyByteLength: number } | undefined {
  if (content.length === 0 || content[0] !== RECORD_BASE) return undefined
  const reader = new ByteReader(content, where)
  reader.byte()
  const bodyByteLength = reader.varint()
  const bodyStart = reader.offset
  const body = new ByteReader(reader.take(bodyByteLength), where, bodyStart)
  const file = body.string(MAX_ID_BYTE_LENGTH)
  const rev = body.string(MAX_ID_BYTE_LENGTH)
  const textByteLength = body.varint()
  if (textByteLength > limits.maxTextByteLength) throw body.error('VSTORE_LIMIT', `base text is ${textByteLength} bytes`)
  const hash = body.take(HASH_BYTE_LENGTH).slice()
  body.expectEnd('base record')
  if (file.length === 0 || rev.length === 0) throw body.error('VSTORE_CORRUPT', 'base record with an empty file id or revision')
  return { base: { file, rev, textByteLength, hash }, recordsStart: reader.offset, bodyByteLength }
}

export function encodeRecordHeader(kind: number, bodyByteLength: number): Uint8Array {
  const writer = new ByteWriter(8)
  writer.byte(kind)
  writer.varint(bodyByteLength)
  return writer.finish()
}

interface RecordView {
  readonly kind: number
  readonly bodyStart: number
  readonly body: Uint8Array
}

function readRecordView(content: Uint8Array, recordStart: number, recordEnd: number, where: string): RecordView {
  if (recordStart < 0 || recordEnd > content.length || recordStart >= recordEnd) {
    throw new ByteReader(content, where, 0).error('VSTORE_CORRUPT', `record range ${recordStart}..${recordEnd} outside content of ${content.length} bytes`)
  }
  const reader = new ByteReader(content.subarray(recordStart, recordEnd), where, recordStart)
  const kind = reader.byte()
  if (kind !== RECORD_FULLTEXT && kind !== RECORD_DELTA && kind !== RECORD_DELTA_PREVIOUS && !(kind === RECORD_BASE && recordStart === 0)) {
    throw reader.error('VSTORE_CORRUPT', `unknown record kind ${kind}`)
  }
  const bodyByteLength = reader.varint()
  if (bodyByteLength !== reader.remainingByteLength) {
    throw reader.error('VSTORE_CORRUPT', `record body says ${bodyByteLength} bytes, range holds ${reader.remainingByteLength}`)
  }
  const bodyStart = recordStart + reader.offset
  return { kind, bodyStart, body: reader.take(bodyByteLength) }
}

/**
 * Where a record's previous text is: the start and end of the earlier record that `Previous_Distance`
 * names, read from that record's header (it MUST end at or before `recordStart`).
 */
function previousRecordOf(content: Uint8Array, recordStart: number, body: Uint8Array, where: string): { start: number; end: number; delta: Uint8Array } {
  const reader = new ByteReader(body, where, recordStart)
  const distance = reader.varint()
  const previousStart = recordStart - distance
  if (distance === 0 || previousStart < 0) throw reader.error('VSTORE_CORRUPT', `previous record ${distance} bytes back from ${recordStart}`)
  const header = new ByteReader(content.subarray(previousStart, recordStart), where, previousStart)
  header.byte()
  const bodyByteLength = header.varint()
  const previousEnd = previousStart + header.offset + bodyByteLength
  if (previousEnd > recordStart) throw reader.error('VSTORE_CORRUPT', `previous record at ${previousStart} runs past ${recordStart}`)
  return { start: previousStart, end: previousEnd, delta: body.subarray(reader.offset) }
}

/**
 * The delta body of a delta record (after `Previous_Distance` for a delta on a previous text), and
 * where its previous text's record starts; undefined for a fulltext or base record. For dumps and vectors.
 */
export function recordDelta(content: Uint8Array, recordStart: number, recordEnd: number, where: string): { delta: Uint8Array; previousStart?: number } | undefined {
  const { kind, body } = readRecordView(content, recordStart, recordEnd, where)
  if (kind === RECORD_DELTA) return { delta: body }
  if (kind !== RECORD_DELTA_PREVIOUS) return undefined
  const previous = previousRecordOf(content, recordStart, body, where)
  return { delta: previous.delta, previousStart: previous.start }
}

/** The target length a delta body declares (its first varint). */
function targetByteLengthOf(delta: Uint8Array, where: string, at: number): number {
  return new ByteReader(delta, where, at).varint()
}

/** Most records one chain of deltas on previous texts may hold, the first (a fulltext or plain delta) included. */
export const MAX_CHAIN_RECORD_COUNT = 4096
/** What each text of a chain counts towards the rebuild limit at least (so that tiny texts cannot make a chain long). */
export const MIN_CHAIN_TEXT_CHARGE = 1024

/** What rebuilding a text of `byteLength` bytes counts towards a chain's rebuild bound. */
export function chainChargeOf(byteLength: number): number {
  return Math.max(byteLength, MIN_CHAIN_TEXT_CHARGE)
}

/**
 * Rebuilds the text of the record at `[recordStart, recordEnd)` of `content`. Only the content up to
 * `recordEnd` is needed. For a group with a base, `baseText` is the base's bytes: the delta source is
 * then the base text followed by the content before the record. A record that deltas against a
 * previous text rebuilds that text first (and its previous, and so on): the whole chain is walked and
 * checked against the limits from its record headers before anything is rebuilt, then rebuilt from the
 * newest text `rebuilt` holds (texts by record start; it gains every text rebuilt on the way).
 * @throws VSTORE_CORRUPT on a malformed record or delta; VSTORE_LIMIT past `limits`.
 */
export function decodeRecord(
  content: Uint8Array, recordStart: number, recordEnd: number, where: string, limits: DecodeLimits,
  baseText?: Uint8Array, rebuilt?: Map<number, Uint8Array>,
): Uint8Array {
  const base = baseText ?? new Uint8Array(0)
  const maxRebuild = maxRebuildByteLengthOf(limits)
  const links: { start: number; kind: number; delta: Uint8Array }[] = []
  let rebuildByteLength = 0
  let start = recordStart
  let end = recordEnd
  // Walk back to the chain's first record (a fulltext or a plain delta), counting every text.
  for (;;) {
    const { kind, body } = readRecordView(content, start, end, where)
    const at = new ByteReader(body, where, start)
    if (links.length >= MAX_CHAIN_RECORD_COUNT) throw at.error('VSTORE_LIMIT', `a chain of more than ${MAX_CHAIN_RECORD_COUNT} deltas on previous texts`)
    if (kind === RECORD_BASE) throw at.error('VSTORE_CORRUPT', 'a base record is not a text')
    const delta = kind === RECORD_DELTA_PREVIOUS ? previousRecordOf(content, start, body, `${where}@${start}`) : undefined
    rebuildByteLength += chainChargeOf(kind === RECORD_FULLTEXT ? body.length : targetByteLengthOf(delta?.delta ?? body, where, start))
    if (rebuildByteLength > maxRebuild) throw at.error('VSTORE_LIMIT', `rebuilding the record and its previous texts passes ${maxRebuild} bytes`)
    links.push({ start, kind, delta: delta?.delta ?? body })
    if (delta === undefined) break
    start = delta.start
    end = delta.end
  }
  // Rebuild forwards from the newest text already known, or from the first record.
  let from = links.findIndex(link => rebuilt?.has(link.start))
  let text: Uint8Array
  if (from >= 0) text = rebuilt?.get((links[from] as { start: number }).start) as Uint8Array
  else {
    from = links.length - 1
    const first = links[from] as { start: number; kind: number; delta: Uint8Array }
    if (first.kind === RECORD_FULLTEXT) {
      if (first.delta.length > limits.maxTextByteLength) throw new ByteReader(first.delta, where).error('VSTORE_LIMIT', `text is ${first.delta.length} bytes`)
      text = first.delta
    } else {
      text = applyDelta([base, content.subarray(0, first.start)], first.delta, `${where}@${first.start}`, limits)
    }
    rebuilt?.set(first.start, text)
  }
  for (let i = from - 1; i >= 0; i--) {
    const link = links[i] as { start: number; delta: Uint8Array }
    text = applyDelta([text, base, content.subarray(0, link.start)], link.delta, `${where}@${link.start}`, limits)
    rebuilt?.set(link.start, text)
  }
  return text
}

export interface DumpedRecord {
  readonly recordStart: number
  readonly recordEnd: number
  readonly kind: 'fulltext' | 'delta' | 'delta-previous' | 'base'
  readonly bodyByteLength: number
  /** For a delta on a previous text, that text's record start. */
  readonly previousStart?: number
  /** For a base record, the base text's length. */
  readonly textByteLength: number
  /** For a base record, the text it names. */
  readonly base?: { readonly file: string; readonly rev: string }
  readonly instructions?: readonly (
    | { readonly kind: 'insert'; readonly byteLength: number }
    | { readonly kind: 'copy'; readonly offset: number; readonly byteLength: number })[]
}

/**
 * Most records a group's content may hold when it is split whole (a group of 2 MiB holds at most 2^20
 * records of 2 bytes; vstore's hold thousands): bounds the memory of a dump of a damaged group.
 */
const MAX_GROUP_RECORD_COUNT = 2 ** 21

/** Splits a whole group content into records (for dumps and verify). */
export function dumpRecords(content: Uint8Array, where: string, limits: DecodeLimits, withInstructions = false): DumpedRecord[] {
  const records: DumpedRecord[] = []
  const based = decodeGroupBase(content, where, limits)
  const baseByteLength = based?.base.textByteLength ?? 0
  if (based !== undefined) {
    const { file, rev, textByteLength } = based.base
    records.push({ recordStart: 0, recordEnd: based.recordsStart, kind: 'base', bodyByteLength: based.bodyByteLength, textByteLength, base: { file, rev } })
  }
  const reader = new ByteReader(content, where)
  if (based !== undefined) reader.take(based.recordsStart)
  /** Text lengths by record start, for checking where previous-text deltas point. */
  const textByteLengths = new Map<number, number>()
  while (!reader.atEnd) {
    if (records.length >= MAX_GROUP_RECORD_COUNT) throw reader.error('VSTORE_LIMIT', `more than ${MAX_GROUP_RECORD_COUNT} records`)
    const recordStart = reader.offset
    const kind = reader.byte()
    if (kind !== RECORD_FULLTEXT && kind !== RECORD_DELTA && kind !== RECORD_DELTA_PREVIOUS) throw reader.error('VSTORE_CORRUPT', `unknown record kind ${kind}`)
    const bodyByteLength = reader.varint()
    const body = reader.take(bodyByteLength)
    const recordEnd = reader.offset
    if (kind === RECORD_FULLTEXT) {
      if (bodyByteLength > limits.maxTextByteLength) throw reader.error('VSTORE_LIMIT', `text is ${bodyByteLength} bytes`)
      textByteLengths.set(recordStart, bodyByteLength)
      records.push({ recordStart, recordEnd, kind: 'fulltext', bodyByteLength, textByteLength: bodyByteLength })
      continue
    }
    let delta = body
    let previousByteLength = 0
    let previousStart: number | undefined
    if (kind === RECORD_DELTA_PREVIOUS) {
      const previous = previousRecordOf(content, recordStart, body, `${where}@${recordStart}`)
      const length = textByteLengths.get(previous.start)
      if (length === undefined) throw reader.error('VSTORE_CORRUPT', `previous record at ${previous.start} is not a text record`)
      previousStart = previous.start
      previousByteLength = length
      delta = previous.delta
    }
    const { targetByteLength, instructions } = decodeDeltaInstructions(delta, `${where}@${recordStart}`, limits)
    const sourceByteLength = previousByteLength + baseByteLength + recordStart
    for (const instruction of instructions) {
      if (instruction.kind === 'copy' && instruction.offset + instruction.byteLength > sourceByteLength) {
        throw reader.error('VSTORE_CORRUPT', `copy at ${instruction.offset} passes the record's source of ${sourceByteLength} bytes`)
      }
    }
    textByteLengths.set(recordStart, targetByteLength)
    const dumped: DumpedRecord = previousStart === undefined
      ? { recordStart, recordEnd, kind: 'delta', bodyByteLength, textByteLength: targetByteLength }
      : { recordStart, recordEnd, kind: 'delta-previous', bodyByteLength, textByteLength: targetByteLength, previousStart }
    records.push(withInstructions ? { ...dumped, instructions: instructions.map(summarize) } : dumped)
  }
  return records
}

function summarize(instruction: DeltaInstruction) {
  return instruction.kind === 'insert'
    ? { kind: 'insert' as const, byteLength: instruction.bytes.length }
    : { kind: 'copy' as const, offset: instruction.offset, byteLength: instruction.byteLength }
}
