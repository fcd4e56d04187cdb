/**
 * The store's index in LevelDB (a StoreIndex): the records of formats/index.md under their one-byte tags,
 * read through a KeyValueStore that checks LevelDB's own checksums, and written in synced batches.
 */
import { readdir, stat } from 'node:fs/promises'
import { toHex } from '../bytes/index.js'
import { VstoreError, messageOf } from '../errors.js'
import type { KeyValueStore } from '../index/leveldb.js'
import { findIndexDamage, salvageLevelDbKeys } from '../index/leveldb-files.js'
import type { IndexEntry } from '../index/leveldb-format.js'
import {
  TAG_HASH, TAG_PACK, TAG_TEXT, decodeLocationValue, decodePackKey, decodePackValue, decodeTextKey, decodeTextValue, decodeTotalsValue, describeKey,
  encodeFilePrefix, encodeMetaKey, encodePackKey, encodePackValue, encodeRevisionPrefixes, encodeTextKey,
  encodeTotalsValue, type PackState, type Totals,
} from '../index/records.js'
import { indexPath, packName } from './layout.js'
import type { KeyedEntry } from './locations.js'
import { naming, problemOf } from './problems.js'
import { RUN_STORE_FORMAT, RunIndex, SPANNING_STORE_FORMAT, revisionIdsOf, runTextKeys } from './run-index.js'
import { READABLE_STORE_FORMATS, STORE_FORMAT_VERSION, type IndexBatch, type StoreIndex } from './store-index.js'
import type { TextEntry, TextKey, VerifyProblem } from './types.js'

type Operation = { key: Uint8Array; value: Uint8Array | undefined }

/** The pack a hash record locates its text in, or undefined when its value does not decode. */
function hashRecordPackId(key: Uint8Array, value: Uint8Array): number | undefined {
  try {
    return decodeLocationValue(key, value, 'index:hash').packId
  } catch (error) {
    if (error instanceof VstoreError) return undefined
    throw error
  }
}

/** Runs `read` over the index's files; an I/O error other than damage (a permission, a failing disk) is VSTORE_IO. */
export async function readingIndex<T>(dir: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (error) {
    if (error instanceof VstoreError) throw error
    throw new VstoreError('VSTORE_IO', `cannot read the index: ${messageOf(error)}`, `${dir}/index`, { cause: error })
  }
}

/**
 * The text keys index entries read from damaged index files name, once each: a `T` key's, every key of a
 * run whose own checksum holds, and a damaged run's file with its first revision. Ids come from the
 * revision chunks among `entries`, else `revOf`, else `#N`. A key that does not decode names nothing.
 */
export function textKeysOf(entries: readonly IndexEntry[], revOf: (number: number) => string | undefined = () => undefined): TextKey[] {
  const found = new Map<string, TextKey>()
  const listed = revisionIdsOf(entries)
  const idOf = (number: number) => listed.get(number) ?? revOf(number)
  for (const { key, value } of entries) {
    for (const textKey of runTextKeys(key, value, idOf)) found.set(describeKey(textKey), textKey)
    if (key[0] !== TAG_TEXT) continue
    try {
      const textKey = decodeTextKey(key)
      found.set(describeKey(textKey), textKey)
    } catch {
      // A damaged key names nothing.
    }
  }
  return [...found.values()]
}

/** The text keys the files of an index LevelDB cannot open still hold, and the damaged parts with their keys. */
export async function salvageTextKeys(path: string): Promise<{ keys: TextKey[]; damaged: { file: string; message: string; keys: TextKey[] }[] }> {
  const salvaged = await salvageLevelDbKeys(path)
  const all = [...salvaged.keysByFile.values()].flat()
  const listed = revisionIdsOf([...all, ...salvaged.damaged.flatMap(part => part.keys)])
  const revOf = (number: number) => listed.get(number)
  return {
    keys: textKeysOf(all, revOf),
    damaged: salvaged.damaged.map(part => ({ file: part.file, message: part.message, keys: textKeysOf(part.keys, revOf) })),
  }
}

