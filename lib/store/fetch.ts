/**
 * Fetch: copies into a store the texts of another it lacks (every file, or some), as a VCS's pull does,
 * reading the other only through FetchSource. A source group well filled with wanted texts is copied
 * whole, its bytes unchanged; the other wanted texts are compressed again, as an insert would, each file
 * continuing from its stored versions. All of it is one batch (lib/store/batch-writer.ts).
 */
import { toHex } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import { DEFAULT_GROUP_LIMITS, checkGroup, type GroupHeader } from '../group/frame.js'
import { HASH_RECORD_MIN_TEXT_BYTE_LENGTH, describeKey } from '../index/records.js'
import { writeOrder } from '../order/graph.js'
import { packOfItsOwn } from './auto-pack.js'
import { writeBatch, type BatchTarget } from './batch-writer.js'
import { openSpill } from './insert.js'
import { packName } from './layout.js'
import { byGroup, entryAt, type KeyedEntry } from './locations.js'
import { FETCH_WORDS, checkTextByteLength, isNewKey } from './new-keys.js'
import { baseNamedBy } from './text-reader.js'
import { hashesMatch, isWholeHash } from './text-hash.js'
import type { FetchOptions, FetchSummary, TextEntry, TextKey, TextLocation } from './types.js'
import type { CopiedRecords, PlannedText } from './write-plan.js'

/**
 * What fetch reads from its source: the public face of a store that a remote, or a store on another
 * backend, implements (Store does).
 */
export interface FetchSource {
  /** Distinct file ids, sorted. */
  files(): Promise<string[]>
  /** One file's keys with their entries, in key order. */
  fileEntries(file: string): AsyncIterable<KeyedEntry>
  /** The texts of keys, each group read once, in any order. */
  getMany(keys: Iterable<TextKey>): AsyncIterable<TextKey & { text: Uint8Array }>
  /** The header of the group holding `location` (`key` is named in errors). */
  readGroupHeader(location: Pick<TextLocation, 'packId' | 'groupOffset'>, key: TextKey): Promise<GroupHeader>
  /** `byteLength` bytes of the group holding `location`, as stored (a whole group: its header's lengths). */
  readGroupBytes(location: Pick<TextLocation, 'packId' | 'groupOffset'>, byteLength: number, key: TextKey): Promise<Uint8Array>
}

/**
 * A fetch copies a source group whole when at least this share of its content is records it wants
 * (Breezy's rule for reusing a group when fetching), and when the group is large enough
 * (REUSE_MIN_CONTENT_FRACTION): the rest of the wanted texts are compressed again, with their neighbours.
 */
const REUSE_MIN_WANTED_FRACTION = 0.75
/** ... of the store's content cap: smaller groups (left by small appends) compress better together. */
const REUSE_MIN_CONTENT_FRACTION = 1 / 8
/** Texts a fetch reads from its source at once (each group they share is read once). */
const FETCH_CHUNK_TEXT_COUNT = 64

/** A source group a fetch copies, with the wanted keys' entries as they will be in this store. */
interface CopiedGroup {
  readonly packId: number
  readonly groupOffset: number
  readonly groupByteLength: number
  readonly rows: readonly CopiedRow[]
}

/** A wanted key of a copied group. */
interface CopiedRow extends TextKey {
  /** Its entry in the copied group: the same ranges and read costs, this store's base chain. */
  readonly entry: TextEntry
}

