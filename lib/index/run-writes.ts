/**
 * Changing the runs (store formats 4 to 6). Every text entry lives in the run with the greatest key at or
 * before its position (its file, then its revision number): so a change at a position touches only the run
 * that holds it, and a new run key must not fall inside a run that holds entries after it, or those would
 * be lost to lookups. A batch's changes are therefore applied to stretches of neighbouring runs, each
 * rewritten within its own range of keys:
 * - an append (entries after every one of their file's) goes to the run that holds its position, rewritten
 *   while it is short (TAIL_RUN_LENGTH) and holds nothing after the new entries, else into new runs after it;
 * - any other change (a pack moving texts, a delete, an entry numbered before the file's last, an append
 *   inside a run that holds other files' entries after it) rewrites the runs from the one holding the first
 *   change to the one holding the file's last entry, in runs of RUN_LENGTH that go on from one file into the
 *   next; a file in use (one that keeps entries beside the changed ones) gets runs of its own, so that its
 *   next changes rewrite only its own entries.
 */
import { toHex } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import type { KeyValueStore } from './leveldb.js'
import {
  MAX_REVISION_NUMBER, RUN_LENGTH, TAG_FILE_RUN, TAIL_RUN_LENGTH, decodeRunSections, encodeRunKey, encodeRunPrefix, encodeRunSections,
  type RunEntry, type RunSection,
} from './runs.js'

type Operation = { key: Uint8Array; value: Uint8Array | undefined }

/** A run as read: its key and its files' entries. */
export interface DecodedRun {
  readonly key: Uint8Array
  readonly sections: readonly RunSection[]
}

const RUN_TAG = Uint8Array.of(TAG_FILE_RUN)

/** One entry with its file, as a stretch lists them. */
interface Placed {
  readonly file: string
  readonly entry: RunEntry
}

/** Neighbouring runs (in key order) that one rewrite covers; `headless`: also the positions before the first run of the index. */
interface Stretch {
  runs: DecodedRun[]
  headless: boolean
  files: Set<string>
}

export function readRun(key: Uint8Array, value: Uint8Array, where: string): DecodedRun {
  return { key, sections: decodeRunSections(key, value, where) }
}

const sectionOf = (run: DecodedRun | undefined, file: string): RunSection | undefined => run?.sections.find(section => section.file === file)

/**
 * The records that put (`RunEntry`) or delete (undefined) the entries of `changes` (by file, then revision
 * number). `known` gives the runs that hold a file's entries, in key order, for a file whose runs an open
 * index keeps (no reads), else undefined. @throws VSTORE_CORRUPT naming the file when a run it must read is damaged.
 */
export async function runOperations(
  db: KeyValueStore, changes: ReadonlyMap<string, ReadonlyMap<number, RunEntry | undefined>>, known: (file: string) => readonly DecodedRun[] | undefined,
): Promise<Operation[]> {
  const stretches: Stretch[] = []
  for (const [file, mine] of changes) {
    if (mine.size === 0) continue
    stretches.push(await stretchOf(db, file, mine, known(file)))
  }
  const operations: Operation[] = []
  // One push an operation: a batch may hold more than a call's arguments can.
  for (const stretch of joined(stretches)) for (const operation of rewrite(stretch, changes)) operations.push(operation)
  return operations
}

