/**
 * The index of store formats 4 to 6 read and written through LevelDB (formats/index.md, Runs): a text's entry is
 * found by its revision's number (memory, else its `Q` bucket and `N` chunk) and the last run at or before its
 * file and that number; parents and origins come back as ids through the same revision table.
 */
import { toHex } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import type { KeyValueStore } from '../index/leveldb.js'
import { TAG_TEXT, decodeTextKey, describeKey, encodeTextKey, revKindOf } from '../index/records.js'
import { RevisionTable } from '../index/revision-table.js'
import { readRun, rejoined, runOperations, type DecodedRun } from '../index/run-writes.js'
import {
  REVISION_CHUNK_LENGTH, REVISION_CHUNK_VALUE_VERSION, TAG_FILE_RUN, TAG_REVISIONS, TAG_REVISION_BUCKET, comparePositions,
  decodeRevisionBucketValue, decodeRevisionChunkKey, decodeRevisionChunkValue, decodeRunKey, decodeRunSections, encodeRevisionChunkValue, encodeRunKey,
  encodeRunPrefix, encodeRunSections, findRunEntry, revisionBucket, runPositionsBeforeDamage, type RunEntry, type RunSection,
} from '../index/runs.js'
import type { KeyedEntry } from './locations.js'
import { problemOf } from './problems.js'
import type { TextEntry, TextKey, VerifyProblem } from './types.js'

type Operation = { key: Uint8Array; value: Uint8Array | undefined }

/** The first store format that keeps text entries in runs (formats/index.md). */
export const RUN_STORE_FORMAT = 4
/** The first store format whose runs may go on from one file into the next. */
export const SPANNING_STORE_FORMAT = 6

/**
 * One file's keyed entries in the order of their old `T` keys (revision kind, then its bytes), as every
 * listing has always come: a hex id's bytes sort as its lowercase hex does, a text id's as its UTF-8.
 */
function inKeyOrder(rows: KeyedEntry[]): KeyedEntry[] {
  // A key orders a revision id by its kind: a text id (00) before a SHA-1 (01) before a SHA-256 (02).
  const keyed = rows.map(row => ({ row, kind: revKindOf(row.rev) }))
  keyed.sort((a, b) => a.row.file !== b.row.file ? Buffer.compare(encodeTextKey(a.row), encodeTextKey(b.row))
    : a.kind - b.kind || (a.kind === 0 ? Buffer.compare(Buffer.from(a.row.rev), Buffer.from(b.row.rev)) : a.row.rev < b.row.rev ? -1 : a.row.rev > b.row.rev ? 1 : 0))
  return keyed.map(item => item.row)
}

/**
 * Entries an open index keeps decoded, whole files at a time (jq has 4,798; a file's runs cost a few hundred
 * bytes of memory an entry). Past this, the files used least lately are let go.
 */
const CACHED_ENTRY_COUNT = 200_000

/** A run as an open index keeps it: its files' entries and, once asked for, a file's rows. */
interface CachedRun extends DecodedRun {
  readonly count: number
  rows?: Map<string, KeyedEntry[]>
}

const RUN_TAG = Uint8Array.of(TAG_FILE_RUN)
const entryCount = (sections: readonly RunSection[]) => sections.reduce((sum, section) => sum + section.entries.length, 0)

export class RunIndex {
  readonly revisions: RevisionTable
  /** Whether the index holds `T` entries an upgrade could not read; undefined until asked. */
  private leftOvers: boolean | undefined
  /**
   * Files whose runs were all read (the keys of the runs that hold their entries, in key order), least
   * lately used first. The index's own commits keep them current (`operations`' `written`): a writer holds
   * the store's lock, and a reader reads a copy no one writes.
   */
  private readonly files = new Map<string, string[]>()
  /** The runs those files' lists name, by key (hex), with how many of the files name each. */
  private readonly runs = new Map<string, { run: CachedRun; users: number }>()
  private cachedEntryCount = 0
  /**
   * Counts the commits that wrote runs: a read of a file's runs that a commit overlapped is not kept (it
   * may hold the runs as they were before; the commit found no kept file to bring up to date).
   */
  private generation = 0
  /**
   * Batches whose records were made and not yet written or abandoned: a read of runs that ends meanwhile may
   * have seen some runs before the write and some after, and is not kept either.
   */
  private writing = 0

  /**
   * @param spanning whether a run may hold several files (store format 6 and later): else a file's entries
   * are only in runs keyed by it, and a lookup never reads the run before them (which may be damaged).
   */
  constructor(private readonly db: KeyValueStore, private readonly spanning: () => boolean = () => true) {
    this.revisions = new RevisionTable(db)
  }

