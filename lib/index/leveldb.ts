/** The LevelDB adapter (the only importer of classic-level): a KeyValueStore of Uint8Array keys and values, its errors translated once. */
import { ClassicLevel } from 'classic-level'
import { compareBytes } from '../bytes/index.js'
import { VstoreError, messageOf } from '../errors.js'
import type { IndexCheck } from './index-check.js'
import type { IndexDamage } from './leveldb-files.js'

/** The little of LevelDB the index uses, in Uint8Array keys and values. */
export interface KeyValueStore {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  /** Applies puts (value given) and deletes (value undefined) atomically; `sync` waits for the disk. */
  write(operations: readonly { key: Uint8Array; value: Uint8Array | undefined }[], options: { sync: boolean }): Promise<void>
  /**
   * Entries whose keys start with `prefix`, in key order, optionally from `from` (inclusive).
   * @throws VSTORE_CORRUPT, before the first entry, when a damaged block may hold keys of that range; with
   * `aroundDamage`, the entries outside every damaged range instead (for verify, which names the rest).
   */
  entries(prefix: Uint8Array, from?: Uint8Array, options?: { readonly aroundDamage?: boolean }): AsyncIterable<[Uint8Array, Uint8Array]>
  /**
   * The last entry whose key starts with `prefix` and is at most `atOrBefore` (a run's key holds its first
   * file and revision: the run that may hold a text is the last one at or before it), or undefined.
   * @throws VSTORE_CORRUPT when a damaged block may hold that entry or one after it (damage further back does not matter).
   */
  last(prefix: Uint8Array, atOrBefore: Uint8Array): Promise<[Uint8Array, Uint8Array] | undefined>
  /** Damage found in the index's files so far (IndexCheck): reads that may touch it throw. */
  readonly damage: readonly IndexDamage[]
  /** Rewrites the log and tables into compacted, compressed tables. */
  compact(): Promise<void>
  close(): Promise<void>
}

/**
 * LevelDB's message, with its cause's when it has one: abstract-level wraps the reason an open failed
 * ("IO error: …/000011.log: No space left on device") in a bare "Database failed to open".
 */
function levelDbMessage(error: unknown): string {
  const message = messageOf(error)
  const cause = (error as { cause?: unknown } | null)?.cause
  const causeMessage = cause instanceof Error ? cause.message : undefined
  return causeMessage === undefined || causeMessage === '' || message.includes(causeMessage) ? message : `${message}: ${causeMessage}`
}

function translate(error: unknown, where: string, doing: string): VstoreError {
  const code = (error as { code?: string } | null)?.code
  const causeCode = ((error as { cause?: { code?: string } } | null)?.cause)?.code
  const message = levelDbMessage(error)
  if (code === 'LEVEL_LOCKED' || causeCode === 'LEVEL_LOCKED') {
    return new VstoreError('VSTORE_LOCKED', 'another process has this store open for writing', where, { cause: error })
  }
  if (code === 'LEVEL_CORRUPTION' || causeCode === 'LEVEL_CORRUPTION') {
    return new VstoreError('VSTORE_CORRUPT', `index: ${message}`, where, { cause: error })
  }
  return new VstoreError('VSTORE_IO', `${doing}: ${message}`, where, { cause: error })
}

function view(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * LevelDB's table block size (its default is 4 KiB). Snappy and the shared key prefixes do better over
 * larger blocks: one insert of jq, index 418,570 → 383,291 bytes (87.2 → 79.9 a text), of express+lodash
 * 352,892 → 334,191, with extraction p50 unchanged (0.95 / 0.92 ms, 400 keys cold); 64 KiB blocks (with
 * restarts every 64 keys) made 74.7 and 40.7 a text but extraction 5–10 % slower.
 */
export const INDEX_BLOCK_BYTE_LENGTH = 16 * 1024

/** Upper bound for keys starting with `prefix`: the prefix with its last non-FF byte incremented. */
function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = prefix.slice()
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1
      return end.subarray(0, i + 1)
    }
  }
  return undefined
}

/** Whether the keys from `start` (inclusive) to `end` (exclusive; undefined: no end) meet the damaged range. */
function meets(damage: IndexDamage, start: Uint8Array, end: Uint8Array | undefined): boolean {
  const afterStart = damage.lastKey === undefined || compareBytes(damage.lastKey, start) >= 0
  const beforeEnd = end === undefined || damage.firstKey === undefined || compareBytes(damage.firstKey, end) < 0
  return afterStart && beforeEnd
}