/**
 * LevelDB's diagnostic text logs: lines for people (compactions, opens), rotated at every open, never read
 * back. They are not the index, and a store written a commit at a time grows them faster than its tables
 * (jq replayed: 100 KB of `LOG` beside 471 KB of tables).
 */
const DIAGNOSTIC_LOGS = new Set(['LOG', 'LOG.old'])

/**
 * Bytes of the index's files under `path`, LevelDB's diagnostic logs aside; a file a writer removes
 * meanwhile (a compacted table, an old log) counts nothing.
 */
async function directoryByteLength(path: string): Promise<number> {
  const gone = (error: unknown) => {
    if ((error as { code?: string }).code === 'ENOENT') return undefined
    throw error
  }
  let total = 0
  for (const entry of (await readdir(path, { withFileTypes: true }).catch(gone)) ?? []) {
    const child = `${path}/${entry.name}`
    if (entry.isDirectory()) total += await directoryByteLength(child)
    else if (entry.isFile() && !DIAGNOSTIC_LOGS.has(entry.name)) total += (await stat(child).catch(gone))?.size ?? 0
  }
  return total
}

/**
 * The least a writer writes between two compactions of the index (LevelDbStoreIndex.tidy): up to this many
 * bytes of superseded run values (and LevelDB's log records around them) wait for the next one.
 */
export const INDEX_COMPACTION_BYTES = 8192

/** Where the index lives: the store's folder, and the files LevelDB reads (a reader's private copy, or the store's own). */
export interface LevelDbIndexPaths {
  readonly dir: string
  readonly files: string
}

export class LevelDbStoreIndex implements StoreIndex {
  private writeFailure: unknown
  /** The totals as this index last read or wrote them: a writer's own commits are the only ones (it holds the lock). */
  private knownTotals: Totals | undefined
  /** Bytes of keys and values written since the index was last compacted, and its size then (undefined: not measured yet). */
  private writtenSinceCompaction = 0
  private compactedByteLength: number | undefined

  /** The run layout's reads and writes (store formats 4 to 6; older formats are read through their `T` entries). */
  readonly runs: RunIndex

  private constructor(private readonly db: KeyValueStore, private readonly paths: LevelDbIndexPaths, public format: number) {
    this.runs = new RunIndex(db, () => this.format >= SPANNING_STORE_FORMAT)
  }

  private get inRuns(): boolean {
    return this.format >= RUN_STORE_FORMAT
  }

  /** @throws VSTORE_CORRUPT without a well-formed format record; VSTORE_UNSUPPORTED for a format this build does not read. */
  static async open(db: KeyValueStore, paths: LevelDbIndexPaths): Promise<LevelDbStoreIndex> {
    const where = `${paths.dir}/index`
    const format = await db.get(encodeMetaKey('format'))
    if (format === undefined) {
      throw new VstoreError('VSTORE_CORRUPT', 'index has no format record', where)
    } else if (format.length !== 1) {
      throw new VstoreError('VSTORE_CORRUPT', `format record of ${format.length} bytes, expected 1`, where)
    } else if (!READABLE_STORE_FORMATS.includes(format[0] as number)) {
      throw new VstoreError('VSTORE_UNSUPPORTED', `store format ${format[0]}, this build reads ${READABLE_STORE_FORMATS.join(' and ')}`, where)
    }
    return new LevelDbStoreIndex(db, paths, format[0] as number)
  }

  async tryGetEntry(key: TextKey): Promise<TextEntry | undefined> {
    if (this.inRuns) {
      try {
        return await this.runs.tryGetEntry(key)
      } catch (error) {
        throw naming(error, key)
      }
    }
    const encoded = encodeTextKey(key)
    let value: Uint8Array | undefined
    try {
      value = await this.db.get(encoded)
    } catch (error) {
      throw naming(error, key)
    }
    return value === undefined ? undefined : decodeTextValue(encoded, value, `index:${describeKey(key)}`, this.format)
  }

