import test from 'ava'
import { applyDelta, decodeDeltaInstructions } from '../../../lib/delta/group-delta.js'
import fc from 'fast-check'
import { BLOCK_BYTE_LENGTH, DEFAULT_MATCHER_OPTIONS, DeltaSource, forwardMatch, type MatcherOptions } from '../../../lib/delta/matcher.js'
import { PROPERTY_SEED, applyEdit, concatBytes, randomBytes, randomInt, randomLines, seededRandom } from '../../helpers/random.js'
import { VstoreError } from '../../../lib/errors.js'

const limits = { maxTextByteLength: 1 << 24 }

function sourceOf(texts: readonly Uint8Array[], options: MatcherOptions = DEFAULT_MATCHER_OPTIONS): DeltaSource {
  const source = new DeltaSource(options)
  for (const text of texts) source.append(text, [[0, text.length]])
  return source
}

function instructionsOf(body: Uint8Array) {
  return decodeDeltaInstructions(body, 'd', limits).instructions
}

test('encode then applyDelta against the same content rebuilds the target', t => {
  const random = seededRandom(11)
  const base = randomLines(random, 200)
  const source = sourceOf([base])
  const targets = [
    base,
    new Uint8Array(0),
    base.subarray(0, 10),
    applyEdit(base, { position: 500, deleteByteLength: 40, insert: new TextEncoder().encode('changed line\n') }),
    concatBytes(base.subarray(3000), randomBytes(random, 100), base.subarray(0, 2000)),
    randomBytes(random, 3000),
  ]
  for (const target of targets) {
    const { body } = source.encode(target)
    t.deepEqual(applyDelta(source.view(), body, 'd', limits), target, `${target.length} bytes`)
  }
})

test('repeated content becomes a copy and the delta is much smaller than the target', t => {
  const random = seededRandom(12)
  const text = randomBytes(random, 4000)
  const source = sourceOf([text])
  const target = applyEdit(text, { position: 2000, deleteByteLength: 10, insert: Uint8Array.of(1, 2, 3) })
  const { body } = source.encode(target)
  const copied = instructionsOf(body).filter(i => i.kind === 'copy').reduce((sum, i) => sum + (i.kind === 'copy' ? i.byteLength : 0), 0)
  t.true(copied >= target.length - 3 - 2 * BLOCK_BYTE_LENGTH, `copied ${copied} of ${target.length}`)
  t.true(body.length < 40, `body of ${body.length} bytes`)
})

test('a copy points at where the repeated bytes lie in the content', t => {
  const random = seededRandom(13)
  const filler = randomBytes(random, 1000)
  const repeated = randomBytes(random, 500)
  const source = sourceOf([filler, repeated])
  const instructions = instructionsOf(source.encode(repeated).body)
  t.deepEqual(instructions, [{ kind: 'copy', offset: 1000, byteLength: 500 }])
})

test('unrelated bytes are one insert', t => {
  const random = seededRandom(14)
  const source = sourceOf([randomBytes(random, 2000)])
  const target = randomBytes(random, 800)
  const instructions = instructionsOf(source.encode(target).body)
  t.is(instructions.length, 1)
  t.is(instructions[0]?.kind, 'insert')
})

test('an empty source gives one insert of the whole target', t => {
  const target = randomLines(seededRandom(15), 10)
  const { body, literalRanges } = new DeltaSource().encode(target)
  const instructions = instructionsOf(body)
  t.is(instructions.length, 1)
  t.deepEqual(literalRanges, [[body.length - target.length, body.length]])
})

