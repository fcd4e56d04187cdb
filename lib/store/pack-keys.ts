/**
 * The keys located in each pack a writer made itself, with their entries as it committed them, so that a
 * merge of the newest packs (automatic packing) needs no scan of the whole index to find them. Only packs
 * this writer created are known (their every key passed through its commits); a pack it did not create,
 * or one grown past MAX_KNOWN_KEYS keys, is not, and a merge of it scans the index.
 */
import type { KeyedEntry } from './locations.js'

/** Keys kept for one pack, at most (a larger pack's merge is rare, and scans). */
const MAX_KNOWN_KEYS = 64 * 1024

export class PackKeys {
  private readonly keys = new Map<number, KeyedEntry[]>()

  /** Starts a list for a pack this writer is creating (it holds no key yet). */
  created(packId: number): void {
    this.keys.set(packId, [])
  }

  /** A key committed with its entry: noted under the pack its entry locates, if that pack's list is kept. */
  committed(row: KeyedEntry): void {
    const list = this.keys.get(row.entry.packId)
    if (list === undefined) return
    if (list.length >= MAX_KNOWN_KEYS) this.keys.delete(row.entry.packId)
    else list.push(row)
  }

  /** Every key located in `packIds`, or undefined when a pack's list is not known. */
  keysOf(packIds: readonly number[]): KeyedEntry[] | undefined {
    const rows: KeyedEntry[] = []
    for (const packId of packIds) {
      const list = this.keys.get(packId)
      if (list === undefined) return undefined
      rows.push(...list)
    }
    return rows
  }

  /** Forgets packs (a rewrite's old ones), or every pack. */
  forget(packIds?: readonly number[]): void {
    if (packIds === undefined) this.keys.clear()
    else for (const packId of packIds) this.keys.delete(packId)
  }
}
