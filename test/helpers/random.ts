import fc from 'fast-check'
import { GroupWriter, type GroupPolicy, type SealedGroup } from '../../lib/group/writer.js'
import { seededRandom } from '../../scripts/stats.js'

/**
 * Shared generators for unit and property tests: a seeded PRNG for unit tests that want fixed
 * "random" bytes, and fast-check arbitraries for the designed histories the property tests push
 * through the group layer (edits of one text, shared prefixes, empty texts, one just over the cap).
 */

/** Runs per property: `PROPERTY_RUNS=2000 npx ava …` for a longer search. */
export const PROPERTY_RUNS = Number(process.env.PROPERTY_RUNS ?? 200)
/** Every property uses this seed, so a failure reproduces. */
export const PROPERTY_SEED = 7

/** mulberry32, the generator the benchmark also samples keys with. */
export { seededRandom }

/** An integer in [0, end). */
export function randomInt(random: () => number, end: number): number {
  return Math.floor(random() * end)
}

/** `byteLength` incompressible bytes. */
export function randomBytes(random: () => number, byteLength: number): Uint8Array {
  const bytes = new Uint8Array(byteLength)
  for (let i = 0; i < byteLength; i++) bytes[i] = randomInt(random, 256)
  return bytes
}

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'return', 'const', 'if', 'else', 'value', 'index', '{', '}', '=', '+', '42', 'text']

/** Source-code-like text: `lineCount` lines of words, each line distinct enough to be worth a copy. */
export function randomLines(random: () => number, lineCount: number): Uint8Array {
  const lines: string[] = []
  for (let i = 0; i < lineCount; i++) {
    const words: string[] = []
    const wordCount = 3 + randomInt(random, 8)
    for (let w = 0; w < wordCount; w++) words.push(WORDS[randomInt(random, WORDS.length)] as string)
    lines.push(`${i}: ${words.join(' ')}`)
  }
  return new TextEncoder().encode(lines.join('\n') + '\n')
}

/** Deterministic bytes of every value, including NUL, CR, LF and invalid UTF-8 (an LCG's high bytes): no coder shrinks them. */
export function pseudoRandomBytes(byteLength: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(byteLength)
  let state = seed >>> 0
  for (let i = 0; i < byteLength; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    bytes[i] = state >>> 24
  }
  return bytes
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let byteLength = 0
  for (const part of parts) byteLength += part.length
  const out = new Uint8Array(byteLength)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * One edit: at `position` (taken modulo the text length + 1), delete up to `deleteByteLength` bytes
 * and insert `insert`. An insertion deletes nothing, a deletion inserts nothing, a replacement does both.
 */
export interface Edit {
  readonly position: number
  readonly deleteByteLength: number
  readonly insert: Uint8Array
}

export function applyEdit(text: Uint8Array, edit: Edit): Uint8Array {
  const start = edit.position % (text.length + 1)
  const end = Math.min(text.length, start + edit.deleteByteLength)
  return concatBytes(text.subarray(0, start), edit.insert, text.subarray(end))
}

/** Each version after applying the edits in turn, starting with `base` itself. */
export function versionsOf(base: Uint8Array, edits: readonly Edit[]): Uint8Array[] {
  const versions = [base]
  let text = base
  for (const edit of edits) {
    text = applyEdit(text, edit)
    versions.push(text)
  }
  return versions
}

const insertBytes = fc.uint8Array({ minLength: 1, maxLength: 80, size: 'max' })

export const editArbitrary: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ position: fc.nat(), deleteByteLength: fc.constant(0), insert: insertBytes }),
  fc.record({ position: fc.nat(), deleteByteLength: fc.integer({ min: 1, max: 200 }), insert: fc.constant(new Uint8Array(0)) }),
  fc.record({ position: fc.nat(), deleteByteLength: fc.integer({ min: 1, max: 200 }), insert: insertBytes }),
)

