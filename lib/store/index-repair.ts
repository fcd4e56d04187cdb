/**
 * Rebuilding a damaged index, and swapping the rebuilt one in so that a crash at any point leaves the store
 * with one whole index: the damaged one (as if the repair had not run) or the rebuilt one.
 *
 * A writer refuses a damaged index (its compactions could hide the damage for good), so the store takes
 * no writes until it is rebuilt. Every entry that can still be read is kept, each checked by its own
 * CRC-32: LevelDB's entries outside the damaged blocks, read around them from a private copy. The packs
 * stay as they are: a kept key still points into them. What is lost is the keys whose entries sat in the
 * damaged blocks (named as far as those blocks parse); a kept text that names a lost one as its parent
 * takes that parent's kept ancestors instead (of which the index knows none: it keeps the others). A pack
 * whose own record was lost is measured again from its groups, so that the next writer does not take it
 * for a pack no index names and delete it.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { VstoreError } from '../errors.js'
import { DEFAULT_GROUP_LIMITS, MAX_GROUP_HEADER_BYTE_LENGTH, checkGroup, decodeGroupHeader } from '../group/frame.js'
import { IndexCheck } from '../index/index-check.js'
import { findIndexDamage } from '../index/leveldb-files.js'
import { openLevelDb, type KeyValueStore } from '../index/leveldb.js'
import {
  TAG_PACK, TAG_TEXT, decodePackKey, decodePackValue, decodeTextKey, decodeTextValue, describeKey, encodeMetaKey,
  SHORT_CHECK_STORE_FORMAT, type PackState,
} from '../index/records.js'
import { TAG_FILE_RUN, TAG_REVISIONS, TAG_REVISION_BUCKET, decodeRunKey, decodeRunSections, runPositionsBeforeDamage, type RunSection } from '../index/runs.js'
import { LevelDbStoreIndex } from './leveldb-index.js'
import { RUN_STORE_FORMAT, revisionIdsOf, runTextKey } from './run-index.js'
import { READABLE_STORE_FORMATS } from './store-index.js'
import { PACK_HEADER_BYTE_LENGTH } from '../bytes/index.js'
import { PackFile } from '../pack/pack-file.js'
import { indexPath, packName, packPath, packsPath, parsePackFileName } from './layout.js'
import { keptParents, type Reparented } from './reparent.js'
import { copyIndexSnapshot } from './snapshot.js'
import { exists, syncDirectory } from './files.js'
import { liveOwner } from './processes.js'
import type { TextEntry, TextKey } from './types.js'

export interface IndexRepairSummary {
  /** Whether the index was damaged and was rebuilt (false: nothing was written). */
  readonly repaired: boolean
  /** Keys whose entries sat in damaged parts of the index, as far as those parts name them. */
  readonly lostKeys: readonly TextKey[]
  /** The damaged parts: their file, what is wrong, and how many keys they named. */
  readonly damage: readonly { readonly file: string; readonly message: string; readonly namedKeyCount: number }[]
  readonly reparented: readonly Reparented[]
  /** Keys kept in the rebuilt index, and how many of them were read out of damaged blocks (their entries whole). */
  readonly textCount: number
  readonly recoveredTextCount: number
  /** Packs whose record was lost, measured again from their groups. */
  readonly measuredPacks: readonly string[]
}

const REPAIRED = /^index\.repaired-\d+-\d+$/
const DAMAGED = /^index\.damaged-\d+-\d+$/

/**
 * The index a reader should read: the rebuilt one when a repair left it complete but not yet in place, else
 * `index`, else (a repair stopped between its two renames) the damaged one, back in place at the next
 * writer's open.
 */
export async function readableIndexPath(dir: string): Promise<string> {
  const names = await readdir(dir).catch(() => [] as string[])
  const repaired = names.filter(name => REPAIRED.test(name)).sort().at(-1)
  if (repaired !== undefined) return join(dir, repaired)
  if (names.includes('index')) return indexPath(dir)
  const damaged = names.filter(name => DAMAGED.test(name)).sort().at(-1)
  return damaged === undefined ? indexPath(dir) : join(dir, damaged)
}

/**
 * Finishes what a repair killed part-way left (a writer calls it before it opens the index): a complete
 * rebuilt index is swapped in; a damaged one moved aside with nothing to replace it goes back; the damaged
 * one left after a finished swap is removed.
 */