  /** A run entry as a TextEntry, its numbers turned back into ids. */
  private async textEntry(entry: RunEntry, where: string): Promise<TextEntry> {
    const parents: string[] = []
    for (const parent of entry.parents) parents.push(this.revisions.knownRev(parent) ?? (await this.revisions.revOf(parent, where)))
    if (entry.origin === undefined) return { ...entry.location, parents }
    return { ...entry.location, parents, origin: { file: entry.origin.file, rev: await this.revisions.revOf(entry.origin.rev, where) } }
  }

  async tryGetEntry(key: TextKey): Promise<TextEntry | undefined> {
    // An id no key can have is refused (VSTORE_USAGE), never looked up as one.
    encodeTextKey(key)
    const where = `index:${describeKey(key)}`
    const number = await this.revisions.numberOf(key.rev)
    const entry = number === undefined ? undefined : await this.runEntry(key.file, number, where)
    if (entry !== undefined) return this.textEntry(entry, where)
    if (await this.leftOver(key)) throw new VstoreError('VSTORE_CORRUPT', 'its entry was damaged before the upgrade to runs (store format 4 or later), which could not read it', where)
    return undefined
  }

  /** The entry numbered `number` of `file`: from memory for a file read whole, else from the last run at or before it. */
  private async runEntry(file: string, number: number, where: string): Promise<RunEntry | undefined> {
    const runs = this.cachedFile(file)
    if (runs !== undefined) {
      for (const run of runs) {
        const entry = run.sections.find(section => section.file === file)?.entries.find(candidate => candidate.rev === number)
        if (entry !== undefined) return entry
      }
      return undefined
    }
    const found = await this.db.last(this.spanning() ? RUN_TAG : encodeRunPrefix(file), encodeRunKey(file, number))
    return found === undefined ? undefined : findRunEntry(found[0], found[1], where, file, number)
  }

  /** The runs holding a file's entries, in key order, when they are all in memory (the file marked as used now), else undefined. */
  private cachedFile(file: string): CachedRun[] | undefined {
    const keys = this.files.get(file)
    if (keys === undefined) return undefined
    this.files.delete(file)
    this.files.set(file, keys)
    return keys.map(key => (this.runs.get(key) as { run: CachedRun }).run)
  }

  /** All the runs that hold a file's entries, from memory or read (and kept). */
  private async fileRuns(file: string): Promise<CachedRun[]> {
    const cached = this.cachedFile(file)
    if (cached !== undefined) return cached
    const generation = this.generation
    const where = `index:${file}`
    const runs: CachedRun[] = []
    // One run keyed before the file may hold its first entries (a run that goes on from one file into the next).
    const before = this.spanning() ? await this.db.last(RUN_TAG, encodeRunKey(file, 0)) : undefined
    const prefix = encodeRunPrefix(file)
    if (before !== undefined && !startsWith(before[0], prefix)) {
      const run = readRun(before[0], before[1], where)
      if (run.sections.some(section => section.file === file)) runs.push({ ...run, count: entryCount(run.sections) })
    }
    for await (const [key, value] of this.db.entries(prefix)) {
      const run = readRun(key, value, where)
      runs.push({ ...run, count: entryCount(run.sections) })
    }
    if (generation === this.generation && this.writing === 0) this.keep(file, runs)
    return runs
  }

  private keep(file: string, runs: readonly CachedRun[]): void {
    // Two reads of one file may finish one after the other: the second replaces the first.
    this.forget(file)
    const keys = runs.map(run => toHex(run.key))
    this.files.set(file, keys)
    runs.forEach((run, i) => this.use(keys[i] as string, run))
    for (const oldest of this.files.keys()) {
      if (this.cachedEntryCount <= CACHED_ENTRY_COUNT || oldest === file) break
      this.forget(oldest)
    }
  }

  /** Counts one more file naming a run (kept the first time). */
  private use(key: string, run: CachedRun): void {
    const held = this.runs.get(key)
    if (held !== undefined) {
      held.users++
      return
    }
    this.runs.set(key, { run, users: 1 })
    this.cachedEntryCount += run.count
  }

  /** Counts one file fewer naming a run (let go by the last). */
  private release(key: string): void {
    const held = this.runs.get(key)
    if (held === undefined) return
    if (--held.users > 0) return
    this.runs.delete(key)
    this.cachedEntryCount -= held.run.count
  }

