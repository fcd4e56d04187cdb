import test from 'ava'
import { applyDelta, decodeDeltaInstructions, encodeDelta, type DeltaInstruction } from '../../../lib/delta/group-delta.js'
import type { DecodeLimits } from '../../../lib/delta/limits.js'
import { VstoreError } from '../../../lib/errors.js'

const limits: DecodeLimits = { maxTextByteLength: 1 << 20 }
const CORRUPT = { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' } as const
const utf8 = (text: string) => new TextEncoder().encode(text)
const source = utf8('0123456789abcdefghijklmnopqrstuvwxyz')

test('inserts and copies rebuild the target', t => {
  const instructions: DeltaInstruction[] = [
    { kind: 'copy', offset: 10, byteLength: 6 },
    { kind: 'insert', bytes: utf8('-XY-') },
    { kind: 'copy', offset: 0, byteLength: 3 },
  ]
  const body = encodeDelta(13, instructions)
  t.deepEqual(applyDelta(source, body, 'd', limits), utf8('abcdef-XY-012'))
})

test('the body is the target length, then varint 2n for an insert and 2n+1 and an offset for a copy', t => {
  const body = encodeDelta(5, [{ kind: 'insert', bytes: utf8('ab') }, { kind: 'copy', offset: 300, byteLength: 3 }])
  t.deepEqual([...body], [5, 4, 0x61, 0x62, 7, 0xac, 0x02])
})

test('decodeDeltaInstructions gives back the instructions encodeDelta was given', t => {
  const instructions: DeltaInstruction[] = [
    { kind: 'insert', bytes: utf8('hello') },
    { kind: 'copy', offset: 123456, byteLength: 200 },
    { kind: 'insert', bytes: new Uint8Array(300).fill(7) },
  ]
  const decoded = decodeDeltaInstructions(encodeDelta(505, instructions), 'd', limits)
  t.is(decoded.targetByteLength, 505)
  t.deepEqual(decoded.instructions.map(i => (i.kind === 'insert' ? { kind: i.kind, bytes: [...i.bytes] } : i)),
    instructions.map(i => (i.kind === 'insert' ? { kind: i.kind, bytes: [...i.bytes] } : i)))
})

test('an empty target is a body of one zero byte', t => {
  const body = encodeDelta(0, [])
  t.deepEqual([...body], [0])
  t.is(applyDelta(source, body, 'd', limits).length, 0)
  t.deepEqual(decodeDeltaInstructions(body, 'd', limits), { targetByteLength: 0, instructions: [] })
})

test('encodeDelta rejects empty inserts and copies with VSTORE_USAGE', t => {
  t.throws(() => encodeDelta(0, [{ kind: 'insert', bytes: new Uint8Array(0) }]), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => encodeDelta(0, [{ kind: 'copy', offset: 0, byteLength: 0 }]), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('a copy past the source end is VSTORE_CORRUPT', t => {
  t.throws(() => applyDelta(source, encodeDelta(5, [{ kind: 'copy', offset: source.length - 4, byteLength: 5 }]), 'd', limits), CORRUPT)
  t.throws(() => applyDelta(source, encodeDelta(1, [{ kind: 'copy', offset: source.length, byteLength: 1 }]), 'd', limits), CORRUPT)
  t.deepEqual(applyDelta(source, encodeDelta(4, [{ kind: 'copy', offset: source.length - 4, byteLength: 4 }]), 'd', limits), utf8('wxyz'))
})

test('a copy from an empty source is VSTORE_CORRUPT', t => {
  t.throws(() => applyDelta(new Uint8Array(0), encodeDelta(1, [{ kind: 'copy', offset: 0, byteLength: 1 }]), 'd', limits), CORRUPT)
})

test('instructions producing less than the target length are VSTORE_CORRUPT', t => {
  const body = encodeDelta(6, [{ kind: 'insert', bytes: utf8('abc') }])
  t.throws(() => applyDelta(source, body, 'd', limits), CORRUPT)
  t.throws(() => decodeDeltaInstructions(body, 'd', limits), CORRUPT)
})

test('instructions producing more than the target length are VSTORE_CORRUPT', t => {
  const body = encodeDelta(2, [{ kind: 'insert', bytes: utf8('abc') }])
  t.throws(() => applyDelta(source, body, 'd', limits), CORRUPT)
  t.throws(() => decodeDeltaInstructions(body, 'd', limits), CORRUPT)
  const copyBody = encodeDelta(2, [{ kind: 'copy', offset: 0, byteLength: 3 }])
  t.throws(() => applyDelta(source, copyBody, 'd', limits), CORRUPT)
})

test('a zero-length instruction is VSTORE_CORRUPT', t => {
  for (const op of [0, 1]) {
    const body = Uint8Array.of(1, op, 0, 2, 0x61)
    t.throws(() => applyDelta(source, body, 'd', limits), CORRUPT, `op ${op}`)
    t.throws(() => decodeDeltaInstructions(body, 'd', limits), CORRUPT, `op ${op}`)
  }
})

test('an insert running past the body end is VSTORE_CORRUPT', t => {
  const body = Uint8Array.of(4, 8, 0x61, 0x62)
  t.throws(() => applyDelta(source, body, 'd', limits), CORRUPT)
  t.throws(() => decodeDeltaInstructions(body, 'd', limits), CORRUPT)
})

test('a copy missing its offset is VSTORE_CORRUPT', t => {
  const body = Uint8Array.of(2, 5)
  t.throws(() => applyDelta(source, body, 'd', limits), CORRUPT)
  t.throws(() => decodeDeltaInstructions(body, 'd', limits), CORRUPT)
})

test('a target over maxTextByteLength is VSTORE_LIMIT', t => {
  const body = encodeDelta(11, [{ kind: 'insert', bytes: new Uint8Array(11) }])
  const small: DecodeLimits = { maxTextByteLength: 10 }
  t.throws(() => applyDelta(source, body, 'd', small), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
  t.throws(() => decodeDeltaInstructions(body, 'd', small), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
  t.is(applyDelta(source, body, 'd', { maxTextByteLength: 11 }).length, 11)
})

test('a huge declared target from a tiny body is refused before allocating', t => {
  // 2^40 bytes declared, one insert byte: no source could justify it.
  const body = Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 2, 0x61)
  t.throws(() => applyDelta(source, body, 'd', { maxTextByteLength: 2 ** 48 }), CORRUPT)
})

test('applyDelta does not modify the source', t => {
  const copy = source.slice()
  applyDelta(source, encodeDelta(10, [{ kind: 'copy', offset: 0, byteLength: 10 }]), 'd', limits)
  t.deepEqual(source, copy)
})
