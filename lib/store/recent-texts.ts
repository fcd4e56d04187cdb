/**
 * The texts a writer committed last, with their index entries, up to a byte budget: a store written a
 * commit at a time asks next for exactly these (the parents of the next commit's texts, and the stored
 * versions its groups start on), which would otherwise cost an index lookup and a rebuild through a base
 * chain each.
 */
import { describeKey } from '../index/records.js'
import type { TextEntry, TextKey } from './types.js'

export interface RecentText {
  readonly entry: TextEntry
  readonly text: Uint8Array
}

export class RecentTexts {
  /** Oldest first (a Map keeps insertion order; a text asked for again moves to the end). */
  private readonly items = new Map<string, RecentText>()
  private byteLength = 0

  constructor(readonly maxByteLength: number) {}

  get(key: TextKey): RecentText | undefined {
    const name = describeKey(key)
    const item = this.items.get(name)
    if (item !== undefined) {
      this.items.delete(name)
      this.items.set(name, item)
    }
    return item
  }

  /** Keeps a committed text (one over a quarter of the budget is not kept), dropping the oldest past the budget. */
  put(key: TextKey, entry: TextEntry, text: Uint8Array): void {
    if (text.length > this.maxByteLength / 4) return
    const name = describeKey(key)
    const old = this.items.get(name)
    if (old !== undefined) {
      this.items.delete(name)
      this.byteLength -= old.text.length
    }
    this.items.set(name, { entry, text })
    this.byteLength += text.length
    for (const [oldest, item] of this.items) {
      if (this.byteLength <= this.maxByteLength) break
      this.items.delete(oldest)
      this.byteLength -= item.text.length
    }
  }

  /** Forgets everything (a rewrite moves every text), or the texts located in `packIds` (a rewrite of those packs). */
  clear(packIds?: readonly number[]): void {
    for (const [name, item] of this.items) {
      if (packIds !== undefined && !packIds.includes(item.entry.packId)) continue
      this.items.delete(name)
      this.byteLength -= item.text.length
    }
  }
}