  async *fileEntries(file: string): AsyncGenerator<KeyedEntry> {
    try {
      if (this.inRuns) {
        yield* this.runs.fileEntries(file)
        return
      }
      for await (const [key, value] of this.db.entries(encodeFilePrefix(file))) {
        const textKey = decodeTextKey(key)
        yield { ...textKey, entry: decodeTextValue(key, value, `index:${describeKey(textKey)}`, this.format) }
      }
    } catch (error) {
      if (!(error instanceof VstoreError) || !error.where.endsWith('/index')) throw error
      throw new VstoreError(error.code, error.message, `index:${file}`, { cause: error })
    }
  }

  async *entries(filePrefix?: string): AsyncGenerator<KeyedEntry> {
    if (this.inRuns) {
      yield* this.runs.entries(filePrefix)
      return
    }
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_TEXT))) {
      const textKey = decodeTextKey(key)
      if (filePrefix !== undefined && !textKey.file.startsWith(filePrefix)) continue
      yield { ...textKey, entry: decodeTextValue(key, value, `index:${describeKey(textKey)}`, this.format) }
    }
  }

  async revisionsStartingWith(file: string, prefix: string, limit: number): Promise<string[]> {
    if (this.inRuns) return this.runs.revisionsStartingWith(file, prefix, limit)
    const matches = new Set<string>()
    for (const keyPrefix of encodeRevisionPrefixes(file, prefix)) {
      for await (const [key] of this.db.entries(keyPrefix)) {
        const { rev } = decodeTextKey(key)
        if (rev.startsWith(prefix)) matches.add(rev)
        if (matches.size >= limit) return [...matches]
      }
    }
    return [...matches]
  }

  async packStates(): Promise<Map<number, PackState>> {
    const states = new Map<number, PackState>()
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_PACK))) {
      const packId = decodePackKey(key)
      states.set(packId, decodePackValue(key, value, `index:${packName(packId)}`))
    }
    return states
  }

  async totals(): Promise<Totals> {
    if (this.knownTotals !== undefined) return this.knownTotals
    const key = encodeMetaKey('totals')
    const value = await this.db.get(key)
    this.knownTotals = value === undefined ? { textCount: 0, rawByteLength: 0, groupCount: 0 } : decodeTotalsValue(key, value, 'index:totals')
    return this.knownTotals
  }

  async byteLength(): Promise<number> {
    return directoryByteLength(indexPath(this.paths.dir))
  }

  async check(): Promise<{ textCount: number; entries: KeyedEntry[]; problems: VerifyProblem[] }> {
    // Revision ids by number name the keys of damaged runs (a `T` key names its own).
    const { problems, entries, textCount, revOf }: { problems: VerifyProblem[]; entries: KeyedEntry[]; textCount: number; revOf?: (number: number) => string | undefined } =
      this.inRuns ? await this.runs.check() : await this.checkTextEntries()
    // LevelDB's own block and record checksums, which its reads do not check: each damaged part with the
    // text keys it still names (as far as it parses).
    for (const part of await readingIndex(this.paths.dir, () => findIndexDamage(this.paths.files))) {
      problems.push({ code: 'VSTORE_CORRUPT', where: `index/${part.file}`, message: `${part.message}; the texts of its keys cannot be read`, keys: textKeysOf(part.entries, revOf) })
    }
    // The totals count every text committed: fewer text records than that means some went missing.
    try {
      const totals = await this.totals()
      if (totals.textCount !== textCount) {
        problems.push({ code: 'VSTORE_CORRUPT', where: 'index', message: `${textCount} text entries, but the totals count ${totals.textCount}`, keys: [] })
      }
    } catch (error) {
      problems.push(problemOf(error, 'index:totals', []))
    }
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_HASH), undefined, { aroundDamage: true })) {
      try {
        decodeLocationValue(key, value, `index:hash ${toHex(key.subarray(1))}`)
      } catch (error) {
        problems.push(problemOf(error, `index:hash ${toHex(key.subarray(1))}`, []))
      }
    }
    return { textCount, entries, problems }
  }

  /** check's reading of the `T` entries of store formats 1 to 3, around the damaged parts of the index. */
  private async checkTextEntries(): Promise<{ textCount: number; entries: KeyedEntry[]; problems: VerifyProblem[] }> {
    const problems: VerifyProblem[] = []
    const entries: KeyedEntry[] = []
    let textCount = 0
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_TEXT), undefined, { aroundDamage: true })) {
      let textKey: TextKey
      try {
        textKey = decodeTextKey(key)
      } catch (error) {
        problems.push(problemOf(error, `index key ${toHex(key)}`, []))
        continue
      }
      textCount++
      try {
        entries.push({ ...textKey, entry: decodeTextValue(key, value, `index:${describeKey(textKey)}`, this.format) })
      } catch (error) {
        problems.push(problemOf(error, `index:${describeKey(textKey)}`, [textKey]))
      }
    }
    return { textCount, entries, problems }
  }

  async upgrade(): Promise<number | undefined> {
    const from = this.format
    if (from === STORE_FORMAT_VERSION) return undefined
    // Formats 1 to 3 keep a `T` entry a text; 4 keeps a file's entries in runs, revisions by number; 5 codes
    // runs and revision chunks more tightly. One batch: a crash leaves the old index or the new one, never a
    // mix of their entries.
    if (from >= RUN_STORE_FORMAT) {
      const recoded = await this.runs.recoded()
      await this.write([...recoded.operations, { key: encodeMetaKey('format'), value: Uint8Array.of(STORE_FORMAT_VERSION) }], await this.totals())
      recoded.written()
      await this.compactNow()
      return from
    }
    const changes: { key: TextKey; entry: TextEntry }[] = []
    const operations: Operation[] = []
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_TEXT))) {
      try {
        const textKey = decodeTextKey(key)
        changes.push({ key: textKey, entry: decodeTextValue(key, value, `index:${describeKey(textKey)}`, from) })
        operations.push({ key, value: undefined })
      } catch (error) {
        // A damaged entry stays as it is, under its `T` key: verify names it, and repair drops it, as before.
        if (!(error instanceof VstoreError)) throw error
      }
    }
    for (const key of await this.hashKeys()) operations.push({ key, value: undefined })
    const runs = await this.runs.operations(changes)
    for (const operation of runs.operations) operations.push(operation)
    operations.push({ key: encodeMetaKey('format'), value: Uint8Array.of(STORE_FORMAT_VERSION) })
    try {
      await this.write(operations, await this.totals())
    } catch (error) {
      runs.abandoned()
      throw error
    }
    runs.written()
    await this.compactNow()
    return from
  }

  /** A batch was written, but what this index keeps of it in memory could not be brought up to date. */
  failedAfterWrite(error: unknown): void {
    this.writeFailure = error
  }

  get writeFailed(): boolean {
    return this.writeFailure !== undefined
  }

  assertWritable(): void {
    if (this.writeFailure !== undefined) {
      throw new VstoreError('VSTORE_IO', 'an earlier index write failed; reopen the store to write again', this.paths.dir, { cause: this.writeFailure })
    }
  }

  batch(): IndexBatch {
    this.assertWritable()
    if (this.format !== STORE_FORMAT_VERSION) throw new Error(`vstore bug: a write to an index of store format ${this.format} before its upgrade`)
    return new LevelDbBatch(this)
  }

  /**
   * For LevelDbBatch: keys of the hash records (older builds wrote them; nothing reads them now), or of those
   * locating texts in `inPacks` or not decoding at all.
   */
  async hashKeys(inPacks?: ReadonlySet<number>): Promise<Uint8Array[]> {
    const keys: Uint8Array[] = []
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_HASH))) {
      const packId = inPacks === undefined ? undefined : hashRecordPackId(key, value)
      if (inPacks === undefined || packId === undefined || inPacks.has(packId)) keys.push(key)
    }
    return keys
  }

  /** For LevelDbBatch: one synced write; a failure makes this index refuse further batches. */
  async write(operations: readonly Operation[], totals: Totals | undefined): Promise<void> {
    this.knownTotals = undefined
    try {
      await this.db.write(operations, { sync: true })
    } catch (error) {
      this.writeFailure = error
      throw error
    }
    this.format = STORE_FORMAT_VERSION
    this.knownTotals = totals
    for (const { key, value } of operations) this.writtenSinceCompaction += key.length + (value?.length ?? 0)
  }

  /**
   * A commit rewrites the runs it changes, and LevelDB keeps every old version in its log and young tables
   * until a compaction: once the bytes written since the last one pass a quarter of the index (and
   * INDEX_COMPACTION_BYTES), the index is compacted.
   */
  async tidy(): Promise<void> {
    this.compactedByteLength ??= await this.byteLength()
    if (this.writtenSinceCompaction > Math.max(INDEX_COMPACTION_BYTES, this.compactedByteLength / 4)) await this.compactNow()
  }

  async compact(): Promise<void> {
    await this.compactNow()
  }

  private async compactNow(): Promise<void> {
    await this.db.compact()
    this.writtenSinceCompaction = 0
    this.compactedByteLength = await this.byteLength()
  }

  async close(): Promise<void> {
    await this.db.close()
  }
}

