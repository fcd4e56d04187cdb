/** The parents a kept text takes when a repair drops some keys: a dropped parent is replaced by its nearest kept ancestors. */
import { describeKey, MAX_PARENTS } from '../index/records.js'
import type { TextEntry, TextKey } from './types.js'

/** A kept text whose parents a repair changed, because texts they named were dropped. */
export interface Reparented extends TextKey {
  readonly parents: readonly string[]
  readonly formerParents: readonly string[]
}

/**
 * The parents each kept text gets after a repair drops `lostKeys`: a dropped parent is replaced by its own
 * parents, recursively, down to kept texts (first found first, each once), so the kept graph keeps every
 * ancestry it had among kept texts; a parent the index does not hold counts as dropped, with no parents.
 * At most MAX_PARENTS are kept (the index holds no more).
 */
export function keptParents(rows: readonly (TextKey & { entry: TextEntry })[], lostKeys: readonly TextKey[]): {
  parentsOf: (key: TextKey) => readonly string[]
  reparented: Reparented[]
} {
  const parentsByKey = new Map(rows.map(row => [describeKey(row), row.entry.parents]))
  const lost = new Set(lostKeys.map(describeKey))
  const isKept = (file: string, rev: string) => parentsByKey.has(describeKey({ file, rev })) && !lost.has(describeKey({ file, rev }))
  const resolved = new Map<string, readonly string[]>()
  const parentsOf = (key: TextKey): readonly string[] => {
    const known = resolved.get(describeKey(key))
    if (known !== undefined) return known
    const result: string[] = []
    // Iterative, depth first: a long run of dropped texts must not overflow the stack.
    const stack = [...(parentsByKey.get(describeKey(key)) ?? [])].reverse()
    const seen = new Set<string>()
    while (stack.length > 0 && result.length < MAX_PARENTS) {
      const rev = stack.pop() as string
      if (seen.has(rev)) continue
      seen.add(rev)
      if (isKept(key.file, rev)) result.push(rev)
      else stack.push(...[...(parentsByKey.get(describeKey({ file: key.file, rev })) ?? [])].reverse())
    }
    resolved.set(describeKey(key), result)
    return result
  }
  const reparented: Reparented[] = []
  for (const row of rows) {
    if (lost.has(describeKey(row))) continue
    const parents = parentsOf(row)
    if (parents.length !== row.entry.parents.length || parents.some((parent, i) => parent !== row.entry.parents[i])) reparented.push({ file: row.file, rev: row.rev, parents, formerParents: row.entry.parents })
  }
  return { parentsOf, reparented }
}

