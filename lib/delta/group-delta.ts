/**
 * Delta body: `Target_Byte_Length` varint, then instructions until the body ends. Each instruction
 * starts with a varint `v`: even → insert `v / 2` literal bytes that follow; odd → copy
 * `(v - 1) / 2` bytes from `Source_Offset` (a varint that follows) of the source. The source is the
 * group's content before the record. See formats/delta.md.
 */
import { ByteReader, ByteWriter } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import type { DecodeLimits } from './limits.js'

/** One instruction of a delta body. */
export type DeltaInstruction =
  | { readonly kind: 'insert'; readonly bytes: Uint8Array }
  | { readonly kind: 'copy'; readonly offset: number; readonly byteLength: number }

/** A delta body of `instructions`. @throws VSTORE_USAGE for an empty insert or copy (the format has none). */
export function encodeDelta(targetByteLength: number, instructions: readonly DeltaInstruction[]): Uint8Array {
  const writer = new ByteWriter(64)
  writer.varint(targetByteLength)
  for (const instruction of instructions) {
    if (instruction.kind === 'insert') {
      if (instruction.bytes.length === 0) throw new VstoreError('VSTORE_USAGE', 'empty insert', 'delta')
      writer.varint(instruction.bytes.length * 2)
      writer.bytes(instruction.bytes)
    } else {
      if (instruction.byteLength === 0) throw new VstoreError('VSTORE_USAGE', 'empty copy', 'delta')
      writer.varint(instruction.byteLength * 2 + 1)
      writer.varint(instruction.offset)
    }
  }
  return writer.finish()
}

interface DeltaVisitor {
  /** Called once with the target length, before any instruction. */
  start(targetByteLength: number, reader: ByteReader): void
  insert(bytes: Uint8Array, produced: number): void
  copy(offset: number, byteLength: number, produced: number, reader: ByteReader): void
}

/**
 * Reads a delta body, handing each instruction to `visitor`, and checks what every reader of the
 * format must: the target length within `limits`, no zero-length instruction, never more than the
 * target, and exactly the target in the end.
 */
function walkDelta(body: Uint8Array, where: string, limits: DecodeLimits, visitor: DeltaVisitor): void {
  const reader = new ByteReader(body, where)
  const targetByteLength = reader.varint()
  if (targetByteLength > limits.maxTextByteLength) throw reader.error('VSTORE_LIMIT', `target is ${targetByteLength} bytes`)
  visitor.start(targetByteLength, reader)
  let produced = 0
  while (!reader.atEnd) {
    const op = reader.varint()
    const byteLength = Math.floor(op / 2)
    if (byteLength === 0) throw reader.error('VSTORE_CORRUPT', 'zero-length instruction')
    if (produced + byteLength > targetByteLength) throw reader.error('VSTORE_CORRUPT', 'instructions produce more than the target length')
    if (op % 2 === 0) visitor.insert(reader.take(byteLength), produced)
    else visitor.copy(reader.varint(), byteLength, produced, reader)
    produced += byteLength
  }
  if (produced !== targetByteLength) throw reader.error('VSTORE_CORRUPT', `instructions produce ${produced} bytes, target is ${targetByteLength}`)
}

/** Parses a delta body without applying it (for dumps and tests). */
export function decodeDeltaInstructions(body: Uint8Array, where: string, limits: DecodeLimits): {
  targetByteLength: number
  instructions: DeltaInstruction[]
} {
  let targetByteLength = 0
  const instructions: DeltaInstruction[] = []
  walkDelta(body, where, limits, {
    start: length => { targetByteLength = length },
    insert: bytes => { instructions.push({ kind: 'insert', bytes }) },
    copy: (offset, byteLength) => { instructions.push({ kind: 'copy', offset, byteLength }) },
  })
  return { targetByteLength, instructions }
}

/**
 * A delta source given as segments that follow each other: offset `o` addresses the concatenation
 * (a record's previous text, the group's base text, then the content before the record).
 */
export type DeltaSourceBytes = Uint8Array | readonly Uint8Array[]

/**
 * Rebuilds a text from `source` (the group content before the record, or segments: see
 * DeltaSourceBytes) and a delta body.
 * @throws VSTORE_CORRUPT for a copy outside the source or a length mismatch; VSTORE_LIMIT past `limits`.
 */
export function applyDelta(source: DeltaSourceBytes, body: Uint8Array, where: string, limits: DecodeLimits): Uint8Array {
  const segments = source instanceof Uint8Array ? [source] : source.filter(segment => segment.length > 0)
  const sourceByteLength = segments.reduce((sum, segment) => sum + segment.length, 0)
  // First walk: check every instruction (and that they produce exactly the target length) without
  // allocating, so that a damaged length never allocates more than the instructions produce.
  walkDelta(body, where, limits, {
    start: () => undefined,
    insert: () => undefined,
    copy: (offset, byteLength, _produced, reader) => {
      if (offset + byteLength > sourceByteLength) {
        throw reader.error('VSTORE_CORRUPT', `copy of ${byteLength} bytes at ${offset} passes the source end ${sourceByteLength}`)
      }
    },
  })
  let target = new Uint8Array(0)
  const only = segments.length === 1 ? segments[0] : undefined
  walkDelta(body, where, limits, {
    start: targetByteLength => { target = new Uint8Array(targetByteLength) },
    insert: (bytes, produced) => { target.set(bytes, produced) },
    copy: only !== undefined
      ? (offset, byteLength, produced) => { target.set(only.subarray(offset, offset + byteLength), produced) }
      : (offset, byteLength, produced) => { copySegments(segments, offset, byteLength, target, produced) },
  })
  return target
}

/** Copies `[offset, offset + byteLength)` of the segments' concatenation into `target` at `at`. */
function copySegments(segments: readonly Uint8Array[], offset: number, byteLength: number, target: Uint8Array, at: number): void {
  let skip = offset
  let left = byteLength
  for (const segment of segments) {
    if (left === 0) return
    if (skip >= segment.length) {
      skip -= segment.length
      continue
    }
    const take = Math.min(left, segment.length - skip)
    target.set(segment.subarray(skip, skip + take), at)
    at += take
    left -= take
    skip = 0
  }
}