/** The runs a file's changes touch. */
async function stretchOf(db: KeyValueStore, file: string, mine: ReadonlyMap<number, RunEntry | undefined>, known: readonly DecodedRun[] | undefined): Promise<Stretch> {
  let first = Infinity
  for (const number of mine.keys()) first = Math.min(first, number)
  const puts = [...mine.values()].every(entry => entry !== undefined)
  const where = `index:${file}`
  if (known !== undefined && known.length > 0) {
    const last = known.at(-1) as DecodedRun
    const lastRev = (sectionOf(last, file)?.entries.at(-1) as RunEntry).rev
    if (puts && first > lastRev) return { runs: [last], headless: false, files: new Set([file]) }
    // The run holding the first change: the last whose part of this file starts at or before it.
    const holding = known.findLastIndex(run => ((sectionOf(run, file)?.entries[0] as RunEntry).rev) <= first)
    if (holding >= 0) return { runs: known.slice(holding), headless: false, files: new Set([file]) }
  }
  const lastFound = await db.last(RUN_TAG, encodeRunKey(file, MAX_REVISION_NUMBER))
  const last = lastFound === undefined ? undefined : readRun(...lastFound, where)
  const lastRev = sectionOf(last, file)?.entries.at(-1)?.rev
  if (puts && (lastRev === undefined || first > lastRev)) return { runs: last === undefined ? [] : [last], headless: last === undefined, files: new Set([file]) }
  const holding = await db.last(RUN_TAG, encodeRunKey(file, first))
  const runs: DecodedRun[] = []
  const end = encodeRunKey(file, MAX_REVISION_NUMBER)
  for await (const [key, value] of db.entries(RUN_TAG, holding?.[0])) {
    if (Buffer.compare(key, end) > 0) break
    runs.push(readRun(key, value, where))
  }
  return { runs, headless: holding === undefined, files: new Set([file]) }
}

/** Stretches that share a run (or both reach back before the first run) joined: a run is rewritten once. */
function joined(stretches: readonly Stretch[]): Stretch[] {
  const startOf = (stretch: Stretch) => stretch.runs[0]?.key
  const sorted = [...stretches].sort((a, b) => {
    if (a.headless !== b.headless) return a.headless ? -1 : 1
    const x = startOf(a)
    const y = startOf(b)
    return x === undefined ? (y === undefined ? 0 : -1) : y === undefined ? 1 : Buffer.compare(x, y)
  })
  const result: (Stretch & { keys: Set<string>; end: Uint8Array | undefined })[] = []
  for (const stretch of sorted) {
    const current = result.at(-1)
    const start = startOf(stretch)
    const overlaps = current !== undefined && ((current.headless && stretch.headless) || (start !== undefined && current.end !== undefined && Buffer.compare(start, current.end) <= 0))
    if (!overlaps) {
      result.push({ runs: [...stretch.runs], headless: stretch.headless, files: new Set(stretch.files), keys: new Set(stretch.runs.map(run => toHex(run.key))), end: stretch.runs.at(-1)?.key })
      continue
    }
    for (const run of stretch.runs) {
      const hex = toHex(run.key)
      if (current.keys.has(hex)) continue
      current.keys.add(hex)
      current.runs.push(run)
      if (current.end === undefined || Buffer.compare(run.key, current.end) > 0) current.end = run.key
    }
    for (const file of stretch.files) current.files.add(file)
  }
  for (const stretch of result) stretch.runs.sort((a, b) => Buffer.compare(a.key, b.key))
  return result
}

/** A stretch's runs with its files' changes applied, written again where they changed. */
function rewrite(stretch: Stretch, changes: ReadonlyMap<string, ReadonlyMap<number, RunEntry | undefined>>): Operation[] {
  const order = fileOrder()
  const existing: Placed[] = stretch.runs.flatMap(run => run.sections.flatMap(section => section.entries.map(entry => ({ file: section.file, entry }))))
  const changed = new Set<string>()
  const puts: Placed[] = []
  for (const file of stretch.files) {
    for (const [rev, entry] of changes.get(file) ?? []) {
      changed.add(`${file}\0${rev}`)
      if (entry !== undefined) puts.push({ file, entry })
    }
  }
  puts.sort((a, b) => order(a, b))
  const lastExisting = existing.at(-1)
  const appendOnly = puts.length === changed.size && (lastExisting === undefined || order(puts[0] as Placed, lastExisting) > 0)
  const lastRun = stretch.runs.at(-1)
  if (appendOnly && lastRun !== undefined) {
    const lastCount = lastRun.sections.reduce((sum, section) => sum + section.entries.length, 0)
    if (lastCount >= TAIL_RUN_LENGTH) return written(inRuns(puts), [])
    const tail = lastRun.sections.flatMap(section => section.entries.map(entry => ({ file: section.file, entry })))
    return written(inRuns([...tail, ...puts]), [lastRun])
  }
  const kept = existing.filter(placed => !changed.has(`${placed.file}\0${placed.entry.rev}`))
  const all = [...kept, ...puts].sort((a, b) => order(a, b))
  return written(inRuns(all, activeFiles(existing, kept, puts)), stretch.runs)
}

