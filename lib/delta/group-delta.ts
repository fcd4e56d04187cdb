import { ByteReader, ByteWriter } from '../bytes/index.js'
import type { DecodeLimits } from './limits.js'

/**
 * Delta body: `Target_Byte_Length` varint, then instructions until the body ends. Each instruction
 * starts with a varint `v`: even → insert `v / 2` literal bytes that follow; odd → copy
 * `(v - 1) / 2` bytes from `Source_Offset` (a varint that follows) of the source. The source is the
 * group's content before the record. See formats/delta.md.
 */
export type DeltaInstruction =
  | { readonly kind: 'insert'; readonly bytes: Uint8Array }
  | { readonly kind: 'copy'; readonly offset: number; readonly byteLength: number }

export function encodeDelta(targetByteLength: number, instructions: readonly DeltaInstruction[]): Uint8Array {
  const writer = new ByteWriter(64)
  writer.varint(targetByteLength)
  for (const instruction of instructions) {
    if (instruction.kind === 'insert') {
      if (instruction.bytes.length === 0) throw new RangeError('empty insert')
      writer.varint(instruction.bytes.length * 2)
      writer.bytes(instruction.bytes)
    } else {
      if (instruction.byteLength === 0) throw new RangeError('empty copy')
      writer.varint(instruction.byteLength * 2 + 1)
      writer.varint(instruction.offset)
    }
  }
  return writer.finish()
}

/** Parses a delta body without applying it (for dumps and tests). */
export function decodeDeltaInstructions(body: Uint8Array, where: string, limits: DecodeLimits): {
  targetByteLength: number
  instructions: DeltaInstruction[]
} {
  const reader = new ByteReader(body, where)
  const targetByteLength = reader.varint()
  if (targetByteLength > limits.maxTextByteLength) throw reader.error('VSTORE_LIMIT', `target is ${targetByteLength} bytes`)
  const instructions: DeltaInstruction[] = []
  let produced = 0
  while (!reader.atEnd) {
    const op = reader.varint()
    const byteLength = Math.floor(op / 2)
    if (byteLength === 0) throw reader.error('VSTORE_CORRUPT', 'zero-length instruction')
    if (produced + byteLength > targetByteLength) throw reader.error('VSTORE_CORRUPT', 'instructions produce more than the target length')
    if (op % 2 === 0) instructions.push({ kind: 'insert', bytes: reader.take(byteLength) })
    else instructions.push({ kind: 'copy', offset: reader.varint(), byteLength })
    produced += byteLength
  }
  if (produced !== targetByteLength) throw reader.error('VSTORE_CORRUPT', `instructions produce ${produced} bytes, target is ${targetByteLength}`)
  return { targetByteLength, instructions }
}

/**
 * Rebuilds a text from `source` (the group content before the record) and a delta body.
 * @throws VSTORE_CORRUPT for a copy outside the source or a length mismatch; VSTORE_LIMIT past `limits`.
 */
export function applyDelta(source: Uint8Array, body: Uint8Array, where: string, limits: DecodeLimits): Uint8Array {
  const reader = new ByteReader(body, where)
  const targetByteLength = reader.varint()
  if (targetByteLength > limits.maxTextByteLength) throw reader.error('VSTORE_LIMIT', `target is ${targetByteLength} bytes`)
  // A delta cannot produce more than its insert bytes plus copies; bound the allocation by what the body could justify.
  if (targetByteLength > (body.length + 1) * Math.max(1, source.length)) {
    throw reader.error('VSTORE_CORRUPT', `target of ${targetByteLength} bytes cannot come from this body and source`)
  }
  const target = new Uint8Array(targetByteLength)
  let produced = 0
  while (!reader.atEnd) {
    const op = reader.varint()
    const byteLength = Math.floor(op / 2)
    if (byteLength === 0) throw reader.error('VSTORE_CORRUPT', 'zero-length instruction')
    if (produced + byteLength > targetByteLength) throw reader.error('VSTORE_CORRUPT', 'instructions produce more than the target length')
    if (op % 2 === 0) {
      target.set(reader.take(byteLength), produced)
    } else {
      const offset = reader.varint()
      if (offset + byteLength > source.length) {
        throw reader.error('VSTORE_CORRUPT', `copy of ${byteLength} bytes at ${offset} passes the source end ${source.length}`)
      }
      target.set(source.subarray(offset, offset + byteLength), produced)
    }
    produced += byteLength
  }
  if (produced !== targetByteLength) throw reader.error('VSTORE_CORRUPT', `instructions produce ${produced} bytes, target is ${targetByteLength}`)
  return target
}