class LevelDbBatch implements IndexBatch {
  private readonly operations: Operation[] = []
  /** Text entries put (an entry) and deleted (undefined), written into their files' runs at the commit. */
  private readonly texts: { key: TextKey; entry: TextEntry | undefined }[] = []
  /** The hash record keys dropHashRecords found, to delete at the commit. */
  private hashesToDrop: Uint8Array[] = []
  private totalsValue: Totals | undefined
  /** The changes committed: texts put or deleted, and the other records written (with the hash deletions and totals the commit adds). */
  private writtenCount: number | undefined

  constructor(private readonly index: LevelDbStoreIndex) {}

  get operationCount(): number {
    return this.writtenCount ?? this.operations.length + this.texts.length + (this.totalsValue === undefined ? 0 : 1)
  }

  putText(key: TextKey, entry: TextEntry): void {
    // Refused now, not at the commit: an id no key can have (lib/index/records.ts), as a parent or origin too.
    encodeTextKey(key)
    for (const parent of entry.parents) encodeTextKey({ file: key.file, rev: parent })
    if (entry.origin !== undefined) encodeTextKey(entry.origin)
    this.texts.push({ key, entry })
  }

  deleteText(key: TextKey): void {
    this.texts.push({ key, entry: undefined })
  }

  async dropHashRecords(inPacks?: readonly number[]): Promise<void> {
    this.hashesToDrop = await this.index.hashKeys(inPacks === undefined ? undefined : new Set(inPacks))
  }

  putPack(packId: number, state: PackState): void {
    const key = encodePackKey(packId)
    this.operations.push({ key, value: encodePackValue(key, state) })
  }

  deletePack(packId: number): void {
    this.operations.push({ key: encodePackKey(packId), value: undefined })
  }

  setTotals(totals: Totals): void {
    this.totalsValue = totals
  }

  async commit(): Promise<void> {
    const runs = await this.index.runs.operations(this.texts)
    const operations = [...runs.operations, ...this.operations]
    for (const key of this.hashesToDrop) operations.push({ key, value: undefined })
    if (this.totalsValue !== undefined) {
      const key = encodeMetaKey('totals')
      operations.push({ key, value: encodeTotalsValue(key, this.totalsValue) })
    }
    try {
      await this.index.write(operations, this.totalsValue)
    } catch (error) {
      runs.abandoned()
      throw error
    }
    try {
      runs.written()
    } catch (error) {
      // The batch is durable but this index's memory of it is not: no further batch from it (reopen the
      // store), and the writer must not roll back packs the index now names.
      this.index.failedAfterWrite(error)
      throw error
    }
    this.writtenCount = this.texts.length + operations.length - runs.operations.length
  }
}