  private forget(file: string): void {
    const keys = this.files.get(file)
    if (keys === undefined) return
    this.files.delete(file)
    for (const key of keys) this.release(key)
  }

  /** Applies a commit's run records to the files kept in memory (a file not kept stays unkept). */
  private applyWritten(operations: readonly Operation[]): void {
    for (const { key, value } of operations) {
      if (key[0] !== TAG_FILE_RUN) continue
      this.generation++
      const hex = toHex(key)
      const old = this.runs.get(hex)?.run
      const run: CachedRun | undefined = value === undefined ? undefined : (() => {
        const sections = decodeRunSections(key, value, `index:${decodeRunKey(key).file}`)
        return { key, sections, count: entryCount(sections) }
      })()
      const touched = new Set([...(old?.sections ?? []), ...(run?.sections ?? [])].map(section => section.file))
      for (const file of touched) {
        const keys = this.files.get(file)
        if (keys === undefined) continue
        const had = keys.includes(hex)
        const has = run?.sections.some(section => section.file === file) === true
        if (had) this.release(hex)
        if (has) this.use(hex, run as CachedRun)
        if (had && !has) keys.splice(keys.indexOf(hex), 1)
        if (!had && has) {
          keys.push(hex)
          keys.sort()
        }
      }
      // A run rewritten under its key: files that keep it see the new one.
      const held = this.runs.get(hex)
      if (held !== undefined && run !== undefined && held.run !== run) {
        this.cachedEntryCount += run.count - held.run.count
        held.run = run
      }
    }
  }

  /** Whether a `T` entry of `key` is left over from an upgrade (a damaged one); whether there are any is asked once. */
  private async leftOver(key: TextKey): Promise<boolean> {
    if (this.leftOvers === undefined) {
      this.leftOvers = false
      for await (const _ of this.db.entries(Uint8Array.of(TAG_TEXT))) {
        this.leftOvers = true
        break
      }
    }
    return this.leftOvers && (await this.db.get(encodeTextKey(key))) !== undefined
  }

  /** A file's entries in a run, with their keys (made once a run and file). */
  private async runRows(file: string, run: { readonly sections: readonly RunSection[]; rows?: Map<string, KeyedEntry[]> }): Promise<KeyedEntry[]> {
    const made = run.rows?.get(file)
    if (made !== undefined) return made
    const rows: KeyedEntry[] = []
    for (const entry of run.sections.find(section => section.file === file)?.entries ?? []) {
      const rev = this.revisions.knownRev(entry.rev) ?? (await this.revisions.revOf(entry.rev, `index:${file}`))
      rows.push({ file, rev, entry: await this.textEntry(entry, `index:${file}@${rev}`) })
    }
    run.rows ??= new Map()
    run.rows.set(file, rows)
    return rows
  }

  async *fileEntries(file: string): AsyncGenerator<KeyedEntry> {
    const rows: KeyedEntry[] = []
    for (const run of await this.fileRuns(file)) rows.push(...(await this.runRows(file, run)))
    yield* inKeyOrder(rows)
  }

  async *entries(filePrefix?: string): AsyncGenerator<KeyedEntry> {
    let file: string | undefined
    let rows: KeyedEntry[] = []
    for await (const [key, value] of this.db.entries(RUN_TAG)) {
      const run: DecodedRun = readRun(key, value, `index:${decodeRunKey(key).file}`)
      for (const section of run.sections) {
        if (filePrefix !== undefined && !section.file.startsWith(filePrefix)) continue
        if (section.file !== file) {
          yield* inKeyOrder(rows)
          rows = []
          file = section.file
        }
        rows.push(...(await this.runRows(section.file, run)))
      }
    }
    yield* inKeyOrder(rows)
  }

  async revisionsStartingWith(file: string, prefix: string, limit: number): Promise<string[]> {
    const matches: string[] = []
    for await (const row of this.fileEntries(file)) {
      if (!row.rev.startsWith(prefix)) continue
      matches.push(row.rev)
      if (matches.length >= limit) break
    }
    return matches
  }

