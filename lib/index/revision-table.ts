/**
 * The store's revision ids by number (store formats 4 to 6, formats/index.md): `N` chunks list them in number
 * order, `Q` buckets find a number from an id. An open index keeps what it has read in memory: numbers and
 * ids never change once given (a writer only appends), so nothing read goes stale.
 */
import { VstoreError } from '../errors.js'
import type { KeyValueStore } from './leveldb.js'
import {
  MAX_REVISION_NUMBER, REVISION_CHUNK_LENGTH, TAG_REVISIONS, decodeRevisionBucketValue, decodeRevisionChunkKey, decodeRevisionChunkValue,
  encodeRevisionBucketValue, encodeRevisionChunkKey, encodeRevisionChunkValue, revisionBucket,
} from './runs.js'

type Operation = { key: Uint8Array; value: Uint8Array | undefined }

/** Ids remembered as absent (RevisionTable.absent) before the list starts again. */
const ABSENT_ID_COUNT = 4096

/** Revision ids given numbers by a batch: the records that list them, and what to remember once they are written. */
export interface NumberedRevisions {
  readonly numbers: ReadonlyMap<string, number>
  readonly operations: readonly Operation[]
  /** Call once the operations are durable: the table then answers for the new numbers. */
  readonly written: () => void
}

export class RevisionTable {
  /** Chunks read or written, by chunk number (the last may be partial). */
  private readonly chunks = new Map<number, string[]>()
  private readonly numbers = new Map<string, number>()
  /**
   * Ids looked up and not found. Only this table's own commits number ids (a writer holds the store's lock,
   * a reader reads a copy no one writes), and an id it numbers is in `numbers`, asked first: an id absent
   * once stays absent. An insert looks each of its keys up before it numbers them, a bucket read each (the
   * jq replay: 6,771 index reads, 3.7 an insert, most of them for the one new revision id of the commit).
   */
  private readonly absent = new Set<string>()
  private knownCount: number | undefined

  constructor(private readonly db: KeyValueStore) {}

  /** The ids of chunk `chunk`, or undefined when there is none. @throws VSTORE_CORRUPT when its record is damaged. */
  async chunk(chunk: number): Promise<readonly string[] | undefined> {
    // A chunk read or written stays current: only this index's own commits add ids (to the last chunk).
    const cached = this.chunks.get(chunk)
    if (cached !== undefined) return cached
    const key = encodeRevisionChunkKey(chunk)
    const value = await this.db.get(key)
    if (value === undefined) return undefined
    const revs = decodeRevisionChunkValue(key, value, `index:revisions ${chunk * REVISION_CHUNK_LENGTH}-`)
    this.remember(chunk, revs)
    return revs
  }

  private remember(chunk: number, revs: string[]): void {
    this.chunks.set(chunk, revs)
    revs.forEach((rev, i) => this.numbers.set(rev, chunk * REVISION_CHUNK_LENGTH + i))
  }

  /** The id of revision number `number` when its chunk was read already (no read, no wait), else undefined. */
  knownRev(number: number): string | undefined {
    return this.chunks.get(Math.floor(number / REVISION_CHUNK_LENGTH))?.[number % REVISION_CHUNK_LENGTH]
  }

  /** The id of revision number `number`. @throws VSTORE_CORRUPT when the index lists none (a run names a number never given). */
  async revOf(number: number, where: string): Promise<string> {
    const rev = (await this.chunk(Math.floor(number / REVISION_CHUNK_LENGTH)))?.[number % REVISION_CHUNK_LENGTH]
    if (rev === undefined) throw new VstoreError('VSTORE_CORRUPT', `revision number ${number} is not in the index's revision list`, where)
    return rev
  }

  /** The number of a revision id, or undefined when no text of the store has it (as its key, a parent or an origin). */
  async numberOf(rev: string): Promise<number | undefined> {
    return this.lookUp(rev, new Map())
  }

  /** numberOf, with the buckets read so far (`buckets`, by bucket byte) read once. */
  private async lookUp(rev: string, buckets: Map<number, { key: Uint8Array; members: { rev: number; tag: number }[] }>): Promise<number | undefined> {
    const known = this.numbers.get(rev)
    if (known !== undefined || this.absent.has(rev)) return known
    const { key, tag } = revisionBucket(rev)
    const bucket = await this.bucket(key, buckets)
    for (const member of bucket.members) {
      if (member.tag === tag && (await this.revOf(member.rev, `index:revision bucket ${key[1]}`)) === rev) return member.rev
    }
    if (this.absent.size >= ABSENT_ID_COUNT) this.absent.clear()
    this.absent.add(rev)
    return undefined
  }