export async function fetchFrom(source: FetchSource, options: FetchOptions, target: BatchTarget & { readonly dir: string }): Promise<FetchSummary> {
  const { wanted, wantedKeys, textCount, rawByteLength } = await wantedKeysOf(source, options, target)
  const copied = await groupsToCopy(source, wanted, wantedKeys, target)
  const copiedKeys = new Set(copied.flatMap(group => group.rows.map(describeKey)))
  const rest = wanted.filter(row => !copiedKeys.has(describeKey(row)))
  const newRawByteLength = wanted.reduce((sum, row) => sum + row.entry.textByteLength, 0)
  const spill = await openSpill(target.dir, 'fetch')
  try {
    const texts: PlannedText[] = []
    let readRawByteLength = 0
    for (let start = 0; start < rest.length; start += FETCH_CHUNK_TEXT_COUNT) {
      const chunk = rest.slice(start, start + FETCH_CHUNK_TEXT_COUNT)
      const read = new Map<string, Uint8Array>()
      for await (const { file, rev, text } of source.getMany(chunk)) read.set(describeKey({ file, rev }), text)
      for (const { file, rev, entry } of chunk) {
        const text = read.get(describeKey({ file, rev })) as Uint8Array
        texts.push({ file, rev, parents: entry.parents, ref: await spill.append(text), hash: entry.hash, ...(entry.origin === undefined ? {} : { origin: entry.origin }) })
        readRawByteLength += text.length
      }
      options.onProgress?.({
        phase: 'reading', textCount, rawByteLength, newTextCount: wanted.length, newRawByteLength, writtenTextCount: 0, writtenRawByteLength: 0, groupCount: 0, storedByteLength: 0,
      })
    }
    let records: CopiedRecords = { texts: [], textCount: 0, rawByteLength: 0, duplicateTextCount: 0, locationsByHash: new Map() }
    const summary = await writeBatch({
      texts, source: spill, counts: { textCount, rawByteLength, newRawByteLength: readRawByteLength }, options,
      copied: { append: async append => (records = await appendCopied(source, copied, append)) }, ...packOfItsOwn(target),
    }, target)
    return {
      ...summary,
      newTextCount: summary.newTextCount + records.textCount,
      newRawByteLength: summary.newRawByteLength + records.rawByteLength,
      duplicateTextCount: summary.duplicateTextCount + records.duplicateTextCount,
      reusedGroupCount: copied.length,
      reusedTextCount: records.textCount,
    }
  } finally {
    await spill.close()
  }
}

/** The keys this store lacks, each file's parents before its children (the order an insert takes), checked as an insert checks them. */
async function wantedKeysOf(source: FetchSource, options: FetchOptions, target: BatchTarget): Promise<{ wanted: KeyedEntry[]; wantedKeys: Set<string>; textCount: number; rawByteLength: number }> {
  const wanted: KeyedEntry[] = []
  const wantedKeys = new Set<string>()
  let textCount = 0
  let rawByteLength = 0
  for (const file of new Set(options.files ?? (await source.files()))) {
    const rows: KeyedEntry[] = []
    for await (const row of source.fileEntries(file)) rows.push(row)
    if (rows.length === 0) throw new VstoreError('VSTORE_NOT_FOUND', 'no such file in the source store', file)
    for (const index of writeOrder(rows.map(row => ({ ...row, parents: row.entry.parents }))).reverse()) {
      const row = rows[index] as KeyedEntry
      textCount++
      rawByteLength += row.entry.textByteLength
      // A damaged source index could name a parent it does not hold: refused, as an insert refuses it.
      const parentKnown = async (rev: string) => wantedKeys.has(describeKey({ file: row.file, rev })) || (await target.index.tryGetEntry({ file: row.file, rev })) !== undefined
      const stored = await target.index.tryGetEntry(row)
      if (stored === undefined) checkTextByteLength(row.entry.textByteLength, row, target.settings.maxTextByteLength)
      if (await isNewKey(row, row.entry, stored, parentKnown, FETCH_WORDS)) {
        wanted.push(row)
        wantedKeys.add(describeKey(row))
      }
    }
  }
  // Origins name other files, which may come later: checked once every key taken is known.
  for (const row of wanted) {
    const { origin } = row.entry
    if (origin !== undefined && !wantedKeys.has(describeKey(origin)) && (await target.index.tryGetEntry(origin)) === undefined) {
      throw new VstoreError('VSTORE_MISSING_PARENT', FETCH_WORDS.missingOrigin(origin), describeKey(row))
    }
  }
  return { wanted, wantedKeys, textCount, rawByteLength }
}

