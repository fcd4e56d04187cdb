/**
 * The write order as lib/order/graph.ts computed it on graphlib (commit 3ee0aeb), its code unchanged
 * (comments left out): the reference test/property/write-order.test.ts holds today's `writeOrder` to,
 * since the store's bytes depend on that order and it must not change for any input.
 */
import { createRequire } from 'node:module'
import type { Graph as GraphType } from '@dagrejs/graphlib'
import { VstoreError } from '../../lib/errors.js'
import type { LargeTexts, Versioned } from '../../lib/order/graph.js'

const require = createRequire(import.meta.url)
function graphClass(): typeof GraphType {
  return (require('@dagrejs/graphlib') as { Graph: typeof GraphType }).Graph
}

export function referenceWriteOrder<T extends Versioned>(items: readonly T[], largeTexts?: LargeTexts<T>): number[] {
  const isLarge = (item: T) => largeTexts !== undefined && largeTexts.byteLength(item) > largeTexts.minByteLength
  const largeFiles = new Set<string>()
  for (const item of items) if (isLarge(item)) largeFiles.add(item.file)
  const byFile = new Map<string, number[]>()
  const large: number[] = []
  items.forEach((item, index) => {
    if (largeFiles.has(item.file)) {
      large.push(index)
      return
    }
    const list = byFile.get(item.file)
    if (list) list.push(index)
    else byFile.set(item.file, [index])
  })
  const files = [...byFile.keys()].sort(compareFileIds)
  const order: number[] = []
  for (const file of files) order.push(...reverseTopological(items, byFile.get(file) as number[]))
  if (large.length > 0) {
    // Their large texts first, by revision; then their small versions, by file, newest first (after
    // their large ancestors: the one place where a parent may come before its child).
    const smallByFile = new Map<string, number[]>()
    const bigOnes: number[] = []
    for (const index of large) {
      const item = items[index] as T
      if (isLarge(item)) {
        bigOnes.push(index)
        continue
      }
      const list = smallByFile.get(item.file)
      if (list) list.push(index)
      else smallByFile.set(item.file, [index])
    }
    order.push(...byRevision(items, bigOnes, index => (largeTexts as LargeTexts<T>).byteLength(items[index] as T)))
    for (const file of [...smallByFile.keys()].sort(compareIds)) order.push(...reverseTopological(items, smallByFile.get(file) as number[]))
  }
  return order
}

function extensionOf(id: string): string {
  const base = id.slice(id.lastIndexOf('/') + 1)
  const dot = base.lastIndexOf('.')
  return dot <= 0 ? '' : base.slice(dot + 1)
}

function compareFileIds(a: string, b: string): number {
  return compareIds(extensionOf(a), extensionOf(b))
    || compareIds(a.slice(a.lastIndexOf('/') + 1), b.slice(b.lastIndexOf('/') + 1))
    || compareIds(a, b)
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function byRevision(items: readonly Versioned[], indices: readonly number[], sizeOf: (index: number) => number): number[] {
  const revisionPosition = new Map<string, number>()
  for (const index of indices) revisionPosition.set((items[index] as Versioned).rev, index)
  const wanted = [...indices].sort((a, b) => {
    const itemA = items[a] as Versioned
    const itemB = items[b] as Versioned
    return (revisionPosition.get(itemB.rev) as number) - (revisionPosition.get(itemA.rev) as number) || (sizeOf(b) - sizeOf(a)) || compareIds(itemA.file, itemB.file) || b - a
  })
  const rank = new Map<number, number>()
  wanted.forEach((index, position) => rank.set(index, wanted.length - position))
  return reverseTopological(items, indices, rank)
}

function reverseTopological(items: readonly Versioned[], indices: readonly number[], rank?: ReadonlyMap<number, number>): number[] {
  if (indices.length === 1) return [...indices]
  // Among ready texts the highest rank goes first (by default the rank is the index).
  const indexOfRank = new Map<number, number>()
  if (rank !== undefined) for (const [index, value] of rank) indexOfRank.set(value, index)
  const rankOf = (index: number) => (rank === undefined ? index : (rank.get(index) as number))
  const fromRank = (value: number) => (rank === undefined ? value : (indexOfRank.get(value) as number))
  // Node names are prefixed: graphlib keeps nodes in an object, where number-like keys would reorder.
  const name = (index: number) => `n${index}`
  const Graph = graphClass()
  const graph = new Graph({ directed: true })
  // Keyed by file and revision: the large texts of several files are ordered together.
  const keyOf = (file: string, rev: string) => `${file}\u0000${rev}`
  const indexOfKey = new Map<string, number>()
  for (const index of indices) {
    graph.setNode(name(index))
    const item = items[index] as Versioned
    indexOfKey.set(keyOf(item.file, item.rev), index)
  }
  for (const index of indices) {
    const item = items[index] as Versioned
    for (const parent of item.parents) {
      const parentIndex = indexOfKey.get(keyOf(item.file, parent))
      if (parentIndex !== undefined && parentIndex !== index) graph.setEdge(name(index), name(parentIndex))
    }
  }
  const waiting = new Map<number, number>()
  const ready = new MaxHeap()
  for (const index of indices) {
    const children = graph.inEdges(name(index))?.length ?? 0
    if (children === 0) ready.push(rankOf(index))
    else waiting.set(index, children)
  }
  const order: number[] = []
  while (ready.size > 0) {
    const index = fromRank(ready.pop())
    order.push(index)
    for (const parentName of graph.successors(name(index)) ?? []) {
      const parent = Number(parentName.slice(1))
      const left = (waiting.get(parent) as number) - 1
      if (left === 0) {
        waiting.delete(parent)
        ready.push(rankOf(parent))
      } else {
        waiting.set(parent, left)
      }
    }
  }
  if (order.length !== indices.length) {
    const file = (items[indices.find(index => !order.includes(index)) as number] as Versioned).file
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