/** The smallest key after `key`. */
function successor(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.length + 1)
  next.set(key)
  return next
}

/**
 * The parts of the keys from `start` (inclusive) to `end` (exclusive) that no damage touches: each damaged
 * range is skipped from its first key to just after its last one, so no iterator is asked to seek into it.
 */
function undamagedRanges(damage: readonly IndexDamage[], start: Uint8Array, end: Uint8Array | undefined): { gte: Uint8Array; lt: Uint8Array | undefined }[] {
  const touching = damage.filter(part => meets(part, start, end)).sort((a, b) =>
    a.firstKey === undefined ? -1 : b.firstKey === undefined ? 1 : compareBytes(a.firstKey, b.firstKey))
  const ranges: { gte: Uint8Array; lt: Uint8Array | undefined }[] = []
  let cursor: Uint8Array | undefined = start
  for (const part of touching) {
    if (cursor === undefined) break
    if (part.firstKey !== undefined && compareBytes(cursor, part.firstKey) < 0) ranges.push({ gte: cursor, lt: part.firstKey })
    if (part.lastKey === undefined) cursor = undefined
    else if (compareBytes(successor(part.lastKey), cursor) > 0) cursor = successor(part.lastKey)
  }
  if (cursor !== undefined && (end === undefined || compareBytes(cursor, end) < 0)) ranges.push({ gte: cursor, lt: end })
  return ranges
}

function damageError(part: IndexDamage, where: string): VstoreError {
  return new VstoreError('VSTORE_CORRUPT', `a damaged part of the index may hold it (index/${part.file}: ${part.message})`, where)
}

type RangeCheck = (start: Uint8Array, end: Uint8Array | undefined) => Promise<void>

/** Checks the checksums of the blocks a read may touch (IndexCheck), an unreadable file as VSTORE_IO. */
function rangeChecker(check: IndexCheck | undefined, where: string): RangeCheck {
  return async (start, end) => {
    try {
      await check?.check(start, end)
    } catch (error) {
      throw translate(error, where, 'cannot read index')
    }
  }
}

/**
 * Whether an iteration's corruption error came from the damaged block just past the range it was asked
 * for: to learn that a range has ended, LevelDB reads the block after its last key, and a damaged one fails
 * to decode. Then every key of the range was read already: the first damaged block after the last key read
 * (`position`) starts at or past the range's end (blocks before it are intact, so the error came from it).
 * Only a reader's checked index (`checked`) can have damage to stop at.
 */
async function stoppedAtDamage(
  error: unknown, position: Uint8Array, lt: Uint8Array | undefined, checked: { damage: readonly IndexDamage[]; checkRange: RangeCheck } | undefined,
): Promise<boolean> {
  const code = (error as { code?: string } | null)?.code
  const causeCode = ((error as { cause?: { code?: string } } | null)?.cause)?.code
  if ((code !== 'LEVEL_CORRUPTION' && causeCode !== 'LEVEL_CORRUPTION') || lt === undefined || checked === undefined) return false
  await checked.checkRange(position, undefined)
  const next = checked.damage.filter(part => part.firstKey !== undefined && compareBytes(part.firstKey, position) >= 0)
    .sort((a, b) => compareBytes(a.firstKey as Uint8Array, b.firstKey as Uint8Array))[0]
  return next !== undefined && compareBytes(lt, next.firstKey as Uint8Array) <= 0
}

/**
 * Opens the LevelDB at `path`.
 * @throws VSTORE_LOCKED when another process holds it, VSTORE_CORRUPT when LevelDB finds damage, VSTORE_IO otherwise.
 */
/** LevelDB itself, opened: Uint8Array keys and values, snappy-compressed blocks of the given size. */
async function openClassicLevel(path: string, where: string, options: { create: boolean; blockByteLength?: number }): Promise<ClassicLevel<Uint8Array, Uint8Array>> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing: options.create,
    compression: true,
    blockSize: options.blockByteLength ?? INDEX_BLOCK_BYTE_LENGTH,
  })
  try {
    await db.open()
  } catch (error) {
    throw translate(error, where, 'cannot open index')
  }
  return db
}

