/**
 * Changing a file's runs (store formats 4 and 5). An append (entries numbered after every one the file has: a
 * commit) adds them to the file's last run while that run is short (TAIL_RUN_LENGTH), else starts a new
 * run: a commit rewrites little, and LevelDB keeps little garbage until its next compaction. Any other
 * change (a pack moving texts, a delete, an entry numbered before the file's last) reads the runs from the
 * one that holds the first changed number to the file's end, applies the changes, and writes that tail
 * again in runs of RUN_LENGTH, which joins the short runs appends left.
 */
import type { KeyValueStore } from './leveldb.js'
import { MAX_REVISION_NUMBER, RUN_LENGTH, TAIL_RUN_LENGTH, decodeRunKey, decodeRunValue, encodeRunKey, encodeRunPrefix, encodeRunValue, type RunEntry } from './runs.js'

type Operation = { key: Uint8Array; value: Uint8Array | undefined }

/** A run as read: its first revision number (its key's) and its entries. */
interface Run {
  readonly start: number
  readonly entries: readonly RunEntry[]
}

function readRun(file: string, key: Uint8Array, value: Uint8Array): Run {
  return { start: decodeRunKey(key).firstRev, entries: decodeRunValue(key, value, `index:${file}`) }
}

/** Puts of `entries` (in number order) in runs of `length` entries, and deletes of the keys of `replaced` that no run takes again. */
function writeRuns(file: string, entries: readonly RunEntry[], length: number, replaced: readonly Run[]): Operation[] {
  const operations: Operation[] = []
  const written = new Set<number>()
  for (let i = 0; i < entries.length; i += length) {
    const piece = entries.slice(i, i + length)
    const start = (piece[0] as RunEntry).rev
    const key = encodeRunKey(file, start)
    operations.push({ key, value: encodeRunValue(key, piece) })
    written.add(start)
  }
  for (const run of replaced) if (!written.has(run.start)) operations.push({ key: encodeRunKey(file, run.start), value: undefined })
  return operations
}

/**
 * The records that put (`RunEntry`) or delete (undefined) the entries of `file` in `changes`, keyed by
 * revision number. @throws VSTORE_CORRUPT naming the file when a run it must read is damaged.
 */
export async function fileRunOperations(
  db: KeyValueStore, file: string, changes: ReadonlyMap<number, RunEntry | undefined>, known?: ReadonlyMap<number, { readonly entries: readonly RunEntry[] }>,
): Promise<Operation[]> {
  const numbers = [...changes.keys()].sort((a, b) => a - b)
  const first = numbers[0]
  if (first === undefined) return []
  if (known !== undefined) return fromKnownRuns(file, numbers, changes, known)
  const prefix = encodeRunPrefix(file)
  const found = await db.last(prefix, encodeRunKey(file, MAX_REVISION_NUMBER))
  const last = found === undefined ? undefined : readRun(file, ...found)
  const appended = appending(file, numbers, changes, last)
  if (appended !== undefined) return appended
  // The tail from the run holding the first change (the file's first run for a number before all of them).
  const tail: Run[] = []
  if (last !== undefined && first >= last.start) tail.push(last)
  else {
    const holding = await db.last(prefix, encodeRunKey(file, first))
    for await (const [key, value] of db.entries(prefix, holding?.[0])) tail.push(readRun(file, key, value))
  }
  return rewriteTail(file, numbers, changes, tail)
}

/** The records of an append (only puts, each after every entry of the file), or undefined for any other change. */
function appending(file: string, numbers: readonly number[], changes: ReadonlyMap<number, RunEntry | undefined>, last: Run | undefined): Operation[] | undefined {
  const puts = numbers.map(number => changes.get(number)).filter((entry): entry is RunEntry => entry !== undefined)
  if (puts.length !== numbers.length || (last !== undefined && (numbers[0] as number) <= (last.entries.at(-1) as RunEntry).rev)) return undefined
  if (last === undefined || last.entries.length >= TAIL_RUN_LENGTH) return writeRuns(file, puts, RUN_LENGTH, [])
  return writeRuns(file, [...last.entries, ...puts], RUN_LENGTH, [last])
}

/** fileRunOperations for a file whose runs are all known (an open index keeps them): no reads. */
function fromKnownRuns(file: string, numbers: readonly number[], changes: ReadonlyMap<number, RunEntry | undefined>, known: ReadonlyMap<number, { readonly entries: readonly RunEntry[] }>): Operation[] {
  const runs = [...known].map(([start, run]) => ({ start, entries: run.entries })).sort((a, b) => a.start - b.start)
  const appended = appending(file, numbers, changes, runs.at(-1))
  if (appended !== undefined) return appended
  const first = numbers[0] as number
  const holding = runs.findLastIndex(run => run.start <= first)
  return rewriteTail(file, numbers, changes, runs.slice(Math.max(0, holding)))
}

/** Applies the changes to the runs of a file's tail and writes that tail again in runs of RUN_LENGTH. */
function rewriteTail(file: string, numbers: readonly number[], changes: ReadonlyMap<number, RunEntry | undefined>, tail: readonly Run[]): Operation[] {
  const entries = new Map<number, RunEntry>()
  for (const run of tail) for (const entry of run.entries) entries.set(entry.rev, entry)
  for (const number of numbers) {
    const entry = changes.get(number)
    if (entry === undefined) entries.delete(number)
    else entries.set(number, entry)
  }
  return writeRuns(file, [...entries.values()].sort((a, b) => a.rev - b.rev), RUN_LENGTH, tail)
}
