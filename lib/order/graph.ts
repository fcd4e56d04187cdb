/**
 * The order of texts by their ancestry: the write order of a batch (by file, then newest first along each
 * file's graph), a file's common ancestors, and the file's graph as a graphlib Graph for API callers.
 * The write order works on integer arrays (positions in the batch); graphlib is loaded only for
 * `ancestryGraph`.
 */
import { createRequire } from 'node:module'
import type { Graph as GraphType } from '@dagrejs/graphlib'
import { VstoreError } from '../errors.js'

// graphlib loads when a caller asks for a graph (`Store.ancestry`), not for every command: `vstore
// extract` starts faster without it.
const require = createRequire(import.meta.url)
function graphClass(): typeof GraphType {
  return (require('@dagrejs/graphlib') as { Graph: typeof GraphType }).Graph
}

export interface Versioned {
  readonly file: string
  readonly rev: string
  readonly parents: readonly string[]
}

export interface LargeTexts<T> {
  /** Texts over this many bytes are large; a file with a large text is a large file. */
  readonly minByteLength: number
  readonly byteLength: (item: T) => number
}

/**
 * The write order of a batch, as indices into `items`: by file (`compareFileIds`: extension, name, id),
 * then newest first along each file's ancestry (reverse topological order: every text before its parents).
 * Parents outside the batch do not constrain the order. Ties go to the later item: among the texts
 * whose children are all written, the one latest in `items` comes next, so a linear history given
 * oldest-first comes out newest-first and sibling branches come out later branch first.
 * With `largeTexts`, the files that have a large text come last (`byRevision`).
 * @throws VSTORE_CORRUPT if a file's ancestry in the batch has a cycle.
 */
export function writeOrder<T extends Versioned>(items: readonly T[], largeTexts?: LargeTexts<T>): number[] {
  const isLarge = (item: T) => largeTexts !== undefined && largeTexts.byteLength(item) > largeTexts.minByteLength
  const largeFiles = new Set<string>()
  for (const item of items) if (isLarge(item)) largeFiles.add(item.file)
  const byFile = new Map<string, number[]>()
  const large: number[] = []
  items.forEach((item, index) => {
    if (largeFiles.has(item.file)) large.push(index)
    else addTo(byFile, item.file, index)
  })
  const order: number[] = []
  for (const file of [...byFile.keys()].sort(compareFileIds)) appendAll(order, reverseTopological(items, byFile.get(file) as number[], revOnly))
  if (large.length > 0) {
    // Their large texts first, by revision; then their small versions, by file, newest first (after
    // their large ancestors: the one place where a parent may come before its child).
    const smallByFile = new Map<string, number[]>()
    const bigOnes: number[] = []
    for (const index of large) {
      const item = items[index] as T
      if (isLarge(item)) bigOnes.push(index)
      else addTo(smallByFile, item.file, index)
    }
    appendAll(order, byRevision(items, bigOnes, index => (largeTexts as LargeTexts<T>).byteLength(items[index] as T)))
    for (const file of [...smallByFile.keys()].sort(compareIds)) appendAll(order, reverseTopological(items, smallByFile.get(file) as number[], revOnly))
  }
  return order
}

function addTo(lists: Map<string, number[]>, key: string, index: number): void {
  const list = lists.get(key)
  if (list) list.push(index)
  else lists.set(key, [index])
}

/** `order.push(...more)` without spreading: a spread of some 125,000 numbers overflows the stack. */
function appendAll(order: number[], more: readonly number[]): void {
  for (const index of more) order.push(index)
}

function extensionOf(id: string): string {
  const base = id.slice(id.lastIndexOf('/') + 1)
  const dot = base.lastIndexOf('.')
  return dot <= 0 ? '' : base.slice(dot + 1)
}

/**
 * The order of files: by extension, then by name without the folders, then by the whole id (each in
 * code-unit order). Files of one kind, and files of one name in different folders, sit side by side in
 * groups, where deltas and the entropy coder find what they share (DESIGN.md).
 */
