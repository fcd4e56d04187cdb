import { ByteReader, ByteWriter } from '../bytes/index.js'
import { applyDelta, decodeDeltaInstructions, type DeltaInstruction } from '../delta/group-delta.js'
import type { DecodeLimits } from '../delta/limits.js'

/**
 * A group's decompressed content is a run of records, each `Kind` (1 byte), `Body_Byte_Length`
 * (varint), body. See formats/group.md.
 */
export const RECORD_FULLTEXT = 0x01
export const RECORD_DELTA = 0x02

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
  if (kind !== RECORD_FULLTEXT && kind !== RECORD_DELTA) throw reader.error('VSTORE_CORRUPT', `unknown record kind ${kind}`)
  const bodyByteLength = reader.varint()
  if (bodyByteLength !== reader.remainingByteLength) {
    throw reader.error('VSTORE_CORRUPT', `record body says ${bodyByteLength} bytes, range holds ${reader.remainingByteLength}`)
  }
  const bodyStart = recordStart + reader.offset
  return { kind, bodyStart, body: reader.take(bodyByteLength) }
}

/**
 * Rebuilds the text of the record at `[recordStart, recordEnd)` of `content`. Only the content up to
 * `recordEnd` is needed.
 * @throws VSTORE_CORRUPT on a malformed record or delta; VSTORE_LIMIT past `limits`.
 */
export function decodeRecord(content: Uint8Array, recordStart: number, recordEnd: number, where: string, limits: DecodeLimits): Uint8Array {
  const { kind, body } = readRecordView(content, recordStart, recordEnd, where)
  if (kind === RECORD_FULLTEXT) {
    if (body.length > limits.maxTextByteLength) throw new ByteReader(body, where).error('VSTORE_LIMIT', `text is ${body.length} bytes`)
    return body
  }
  return applyDelta(content.subarray(0, recordStart), body, `${where}@${recordStart}`, limits)
}

export interface DumpedRecord {
  readonly recordStart: number
  readonly recordEnd: number
  readonly kind: 'fulltext' | 'delta'
  readonly bodyByteLength: number
  readonly textByteLength: number
  readonly instructions?: readonly (
    | { readonly kind: 'insert'; readonly byteLength: number }
    | { readonly kind: 'copy'; readonly offset: number; readonly byteLength: number })[]
}

/** Splits a whole group content into records (for dumps and verify). */
export function dumpRecords(content: Uint8Array, where: string, limits: DecodeLimits, withInstructions = false): DumpedRecord[] {
  const records: DumpedRecord[] = []
  const reader = new ByteReader(content, where)
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
        if (instruction.kind === 'copy' && instruction.offset + instruction.byteLength > recordStart) {
          throw reader.error('VSTORE_CORRUPT', `copy at ${instruction.offset} passes the record start ${recordStart}`)
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
