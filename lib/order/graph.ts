import { Graph, alg } from '@dagrejs/graphlib'
import { VstoreError } from '../errors.js'

export interface Versioned {
  readonly file: string
  readonly rev: string
  readonly parents: readonly string[]
}

/**
 * The write order of a batch, as indices into `items`: by file id (code-unit order), then newest
 * first along each file's ancestry (reverse topological order: every text before its parents).
 * Parents outside the batch do not constrain the order. Among texts the graph leaves unordered, a
 * later one in `items` comes first, so a linear history given oldest-first comes out newest-first.
 * @throws VSTORE_CORRUPT if a file's graph within the batch has a cycle.
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

function reverseTopological(items: readonly Versioned[], indices: readonly number[]): number[] {
  if (indices.length === 1) return [...indices]
  const graph = new Graph({ directed: true })
  const indexOfRev = new Map<string, number>()
  // Nodes are added newest-first so that unconstrained texts keep a newest-first order.
  for (let i = indices.length - 1; i >= 0; i--) {
    const index = indices[i] as number
    graph.setNode(String(index))
    indexOfRev.set((items[index] as Versioned).rev, index)
  }
  for (const index of indices) {
    for (const parent of (items[index] as Versioned).parents) {
      const parentIndex = indexOfRev.get(parent)
      // Edge child → parent: a topological order of this graph lists children before parents.
      if (parentIndex !== undefined && parentIndex !== index) graph.setEdge(String(index), String(parentIndex))
    }
  }
  try {
    return alg.topsort(graph).map(Number)
  } catch (cause) {
    const file = (items[indices[0] as number] as Versioned).file
    throw new VstoreError('VSTORE_CORRUPT', 'the ancestry of this file has a cycle', file, { cause })
  }
}
