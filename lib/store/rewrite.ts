/**
 * Pack and repair: every key of the store rewritten into new groups and packs, as one insert of the whole
 * history would place them, in one index batch that also forgets the old packs. A repair first finds the
 * keys whose texts cannot be read back, drops them, and gives their children the nearest kept ancestors.
 */
import { VstoreError } from '../errors.js'
import { MAX_BASE_DEPTH, describeKey, encodeTextKey } from '../index/records.js'
import { writeBatch, type BatchTarget } from './batch-writer.js'
import { byGroup, groupKeyOf, plainKey, type KeyedEntry } from './locations.js'
import { nextPackId } from './pack-set.js'
import { keptParents, type Reparented } from './reparent.js'
import { BaseTextCache, StoredTexts } from './stored-texts.js'
import type { PackOptions, PackSummary, RepairSummary, TextKey } from './types.js'
import type { PlannedText, WritePlan } from './write-plan.js'

/**
 * Texts of old groups a rewrite keeps for its writer (StoredTexts). With automatic packing a store's small
 * groups start on versions in its large packed groups, and a merge that takes those too reads each large
 * group once only if its texts stay until asked for: the jq replay's largest merge (3,925 texts) took
 * 7.4 s with 16 MiB here, 1.7 s with 64 MiB (a larger cache of rebuilt base texts instead did nothing).
 */
const STORED_TEXTS_CACHE_BYTE_LENGTH = 64 * 1024 * 1024
/** Base texts a rewrite rebuilt, kept for the next groups based on them. */
const BASE_TEXTS_CACHE_BYTE_LENGTH = 16 * 1024 * 1024

/** Rewrites every key (Store.pack). @throws VSTORE_CORRUPT, naming the key, when a text cannot be rebuilt; nothing is changed then. */
export async function packStore(options: PackOptions, target: BatchTarget): Promise<PackSummary> {
  return (await rewriteAll(options, target, { salvage: false })).summary
}

/**
 * Rewrites the keys of some packs, the newest ones (automatic packing), into one new pack numbered after
 * every pack, in one index batch that forgets them. Nothing outside them names a text or base in them (a
 * later pack could, so only the newest packs are taken), so the rest of the store is left as it is.
 */
export async function packNewest(packIds: readonly number[], options: PackOptions, target: BatchTarget, baseTier?: WritePlan['baseTier']): Promise<PackSummary> {
  const all = target.packs.packIds()
  if (packIds.length === 0 || !packIds.every((packId, i) => packId === all[all.length - packIds.length + i])) {
    throw new Error(`vstore bug: packs ${packIds.join(', ')} are not the newest of ${all.join(', ')}`)
  }
  return (await rewriteAll(options, target, { salvage: false, only: packIds, ...(baseTier === undefined ? {} : { baseTier }) })).summary
}

/** Store.repair: nothing is written when `problemCount` (verify's, checksums only) is 0. */
export async function repairStore(options: PackOptions, target: BatchTarget, problemCount: number): Promise<RepairSummary> {
  if (problemCount === 0) {
    const totals = await target.index.totals()
    const packByteLength = target.packs.totalByteLength()
    return {
      repaired: false, textCount: totals.textCount, rawByteLength: totals.rawByteLength, oldGroupCount: totals.groupCount, groupCount: totals.groupCount,
      oldPackByteLength: packByteLength, packByteLength, writtenByteLength: 0, lostKeys: [], reparented: [],
    }
  }
  const { summary, lostKeys, reparented } = await rewriteAll(options, target, { salvage: true })
  return { repaired: true, ...summary, lostKeys, reparented }
}