  /** A bucket's members (none for a bucket not written yet), from `buckets` or read into it. */
  private async bucket(key: Uint8Array, buckets: Map<number, { key: Uint8Array; members: { rev: number; tag: number }[] }>): Promise<{ key: Uint8Array; members: { rev: number; tag: number }[] }> {
    const known = buckets.get(key[1] as number)
    if (known !== undefined) return known
    const value = await this.db.get(key)
    const bucket = { key, members: value === undefined ? [] : decodeRevisionBucketValue(key, value, `index:revision bucket ${key[1]}`) }
    buckets.set(key[1] as number, bucket)
    return bucket
  }

  /** How many revision ids are numbered (the next number to give). */
  async count(): Promise<number> {
    if (this.knownCount !== undefined) return this.knownCount
    const last = await this.db.last(Uint8Array.of(TAG_REVISIONS), encodeRevisionChunkKey(MAX_REVISION_NUMBER))
    if (last === undefined) this.knownCount = 0
    else {
      const chunk = decodeRevisionChunkKey(last[0])
      const revs = decodeRevisionChunkValue(last[0], last[1], `index:revisions ${chunk * REVISION_CHUNK_LENGTH}-`)
      this.remember(chunk, revs)
      this.knownCount = chunk * REVISION_CHUNK_LENGTH + revs.length
    }
    return this.knownCount
  }

  /**
   * Numbers the ids of `revs` that have none yet, in their order, after every number given: the chunk and
   * bucket records to write. Nothing is remembered until `written` is called.
   */
  async number(revs: Iterable<string>): Promise<NumberedRevisions> {
    const numbers = new Map<string, number>()
    const fresh: string[] = []
    // The buckets read to look the ids up, read once: those that gain members are written from them.
    const read = new Map<number, { key: Uint8Array; members: { rev: number; tag: number }[] }>()
    for (const rev of revs) {
      if (numbers.has(rev)) continue
      const number = await this.lookUp(rev, read)
      if (number !== undefined) numbers.set(rev, number)
      else {
        numbers.set(rev, -1)
        fresh.push(rev)
      }
    }
    if (fresh.length === 0) return { numbers, operations: [], written: () => {} }
    const start = await this.count()
    if (start + fresh.length - 1 > MAX_REVISION_NUMBER) throw new VstoreError('VSTORE_LIMIT', `more than ${MAX_REVISION_NUMBER + 1} revisions`, 'index')
    fresh.forEach((rev, i) => numbers.set(rev, start + i))
    const operations: Operation[] = []
    // The chunks the new ids fall in: the last one grows, then new ones.
    const chunks = new Map<number, string[]>()
    for (let i = 0; i < fresh.length; i++) {
      const number = start + i
      const chunk = Math.floor(number / REVISION_CHUNK_LENGTH)
      let revs = chunks.get(chunk)
      if (revs === undefined) {
        revs = [...((await this.chunk(chunk)) ?? [])]
        chunks.set(chunk, revs)
      }
      revs.push(fresh[i] as string)
    }
    for (const [chunk, revs] of chunks) {
      const key = encodeRevisionChunkKey(chunk)
      operations.push({ key, value: encodeRevisionChunkValue(key, revs) })
    }
    // Each bucket that gains members, written once, its members copied (nothing is remembered before `written`).
    const buckets = new Map<number, { key: Uint8Array; members: { rev: number; tag: number }[] }>()
    for (const rev of fresh) {
      const { key, tag } = revisionBucket(rev)
      let bucket = buckets.get(key[1] as number)
      if (bucket === undefined) {
        bucket = { key, members: [...(await this.bucket(key, read)).members] }
        buckets.set(key[1] as number, bucket)
      }
      bucket.members.push({ rev: numbers.get(rev) as number, tag })
    }
    for (const { key, members } of buckets.values()) operations.push({ key, value: encodeRevisionBucketValue(key, members) })
    return {
      numbers,
      operations,
      written: () => {
        for (const rev of fresh) this.absent.delete(rev)
        for (const [chunk, revs] of chunks) this.remember(chunk, revs)
        this.knownCount = start + fresh.length
      },
    }
  }
}