/**
 * The source groups a fetch copies whole, in source pack order (a base's group before the groups on it),
 * with their wanted keys' entries as they will be here: the same ranges and read costs in the group, and
 * the base chain's costs as this store has it.
 */
async function groupsToCopy(source: FetchSource, wanted: readonly KeyedEntry[], wantedKeys: ReadonlySet<string>, target: BatchTarget): Promise<CopiedGroup[]> {
  const groups = [...byGroup(wanted, row => row.entry).values()].sort((a, b) => {
    const [x, y] = [(a[0] as KeyedEntry).entry, (b[0] as KeyedEntry).entry]
    return x.packId - y.packId || x.groupOffset - y.groupOffset
  })
  const continuing = new Set(wanted.filter(row => row.entry.parents.some(parent => !wantedKeys.has(describeKey({ file: row.file, rev: parent })))).map(row => row.file))
  const placedEntries = new Map<string, TextEntry>()
  /** The first copied entry of each large content (appendCopied points later ones at it). */
  const copiedByHash = new Map<string, TextEntry>()
  const copied: CopiedGroup[] = []
  for (const rows of groups) {
    const chosen = await copyRule(source, rows, { continuing, placedEntries }, target)
    if (chosen === undefined) continue
    copied.push({ ...chosen, rows: placeRows(rows, chosen.chain, { placedEntries, copiedByHash }) })
  }
  return copied
}

/**
 * Whether one source group is copied whole: it must be well filled with wanted records, large enough, its
 * base here with the same content, and its reads within this store's budget through this store's base
 * chain. Returns the group's extent and that chain's costs, or undefined.
 */
async function copyRule(
  source: FetchSource, rows: readonly KeyedEntry[],
  known: { continuing: ReadonlySet<string>; placedEntries: ReadonlyMap<string, TextEntry> }, target: BatchTarget,
): Promise<{ packId: number; groupOffset: number; groupByteLength: number; chain: { readByteLength: number; decodedByteLength: number; baseDepth: number } } | undefined> {
  const { settings } = target
  const first = rows[0] as KeyedEntry
  const where = `source ${packName(first.entry.packId)}@${first.entry.groupOffset}`
  // Records wanted, once each (keys with equal texts may share one), against the whole content. Not
  // counted: in a group without a base, the texts of a file whose history continues from a version stored here: the group
  // holds one of them whole, while an insert stores them all as deltas on that version. (On jq, 1,270 new
  // texts onto an older clone, copying groups that held such files made the packs 22 % larger than
  // compressing them again.)
  const records = new Map<number, number>()
  for (const { file, entry } of rows) {
    if (first.entry.baseDepth === 0 && known.continuing.has(file)) continue
    records.set(entry.recordStart, entry.recordEnd - entry.recordStart)
  }
  const wantedByteLength = [...records.values()].reduce((a, b) => a + b, 0)
  const header = await source.readGroupHeader(first.entry, first)
  if (header.contentByteLength < REUSE_MIN_CONTENT_FRACTION * settings.maxContentByteLength) return undefined
  if (wantedByteLength < REUSE_MIN_WANTED_FRACTION * header.contentByteLength) return undefined
  const groupByteLength = header.headerByteLength + header.storedByteLength
  let chain = { readByteLength: 0, decodedByteLength: 0, baseDepth: -1 }
  if (first.entry.baseDepth > 0) {
    const base = await baseNamedBy(await source.readGroupBytes(first.entry, groupByteLength, first), header, where)
    const here = known.placedEntries.get(describeKey(base)) ?? (await target.index.tryGetEntry(base))
    if (here === undefined || here.textByteLength !== base.textByteLength || !hashesMatch(here.hash, base.hash) || here.baseDepth + 1 > settings.maxBaseDepth) return undefined
    chain = { readByteLength: here.readByteLength + here.baseReadByteLength, decodedByteLength: here.decodedByteLength + here.baseDecodedByteLength, baseDepth: here.baseDepth }
  }
  // The budget an insert keeps to (GroupWriter): this store's, through this store's base chain.
  if (rows.some(({ entry }) => entry.readByteLength + chain.readByteLength > Math.max(settings.maxReadByteLength, entry.textByteLength))) return undefined
  return { packId: first.entry.packId, groupOffset: first.entry.groupOffset, groupByteLength, chain }
}