export async function finishIndexSwap(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[])
  const repaired = names.filter(name => REPAIRED.test(name)).sort().at(-1)
  const damaged = names.filter(name => DAMAGED.test(name)).sort()
  if (repaired !== undefined) return swapIn(dir, repaired)
  const last = damaged.at(-1)
  if (!names.includes('index') && last !== undefined) {
    await rename(join(dir, last), indexPath(dir))
    await syncDirectory(dir)
    damaged.pop()
  }
  for (const name of damaged) await rm(join(dir, name), { recursive: true, force: true })
}

/** Moves the damaged index aside and the rebuilt one (`repaired`, complete and synced) into its place. */
async function swapIn(dir: string, repaired: string): Promise<void> {
  if (await exists(indexPath(dir))) {
    await rename(indexPath(dir), join(dir, `index.damaged-${process.pid}-${Date.now()}`))
    await syncDirectory(dir)
  }
  await rename(join(dir, repaired), indexPath(dir))
  await syncDirectory(dir)
  for (const name of await readdir(dir)) if (DAMAGED.test(name)) await rm(join(dir, name), { recursive: true, force: true })
}

/**
 * How far a pack's groups go, each checked by its CRC-32: the committed length of a pack whose record was
 * lost (a tail after the last whole group is what a writer killed mid-batch leaves), and its group count.
 */
async function measurePack(dir: string, packId: number): Promise<PackState> {
  const pack = await PackFile.open(packPath(dir, packId), packName(packId), { writable: false, counter: { readCount: 0, readByteLength: 0 } })
  try {
    let offset = PACK_HEADER_BYTE_LENGTH
    let groupCount = 0
    for (;;) {
      if (offset + 1 > pack.byteLength) break
      try {
        const header = decodeGroupHeader(await pack.read(offset, Math.min(MAX_GROUP_HEADER_BYTE_LENGTH, pack.byteLength - offset)), packName(packId), DEFAULT_GROUP_LIMITS)
        const byteLength = header.headerByteLength + header.storedByteLength
        if (offset + byteLength > pack.byteLength) break
        checkGroup(await pack.read(offset, byteLength), `${packName(packId)}@${offset}`, DEFAULT_GROUP_LIMITS)
        offset += byteLength
        groupCount++
      } catch (error) {
        if (error instanceof VstoreError) break
        throw error
      }
    }
    return { committedByteLength: offset, groupCount }
  } finally {
    await pack.close()
  }
}

/**
 * Rebuilds the damaged index of the store in `dir` from what can still be read, and swaps it in. Nothing
 * is written when the index is whole. The packs are not touched: `Store.repair` then deals with damaged
 * packs, and `pack` reclaims the bytes of the texts whose keys were lost.
 * @throws VSTORE_LOCKED when a live writer holds the store.
 */
export async function repairIndex(dir: string, where: string, formatVersion: number): Promise<IndexRepairSummary> {
  const damage = await findIndexDamage(indexPath(dir))
  if (damage.length === 0) return { repaired: false, lostKeys: [], damage: [], reparented: [], textCount: 0, recoveredTextCount: 0, measuredPacks: [] }
  // Writers refuse a damaged index, so none can be busy on it, but one that opened it before the damage can.
  if ((await liveOwner(dir)) !== undefined) throw new VstoreError('VSTORE_LOCKED', 'a writer holds this store; repair it once that process has ended', dir)
  const copy = await copyIndexSnapshot(indexPath(dir), where)
  let check: IndexCheck | undefined
  let source: KeyValueStore | undefined
  try {
    check = await IndexCheck.open(copy)
    // A damaged log record hides nothing LevelDB still serves: it replays the log around it at its own open,
    // and the tables are whole. So it is not read around (which would hide every key, tables and all); its
    // batches before the damage are offered below like any damaged part's entries, and LevelDB's view, at
    // least as new, wins over them.
    const logs = check.damage.filter(part => /\.log$/.test(part.file))
    check.damage.splice(0, check.damage.length, ...check.damage.filter(part => !logs.includes(part)))
    source = await openLevelDb(copy, where, { create: false, check })
    const format = await formatOf(source)
    const { rows, packs, unreadable, runs } = await survivingEntries(source, format)
    const kept = new Set(rows.map(describeKey))
    const lostByName = new Map<string, TextKey>()
    for (const key of unreadable) lostByName.set(describeKey(key), key)
    const allDamage = [...logs, ...check.damage]
    const { recovered, namedKeyCounts } = recoverFromDamage(allDamage, kept, lostByName, format, runs)
    rows.push(...recovered)
    let recoveredTextCount = recovered.length
    for (const { recovered: fromDamage, ...row } of runs.rows()) {
      if (kept.has(describeKey(row))) continue
      rows.push(row)
      kept.add(describeKey(row))
      if (fromDamage) recoveredTextCount++
    }
    for (const key of runs.lost) if (!kept.has(describeKey(key))) lostByName.set(describeKey(key), key)
    const lostKeys = [...lostByName.values()]
    // A pack whose record was lost would be taken for one no index names, and deleted: measure it again.
    const measuredPacks: string[] = []
    for (const name of await readdir(packsPath(dir)).catch(() => [] as string[])) {
      const packId = parsePackFileName(name)
      if (packId === undefined || packs.has(packId)) continue
      packs.set(packId, await measurePack(dir, packId))
      measuredPacks.push(packName(packId))
    }
    const { parentsOf, reparented } = keptParents(rows, lostKeys)
    await writeIndex(dir, rows, parentsOf, packs, formatVersion)
    return {
      repaired: true,
      lostKeys,
      damage: allDamage.map((part, i) => ({ file: part.file, message: part.message, namedKeyCount: namedKeyCounts[i] ?? 0 })),
      reparented,
      textCount: rows.length,
      recoveredTextCount,
      measuredPacks,
    }
  } finally {
    await source?.close()
    if (source === undefined) await check?.close()
    await rm(copy, { recursive: true, force: true })
  }
}

