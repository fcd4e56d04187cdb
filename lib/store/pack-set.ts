/**
 * The packs as the store sees them (an interface; LocalPackSet keeps them as files): the groups a store
 * holds, read by byte range, and a write transaction that appends groups, makes them durable, and rolls
 * them back. A second backend implements this and passes test/contract/pack-set-contract.ts.
 */
import type { PackState } from '../index/records.js'
import type { ReadCounter } from '../pack/pack-file.js'

export type { PackState }

/** The id after every pack of the set (1 for an empty set): where a batch that must not append to an existing pack starts. */
export function nextPackId(packs: Pick<PackSet, 'packIds'>): number {
  const packIds = packs.packIds()
  return packIds.length === 0 ? 1 : Math.max(...packIds) + 1
}

export interface PackSet {
  /** Bytes and reads taken from the packs since they were opened. */
  readonly readCounter: ReadCounter
  /** The packs the index names, ascending. */
  packIds(): number[]
  /** How many bytes of a pack the index vouches for (undefined: the index names no such pack). */
  committedByteLength(packId: number): number | undefined
  /** A pack's committed state (undefined: the index names no such pack). */
  state(packId: number): PackState | undefined
  /** The bytes the index vouches for, over every pack. */
  totalByteLength(): number
  /** Bytes a pack really has (less than committed when it was cut short); undefined when it cannot be read at all. */
  availableByteLength(packId: number): number | undefined
  /** What is wrong with a pack (missing, short, a damaged header), or undefined when nothing is. */
  damage(packId: number): string | undefined
  /** Whether `close` was called (every read is VSTORE_IO then). */
  readonly closed: boolean
  /** Packs the index names whose files are gone. */
  readonly missingPackCount: number
  /**
   * `byteLength` bytes of a pack from `offset`, within what the index vouches for.
   * @throws VSTORE_CORRUPT naming `where` when the pack is unreadable or the range passes its committed
   * end; the backend's own error (naming the pack and offset) when the read itself fails; VSTORE_IO once
   * the set is closed.
   */
  read(packId: number, offset: number, byteLength: number, where: string): Promise<Uint8Array>
  /** Starts appending. Only one write at a time; `firstPackId`: append only to packs from this id on. */
  beginWrite(options?: { readonly firstPackId?: number }): PackWrite
  /** Deletes packs the index no longer names (a committed rewrite's old packs), forgetting them if not yet forgotten. */
  remove(packIds: readonly number[]): Promise<void>
  close(): Promise<void>
}

/** Groups appended by one batch: invisible to the index until `committed`, undone by `rollback`. */
export interface PackWrite {
  /**
   * Appends one framed group to the current pack, or a new one past the pack cap; `rawByteLength`, the
   * length of the texts its records hold, adds to the pack's state (what automatic packing weighs).
   */
  append(bytes: Uint8Array, rawByteLength?: number): Promise<{ packId: number; offset: number }>
  /** Makes sure pack `packId` exists (holding its header alone if nothing was appended to it). */
  ensurePack(packId: number): Promise<void>
  /** Pack states since the last commit: what the index batch records. */
  readonly touched: ReadonlyMap<number, PackState>
  /** Makes every byte appended since the last commit durable (the packs and the directory of a new pack). */
  sync(): Promise<void>
  /**
   * The index now vouches for `touched`: they become the set's committed states; `forgotten` packs (a
   * rewrite's old ones, which the same index batch dropped) leave the set's state, and `remove` deletes them.
   */
  committed(forgotten?: readonly number[]): void
  /** Undoes what was appended since the last commit (a new pack is deleted, others are cut back). */
  rollback(): Promise<void>
}