/**
 * The files of a rewrite that keep entries it does not change beside ones it changes or adds: files in use
 * (a commit's, or a merge's that moves their newest texts), which get runs of their own, so that their next
 * changes rewrite only their own entries. A file whose entries all change (a pack rewriting it whole) or
 * that is new goes in runs with its neighbours.
 */
function activeFiles(existing: readonly Placed[], kept: readonly Placed[], puts: readonly Placed[]): Set<string> {
  const untouched = new Set(kept.map(placed => placed.file))
  const stored = new Set(existing.map(placed => placed.file))
  const had = new Set(existing.map(placed => `${placed.file}\0${placed.entry.rev}`))
  const active = new Set<string>()
  for (const { file, entry } of puts) if (untouched.has(file) || (stored.has(file) && !had.has(`${file}\0${entry.rev}`))) active.add(file)
  return active
}

/**
 * Neighbouring runs written again as a rewrite writes them (several files of few entries a run, in this
 * build's value version); where that does not encode (a damaged entry that decoded), each run as it is.
 */
export function rejoined(runs: readonly DecodedRun[]): Operation[] {
  if (runs.length === 0) return []
  try {
    return written(inRuns(runs.flatMap(run => run.sections.flatMap(section => section.entries.map(entry => ({ file: section.file, entry }))))), runs)
  } catch (error) {
    if (!(error instanceof VstoreError)) throw error
    return runs.map(run => ({ key: run.key, value: encodeRunSections(run.key, run.sections) }))
  }
}

/** A comparison of positions (file, then revision number) that encodes each file id once. */
function fileOrder(): (a: Placed, b: Placed) => number {
  const prefixes = new Map<string, Uint8Array>()
  const prefixOf = (file: string) => {
    let prefix = prefixes.get(file)
    if (prefix === undefined) prefixes.set(file, (prefix = encodeRunPrefix(file)))
    return prefix
  }
  return (a, b) => (a.file === b.file ? a.entry.rev - b.entry.rev : Buffer.compare(prefixOf(a.file), prefixOf(b.file)))
}

/** Entries (in position order) cut into runs of at most RUN_LENGTH, an `active` file's entries in runs of their own. */
function inRuns(placed: readonly Placed[], active: ReadonlySet<string> = new Set()): Placed[][] {
  const runs: Placed[][] = []
  let current: Placed[] = []
  placed.forEach((item, i) => {
    if (current.length > 0 && active.has(item.file) && (current.at(-1) as Placed).file !== item.file) {
      runs.push(current)
      current = []
    }
    current.push(item)
    const next = placed[i + 1]
    const fileEnds = next === undefined || next.file !== item.file
    if (current.length >= RUN_LENGTH || (fileEnds && active.has(item.file))) {
      runs.push(current)
      current = []
    }
  })
  if (current.length > 0) runs.push(current)
  return runs
}

/** Puts of `runs`, and deletes of the keys of `replaced` that no run takes again. */
function written(runs: readonly Placed[][], replaced: readonly DecodedRun[]): Operation[] {
  const operations: Operation[] = []
  const keys = new Set<string>()
  for (const run of runs) {
    const first = run[0] as Placed
    const key = encodeRunKey(first.file, first.entry.rev)
    const sections: { file: string; entries: RunEntry[] }[] = []
    for (const { file, entry } of run) {
      const last = sections.at(-1)
      if (last?.file === file) last.entries.push(entry)
      else sections.push({ file, entries: [entry] })
    }
    operations.push({ key, value: encodeRunSections(key, sections) })
    keys.add(toHex(key))
  }
  for (const run of replaced) if (!keys.has(toHex(run.key))) operations.push({ key: run.key, value: undefined })
  return operations
}