export function compareFileIds(a: string, b: string): number {
  return compareIds(extensionOf(a), extensionOf(b))
    || compareIds(a.slice(a.lastIndexOf('/') + 1), b.slice(b.lastIndexOf('/') + 1))
    || compareIds(a, b)
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** How texts of the ordered set are found by their parents' names: within one file, the revision is enough. */
type KeyOf = (file: string, rev: string) => string
const revOnly: KeyOf = (_file, rev) => rev
// Across files, as the graphlib version keyed them (NUL between): keeping it keeps the order the same for
// every input, ids with NUL in them included.
const fileAndRev: KeyOf = (file, rev) => `${file}\u0000${rev}`

/**
 * The texts of `largeFiles` (see writeOrder): all of them together, newest revision first and by file
 * id within a revision, each file still newest first along its ancestry. A revision is as new as the
 * latest item that names it, so a release history given oldest first comes out newest release first,
 * and the versions of different large files from one release sit side by side: a generated file and
 * its near-copies (a bundle and the bundles built from the same sources) become deltas of each other.
 */
function byRevision(items: readonly Versioned[], indices: readonly number[], sizeOf: (index: number) => number): number[] {
  const count = indices.length
  const revisionPosition = new Map<string, number>()
  for (const index of indices) revisionPosition.set((items[index] as Versioned).rev, index)
  const newest = new Float64Array(count)
  const size = new Float64Array(count)
  for (let at = 0; at < count; at++) {
    const index = indices[at] as number
    newest[at] = revisionPosition.get((items[index] as Versioned).rev) as number
    size[at] = sizeOf(index)
  }
  // Positions in `indices`, first wanted first; the earlier one wanted, the higher its priority.
  const wanted = Array.from({ length: count }, (_, at) => at).sort((a, b) => (newest[b] as number) - (newest[a] as number)
    || (size[b] as number) - (size[a] as number)
    || compareIds((items[indices[a] as number] as Versioned).file, (items[indices[b] as number] as Versioned).file)
    || (indices[b] as number) - (indices[a] as number))
  const priority = new Float64Array(count)
  wanted.forEach((at, position) => { priority[at] = count - position })
  return reverseTopological(items, indices, fileAndRev, priority)
}

/**
 * The edges child → parent among `indices`, by position in `indices`: the parents of position `at` are
 * `parents[first[at]]` up to `parents[first[at + 1]]`, none the text itself. A parent named twice has two
 * edges, counted twice and released twice, as graphlib's one edge was counted and released once. A parent
 * name two texts share (by `keyOf`) is the later one.
 */
function parentEdges(items: readonly Versioned[], indices: readonly number[], keyOf: KeyOf): { first: Int32Array; parents: Int32Array } {
  const count = indices.length
  const positionOf = new Map<string, number>()
  for (let at = 0; at < count; at++) {
    const item = items[indices[at] as number] as Versioned
    positionOf.set(keyOf(item.file, item.rev), at)
  }
  const first = new Int32Array(count + 1)
  let parents = new Int32Array(Math.max(16, count))
  let edgeCount = 0
  for (let at = 0; at < count; at++) {
    first[at] = edgeCount
    const item = items[indices[at] as number] as Versioned
    for (const parent of item.parents) {
      const parentAt = positionOf.get(keyOf(item.file, parent))
      if (parentAt === undefined || parentAt === at) continue
      if (edgeCount === parents.length) {
        const grown = new Int32Array(2 * parents.length)
        grown.set(parents)
        parents = grown
      }
      parents[edgeCount++] = parentAt
    }
  }
  first[count] = edgeCount
  return { first, parents: parents.subarray(0, edgeCount) }
}

/**
 * Kahn's algorithm on the graph of `indices` (edges child → parent), taking among the ready texts the one
 * of highest priority each time: `priority[at]` for the text at position `at` of `indices`, by default
 * its index in `items`.
 * @throws VSTORE_CORRUPT if the graph has a cycle.
 */
function reverseTopological(items: readonly Versioned[], indices: readonly number[], keyOf: KeyOf, priority?: Float64Array): number[] {
  const count = indices.length
  if (count === 1) return [...indices]
  const { first, parents } = parentEdges(items, indices, keyOf)
  // Children of each text not yet placed.
  const waiting = new Int32Array(count)
  for (const parentAt of parents) waiting[parentAt] = (waiting[parentAt] as number) + 1
  const ready = new PriorityHeap(priority ?? Float64Array.from(indices))
  for (let at = 0; at < count; at++) if (waiting[at] === 0) ready.push(at)
  const order: number[] = []
  while (ready.size > 0) {
    const at = ready.pop()
    order.push(indices[at] as number)
    for (let edge = first[at] as number; edge < (first[at + 1] as number); edge++) {
      const parentAt = parents[edge] as number
      const left = (waiting[parentAt] as number) - 1
      waiting[parentAt] = left
      if (left === 0) ready.push(parentAt)
    }
  }
  if (order.length !== count) {
    // Named by the first text in `indices` left unplaced: each text on a cycle, or an ancestor of one, waits.
    const unplaced = waiting.findIndex(left => left > 0)
    throw new VstoreError('VSTORE_CORRUPT', 'the ancestry of this file has a cycle', (items[indices[unplaced] as number] as Versioned).file)
  }
  return order
}

/** A binary max-heap of positions 0 … n − 1, by their priority (all different). */
class PriorityHeap {
  private readonly heap: Int32Array
  private length = 0

  constructor(private readonly priority: Float64Array) {
    this.heap = new Int32Array(priority.length)
  }

  get size(): number {
    return this.length
  }

  push(at: number): void {
    const { heap, priority } = this
    const value = priority[at] as number
    let i = this.length++
    while (i > 0) {
      const up = (i - 1) >> 1
      if ((priority[heap[up] as number] as number) >= value) break
      heap[i] = heap[up] as number
      i = up
    }
    heap[i] = at
  }

  pop(): number {
    const { heap, priority } = this
    const top = heap[0] as number
    const last = heap[--this.length] as number
    const value = priority[last] as number
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= this.length) break
      const right = left + 1
      const child = right < this.length && (priority[heap[right] as number] as number) > (priority[heap[left] as number] as number) ? right : left
      if ((priority[heap[child] as number] as number) <= value) break
      heap[i] = heap[child] as number
      i = child
    }
    heap[i] = last
    return top
  }
}

