/** Keys with their index entries, and grouping them by the group (pack and offset) that holds their texts. */
import type { TextEntry, TextKey, TextLocation } from './types.js'

/** A key with its index entry. */
export type KeyedEntry = TextKey & { readonly entry: TextEntry }

/** `packId:groupOffset`, naming one group. */
export function groupKeyOf(location: Pick<TextLocation, 'packId' | 'groupOffset'>): string {
  return `${location.packId}:${location.groupOffset}`
}

/** Items by the group their location names, in the order first met. */
export function byGroup<T>(items: Iterable<T>, locationOf: (item: T) => Pick<TextLocation, 'packId' | 'groupOffset'>): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const key = groupKeyOf(locationOf(item))
    const list = groups.get(key)
    if (list === undefined) groups.set(key, [item])
    else list.push(item)
  }
  return groups
}

/** The key alone (a KeyedEntry or a record carries more). */
export function plainKey({ file, rev }: TextKey): TextKey {
  return { file, rev }
}

/**
 * The entry of a key placed at `location` (which may be another key's entry: content stored once), with
 * this key's own parents and origin, and nothing of the other key's.
 */
export function entryAt(location: TextLocation & { readonly parents?: unknown; readonly origin?: unknown }, parents: readonly string[], origin: TextKey | undefined): TextEntry {
  const { parents: _otherParents, origin: _otherOrigin, ...plain } = location
  return origin === undefined ? { ...plain, parents } : { ...plain, parents, origin }
}