  /**
   * The records a batch writes for its text changes (`undefined`: a delete): new revision ids numbered
   * parents first, then each changed file's runs. `written` is to be called once they are durable, or
   * `abandoned` when they will not be written.
   */
  async operations(changes: readonly { key: TextKey; entry: TextEntry | undefined }[]): Promise<{ operations: Operation[]; written: () => void; abandoned: () => void }> {
    const numbered = await this.revisions.number(revisionsParentsFirst(changes))
    const numberOf = (rev: string) => numbered.numbers.get(rev) as number
    const byFile = new Map<string, Map<number, RunEntry | undefined>>()
    for (const { key, entry } of changes) {
      let mine = byFile.get(key.file)
      if (mine === undefined) byFile.set(key.file, (mine = new Map()))
      if (entry === undefined) {
        // A revision without a number has no entry to delete.
        const rev = numbered.numbers.get(key.rev) ?? (await this.revisions.numberOf(key.rev))
        if (rev !== undefined) mine.set(rev, undefined)
        continue
      }
      const rev = numberOf(key.rev)
      const { parents, origin, ...location } = entry
      const run: RunEntry = { rev, location, parents: parents.map(numberOf) }
      mine.set(rev, origin === undefined ? run : { ...run, origin: { file: origin.file, rev: numberOf(origin.rev) } })
    }
    const operations: Operation[] = [...numbered.operations, ...(await runOperations(this.db, byFile, file => this.cachedFile(file)))]
    // From here until the batch is written (or abandoned), a read of runs is used but not kept.
    this.writing++
    this.generation++
    const settle = () => {
      this.writing--
      this.generation++
    }
    return {
      operations,
      written: () => {
        settle()
        numbered.written()
        this.applyWritten(operations)
      },
      abandoned: settle,
    }
  }