/** One file's ancestry as a graphlib graph: a node per revision, an edge from each parent to its child. */
export type AncestryGraph = GraphType

export function ancestryGraph(versions: readonly Pick<Versioned, 'rev' | 'parents'>[]): AncestryGraph {
  const Graph = graphClass()
  const graph = new Graph({ directed: true })
  for (const { rev } of versions) graph.setNode(rev)
  for (const { rev, parents } of versions) for (const parent of parents) graph.setEdge(parent, rev)
  return graph
}

/** `rev` and every revision it descends from, by its parents (`parentsOf` undefined: not a known revision). */
export function ancestorsOf(rev: string, parentsOf: (rev: string) => readonly string[] | undefined): Set<string> {
  const seen = new Set<string>([rev])
  const stack = [rev]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    for (const parent of parentsOf(next) ?? []) {
      if (seen.has(parent)) continue
      seen.add(parent)
      stack.push(parent)
    }
  }
  return seen
}

/**
 * The best common ancestors of `a` and `b` (what `git merge-base --all` gives on a commit graph): the
 * revisions both descend from (each counts as its own ancestor) that no other such revision descends
 * from. Several after criss-cross merges; none for unrelated histories. Sorted.
 */
export function commonAncestorsOf(a: string, b: string, parentsOf: (rev: string) => readonly string[] | undefined): string[] {
  const ofB = ancestorsOf(b, parentsOf)
  const common = [...ancestorsOf(a, parentsOf)].filter(rev => ofB.has(rev))
  // A common ancestor that is a proper ancestor of another common ancestor is not among the best.
  const dominated = new Set<string>()
  for (const rev of common) {
    if (dominated.has(rev)) continue
    for (const ancestor of ancestorsOf(rev, parentsOf)) if (ancestor !== rev) dominated.add(ancestor)
  }
  return common.filter(rev => !dominated.has(rev)).sort()
}