/** The store format the damaged index records, or undefined when its record is lost or damaged. */
async function formatOf(source: KeyValueStore): Promise<number | undefined> {
  try {
    const value = await source.get(encodeMetaKey('format'))
    return value?.length === 1 && READABLE_STORE_FORMATS.includes(value[0] as number) ? value[0] : undefined
  } catch (error) {
    if (!(error instanceof VstoreError)) throw error
    return undefined
  }
}

/**
 * A `T` entry of the damaged index, as its format writes them; with the format record lost, as format 3
 * wrote them or else as format 2 did. (A value that reads as both is rare but possible, a large text's
 * entry with one parent and no origin above all; the format record is what settles it.)
 */
function decodeEntry(key: Uint8Array, value: Uint8Array, where: string, format: number | undefined): TextEntry {
  if (format !== undefined) return decodeTextValue(key, value, where, Math.min(format, RUN_STORE_FORMAT - 1))
  try {
    return decodeTextValue(key, value, where, SHORT_CHECK_STORE_FORMAT)
  } catch (error) {
    if (!(error instanceof VstoreError)) throw error
    return decodeTextValue(key, value, where, SHORT_CHECK_STORE_FORMAT - 1)
  }
}

/**
 * Every entry LevelDB still serves, read around the damaged blocks: texts (`T` entries, and the run records
 * of store format 4, resolved once all are read), pack states, and the text keys whose entries do not
 * decode. Revision buckets are rebuilt from the chunks. Content hash records (older builds wrote them; nothing reads them now) are
 * left behind.
 */
async function survivingEntries(source: KeyValueStore, format: number | undefined): Promise<{
  rows: (TextKey & { entry: TextEntry })[]; packs: Map<number, PackState>; unreadable: TextKey[]; runs: SurvivingRuns
}> {
  const rows: (TextKey & { entry: TextEntry })[] = []
  const packs = new Map<number, PackState>()
  const unreadable: TextKey[] = []
  const runs = new SurvivingRuns()
  for await (const [key, value] of source.entries(new Uint8Array(0), undefined, { aroundDamage: true })) {
    try {
      if (runs.take(key, value)) continue
      if (key[0] === TAG_TEXT) {
        const textKey = decodeTextKey(key)
        try {
          rows.push({ ...textKey, entry: decodeEntry(key, value, `index:${describeKey(textKey)}`, format) })
        } catch (error) {
          if (!(error instanceof VstoreError)) throw error
          unreadable.push(textKey)
        }
      } else if (key[0] === TAG_PACK) {
        packs.set(decodePackKey(key), decodePackValue(key, value, 'index:pack'))
      }
    } catch (error) {
      // An entry that does not decode (its own checksum) is dropped; a text's is lost below.
      if (!(error instanceof VstoreError)) throw error
    }
  }
  return { rows, packs, unreadable, runs }
}

/**
 * The run records (store format 4) a repair reads, whole or out of damaged blocks, each checked by its own
 * CRC-32: revision chunks and file runs. A run that fails its check is lost under its file and first
 * revision; an entry whose revision no chunk lists is lost under `#N`; a parent or origin no chunk lists is
 * dropped.
 */