test('no copy is shorter than minCopyByteLength', t => {
  const random = seededRandom(16)
  const repeat = randomBytes(random, 48)
  const source = sourceOf([randomBytes(random, 500), repeat, randomBytes(random, 500)], { ...DEFAULT_MATCHER_OPTIONS, minCopyByteLength: 64 })
  const target = concatBytes(randomBytes(random, 100), repeat, randomBytes(random, 100))
  const instructions = instructionsOf(source.encode(target).body)
  t.true(instructions.every(i => i.kind === 'insert'), JSON.stringify(instructions.map(i => i.kind)))
  // The same 48-byte repeat is copied when the minimum allows it, so the minimum is what refused it.
  const lenient = sourceOf([randomBytes(seededRandom(99), 500), repeat], { ...DEFAULT_MATCHER_OPTIONS, minCopyByteLength: 32 })
  t.true(instructionsOf(lenient.encode(target).body).some(i => i.kind === 'copy'))
})

test('every copy of an edited text meets minCopyByteLength', t => {
  const random = seededRandom(17)
  for (const minCopyByteLength of [16, 32, 100]) {
    const text = randomLines(random, 300)
    const source = sourceOf([text], { ...DEFAULT_MATCHER_OPTIONS, minCopyByteLength })
    let target = text
    for (let i = 0; i < 30; i++) target = applyEdit(target, { position: randomInt(random, target.length), deleteByteLength: randomInt(random, 50), insert: randomBytes(random, randomInt(random, 20)) })
    const { body } = source.encode(target)
    for (const instruction of instructionsOf(body)) {
      if (instruction.kind === 'copy') t.true(instruction.byteLength >= minCopyByteLength, `${instruction.byteLength} < ${minCopyByteLength}`)
    }
    t.deepEqual(applyDelta(source.view(), body, 'd', limits), target)
  }
})

test('encode does not modify the source', t => {
  const random = seededRandom(18)
  const text = randomLines(random, 100)
  const source = sourceOf([text])
  const before = source.view().slice()
  const target = applyEdit(text, { position: 100, deleteByteLength: 5, insert: Uint8Array.of(9) })
  const first = source.encode(target)
  source.encode(randomBytes(random, 3000))
  t.is(source.byteLength, text.length)
  t.deepEqual(source.view(), before)
  // No hidden state: the same target encodes identically afterwards.
  t.deepEqual(source.encode(target).body, first.body)
})

test('opaque bytes are never the start of a copy', t => {
  const random = seededRandom(19)
  const header = randomBytes(random, 400)
  const source = new DeltaSource()
  source.appendOpaque(header)
  const instructions = instructionsOf(source.encode(header).body)
  t.deepEqual(instructions.map(i => i.kind), ['insert'])
})

test('literalRanges locate the insert bytes inside the body', t => {
  const random = seededRandom(20)
  const text = randomBytes(random, 2000)
  const source = sourceOf([text])
  const target = concatBytes(Uint8Array.of(1, 2, 3, 4), text.subarray(0, 1000), Uint8Array.of(5, 6, 7), text.subarray(1500))
  const { body, literalRanges } = source.encode(target)
  const inserts = instructionsOf(body).filter(i => i.kind === 'insert').map(i => (i.kind === 'insert' ? [...i.bytes] : []))
  t.deepEqual(literalRanges.map(([start, end]) => [...body.subarray(start, end)]), inserts)
  t.deepEqual(inserts, [[1, 2, 3, 4], [5, 6, 7]])
})

test('a delta body appended with its literal ranges is itself a copy source', t => {
  const random = seededRandom(21)
  const base = randomBytes(random, 1000)
  const novel = randomBytes(random, 600)
  const source = sourceOf([base])
  const second = source.encode(concatBytes(base, novel))
  source.append(second.body, second.literalRanges)
  const instructions = instructionsOf(source.encode(novel).body)
  t.deepEqual(instructions, [{ kind: 'copy', offset: base.length + (second.literalRanges[0] as readonly [number, number])[0], byteLength: 600 }])
})

