import { Graph } from '@dagrejs/graphlib'
import { VstoreError } from '../errors.js'

export interface Versioned {
  readonly file: string
  readonly rev: string
  readonly parents: readonly string[]
}

/**
 * The write order of a batch, as indices into `items`: by file id (code-unit order), then newest
 * first along each file's ancestry (reverse topological order: every text before its parents).
 * Parents outside the batch do not constrain the order. Ties go to the later item: among the texts
 * whose children are all written, the one latest in `items` comes next, so a linear history given
 * oldest-first comes out newest-first and sibling branches come out later branch first.
 */
export function writeOrder(items: readonly Versioned[]): number[] {
  const byFile = new Map<string, number[]>()
  items.forEach((item, index) => {
    const list = byFile.get(item.file)
    if (list) list.push(index)
    else byFile.set(item.file, [index])
  })
  const files = [...byFile.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const order: number[] = []
  for (const file of files) order.push(...reverseTopological(items, byFile.get(file) as number[]))
  return order
}

/**
 * Kahn's algorithm on the file's graph (edges child → parent), taking the highest index among the
 * ready texts each time.
 * @throws VSTORE_CORRUPT if the graph has a cycle.
 */
function reverseTopological(items: readonly Versioned[], indices: readonly number[]): number[] {
  if (indices.length === 1) return [...indices]
  // Node names are prefixed: graphlib keeps nodes in an object, where number-like keys would reorder.
  const name = (index: number) => `n${index}`
  const graph = new Graph({ directed: true })
  const indexOfRev = new Map<string, number>()
  for (const index of indices) {
    graph.setNode(name(index))
    indexOfRev.set((items[index] as Versioned).rev, index)
  }
  for (const index of indices) {
    for (const parent of (items[index] as Versioned).parents) {
      const parentIndex = indexOfRev.get(parent)
      if (parentIndex !== undefined && parentIndex !== index) graph.setEdge(name(index), name(parentIndex))
    }
  }
  const waiting = new Map<number, number>()
  const ready = new MaxHeap()
  for (const index of indices) {
    const children = graph.inEdges(name(index))?.length ?? 0
    if (children === 0) ready.push(index)
    else waiting.set(index, children)
  }
  const order: number[] = []
  while (ready.size > 0) {
    const index = ready.pop()
    order.push(index)
    for (const parentName of graph.successors(name(index)) ?? []) {
      const parent = Number(parentName.slice(1))
      const left = (waiting.get(parent) as number) - 1
      if (left === 0) {
        waiting.delete(parent)
        ready.push(parent)
      } else {
        waiting.set(parent, left)
      }
    }
  }
  if (order.length !== indices.length) {
    const file = (items[indices[0] as number] as Versioned).file
    throw new VstoreError('VSTORE_CORRUPT', 'the ancestry of this file has a cycle', file)
  }
  return order
}

/** A binary max-heap of numbers. */
class MaxHeap {
  private readonly values: number[] = []

  get size(): number {
    return this.values.length
  }

  push(value: number): void {
    const values = this.values
    values.push(value)
    let i = values.length - 1
    while (i > 0) {
      const up = (i - 1) >> 1
      if ((values[up] as number) >= value) break
      values[i] = values[up] as number
      i = up
    }
    values[i] = value
  }

  pop(): number {
    const values = this.values
    const top = values[0] as number
    const last = values.pop() as number
    if (values.length > 0) {
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        if (left >= values.length) break
        const right = left + 1
        const child = right < values.length && (values[right] as number) > (values[left] as number) ? right : left
        if ((values[child] as number) <= last) break
        values[i] = values[child] as number
        i = child
      }
      values[i] = last
    }
    return top
  }
}
