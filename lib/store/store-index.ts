/**
 * The index as the store sees it (an interface; LevelDbStoreIndex keeps it in LevelDB): each key's entry,
 * each file's keys, the packs' committed lengths, the totals, and a batch
 * that commits all of these at once. A second backend implements this and passes
 * test/contract/store-index-contract.ts.
 */
import { STORE_FORMAT_VERSION, type PackState, type Totals } from '../index/records.js'
import type { KeyedEntry } from './locations.js'
import type { TextEntry, TextKey, VerifyProblem } from './types.js'

export type { Totals }

/**
 * The store format this build writes (kept in the index): 6 (lib/index/records.ts). Formats 1 (groups of
 * version 1 only), 2 (text entries with whole hashes), 3 (a `T` entry a text), 4 (runs and revision chunks
 * of value version 1) and 5 (runs of one file each) are read as they are, and upgraded to 6 by the first
 * write (StoreIndex.upgrade).
 */
export { STORE_FORMAT_VERSION }
export const READABLE_STORE_FORMATS: readonly number[] = [1, 2, 3, 4, 5, 6]

export interface StoreIndex {
  /** The store format the index records (upgrade brings it to STORE_FORMAT_VERSION). */
  readonly format: number
  /**
   * Converts an index of an older store format to STORE_FORMAT_VERSION, all at once and durably (a crash
   * leaves it as it was or converted), before any write; returns the format it had, or undefined when it
   * was current. Readers read older formats as they are.
   */
  upgrade(): Promise<number | undefined>
  /** The entry of a key, or undefined. @throws VSTORE_CORRUPT naming the key when its part of the index is damaged. */
  tryGetEntry(key: TextKey): Promise<TextEntry | undefined>
  /** One file's keys in key order; damage they may sit in is an error before the first (`index:FILE`). */
  fileEntries(file: string): AsyncIterable<KeyedEntry>
  /** Every key (or those whose file id starts with `filePrefix`), in key order. */
  entries(filePrefix?: string): AsyncIterable<KeyedEntry>
  /** Up to `limit` revisions of `file` that start with `prefix`. */
  revisionsStartingWith(file: string, prefix: string, limit: number): Promise<string[]>
  /** Each pack the index names, with the bytes it vouches for. */
  packStates(): Promise<Map<number, PackState>>
  /** Texts, their bytes and groups, as counted by every commit. */
  totals(): Promise<Totals>
  /** Bytes the index takes on disk. */
  byteLength(): Promise<number>
  /**
   * The index's own check, for verify: every text entry that decodes, and a problem (naming the keys it
   * affects) for each entry that does not, each damaged part, totals that do not match, and each hash
   * record that does not decode. Reads around damage.
   */
  check(): Promise<{ textCount: number; entries: KeyedEntry[]; problems: VerifyProblem[] }>
  /** Whether a commit failed: it may still have reached the disk, so this index takes no more batches (reopening sorts it out). */
  readonly writeFailed: boolean
  /** @throws VSTORE_IO after a commit failed (writeFailed). */
  assertWritable(): void
  /** A batch of changes, committed at once. @throws VSTORE_IO after a commit failed. */
  batch(): IndexBatch
  /** Tidies the index after a large commit (LevelDB: turns its log into compressed tables). */
  compact(): Promise<void>
  /** Tidies the index after a commit when what it wrote since the last tidying calls for it (LevelDB: compacts away replaced runs). */
  tidy(): Promise<void>
  close(): Promise<void>
}

export interface IndexBatch {
  putText(key: TextKey, entry: TextEntry): void
  deleteText(key: TextKey): void
  /**
   * Drops, at the commit, the content hash records of older builds (every one, or those locating texts in
   * `inPacks`): a rewrite moves every text, or those of the packs it replaces. Reads them now, before the
   * caller writes anything the commit would name.
   */
  dropHashRecords(inPacks?: readonly number[]): Promise<void>
  putPack(packId: number, state: PackState): void
  deletePack(packId: number): void
  setTotals(totals: Totals): void
  /** Changes in the batch so far (texts put or deleted, other records); once committed, with the records the commit adds (what the index's upkeep is sized by). */
  readonly operationCount: number
  /** Writes it all, durably, in one atomic step. */
  commit(): Promise<void>
}