/**
 * KeyValueStore.last. Only the blocks around `atOrBefore` are checked, not the whole range from `prefix`: a
 * search reads back from there, and stops above any damage already known (what lies in it may be the answer).
 */
async function lastAtOrBefore(
  index: { db: ClassicLevel<Uint8Array, Uint8Array>; check: IndexCheck | undefined; damage: readonly IndexDamage[]; guard: RangeCheck; where: string },
  prefix: Uint8Array, atOrBefore: Uint8Array,
): Promise<[Uint8Array, Uint8Array] | undefined> {
  const { db, damage, where } = index
  await index.check?.checkLast(prefix, atOrBefore)
  const end = successor(atOrBefore)
  const below = damage.filter(part => meets(part, prefix, end))
  const open = below.find(part => part.lastKey === undefined)
  if (open !== undefined) throw damageError(open, where)
  const top = below.reduce<IndexDamage | undefined>((a, b) => (a === undefined || compareBytes(b.lastKey as Uint8Array, a.lastKey as Uint8Array) > 0 ? b : a), undefined)
  let found: [Uint8Array, Uint8Array] | undefined
  try {
    const range = top === undefined ? { gte: prefix, lte: atOrBefore } : { gt: top.lastKey as Uint8Array, lte: atOrBefore }
    for await (const [key, value] of db.iterator({ ...range, reverse: true, limit: 1 })) found = [view(key), view(value)]
  } catch (error) {
    throw translate(error, where, 'cannot read index')
  }
  // Keys deleted since their table was written can send the search further back than the blocks checked:
  // check what it crossed, and refuse an answer that damage may have given or hidden.
  const from = found?.[0] ?? (top === undefined ? prefix : successor(top.lastKey as Uint8Array))
  await index.guard(from, end)
  if (found === undefined && top !== undefined) throw damageError(top, where)
  return found
}

export async function openLevelDb(path: string, where: string, options: { create: boolean; check?: IndexCheck; blockByteLength?: number }): Promise<KeyValueStore> {
  const check = options.check
  const damage: readonly IndexDamage[] = check?.damage ?? []
  const checkRange = rangeChecker(check, where)
  // A read of the keys from `start` to `end` (exclusive) that damage may touch is refused.
  const guard = async (start: Uint8Array, end: Uint8Array | undefined) => {
    await checkRange(start, end)
    const hit = damage.find(part => meets(part, start, end))
    if (hit !== undefined) throw damageError(hit, where)
  }
  const db = await openClassicLevel(path, where, options)
  return {
    damage,
    async get(key) {
      await guard(key, successor(key))
      try {
        const value = await db.get(key)
        return value === undefined ? undefined : view(value)
      } catch (error) {
        if ((error as { code?: string }).code === 'LEVEL_NOT_FOUND') return undefined
        throw translate(error, where, 'cannot read index')
      }
    },
    async write(operations, { sync }) {
      try {
        await db.batch(operations.map(({ key, value }) => value === undefined
          ? { type: 'del' as const, key }
          : { type: 'put' as const, key, value }), { sync })
      } catch (error) {
        throw translate(error, where, 'cannot write index')
      }
    },
    async last(prefix, atOrBefore) {
      return lastAtOrBefore({ db, check, damage, guard, where }, prefix, atOrBefore)
    },
    async *entries(prefix, from, entryOptions) {
      const start = from ?? prefix
      const end = prefixEnd(prefix)
      // Around damage means knowing all of it; otherwise only this range's blocks need checking.
      if (entryOptions?.aroundDamage === true) await checkRange(new Uint8Array(0), undefined)
      else await guard(start, end)
      for (const { gte, lt } of undamagedRanges(damage, start, end)) {
        let last: Uint8Array | undefined
        try {
          for await (const [key, value] of db.iterator(lt === undefined ? { gte } : { gte, lt })) {
            last = view(key)
            yield [last, view(value)]
          }
        } catch (error) {
          if (!(await stoppedAtDamage(error, last ?? gte, lt, check === undefined ? undefined : { damage, checkRange }))) throw translate(error, where, 'cannot read index')
        }
      }
    },
    async compact() {
      try {
        await db.compactRange(Uint8Array.of(0), Uint8Array.of(0xff, 0xff, 0xff, 0xff))
      } catch (error) {
        throw translate(error, where, 'cannot compact index')
      }
    },
    async close() {
      await db.close()
      await check?.close()
    },
  }
}