test('content past expectedContentByteLength is still indexed and copied', t => {
  const random = seededRandom(22)
  const options = { ...DEFAULT_MATCHER_OPTIONS, expectedContentByteLength: 1024 }
  const texts = Array.from({ length: 20 }, () => randomBytes(random, 3000))
  const source = sourceOf(texts, options)
  const last = texts[texts.length - 1] as Uint8Array
  const { body } = source.encode(last)
  t.deepEqual(instructionsOf(body), [{ kind: 'copy', offset: 19 * 3000, byteLength: 3000 }])
  t.deepEqual(applyDelta(source.view(), body, 'd', limits), last)
})

test('minCopyByteLength below the block and maxCandidates below one are VSTORE_USAGE', t => {
  t.throws(() => new DeltaSource({ ...DEFAULT_MATCHER_OPTIONS, minCopyByteLength: BLOCK_BYTE_LENGTH - 1 }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => new DeltaSource({ ...DEFAULT_MATCHER_OPTIONS, maxCandidates: 0 }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.notThrows(() => new DeltaSource({ ...DEFAULT_MATCHER_OPTIONS, minCopyByteLength: BLOCK_BYTE_LENGTH }))
})

test('a source on the buffers of released ones (their old bytes left in them) encodes exactly as one on new buffers', t => {
  const random = seededRandom(31)
  // Largest first: each source's buffers then hold more of the last one's bytes than it writes itself.
  const cases = Array.from({ length: 6 }, (_, i) => {
    const base = randomLines(random, 300 - 40 * i)
    const edited = applyEdit(base, { position: Math.floor(base.length / 3), deleteByteLength: 20, insert: randomBytes(random, 30) })
    return { texts: [base, randomLines(random, 30)], target: concatBytes(edited, randomBytes(random, 50)) }
  })
  // Sources never released: each takes new buffers (or spare ones no source has written).
  const fresh = cases.map(({ texts, target }) => sourceOf(texts).encode(target))
  // Each source released before the next: the next takes its buffers, full of the last one's bytes.
  let released: ArrayBufferLike | undefined
  let reuses = 0
  const reused = cases.map(({ texts, target }) => {
    const source = sourceOf(texts)
    if (source.view().buffer === released) reuses++
    const encoded = source.encode(target)
    released = source.view().buffer
    source.release()
    t.is(source.view().length, 0, 'a released source holds nothing')
    return encoded
  })
  t.is(reuses, cases.length - 1, 'each source after the first takes the content buffer the one before gave back')
  for (const [i, encoded] of reused.entries()) {
    t.deepEqual(encoded.body, (fresh[i] as typeof encoded).body, `case ${i}`)
    t.deepEqual(encoded.literalRanges, (fresh[i] as typeof encoded).literalRanges, `case ${i}`)
  }
})

test('property: forwardMatch counts the equal bytes from two offsets, up to the limit, as a byte-by-byte comparison does', t => {
  // Long equal runs with a difference anywhere, the native chunks' edges included.
  const runs = fc.record({
    common: fc.integer({ min: 0, max: 300_000 }), sourceAt: fc.integer({ min: 0, max: 50 }), targetAt: fc.integer({ min: 0, max: 50 }),
    tail: fc.uint8Array({ maxLength: 40 }), seed: fc.integer(), limitCut: fc.integer({ min: 0, max: 400_000 }),
  })
  fc.assert(fc.property(runs, ({ common, sourceAt, targetAt, tail, seed, limitCut }) => {
    const random = seededRandom(seed)
    const shared = randomBytes(random, common)
    const source = concatBytes(randomBytes(random, sourceAt), shared, tail)
    const target = concatBytes(randomBytes(random, targetAt), shared, randomBytes(random, 40))
    const limit = Math.min(limitCut, source.length - sourceAt, target.length - targetAt)
    let expected = 0
    while (expected < limit && source[sourceAt + expected] === target[targetAt + expected]) expected++
    return forwardMatch(source, sourceAt, target, targetAt, limit) === expected
  }), { numRuns: 300, seed: PROPERTY_SEED })
  t.pass()
})