  /**
   * The runs and revision chunks of older value versions written again in this build's (the upgrade from
   * store formats 4 and 5): the runs joined as a rewrite joins them (several files of few entries a run), the
   * chunks under the same keys. A record that does not decode (damaged) stays as it is, for verify to name and
   * repair to drop, and the runs on either side of it are joined apart, so that it keeps its range of keys.
   * `written` is to be called once they are durable: what this index kept of the old runs is let go then.
   */
  async recoded(): Promise<{ operations: Operation[]; written: () => void }> {
    this.forgetRuns()
    const operations: Operation[] = []
    let stretch: DecodedRun[] = []
    const flush = () => {
      // One push an operation: a store's runs may be more than a call's arguments can hold.
      for (const operation of rejoined(stretch)) operations.push(operation)
      stretch = []
    }
    for await (const [key, value] of this.db.entries(RUN_TAG)) {
      // A run that decodes but does not fit this version (damage with a right checksum: a record start past
      // what a varint holds once coded against the entry before) stays as it is too.
      const run = decodedOrUndefined(() => {
        const decoded = readRun(key, value, 'index')
        encodeRunSections(key, decoded.sections)
        return decoded
      })
      if (run === undefined) flush()
      else stretch.push(run)
    }
    flush()
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_REVISIONS))) {
      if (value[0] === REVISION_CHUNK_VALUE_VERSION) continue
      const recoded = decodedOrUndefined(() => encodeRevisionChunkValue(key, decodeRevisionChunkValue(key, value, 'index')))
      if (recoded !== undefined) operations.push({ key, value: recoded })
    }
    return { operations, written: () => this.forgetRuns() }
  }

  /** Lets go of every run kept, and of any read of them under way (it will not be kept). */
  private forgetRuns(): void {
    this.files.clear()
    this.runs.clear()
    this.cachedEntryCount = 0
    this.generation++
  }

  /**
   * verify's check of the run records, read around damage: every entry that decodes, and a problem for each
   * revision chunk, bucket or run that does not (a run's problem names its file and first revision), each
   * revision a bucket does not find, each number no chunk lists, and each `T` entry an older format left.
   */
  /** check's reading of the revision chunks and buckets: the ids by number, the numbers their buckets find, and what is wrong. */
  private async checkRevisions(): Promise<{ ids: Map<number, string>; bucketed: Set<number>; problems: VerifyProblem[] }> {
    const problems: VerifyProblem[] = []
    const ids = new Map<number, string>()
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_REVISIONS), undefined, { aroundDamage: true })) {
      try {
        const chunk = decodeRevisionChunkKey(key)
        decodeRevisionChunkValue(key, value, `index:revisions ${chunk * REVISION_CHUNK_LENGTH}-`).forEach((rev, i) => ids.set(chunk * REVISION_CHUNK_LENGTH + i, rev))
      } catch (error) {
        problems.push(problemOf(error, `index key ${toHex(key)}`, []))
      }
    }
    // Each id is listed once: a lookup finds the first number of an id listed twice, never the second.
    const numberOfId = new Map<string, number>()
    for (const [number, rev] of ids) {
      const first = numberOfId.get(rev)
      if (first === undefined) numberOfId.set(rev, number)
      else problems.push({ code: 'VSTORE_CORRUPT', where: 'index:revisions', message: `revision ${rev} is listed twice, as numbers ${first} and ${number}`, keys: [] })
    }
    const bucketed = new Set<number>()
    for await (const [key, value] of this.db.entries(Uint8Array.of(TAG_REVISION_BUCKET), undefined, { aroundDamage: true })) {
      try {
        if (key.length !== 2) throw new VstoreError('VSTORE_CORRUPT', 'a revision bucket key of the wrong length', `index key ${toHex(key)}`)
        for (const member of decodeRevisionBucketValue(key, value, `index:revision bucket ${key[1]}`)) {
          const rev = ids.get(member.rev)
          if (rev === undefined) {
            // A number no chunk lists: the chunks lost ids, and a writer could give that number again.
            problems.push({ code: 'VSTORE_CORRUPT', where: `index:revision bucket ${key[1]}`, message: `revision number ${member.rev} is in a bucket but in no revision chunk`, keys: [] })
            continue
          }
          const listed = revisionBucket(rev)
          if (listed.key[1] === key[1] && listed.tag === member.tag) bucketed.add(member.rev)
        }
      } catch (error) {
        problems.push(problemOf(error, `index key ${toHex(key)}`, []))
      }
    }
    return { ids, bucketed, problems }
  }

  async check(): Promise<{ textCount: number; entries: KeyedEntry[]; problems: VerifyProblem[]; revOf: (number: number) => string | undefined }> {
    const { ids, bucketed, problems } = await this.checkRevisions()
    const revOf = (number: number) => ids.get(number)
    const entries: KeyedEntry[] = []
    const unfound = new Map<number, TextKey[]>()
    let textCount = 0
    // The last entry of the run before, which the next run of the same file must start after.
    let before: { file: string; rev: number } | undefined
    for await (const [key, value] of this.db.entries(RUN_TAG, undefined, { aroundDamage: true })) {
      let run: { file: string; firstRev: number }
      try {
        run = decodeRunKey(key)
      } catch (error) {
        problems.push(problemOf(error, `index key ${toHex(key)}`, []))
        continue
      }
      const runKey = runTextKey(run, revOf)
      let sections: RunSection[]
      try {
        sections = decodeRunSections(key, value, `index:${describeKey(runKey)}`)
      } catch (error) {
        problems.push(problemOf(error, `index:${describeKey(runKey)}`, runTextKeys(key, value, revOf)))
        continue
      }
      if (before !== undefined && comparePositions({ file: run.file, rev: run.firstRev }, before) <= 0) {
        problems.push({ code: 'VSTORE_CORRUPT', where: `index:${describeKey(runKey)}`, message: `a run that starts at or before the end of the one before (${before.file} at revision number ${before.rev}): a lookup finds only one of them`, keys: [runKey] })
      }
      const lastSection = sections.at(-1) as RunSection
      before = { file: lastSection.file, rev: (lastSection.entries.at(-1) as RunEntry).rev }
      for (const section of sections) {
        for (const entry of section.entries) {
          textCount++
          const rev = ids.get(entry.rev)
          const textKey = { file: section.file, rev: rev ?? `#${entry.rev}` }
          const missing = [entry.rev, ...entry.parents, ...(entry.origin === undefined ? [] : [entry.origin.rev])].filter(number => !ids.has(number))
          if (missing.length > 0) {
            problems.push({ code: 'VSTORE_CORRUPT', where: `index:${describeKey(textKey)}`, message: `revision number ${missing[0]} is not in the index's revision list`, keys: [textKey] })
            continue
          }
          if (!bucketed.has(entry.rev)) unfound.set(entry.rev, [...(unfound.get(entry.rev) ?? []), textKey])
          const parents = entry.parents.map(parent => ids.get(parent) as string)
          const { location } = entry
          entries.push({
            ...textKey,
            entry: entry.origin === undefined ? { ...location, parents } : { ...location, parents, origin: { file: entry.origin.file, rev: ids.get(entry.origin.rev) as string } },
          })
        }
      }
    }
    for (const [number, keys] of unfound) {
      problems.push({ code: 'VSTORE_CORRUPT', where: `index:revision bucket ${revisionBucket(ids.get(number) as string).key[1]}`, message: `revision ${ids.get(number)} (number ${number}) is not in its bucket, so its texts cannot be found`, keys })
    }
    // A `T` entry in an index of this format is one an upgrade could not read: damaged before it.
    for await (const [key] of this.db.entries(Uint8Array.of(TAG_TEXT), undefined, { aroundDamage: true })) {
      let keys: TextKey[] = []
      try {
        keys = [decodeTextKey(key)]
      } catch {
        // A damaged key names nothing.
      }
      textCount++
      problems.push({ code: 'VSTORE_CORRUPT', where: keys.length === 0 ? `index key ${toHex(key)}` : `index:${describeKey(keys[0] as TextKey)}`, message: 'a text entry the upgrade to runs (store format 4 or later) could not read (damaged)', keys })
    }
    return { textCount, entries: inKeyOrder(entries), problems, revOf }
  }
}