/** Where a version of an index record was read (SurvivingRuns): a layer, then LevelDB's sequence number within it. */
type Rank = readonly [layer: number, sequence: number]
const LIVE_RANK: Rank = [1, 0]
const newer = (a: Rank, b: Rank): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])

class SurvivingRuns {
  private readonly ids = new Map<number, string>()
  /**
   * Every version of each run key met, whole or not, ranked: one out of a damaged table block (layer 0;
   * LevelDB serves nothing of that block's key range), the one LevelDB serves (layer 1), one out of a
   * damaged log (layer 2: the log is newer than every table, and LevelDB's replay dropped the damaged
   * batch), each with its sequence number (LevelDB's own view has none: it is what it is).
   */
  private readonly versions = new Map<string, { file: string; firstRev: number; key: Uint8Array; value: Uint8Array; recovered: boolean; rank: Rank }[]>()
  /** The latest delete of each run key a damaged part shows (a tail rewrite deletes the keys it no longer starts at). */
  private readonly deleted = new Map<string, Rank>()
  readonly lost: TextKey[] = []

  /** Takes a run layout record (true), or leaves any other to the caller (false); `rank` says where it was read. */
  take(key: Uint8Array, value: Uint8Array, recovered = false, rank: Rank = LIVE_RANK): boolean {
    if (key[0] === TAG_REVISIONS) {
      // A chunk only grows: every version that checks lists ids rightly.
      for (const [number, rev] of revisionIdsOf([{ key, value }])) this.ids.set(number, rev)
      return true
    }
    if (key[0] !== TAG_FILE_RUN) return key[0] === TAG_REVISION_BUCKET
    const run = this.runOf(key)
    if (run === undefined) return true
    const name = `${run.file}\0${run.firstRev}`
    this.versions.set(name, [...(this.versions.get(name) ?? []), { ...run, key, value, recovered, rank }])
    return true
  }

  /** Notes a delete of a run key that a damaged part shows. */
  takeDelete(key: Uint8Array, rank: Rank): void {
    const run = key[0] === TAG_FILE_RUN ? this.runOf(key) : undefined
    if (run === undefined) return
    const name = `${run.file}\0${run.firstRev}`
    const known = this.deleted.get(name)
    if (known === undefined || newer(rank, known)) this.deleted.set(name, rank)
  }

  private runOf(key: Uint8Array): { file: string; firstRev: number } | undefined {
    try {
      return decodeRunKey(key)
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
      return undefined
    }
  }

  /**
   * The entries of each run key's newest version, as keys with entries. A key deleted after its newest put
   * is gone (its entries were written under other keys). A newest version that fails its check loses its
   * run: named by its file, first revision, the revisions before its damage, and those its older versions
   * list. Fills `lost` with that, and with entries whose own revision no chunk lists (`#N`); an origin no
   * chunk lists is dropped.
   */
  rows(): (TextKey & { entry: TextEntry; recovered: boolean })[] {
    const revOf = (number: number) => this.ids.get(number)
    const rows: (TextKey & { entry: TextEntry; recovered: boolean })[] = []
    for (const [name, versions] of this.versions) {
      const newest = versions.reduce((a, b) => (newer(b.rank, a.rank) ? b : a))
      const deleted = this.deleted.get(name)
      if (deleted !== undefined && newer(deleted, newest.rank)) continue
      let sections: RunSection[]
      try {
        sections = decodeRunSections(newest.key, newest.value, 'index')
      } catch (error) {
        if (!(error instanceof VstoreError)) throw error
        const named = new Map<string, { file: string; rev: number }>()
        const name = (position: { file: string; rev: number }) => named.set(`${position.file}\0${position.rev}`, position)
        name({ file: newest.file, rev: newest.firstRev })
        for (const position of runPositionsBeforeDamage(newest.key, newest.value)) name(position)
        for (const older of versions) {
          try {
            for (const section of decodeRunSections(older.key, older.value, 'index')) for (const entry of section.entries) name({ file: section.file, rev: entry.rev })
          } catch {
            // A damaged older version names nothing more.
          }
        }
        for (const position of named.values()) this.lost.push(runTextKey({ file: position.file, firstRev: position.rev }, revOf))
        continue
      }
      for (const { file, entries } of sections) {
        for (const entry of entries) {
          const rev = revOf(entry.rev)
          if (rev === undefined) {
            this.lost.push({ file, rev: `#${entry.rev}` })
            continue
          }
          // A parent no chunk lists is kept as `#N`, which names no kept text: re-parenting replaces and reports it.
          const parents = entry.parents.map(parent => revOf(parent) ?? `#${parent}`)
          const originRev = entry.origin === undefined ? undefined : revOf(entry.origin.rev)
          const origin = entry.origin === undefined || originRev === undefined ? {} : { origin: { file: entry.origin.file, rev: originRev } }
          rows.push({ file, rev, entry: { ...entry.location, parents, ...origin }, recovered: newest.recovered })
        }
      }
    }
    return rows
  }
}

