import test, { type ExecutionContext } from 'ava'
import { VstoreError } from '../../../lib/errors.js'
import { compareFileIds, writeOrder, type Versioned } from '../../../lib/order/graph.js'
import { randomInt, seededRandom } from '../../helpers/random.js'

const text = (file: string, rev: string, ...parents: string[]): Versioned => ({ file, rev, parents })

/** Fails unless `order` lists each index once, files in `compareFileIds` order, and every text before its parents in the batch. */
function checkOrder(t: ExecutionContext, items: readonly Versioned[], order: readonly number[]): void {
  t.deepEqual([...order].sort((a, b) => a - b), items.map((_, i) => i), 'not a permutation')
  const files = order.map(i => items[i]?.file as string)
  for (let i = 1; i < files.length; i++) t.true(compareFileIds(files[i - 1] as string, files[i] as string) <= 0, `${files[i - 1]} after ${files[i]}`)
  const position = new Map(order.map((index, at) => [`${items[index]?.file}\u0000${items[index]?.rev}`, at]))
  order.forEach((index, at) => {
    const item = items[index] as Versioned
    for (const parent of item.parents) {
      const parentAt = position.get(`${item.file}\u0000${parent}`)
      if (parentAt !== undefined && parent !== item.rev) t.true(at < parentAt, `${item.file}@${item.rev} comes after its parent ${parent}`)
    }
  })
}

test('files come out sorted by code unit', t => {
  const items = [text('b', '1'), text('a', '1'), text('é', '1'), text('B', '1'), text('a/b', '1'), text('a', '2', '1')]
  const order = writeOrder(items)
  t.deepEqual(order.map(i => items[i]?.file), ['B', 'a', 'a', 'a/b', 'b', 'é'])
  checkOrder(t, items, order)
})

test('files come out by extension, then by name across folders, then by id', t => {
  const files = ['src/a.c', 'README', 'x/b.c', 'lib/a.c', 'b.h', 'docs/README', '.gitignore', 'a.c']
  const items = files.map(file => text(file, '1'))
  t.deepEqual(writeOrder(items).map(i => items[i]?.file), ['.gitignore', 'README', 'docs/README', 'a.c', 'lib/a.c', 'src/a.c', 'x/b.c', 'b.h'])
})

test('a linear history given oldest-first comes out newest-first', t => {
  const items = Array.from({ length: 8 }, (_, i) => text('f', `r${i}`, ...(i > 0 ? [`r${i - 1}`] : [])))
  t.deepEqual(writeOrder(items), [7, 6, 5, 4, 3, 2, 1, 0])
})

test('a linear history given newest-first stays newest-first', t => {
  const items = Array.from({ length: 5 }, (_, i) => text('f', `r${4 - i}`, ...(i < 4 ? [`r${3 - i}`] : [])))
  t.deepEqual(writeOrder(items), [0, 1, 2, 3, 4])
})

test('within a file each text comes before its parents, for merges and branches', t => {
  const items = [
    text('f', 'root'),
    text('f', 'left', 'root'),
    text('f', 'right', 'root'),
    text('f', 'merge', 'left', 'right'),
    text('f', 'after', 'merge'),
    text('g', 'other'),
    text('f', 'side', 'left'),
  ]
  checkOrder(t, items, writeOrder(items))
})

test('random histories in shuffled order keep every text before its parents', t => {
  const random = seededRandom(101)
  for (let round = 0; round < 30; round++) {
    const items: Versioned[] = []
    for (let i = 0; i < 40; i++) {
      const file = `file${randomInt(random, 3)}`
      const earlier = items.filter(item => item.file === file)
      const parents = earlier.length === 0 ? [] : Array.from({ length: 1 + randomInt(random, 2) }, () => (earlier[randomInt(random, earlier.length)] as Versioned).rev)
      items.push(text(file, `${file}-r${i}`, ...new Set(parents)))
    }
    for (let i = items.length - 1; i > 0; i--) {
      const j = randomInt(random, i + 1)
      ;[items[i], items[j]] = [items[j] as Versioned, items[i] as Versioned]
    }
    checkOrder(t, items, writeOrder(items))
  }
})

