import { ByteReader, ByteWriter } from '../bytes/index.js'
import { applyDelta, decodeDeltaInstructions, type DeltaInstruction } from '../delta/group-delta.js'
import type { DecodeLimits } from '../delta/limits.js'

/**
 * A group's decompressed content is a run of records, each `Kind` (1 byte), `Body_Byte_Length`
 * (varint), body. See formats/group.md.
 */
export const RECORD_FULLTEXT = 0x01
export const RECORD_DELTA = 0x02
/** Names the group's base text; only ever a group's first record, and not itself a text. */
export const RECORD_BASE = 0x03
/** Bytes of the content hash a base record carries (the index's truncated SHA-256). */
export const BASE_HASH_BYTE_LENGTH = 20
const MAX_BASE_ID_BYTE_LENGTH = 4096

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

/** A whole base record (header and body): `File`, `Rev` (varint length, UTF-8), `Text_Byte_Length` varint, `Hash`. */
export function encodeBaseRecord(base: BaseText): Uint8Array {
  if (base.hash.length !== BASE_HASH_BYTE_LENGTH) throw new RangeError(`base hash must be ${BASE_HASH_BYTE_LENGTH} bytes`)
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
  const file = body.string(MAX_BASE_ID_BYTE_LENGTH)
  const rev = body.string(MAX_BASE_ID_BYTE_LENGTH)
  const textByteLength = body.varint()
  if (textByteLength > limits.maxTextByteLength) throw body.error('VSTORE_LIMIT', `base text is ${textByteLength} bytes`)
  const hash = body.take(BASE_HASH_BYTE_LENGTH).slice()
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
  if (kind !== RECORD_FULLTEXT && kind !== RECORD_DELTA && !(kind === RECORD_BASE && recordStart === 0)) throw reader.error('VSTORE_CORRUPT', `unknown record kind ${kind}`)
  const bodyByteLength = reader.varint()
  if (bodyByteLength !== reader.remainingByteLength) {
    throw reader.error('VSTORE_CORRUPT', `record body says ${bodyByteLength} bytes, range holds ${reader.remainingByteLength}`)
  }
  const bodyStart = recordStart + reader.offset
  return { kind, bodyStart, body: reader.take(bodyByteLength) }
}

/**
 * Rebuilds the text of the record at `[recordStart, recordEnd)` of `content`. Only the content up to
 * `recordEnd` is needed. For a group with a base, `baseText` is the base's bytes: the delta source is
 * then the base text followed by the content before the record.
 * @throws VSTORE_CORRUPT on a malformed record or delta; VSTORE_LIMIT past `limits`.
 */
export function decodeRecord(content: Uint8Array, recordStart: number, recordEnd: number, where: string, limits: DecodeLimits, baseText?: Uint8Array): Uint8Array {
  const { kind, body } = readRecordView(content, recordStart, recordEnd, where)
  if (kind === RECORD_FULLTEXT) {
    if (body.length > limits.maxTextByteLength) throw new ByteReader(body, where).error('VSTORE_LIMIT', `text is ${body.length} bytes`)
    return body
  }
  if (kind !== RECORD_DELTA) throw new ByteReader(body, where, recordStart).error('VSTORE_CORRUPT', 'a base record is not a text')
  let source = content.subarray(0, recordStart)
  if (baseText !== undefined && baseText.length > 0) {
    const joined = new Uint8Array(baseText.length + recordStart)
    joined.set(baseText)
    joined.set(source, baseText.length)
    source = joined
  }
  return applyDelta(source, body, `${where}@${recordStart}`, limits)
}

export interface DumpedRecord {
  readonly recordStart: number
  readonly recordEnd: number
  readonly kind: 'fulltext' | 'delta' | 'base'
  readonly bodyByteLength: number
  /** For a base record, the base text's length. */
  readonly textByteLength: number
  /** For a base record, the text it names. */
  readonly base?: { readonly file: string; readonly rev: string }
  readonly instructions?: readonly (
    | { readonly kind: 'insert'; readonly byteLength: number }
    | { readonly kind: 'copy'; readonly offset: number; readonly byteLength: number })[]
}

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
  while (!reader.atEnd) {
    const recordStart = reader.offset
    const kind = reader.byte()
    if (kind !== RECORD_FULLTEXT && kind !== RECORD_DELTA) throw reader.error('VSTORE_CORRUPT', `unknown record kind ${kind}`)
    const bodyByteLength = reader.varint()
    const body = reader.take(bodyByteLength)
    const recordEnd = reader.offset
    if (kind === RECORD_FULLTEXT) {
      if (bodyByteLength > limits.maxTextByteLength) throw reader.error('VSTORE_LIMIT', `text is ${bodyByteLength} bytes`)
      records.push({ recordStart, recordEnd, kind: 'fulltext', bodyByteLength, textByteLength: bodyByteLength })
    } else {
      const { targetByteLength, instructions } = decodeDeltaInstructions(body, `${where}@${recordStart}`, limits)
      for (const instruction of instructions) {
        if (instruction.kind === 'copy' && instruction.offset + instruction.byteLength > baseByteLength + recordStart) {
          throw reader.error('VSTORE_CORRUPT', `copy at ${instruction.offset} passes the record start ${recordStart}${based === undefined ? '' : ` after a base of ${baseByteLength} bytes`}`)
        }
      }
      const dumped: DumpedRecord = { recordStart, recordEnd, kind: 'delta', bodyByteLength, textByteLength: targetByteLength }
      records.push(withInstructions ? { ...dumped, instructions: instructions.map(summarize) } : dumped)
    }
  }
  return records
}

function summarize(instruction: DeltaInstruction) {
  return instruction.kind === 'insert'
    ? { kind: 'insert' as const, byteLength: instruction.bytes.length }
    : { kind: 'copy' as const, offset: instruction.offset, byteLength: instruction.byteLength }
}