/** Every key with its entry (or those in packs `only`), in the order the old groups hold them (each group read once, packs front to back). */
async function keysInPackOrder(target: BatchTarget, only?: readonly number[]): Promise<KeyedEntry[]> {
  // The writer's own lists where it made every pack asked for; else a scan of the index.
  const known = only === undefined ? undefined : target.packKeys?.keysOf(only)
  const keys: KeyedEntry[] = known ?? []
  if (known === undefined) for await (const row of target.index.entries()) if (only === undefined || only.includes(row.entry.packId)) keys.push(row)
  // Keys that share a record (identical texts) in the index's own key order, as a scan yields them, so
  // that the rewrite is the same whichever way its keys were found.
  return keys.sort((a, b) => a.entry.packId - b.entry.packId || a.entry.groupOffset - b.entry.groupOffset || a.entry.recordStart - b.entry.recordStart
    || Buffer.compare(encodeTextKey(a), encodeTextKey(b)))
}

/**
 * Reads every key (of the packs `only`), then writes them all as one insert would. With `salvage`, a group
 * that cannot be read whole is read key by key, and the keys that still fail are dropped.
 */
async function rewriteAll(options: PackOptions, target: BatchTarget, { salvage, only, baseTier }: { salvage: boolean; only?: readonly number[]; baseTier?: WritePlan['baseTier'] }): Promise<{ summary: PackSummary; lostKeys: TextKey[]; reparented: Reparented[] }> {
  const allPackIds = target.packs.packIds()
  const oldPackIds = only ?? allPackIds
  const totals = await target.index.totals()
  const oldPackByteLength = target.packs.totalByteLength()
  // The old write order, newest first along each file's history; reversed below into the history order
  // the writer expects.
  const keys = await keysInPackOrder(target, only)
  // A merge of the newest packs takes their texts from what the writer kept of its last commits where it
  // can (no rebuild through base chains). Then those entries go: they name old places (the merge keeps
  // what it moves there again, with its new place).
  const known = only === undefined ? undefined : recentTexts(target, keys)
  target.recent?.clear(only)
  const lostKeys = salvage ? await unreadableKeys(target, byGroup(keys, row => row.entry), options) : []
  const lost = new Set(lostKeys.map(describeKey))
  const kept = keys.filter(row => !lost.has(describeKey(row)))
  // The writer reads the texts from the old packs as it goes: a rewrite needs room for its new packs only.
  // Base texts rebuilt once: a store filled a commit at a time chains each file's groups through bases.
  const bases = new BaseTextCache(BASE_TEXTS_CACHE_BYTE_LENGTH)
  const source = new StoredTexts(kept, row => groupKeyOf(row.entry), rows => readRows(target, rows, bases, known), STORED_TEXTS_CACHE_BYTE_LENGTH)
  // Only a repair changes parents (a partial rewrite's keys name parents outside it, which stay).
  const { parentsOf, reparented } = salvage ? keptParents(keys, lostKeys) : { parentsOf: (row: KeyedEntry) => row.entry.parents, reparented: [] }
  // An origin goes with its text, unless a repair dropped the key it names.
  const originOf = (row: KeyedEntry) => (row.entry.origin !== undefined && !lost.has(describeKey(row.entry.origin)) ? { origin: row.entry.origin } : {})
  const texts: PlannedText[] = kept.map((row, index) => ({
    file: row.file, rev: row.rev, parents: parentsOf(row), ref: { index, byteLength: row.entry.textByteLength }, hash: row.entry.hash, ...originOf(row),
  })).reverse()
  const rawByteLength = kept.reduce((sum, row) => sum + row.entry.textByteLength, 0)
  const firstPackId = nextPackId(target.packs)
  const movedGroupCount = oldPackIds.reduce((sum, packId) => sum + (target.packs.state(packId)?.groupCount ?? 0), 0)
  const keptTotals = only === undefined ? undefined
    : { textCount: totals.textCount - keys.length, rawByteLength: totals.rawByteLength - rawByteLength, groupCount: Math.max(0, totals.groupCount - movedGroupCount) }
  // One commit, whatever else the options say: a rewrite is all or nothing.
  const summary = keys.length === 0 && only === undefined ? { groupCount: 0, storedByteLength: 0 } : await writeBatch({
    texts, source, counts: { textCount: texts.length, rawByteLength, newRawByteLength: rawByteLength }, options: { ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }) },
    replaces: { oldPackIds, firstPackId, deletedKeys: lostKeys, ...(keptTotals === undefined ? {} : { keptTotals }) }, ...(baseTier === undefined ? {} : { baseTier }),
  }, target)
  // Committed: the index no longer names the old packs. A failure from here on leaves files that the next
  // open deletes.
  if (keys.length > 0 || only !== undefined) {
    target.reader.forgetPacks(oldPackIds)
    await target.packs.remove(oldPackIds)
  }
  const packByteLength = target.packs.totalByteLength()
  return { summary: { textCount: texts.length, rawByteLength, oldGroupCount: totals.groupCount, groupCount: (keptTotals?.groupCount ?? 0) + summary.groupCount, oldPackByteLength, packByteLength, writtenByteLength: summary.storedByteLength }, lostKeys, reparented }
}