/**
 * Whether a copied text's entry names its content well enough to store it once with another of the same
 * hash: a large text whose entry has the whole hash (a source of store format 3 or before). A 4-byte check
 * does not (two texts share one in 2^32), and a copy cannot compare the bytes, so such texts are copied as
 * they are.
 */
function sharesByHash(entry: TextEntry): boolean {
  return entry.textByteLength >= HASH_RECORD_MIN_TEXT_BYTE_LENGTH && isWholeHash(entry.hash)
}

/**
 * Each key's entry in a copied group as it will be here, for the groups based on it: a large text whose
 * content an earlier copied group holds points at that one (as an insert's duplicates do).
 */
function placeRows(
  rows: readonly KeyedEntry[], chain: { readByteLength: number; decodedByteLength: number; baseDepth: number },
  known: { placedEntries: Map<string, TextEntry>; copiedByHash: Map<string, TextEntry> },
): CopiedRow[] {
  const placed: CopiedRow[] = []
  for (const row of rows) {
    const entry: TextEntry = { ...row.entry, baseDepth: chain.baseDepth + 1, baseReadByteLength: chain.readByteLength, baseDecodedByteLength: chain.decodedByteLength }
    let final = entry
    if (sharesByHash(entry)) {
      const hashHex = toHex(entry.hash)
      const earlier = known.copiedByHash.get(hashHex)
      if (earlier !== undefined) final = entryAt(earlier, entry.parents, entry.origin)
      else known.copiedByHash.set(hashHex, entry)
    }
    known.placedEntries.set(describeKey(row), final)
    placed.push({ file: row.file, rev: row.rev, entry })
  }
  return placed
}

/** Copies the groups groupsToCopy chose (each checked whole first) and makes their index records. */
async function appendCopied(source: FetchSource, copied: readonly CopiedGroup[], append: (bytes: Uint8Array, rawByteLength: number) => Promise<{ packId: number; offset: number }>): Promise<CopiedRecords> {
  const texts: { key: TextKey; entry: TextEntry }[] = []
  const locationsByHash = new Map<string, TextLocation>()
  let textCount = 0
  let rawByteLength = 0
  let duplicateTextCount = 0
  for (const group of copied) {
    const first = group.rows[0] as CopiedRow
    const bytes = await source.readGroupBytes(first.entry, group.groupByteLength, first)
    // A damaged source group is refused, not copied: its CRC-32 covers every byte.
    checkGroup(bytes, `source ${packName(group.packId)}@${group.groupOffset}`, DEFAULT_GROUP_LIMITS)
    const { packId, offset } = await append(bytes, group.rows.reduce((sum, row) => sum + row.entry.textByteLength, 0))
    for (const row of group.rows) {
      textCount++
      rawByteLength += row.entry.textByteLength
      // As groupsToCopy placed it: a large content is stored once, where it was first.
      const hashHex = toHex(row.entry.hash)
      const known = sharesByHash(row.entry) ? locationsByHash.get(hashHex) : undefined
      const location: TextLocation = known ?? { ...row.entry, packId, groupOffset: offset }
      if (known !== undefined) duplicateTextCount++
      else if (sharesByHash(row.entry)) locationsByHash.set(hashHex, location)
      texts.push({ key: { file: row.file, rev: row.rev }, entry: entryAt(location, row.entry.parents, row.entry.origin) })
    }
  }
  return { texts, textCount, rawByteLength, duplicateTextCount, locationsByHash }
}