test('parents outside the batch do not constrain the order', t => {
  const items = [text('f', 'r2', 'r1'), text('f', 'r3', 'r2'), text('f', 'r4', 'missing')]
  const order = writeOrder(items)
  checkOrder(t, items, order)
  t.true(order.indexOf(1) < order.indexOf(0))
})

test('a text naming itself as parent is not a cycle', t => {
  t.deepEqual(writeOrder([text('f', 'a', 'a'), text('f', 'b', 'a')]), [1, 0])
})

test('a cycle in a file\'s ancestry is VSTORE_CORRUPT', t => {
  const error = t.throws(() => writeOrder([text('f', 'a', 'b'), text('f', 'b', 'a'), text('g', 'x')]), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
  t.is(error?.where, 'f')
})

test('an empty batch has an empty order', t => {
  t.deepEqual(writeOrder([]), [])
})

// Regression: ties go to the later item (graphlib's node object once reordered number-like names).
test('texts with no ancestry between them come out later-first', t => {
  t.deepEqual(writeOrder([text('f', 'a'), text('f', 'b'), text('f', 'c')]), [2, 1, 0])
})

test('sibling branches come out later-first, before their common parent', t => {
  t.deepEqual(writeOrder([text('f', 'root'), text('f', 'left', 'root'), text('f', 'right', 'root')]), [2, 1, 0])
})

// Regression: the graphlib version appended each file's order with push(...order), which overflows the
// stack near 125,000 texts of one file.
test('a file with 200,000 texts in one batch comes out newest first', t => {
  const items = Array.from({ length: 200_000 }, (_, i) => text('f', `r${i}`, ...(i > 0 ? [`r${i - 1}`] : [])))
  const order = writeOrder(items)
  t.is(order.length, items.length)
  t.true(order.every((index, at) => index === items.length - 1 - at))
})

test('a parent named twice is one parent', t => {
  t.deepEqual(writeOrder([text('f', 'a'), text('f', 'b', 'a', 'a'), text('f', 'c')]), [2, 1, 0])
})

test('a key given twice: its children wait for the later one', t => {
  // Texts name their parents by revision; the later of two texts with one key is the one they find.
  t.deepEqual(writeOrder([text('f', 'a'), text('f', 'b', 'a'), text('f', 'a')]), [1, 2, 0])
})

interface Sized extends Versioned { readonly byteLength: number }
const sized = (byteLength: number, file: string, rev: string, ...parents: string[]): Sized => ({ file, rev, parents, byteLength })
const large = { minByteLength: 100, byteLength: (item: Sized) => item.byteLength }

test('large files come last: large texts newest revision first, largest first, then their small ones by file', t => {
  const items = [
    sized(500, 'b.js', 'v1'),
    sized(900, 'a.js', 'v1'),
    sized(10, 'a.js', 'v0'),
    sized(10, 'c.c', 'v1'),
    sized(600, 'b.js', 'v2', 'v1'),
    sized(600, 'a.js', 'v2', 'v1'),
    sized(20, 'b.js', 'v3', 'v2'),
  ]
  // c.c has no large text: first. Then v2 (named later than v1), where the lengths tie and a.js goes
  // first; v1, largest first; then the small versions of a.js and b.js, v3 after its large parent.
  t.deepEqual(writeOrder(items, large), [3, 5, 4, 1, 0, 2, 6])
  t.deepEqual(writeOrder(items), [3, 5, 2, 1, 6, 4, 0])
})

test('a cycle among large texts is VSTORE_CORRUPT, named by the first text given that it holds back', t => {
  const items = [sized(500, 'b.js', 'x'), sized(500, 'a.js', 'p', 'q'), sized(500, 'a.js', 'q', 'p'), sized(500, 'b.js', 'y', 'x')]
  const error = t.throws(() => writeOrder(items, large), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
  t.is(error?.where, 'a.js')
})