/** Text-like bytes: lines from a small vocabulary (compressible, with repeats worth copying). */
export const lineTextArbitrary = (maxLineCount: number): fc.Arbitrary<Uint8Array> =>
  fc.array(fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 10, size: 'max' }), { maxLength: maxLineCount, size: 'max' })
    .map(lines => new TextEncoder().encode(lines.map((words, i) => `${i} ${words.join(' ')}\n`).join('')))

/**
 * A text (text-like or arbitrary bytes) and a series of edits of it: every version, oldest first.
 * Lengths use `size: 'max'`: fast-check's default 'small' size keeps arrays to about ten elements,
 * which would leave every text far below the group cap and the read budget.
 */
export const editHistoryArbitrary = (maxBaseByteLength: number, maxEditCount: number): fc.Arbitrary<Uint8Array[]> =>
  fc.tuple(
    fc.oneof(lineTextArbitrary(Math.ceil(maxBaseByteLength / 40)), fc.uint8Array({ maxLength: maxBaseByteLength, size: 'max' })),
    fc.array(editArbitrary, { minLength: 1, maxLength: maxEditCount, size: 'max' }),
  ).map(([base, edits]) => versionsOf(base, edits))

/** Texts that share a prefix and differ after it. */
export const sharedPrefixArbitrary = (maxPrefixByteLength: number, maxTextCount: number): fc.Arbitrary<Uint8Array[]> =>
  fc.tuple(
    fc.oneof(lineTextArbitrary(Math.ceil(maxPrefixByteLength / 40)), fc.uint8Array({ maxLength: maxPrefixByteLength, size: 'max' })),
    fc.array(fc.uint8Array({ maxLength: 300, size: 'max' }), { minLength: 1, maxLength: maxTextCount, size: 'max' }),
  ).map(([prefix, suffixes]) => suffixes.map(suffix => concatBytes(prefix, suffix)))

/** Empty texts among others (random bytes or lines, up to about 1.2 KiB), in any order. */
export const withEmptyTextsArbitrary = (maxTextCount: number): fc.Arbitrary<Uint8Array[]> =>
  fc.array(fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 1200, size: 'max' }), lineTextArbitrary(30)), { minLength: 1, maxLength: maxTextCount, size: 'max' })

/**
 * Texts around one that is just over `capByteLength` (incompressible, 1–64 bytes over), with its
 * edits and short texts before and after it.
 */
export const overCapArbitrary = (capByteLength: number): fc.Arbitrary<Uint8Array[]> =>
  fc.tuple(
    fc.array(fc.uint8Array({ maxLength: 1500, size: 'max' }), { maxLength: 3, size: 'max' }),
    fc.integer({ min: 1, max: 64 }),
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.array(editArbitrary, { maxLength: 3, size: 'max' }),
    fc.array(fc.uint8Array({ maxLength: 1500, size: 'max' }), { maxLength: 3, size: 'max' }),
  ).map(([before, overByteLength, seed, edits, after]) => [
    ...before,
    ...versionsOf(randomBytes(seededRandom(seed), capByteLength + overByteLength), edits),
    ...after,
  ])

/**
 * A copy of `bytes` with the byte at `offset` XORed with `mask` (1–255). Copies with
 * `Uint8Array.from`, since `slice()` of a Node Buffer (what node:zlib returns) is a view.
 */
export function flipByte(bytes: Uint8Array, offset: number, mask: number): Uint8Array {
  const copy = Uint8Array.from(bytes)
  copy[offset] = ((copy[offset] as number) ^ mask) & 0xff
  return copy
}

export { compareBytes } from '../../lib/bytes/index.js'

/** Writes `texts` through a GroupWriter (each id is the text's index), flushes once, and returns the sealed groups. */
export async function writeGroups(policy: GroupPolicy, texts: readonly Uint8Array[]): Promise<SealedGroup<number>[]> {
  const groups: SealedGroup<number>[] = []
  const writer = new GroupWriter<number>(policy, async group => { groups.push(group) })
  for (const [id, text] of texts.entries()) await writer.add(id, text)
  await writer.flush()
  return groups
}
