/**
 * Changing a file's runs (store format 4): the runs that hold the changed revision numbers are read, the
 * entries put or deleted, and each changed run written back in pieces of at most RUN_LENGTH entries. An
 * append (the common case: a new revision numbers after every one the file has) reads and rewrites the
 * file's last run only.
 */
import type { KeyValueStore } from './leveldb.js'
import { MAX_REVISION_NUMBER, RUN_LENGTH, decodeRunKey, decodeRunValue, encodeRunKey, encodeRunPrefix, encodeRunValue, type RunEntry } from './runs.js'

type Operation = { key: Uint8Array; value: Uint8Array | undefined }

/** Past this many changes to one file, its runs are read in one scan instead of one seek a change. */
const SEEKS_BEFORE_SCAN = 32

/** A run as read: its first revision number (its key's) and its entries. */
interface Run {
  readonly start: number
  readonly entries: RunEntry[]
}

function readRun(file: string, key: Uint8Array, value: Uint8Array): Run {
  return { start: decodeRunKey(key).firstRev, entries: decodeRunValue(key, value, `index:${file}`) }
}

/**
 * The records that put (`RunEntry`) or delete (undefined) the entries of `file` in `changes`, keyed by
 * revision number. @throws VSTORE_CORRUPT naming the file when a run it must change is damaged.
 */
export async function fileRunOperations(db: KeyValueStore, file: string, changes: ReadonlyMap<number, RunEntry | undefined>): Promise<Operation[]> {
  const numbers = [...changes.keys()].sort((a, b) => a - b)
  const prefix = encodeRunPrefix(file)
  const runs = new Map<number, Run>()
  const add = (run: Run) => runs.set(run.start, run)
  const lastRun = await db.last(prefix, encodeRunKey(file, MAX_REVISION_NUMBER))
  if (lastRun !== undefined) {
    const last = readRun(file, ...lastRun)
    add(last)
    if (last.start > (numbers[0] as number)) {
      if (numbers.length > SEEKS_BEFORE_SCAN) {
        for await (const [key, value] of db.entries(prefix)) add(readRun(file, key, value))
      } else {
        for (const number of numbers) {
          if (number >= last.start) break
          const found = await db.last(prefix, encodeRunKey(file, number))
          if (found !== undefined) {
            const start = decodeRunKey(found[0]).firstRev
            if (!runs.has(start)) add(readRun(file, ...found))
            continue
          }
          // Before the file's first run: it goes into that run.
          for await (const [key, value] of db.entries(prefix)) {
            const first = readRun(file, key, value)
            if (!runs.has(first.start)) add(first)
            break
          }
        }
      }
    }
  }
  const starts = [...runs.keys()].sort((a, b) => a - b)
  // Each change goes to the run it falls in (the last starting at or before it; the first for one before all).
  const changed = new Map<number, Map<number, RunEntry | undefined>>()
  let at = 0
  for (const number of numbers) {
    while (at + 1 < starts.length && (starts[at + 1] as number) <= number) at++
    const start = starts.length === 0 ? -1 : (starts[at] as number)
    let mine = changed.get(start)
    if (mine === undefined) changed.set(start, (mine = new Map()))
    mine.set(number, changes.get(number))
  }
  const operations: Operation[] = []
  for (const [start, mine] of changed) {
    const run = runs.get(start)
    const entries = new Map<number, RunEntry>()
    for (const entry of run?.entries ?? []) entries.set(entry.rev, entry)
    for (const [number, entry] of mine) {
      if (entry === undefined) entries.delete(number)
      else entries.set(number, entry)
    }
    const sorted = [...entries.values()].sort((a, b) => a.rev - b.rev)
    const written = new Set<number>()
    for (let i = 0; i < sorted.length; i += RUN_LENGTH) {
      const piece = sorted.slice(i, i + RUN_LENGTH)
      const key = encodeRunKey(file, (piece[0] as RunEntry).rev)
      operations.push({ key, value: encodeRunValue(key, piece) })
      written.add((piece[0] as RunEntry).rev)
    }
    if (run !== undefined && !written.has(run.start)) operations.push({ key: encodeRunKey(file, run.start), value: undefined })
  }
  return operations
}
