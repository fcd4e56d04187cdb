import test from 'ava'
import fc from 'fast-check'
import { writeOrder, type LargeTexts, type Versioned } from '../../lib/order/graph.js'
import { PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'
import { referenceWriteOrder } from '../helpers/reference-write-order.js'

/**
 * `writeOrder` gives exactly the order the graphlib version gave (test/helpers/reference-write-order.ts)
 * for histories of several files: merges, several roots, revisions shared across files, parents outside
 * the batch, items in any order, with and without large texts; and, for graphs with cycles and repeated
 * keys, the same order or the same error. The store's bytes depend on this order.
 */

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }

interface Item extends Versioned {
  readonly byteLength: number
}

/** Files that `compareFileIds` sorts by extension, name and id in different ways. */
const FILES = ['a.c', 'src/a.c', 'b.h', 'README', 'docs/README', '.gitignore', 'z', 'x/b.c']

/** Over 100 bytes is large (see `large` below); ties in length are common on purpose. */
const BYTE_LENGTHS = [0, 40, 100, 100, 101, 500, 500, 9000]

const large: LargeTexts<Item> = { minByteLength: 100, byteLength: item => item.byteLength }

/** What a commit adds to a file's text beyond its ordinary parents. */
type Oddity = 'none' | 'missing' | 'self' | 'repeated' | 'forward' | 'duplicate'

const oddity = (oddities: readonly Oddity[]): fc.Arbitrary<Oddity> =>
  fc.oneof({ weight: 12, arbitrary: fc.constant<Oddity>('none') }, { weight: oddities.length, arbitrary: fc.constantFrom(...oddities) })

const commitArbitrary = (oddities: readonly Oddity[]) => fc.record({
  files: fc.uniqueArray(fc.constantFrom(...FILES), { minLength: 1, maxLength: 3 }),
  /** Which earlier versions of each file are parents: none makes a root, two or more a merge. */
  picks: fc.array(fc.nat(), { maxLength: 3 }),
  oddity: oddity(oddities),
  byteLength: fc.constantFrom(...BYTE_LENGTHS),
})

type Commit = ReturnType<typeof commitArbitrary> extends fc.Arbitrary<infer C> ? C : never

/**
 * The texts of `commits`, oldest first: commit k touches its files, each version's parents picked among
 * that file's earlier versions; revision ids are the commit's (shared by every file it touches),
 * number-like when `numeric`.
 */
function historyOf(commits: readonly Commit[], numeric: boolean): Item[] {
  const revOf = (k: number) => (numeric ? String(k) : `c${k}`)
  const earlier = new Map<string, string[]>()
  const items: Item[] = []
  commits.forEach((commit, k) => {
    for (const [f, file] of commit.files.entries()) {
      const before = earlier.get(file) ?? []
      const parents = before.length === 0 ? [] : commit.picks.map(pick => before[pick % before.length] as string)
      if (commit.oddity === 'missing') parents.push('gone')
      if (commit.oddity === 'self') parents.push(revOf(k))
      if (commit.oddity === 'repeated' && parents.length > 0) parents.push(parents[0] as string)
      // A later commit's revision: a cycle when that commit picks this one back.
      if (commit.oddity === 'forward') parents.push(revOf(k + 1 + ((commit.picks[0] ?? 0) % 3)))
      const byteLength = BYTE_LENGTHS[(BYTE_LENGTHS.indexOf(commit.byteLength) + f) % BYTE_LENGTHS.length] as number
      const item = { file, rev: revOf(k), parents, byteLength }
      items.push(item)
      // Half of them as long as the first: byRevision then tells them apart by their place in the batch alone.
      if (commit.oddity === 'duplicate') items.push({ ...item, byteLength: item.byteLength + (k % 2) })
      before.push(revOf(k))
      earlier.set(file, before)
    }
  })
  return items
}

/** The items as given: oldest first, newest first, or shuffled. */
const arrangedArbitrary = (items: readonly Item[]): fc.Arbitrary<readonly Item[]> => fc.oneof(
  fc.constant([...items]),
  fc.constant([...items].reverse()),
  fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length }),
)

const historyArbitrary = (oddities: readonly Oddity[], maxCommits: number) => fc
  .tuple(fc.array(commitArbitrary(oddities), { maxLength: maxCommits, size: 'max' }), fc.boolean())
  .chain(([commits, numeric]) => arrangedArbitrary(historyOf(commits, numeric)))

/** The order, or the error's constructor, code, message and place. */
function outcome(order: () => number[]): unknown {
  try {
    return order()
  } catch (error) {
    const { code, message, where } = error as { code?: unknown; message?: unknown; where?: unknown }
    return { error: (error as Error).constructor.name, code, message, where }
  }
}

test('the write order of DAG histories is the graphlib version\'s, with and without large texts', t => {
  fc.assert(fc.property(historyArbitrary(['missing', 'self', 'repeated'], 40), fc.boolean(), (items, withLarge) => {
    const largeTexts = withLarge ? large : undefined
    const expected = referenceWriteOrder(items, largeTexts)
    t.deepEqual(writeOrder(items, largeTexts), expected)
  }), options)
})

test('cycles and repeated keys give the graphlib version\'s order or its error', t => {
  let errors = 0
  fc.assert(fc.property(historyArbitrary(['forward', 'duplicate', 'self', 'repeated'], 25), fc.boolean(), (items, withLarge) => {
    const largeTexts = withLarge ? large : undefined
    const expected = outcome(() => referenceWriteOrder(items, largeTexts))
    if (!Array.isArray(expected)) errors++
    t.deepEqual(outcome(() => writeOrder(items, largeTexts)), expected)
  }), options)
  // The property must see cycles, or it says nothing of them.
  t.true(errors > 0, 'no history had a cycle')
})

test('the reference and writeOrder see large files: a history with large texts orders differently', t => {
  // Guards the property above against a `large` that never applies.
  const items: Item[] = [
    { file: 'a.c', rev: 'c0', parents: [], byteLength: 500 },
    { file: 'b.h', rev: 'c0', parents: [], byteLength: 10 },
  ]
  t.deepEqual(referenceWriteOrder(items), [0, 1])
  t.deepEqual(referenceWriteOrder(items, large), [1, 0])
  t.deepEqual(writeOrder(items, large), [1, 0])
})