/** The texts of some keys of one group, each with its row (for StoredTexts), sharing base texts through `bases`. */
async function* readRows(target: BatchTarget, rows: readonly KeyedEntry[], bases?: BaseTextCache, known?: ReadonlyMap<string, Uint8Array>): AsyncGenerator<{ row: KeyedEntry; text: Uint8Array }> {
  const missing: KeyedEntry[] = []
  for (const row of rows) {
    const text = known?.get(describeKey(row))
    if (text === undefined) missing.push(row)
    else yield { row, text }
  }
  if (missing.length === 0) return
  const rowOf = new Map(missing.map(row => [describeKey(row), row]))
  for await (const { file, rev, text } of target.reader.readLocated(missing.map(row => ({ key: row, location: row.entry })), bases)) {
    yield { row: rowOf.get(describeKey({ file, rev })) as KeyedEntry, text }
  }
}

/** The texts of `keys` the writer kept from its last commits, where the kept entry is the key's own (same place). */
function recentTexts(target: BatchTarget, keys: readonly KeyedEntry[]): Map<string, Uint8Array> {
  const texts = new Map<string, Uint8Array>()
  for (const row of keys) {
    const recent = target.recent?.get(row)
    if (recent !== undefined && recent.entry.packId === row.entry.packId && recent.entry.groupOffset === row.entry.groupOffset && recent.entry.recordStart === row.entry.recordStart) {
      texts.set(describeKey(row), recent.text)
    }
  }
  return texts
}

/**
 * The keys whose texts cannot be read back: each group is read whole, and a group that fails is read key
 * by key, so that the records before its damage (a prefix of the group decodes, and each text matches its
 * hash) are kept. Nothing read is kept: the rewrite reads the texts again.
 */
async function unreadableKeys(target: BatchTarget, groups: ReadonlyMap<string, readonly KeyedEntry[]>, options: PackOptions): Promise<TextKey[]> {
  const lostKeys: TextKey[] = []
  let textCount = 0
  let rawByteLength = 0
  const counted = (row: KeyedEntry) => {
    textCount++
    rawByteLength += row.entry.textByteLength
    options.onProgress?.({
      phase: 'reading', textCount, rawByteLength, newTextCount: textCount, newRawByteLength: rawByteLength,
      writtenTextCount: 0, writtenRawByteLength: 0, groupCount: 0, storedByteLength: 0,
    })
  }
  for (const rows of groups.values()) {
    const done = new Set<string>()
    try {
      for await (const { row } of readRows(target, rows)) {
        done.add(describeKey(row))
        counted(row)
      }
    } catch (error) {
      if (!(error instanceof VstoreError) || error.code === 'VSTORE_IO') throw error
      for (const row of rows) {
        if (done.has(describeKey(row))) continue
        if (await readsBack(target, row)) counted(row)
        else lostKeys.push(plainKey(row))
      }
    }
  }
  return lostKeys
}

/** Whether a key's text reads back as `get` reads it; an I/O error (not damage) is thrown. */
export async function readsBack(target: Pick<BatchTarget, 'reader'>, key: TextKey): Promise<boolean> {
  try {
    await target.reader.get(key, MAX_BASE_DEPTH)
    return true
  } catch (error) {
    if (!(error instanceof VstoreError) || error.code === 'VSTORE_IO') throw error
    return false
  }
}
