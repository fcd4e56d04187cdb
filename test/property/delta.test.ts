import test from 'ava'
import fc from 'fast-check'
import { applyDelta, decodeDeltaInstructions, encodeDelta, type DeltaInstruction } from '../../lib/delta/group-delta.js'
import { DEFAULT_MATCHER_OPTIONS, DeltaSource } from '../../lib/delta/matcher.js'
import { VstoreError } from '../../lib/errors.js'
import { bytesEqual } from '../../lib/bytes/hex.js'
import { concatBytes, editHistoryArbitrary, flipByte, PROPERTY_RUNS, PROPERTY_SEED, sharedPrefixArbitrary } from '../helpers/random.js'

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }
const limits = { maxTextByteLength: 1 << 20 }

const instructionArbitrary: fc.Arbitrary<DeltaInstruction> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map(bytes => ({ kind: 'insert' as const, bytes })),
  fc.record({ kind: fc.constant('copy' as const), offset: fc.nat(300), byteLength: fc.integer({ min: 1, max: 100 }) }),
)

/** Delta bodies that are often nearly right: real instructions, a target length that may be off, maybe damaged. */
const bodyArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.tuple(
    fc.array(instructionArbitrary, { maxLength: 8 }),
    fc.constantFrom(0, 0, 0, 1, -1),
    fc.option(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }))),
    fc.option(fc.nat()),
  ).map(([instructions, lengthError, flip, cut]) => {
    const produced = instructions.reduce((sum, i) => sum + (i.kind === 'insert' ? i.bytes.length : i.byteLength), 0)
    const body = encodeDelta(Math.max(0, produced + lengthError), instructions)
    const flipped = flip === null ? body : flipByte(body, flip[0] % body.length, flip[1])
    return cut === null ? flipped : flipped.subarray(0, cut % (flipped.length + 1))
  }),
)

/** What the instructions produce from `source`, by hand. */
function replay(source: Uint8Array, instructions: readonly DeltaInstruction[]): Uint8Array {
  return concatBytes(...instructions.map(i => (i.kind === 'insert' ? i.bytes : source.subarray(i.offset, i.offset + i.byteLength))))
}

test('any bytes give applyDelta and decodeDeltaInstructions a value or a VstoreError, and they agree', t => {
  t.notThrows(() => fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), bodyArbitrary, (source, body) => {
    let applied: Uint8Array | undefined
    let decoded: ReturnType<typeof decodeDeltaInstructions> | undefined
    try {
      applied = applyDelta(source, body, 'property', limits)
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
    }
    try {
      decoded = decodeDeltaInstructions(body, 'property', limits)
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
    }
    if (applied !== undefined) {
      if (decoded === undefined) throw new Error('applyDelta accepted a body decodeDeltaInstructions refused')
      if (applied.length !== decoded.targetByteLength) throw new Error('target length differs')
      if (!bytesEqual(applied, replay(source, decoded.instructions))) throw new Error('applyDelta differs from its instructions')
    } else if (decoded !== undefined) {
      const inSource = decoded.instructions.every(i => i.kind === 'insert' || i.offset + i.byteLength <= source.length)
      if (inSource) throw new Error('applyDelta refused instructions that stay inside the source')
    }
  }), options))
})

test('encodeDelta then decodeDeltaInstructions gives the instructions back', t => {
  t.notThrows(() => fc.assert(fc.property(fc.array(instructionArbitrary, { maxLength: 10 }), instructions => {
    const targetByteLength = instructions.reduce((sum, i) => sum + (i.kind === 'insert' ? i.bytes.length : i.byteLength), 0)
    const decoded = decodeDeltaInstructions(encodeDelta(targetByteLength, instructions), 'property', limits)
    if (decoded.targetByteLength !== targetByteLength || decoded.instructions.length !== instructions.length) throw new Error('length mismatch')
    decoded.instructions.forEach((got, i) => {
      const want = instructions[i] as DeltaInstruction
      const same = got.kind === 'insert' && want.kind === 'insert'
        ? bytesEqual(got.bytes, want.bytes)
        : got.kind === 'copy' && want.kind === 'copy' && got.offset === want.offset && got.byteLength === want.byteLength
      if (!same) throw new Error(`instruction ${i} differs`)
    })
  }), options))
})

/** Appends texts to a DeltaSource as the group builder does: each as a delta against what came before. */
function checkEncodeRoundTrips(texts: readonly Uint8Array[], minCopyByteLength: number): void {
  const source = new DeltaSource({ ...DEFAULT_MATCHER_OPTIONS, minCopyByteLength, expectedContentByteLength: 4096 })
  for (const text of texts) {
    const before = source.view().slice()
    const { body, literalRanges } = source.encode(text)
    if (!bytesEqual(source.view(), before)) throw new Error('encode changed the source')
    const rebuilt = applyDelta(source.view(), body, 'property', limits)
    if (!bytesEqual(rebuilt, text)) throw new Error('delta does not rebuild the text')
    const { instructions } = decodeDeltaInstructions(body, 'property', limits)
    for (const instruction of instructions) {
      if (instruction.kind === 'copy' && instruction.byteLength < minCopyByteLength) throw new Error(`copy of ${instruction.byteLength} < ${minCopyByteLength}`)
    }
    const inserts = instructions.flatMap(i => (i.kind === 'insert' ? [i.bytes] : []))
    if (literalRanges.length !== inserts.length || literalRanges.some(([start, end], i) => !bytesEqual(body.subarray(start, end), inserts[i] as Uint8Array))) {
      throw new Error('literalRanges do not locate the inserts')
    }
    source.appendOpaque(Uint8Array.of(0x02, body.length & 0x7f))
    source.append(body, literalRanges)
  }
}

test('DeltaSource.encode round-trips each version of an edited text against the ones before', t => {
  t.notThrows(() => fc.assert(fc.property(editHistoryArbitrary(3000, 10), fc.constantFrom(16, 32, 64), checkEncodeRoundTrips), options))
})

test('DeltaSource.encode round-trips texts sharing a prefix', t => {
  t.notThrows(() => fc.assert(fc.property(sharedPrefixArbitrary(2000, 6), fc.constantFrom(16, 32), checkEncodeRoundTrips), options))
})