/**
 * The entries of the damaged blocks, as far as they parse: one whose own checksum (over its key and value)
 * holds is the entry it was, and is kept when nothing else holds its key (`kept` and `lostByName` are
 * updated); the others are lost, under the names the block gives them (a damaged name may name no key that
 * ever was).
 */
function recoverFromDamage(damage: IndexCheck['damage'], kept: Set<string>, lostByName: Map<string, TextKey>, format: number | undefined, runs: SurvivingRuns): { recovered: (TextKey & { entry: TextEntry })[]; namedKeyCounts: number[] } {
  const namedKeyCounts: number[] = []
  const recovered: (TextKey & { entry: TextEntry })[] = []
  for (const part of damage) {
    let named = 0
    const layer = /\.log$/.test(part.file) ? 2 : 0
    for (const { key, sequence } of part.deletes ?? []) runs.takeDelete(key, [layer, sequence])
    for (const { key, value, sequence } of part.entries) {
      if (key[0] === TAG_FILE_RUN) named++
      if (runs.take(key, value, true, [layer, sequence ?? 0])) continue
      if (key[0] !== TAG_TEXT) continue
      let textKey: TextKey
      try {
        textKey = decodeTextKey(key)
      } catch {
        continue
      }
      named++
      if (kept.has(describeKey(textKey))) continue
      try {
        recovered.push({ ...textKey, entry: decodeEntry(key, value, `index:${describeKey(textKey)}`, format) })
        kept.add(describeKey(textKey))
        lostByName.delete(describeKey(textKey))
      } catch (error) {
        if (!(error instanceof VstoreError)) throw error
        lostByName.set(describeKey(textKey), textKey)
      }
    }
    namedKeyCounts.push(named)
  }
  return { recovered, namedKeyCounts }
}

/** Writes the rebuilt index beside the damaged one, then swaps it in (finishIndexSwap finishes a swap cut short). */
async function writeIndex(
  dir: string,
  rows: readonly (TextKey & { entry: TextEntry })[],
  parentsOf: (key: TextKey) => readonly string[],
  packs: ReadonlyMap<number, PackState>,
  formatVersion: number,
): Promise<void> {
  const stamp = `${process.pid}-${Date.now()}`
  const staging = join(dir, `index.new-${stamp}`)
  await mkdir(staging, { recursive: true })
  const db = await openLevelDb(staging, staging, { create: true })
  let index: LevelDbStoreIndex
  try {
    await db.write([{ key: encodeMetaKey('format'), value: Uint8Array.of(formatVersion) }], { sync: false })
    index = await LevelDbStoreIndex.open(db, { dir: staging, files: staging })
  } catch (error) {
    await db.close()
    throw error
  }
  try {
    const batch = index.batch()
    const groups = new Set<string>()
    let rawByteLength = 0
    // An origin whose key was lost with the damage is dropped with it.
    const keptKeys = new Set(rows.map(describeKey))
    for (const row of rows) {
      const { origin, ...entry } = row.entry
      const keptOrigin = origin !== undefined && keptKeys.has(describeKey(origin)) ? { origin } : {}
      batch.putText({ file: row.file, rev: row.rev }, { ...entry, parents: parentsOf(row), ...keptOrigin })
      groups.add(`${row.entry.packId}:${row.entry.groupOffset}`)
      rawByteLength += row.entry.textByteLength
    }
    for (const [packId, state] of packs) batch.putPack(packId, state)
    batch.setTotals({ textCount: rows.length, rawByteLength, groupCount: groups.size })
    await batch.commit()
    await index.compact()
  } finally {
    await index.close()
  }
  // Complete and synced: only now does it get the name that finishIndexSwap takes for a whole index.
  const repaired = `index.repaired-${stamp}`
  await rename(staging, join(dir, repaired))
  await syncDirectory(dir)
  await swapIn(dir, repaired)
}