/** What `decode` returns, or undefined where it finds damage (VSTORE_CORRUPT and the like, or a value it cannot write again). */
function decodedOrUndefined<T>(decode: () => T): T | undefined {
  try {
    return decode()
  } catch (error) {
    if (!(error instanceof VstoreError)) throw error
    return undefined
  }
}

/** The key a run is named by: its file and first revision (`#N` where the revision list lacks the number). */
export function runTextKey(run: { file: string; firstRev: number }, revOf: (number: number) => string | undefined): TextKey {
  return { file: run.file, rev: revOf(run.firstRev) ?? `#${run.firstRev}` }
}

/**
 * The revision ids of `changes` (keys, parents, origins) in an order that puts a revision after its parents
 * where the batch gives both: numbers then grow along history, and a run's parent steps stay small.
 */
function revisionsParentsFirst(changes: readonly { key: TextKey; entry: TextEntry | undefined }[]): string[] {
  const parentsOf = new Map<string, string[]>()
  const order: string[] = []
  const meet = (rev: string) => {
    if (!parentsOf.has(rev)) {
      parentsOf.set(rev, [])
      order.push(rev)
    }
  }
  for (const { key, entry } of changes) {
    if (entry === undefined) continue
    meet(key.rev)
    for (const parent of entry?.parents ?? []) {
      meet(parent)
      ;(parentsOf.get(key.rev) as string[]).push(parent)
    }
    if (entry?.origin !== undefined) meet(entry.origin.rev)
  }
  const placed = new Set<string>()
  const result: string[] = []
  for (const root of order) {
    if (placed.has(root)) continue
    // Depth first without recursion (a history may be 100,000 revisions deep).
    const stack: { rev: string; next: number }[] = [{ rev: root, next: 0 }]
    placed.add(root)
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { rev: string; next: number }
      const parents = parentsOf.get(top.rev) as string[]
      if (top.next < parents.length) {
        const parent = parents[top.next++] as string
        if (!placed.has(parent)) {
          placed.add(parent)
          stack.push({ rev: parent, next: 0 })
        }
        continue
      }
      stack.pop()
      result.push(top.rev)
    }
  }
  return result
}

/** The revision ids the chunks among `entries` list (those whose own checksum holds), by number. */
export function revisionIdsOf(entries: readonly { readonly key: Uint8Array; readonly value: Uint8Array }[]): Map<number, string> {
  const ids = new Map<number, string>()
  for (const { key, value } of entries) {
    if (key[0] !== TAG_REVISIONS) continue
    try {
      const chunk = decodeRevisionChunkKey(key)
      decodeRevisionChunkValue(key, value, 'index').forEach((rev, i) => ids.set(chunk * REVISION_CHUNK_LENGTH + i, rev))
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
    }
  }
  return ids
}

/**
 * The text keys a run record names (read from damaged index files): every entry's, when its checksum holds;
 * else those that parse before the damage, or its first file with its first revision. None for another
 * record or a key that does not decode.
 */
export function runTextKeys(key: Uint8Array, value: Uint8Array, revOf: (number: number) => string | undefined): TextKey[] {
  if (key[0] !== TAG_FILE_RUN) return []
  let run: { file: string; firstRev: number }
  try {
    run = decodeRunKey(key)
  } catch {
    return []
  }
  try {
    return decodeRunSections(key, value, 'index').flatMap(section => section.entries.map(entry => runTextKey({ file: section.file, firstRev: entry.rev }, revOf)))
  } catch (error) {
    if (!(error instanceof VstoreError)) throw error
    const named = runPositionsBeforeDamage(key, value).map(position => runTextKey({ file: position.file, firstRev: position.rev }, revOf))
    return named.length > 0 ? named : [runTextKey(run, revOf)]
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && Buffer.compare(bytes.subarray(0, prefix.length), prefix) === 0
}
