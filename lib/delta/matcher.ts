/** The delta matcher: indexes the group's content by hashed blocks and encodes a text as copies from it and inserts. */
import { ByteWriter } from '../bytes/index.js'
import { VstoreError } from '../errors.js'

/** Width of the indexed blocks and of the rolling hash that looks them up. */
export const BLOCK_BYTE_LENGTH = 16
/** After 2^SKIP_SHIFT bytes without a match the scan steps 2 bytes at a time, then 3, and so on. */
const SKIP_SHIFT = 8
/** A candidate matching at least this far forward ends the search for a better one at this position (DESIGN.md). */
const GOOD_ENOUGH_BYTE_LENGTH = 256
const HASH_BASE = 0x01000193
/** HASH_BASE ** (BLOCK_BYTE_LENGTH - 1), mod 2^32. */
const HASH_BASE_TOP = powerMod32(HASH_BASE, BLOCK_BYTE_LENGTH - 1)

function powerMod32(base: number, exponent: number): number {
  let result = 1
  for (let i = 0; i < exponent; i++) result = Math.imul(result, base)
  return result
}

export interface MatcherOptions {
  /** Copies shorter than this are left as inserts, for the entropy coder to find. */
  readonly minCopyByteLength: number
  /** How many chained candidates are compared per position. */
  readonly maxCandidates: number
  /** Expected content size; sizes the hash table. */
  readonly expectedContentByteLength: number
}

export const DEFAULT_MATCHER_OPTIONS: MatcherOptions = {
  minCopyByteLength: 32,
  maxCandidates: 4,
  expectedContentByteLength: 2 * 1024 * 1024,
}

/** Where the literal bytes of a delta body sit, relative to the body's start. */
export interface EncodedDelta {
  readonly body: Uint8Array
  readonly literalRanges: readonly (readonly [start: number, end: number])[]
  /** How many copies point into the previous text `encode` was given. */
  readonly previousCopyCount: number
}

/**
 * The writer every `encode` builds its delta in and copies it out of (encode runs to its end without
 * yielding, so one serves all): a writer of each target's length, for a delta of a few bytes, was most of
 * what a replay of jq a commit at a time allocated. One grown past MAX_KEPT_DELTA_WRITER_BYTE_LENGTH (a
 * large text's fulltext) is let go when its delta is copied out.
 */
let scratchWriter = new ByteWriter(64 * 1024)
const MAX_KEPT_DELTA_WRITER_BYTE_LENGTH = 4 * 1024 * 1024

function deltaWriter(): ByteWriter {
  scratchWriter.reset()
  return scratchWriter
}

/** The delta built in the scratch writer, copied out; the writer let go if a large text grew it. */
function finishDelta(writer: ByteWriter): Uint8Array {
  const body = writer.finish()
  if (writer.capacity > MAX_KEPT_DELTA_WRITER_BYTE_LENGTH) scratchWriter = new ByteWriter(64 * 1024)
  return body
}

/** Bytes a match is compared one at a time before it goes on in native chunks (most candidates differ early). */
const BYTEWISE_BYTE_LENGTH = 64
/** The largest chunk a long match is compared in: chunks double from BYTEWISE_BYTE_LENGTH up to this. */
const MAX_COMPARE_CHUNK_BYTE_LENGTH = 64 * 1024
/** Node's memcmp over byte ranges of two Uint8Arrays, without making views of them. */
const compareRanges = Buffer.prototype.compare as (this: Uint8Array, target: Uint8Array, targetStart: number, targetEnd: number, sourceStart: number, sourceEnd: number) => number

/**
 * How many bytes from `source[sourceAt]` and `target[targetAt]` on are equal, at most `limit`: the first
 * 64 compared a byte at a time, then chunks of growing size compared natively (a long match is a
 * version's unchanged bulk, tens of KB; compared natively about ten times as fast as byte by byte).
 */
export function forwardMatch(source: Uint8Array, sourceAt: number, target: Uint8Array, targetAt: number, limit: number): number {
  let length = 0
  const bytewise = Math.min(limit, BYTEWISE_BYTE_LENGTH)
  while (length < bytewise && source[sourceAt + length] === target[targetAt + length]) length++
  if (length < bytewise) return length
  for (let chunk = BYTEWISE_BYTE_LENGTH; length < limit; chunk = Math.min(chunk * 2, MAX_COMPARE_CHUNK_BYTE_LENGTH)) {
    const step = Math.min(chunk, limit - length)
    if (compareRanges.call(target, source, sourceAt + length, sourceAt + length + step, targetAt + length, targetAt + length + step) !== 0) {
      // The difference is in this chunk.
      while (length < limit && source[sourceAt + length] === target[targetAt + length]) length++
      return length
    }
    length += step
  }
  return length
}

/**
 * Bucket tables given back by sources that are done (a group sealed), by size, for the next source to take:
 * a table sized for a full group is 512 KiB, and a store filled a commit at a time starts thousands of
 * groups (jq replayed a commit at a time: garbage collection was a quarter of the time). At most two of a
 * size, of at most 1 MiB each, are kept.
 */
const spareHeads = new Map<number, Int32Array[]>()

function takeHeads(bucketCount: number): Int32Array {
  const spare = spareHeads.get(bucketCount)?.pop()
  return spare === undefined ? new Int32Array(bucketCount).fill(-1) : spare
}

/** Tables larger than this (a group of large texts) are left to the garbage collector rather than kept. */
const MAX_SPARE_BUCKET_COUNT = 2 ** 18

function giveBackHeads(heads: Int32Array): void {
  if (heads.length > MAX_SPARE_BUCKET_COUNT) return
  const spare = spareHeads.get(heads.length) ?? []
  if (spare.length >= 2) return
  heads.fill(-1)
  spare.push(heads)
  spareHeads.set(heads.length, spare)
}

/**
 * Content buffers and block arrays of sources that are done, for the next source to take, as bucket tables
 * are above: each source starts with up to 64 KiB of content and 48 KiB of block arrays, and freeing them
 * was most of the garbage collection left in a replay of jq a commit at a time (a source a group and one a
 * previous text; the same previous texts come back commit after commit, so their exact lengths recur).
 * At most four of a length, of at most 1 MiB each, and 32 MiB in all: without the last bound the spares
 * held 90 MB more at the peak of jq's one-insert import (bench: 269-282 MB of RSS against 188 without
 * spares; 224 with this bound, 192 with 8 MiB) and the replay ran at 141-143 commits a second (129-134 with
 * this bound, 121-131 with 8 MiB; sizes rounded to powers of two ran 5-10 % slower still). Their old bytes
 * need no clearing: a source reads only what it wrote. Bucket tables keep their own spares (above): in this
 * pool, under its bound, they crowded the buffers out and the replay ran 118-127 a second.
 */
const spareBytes = new Map<number, Uint8Array[]>()
const spareInts = new Map<number, Int32Array[]>()
const MAX_SPARE_BUFFER_BYTE_LENGTH = 1024 * 1024
const MAX_SPARES_BYTE_LENGTH = 32 * 1024 * 1024
let sparesByteLength = 0

/** An array of `length` elements, a spare one where there is one. */
function takeSpare<T extends Uint8Array | Int32Array>(spares: Map<number, T[]>, length: number, make: (length: number) => T): T {
  const spare = spares.get(length)?.pop()
  if (spare === undefined) return make(length)
  sparesByteLength -= spare.byteLength
  return spare
}

function giveSpare<T extends Uint8Array | Int32Array>(spares: Map<number, T[]>, array: T): void {
  if (array.byteLength > MAX_SPARE_BUFFER_BYTE_LENGTH || sparesByteLength + array.byteLength > MAX_SPARES_BYTE_LENGTH) return
  const spare = spares.get(array.length) ?? []
  if (spare.length >= 4) return
  spare.push(array)
  spares.set(array.length, spare)
  sparesByteLength += array.byteLength
}

/** Buffers start at most this large and grow as content comes (their capacity never changes a delta). */
const INITIAL_CONTENT_BYTE_LENGTH = 64 * 1024
const INITIAL_BLOCK_COUNT = 4096

/** The bucket of a block hash: its top bits after a multiplicative mix (the low bits of a polynomial hash mix poorly). */
function bucketOf(hash: number, shift: number): number {
  return Math.imul(hash, 0x9e3779b1) >>> shift
}

/**
 * The source side of a group delta: the group's content so far, with a hash index of its literal
 * bytes (fulltexts and delta inserts) that grows as records are appended. `encode()` turns a new
 * text into a delta body whose copies point into this content (formats/delta.md).
 *
 * Index: every `BLOCK_BYTE_LENGTH`-byte block of literal bytes, aligned to the start of each literal
 * run, is hashed into a bucket chain (newest first, so the most recently added text, usually the
 * next-newer version of the same file, is tried first). The target is scanned with a rolling hash of
 * the same width, and a block whose hash matches is extended forwards and backwards.
 *
 * What is found: a match of at least 2 × BLOCK - 1 bytes that lies inside one literal run holds a whole
 * indexed block, so the scan can find it, and does when (1) the scan stops where that block starts in
 * the target: it stops at every byte, but after 2^SKIP_SHIFT bytes without a match it steps 2, then 3
 * bytes at a time and may pass it; and (2) the block is among the first `maxCandidates` blocks with its
 * hash in its chain. Bytes that are not literal (record headers, instruction bytes) are not indexed, so
 * bytes an earlier delta copied are found at the literal run they came from. The longest match among
 * the candidates tried wins (a candidate of 256 bytes or more ends the search), and one shorter than
 * `minCopyByteLength` stays an insert. So long matches are found in practice, not every match.
 */
export class DeltaSource {
  private content: Uint8Array
  private contentByteLength = 0
  private heads: Int32Array
  /** 32 - log2(bucket count). */
  private shift: number
  private nextBlock: Int32Array
  private blockOffsets: Int32Array
  private blockHashes: Int32Array
  private blockCount = 0
  private released = false

  constructor(private readonly options: MatcherOptions = DEFAULT_MATCHER_OPTIONS) {
    if (!(options.minCopyByteLength >= BLOCK_BYTE_LENGTH)) throw new VstoreError('VSTORE_USAGE', `minCopyByteLength must be >= ${BLOCK_BYTE_LENGTH}, got ${options.minCopyByteLength}`, 'matcher options')
    if (!(options.maxCandidates >= 1)) throw new VstoreError('VSTORE_USAGE', `maxCandidates must be >= 1, got ${options.maxCandidates}`, 'matcher options')
    const blocks = Math.max(1024, Math.ceil(options.expectedContentByteLength / BLOCK_BYTE_LENGTH))
    let bits = 12
    while (bits < 22 && 2 ** bits < blocks) bits++
    // The bucket count is what the expected content needs from the start (it decides which candidates a
    // chain offers); the other buffers only hold what has come, so they start small.
    this.heads = takeHeads(2 ** bits)
    this.shift = 32 - bits
    const blockCapacity = Math.min(blocks, INITIAL_BLOCK_COUNT)
    const ints = (length: number) => new Int32Array(length)
    this.nextBlock = takeSpare(spareInts, blockCapacity, ints)
    this.blockOffsets = takeSpare(spareInts, blockCapacity, ints)
    this.blockHashes = takeSpare(spareInts, blockCapacity, ints)
    this.content = takeSpare(spareBytes, Math.max(4096, Math.min(INITIAL_CONTENT_BYTE_LENGTH, options.expectedContentByteLength)), length => new Uint8Array(length))
  }

  /** Gives the bucket table and buffers back for the next source; this one (and any view of it) must not be used again. */
  release(): void {
    if (this.released) return
    this.released = true
    giveBackHeads(this.heads)
    this.heads = new Int32Array(0)
    for (const array of [this.nextBlock, this.blockOffsets, this.blockHashes]) giveSpare(spareInts, array)
    giveSpare(spareBytes, this.content)
    this.nextBlock = this.blockOffsets = this.blockHashes = new Int32Array(0)
    this.content = new Uint8Array(0)
    this.contentByteLength = 0
    this.blockCount = 0
  }

  get byteLength(): number {
    return this.contentByteLength
  }

  /** The content so far (a view, valid until the next append). */
  view(): Uint8Array {
    return this.content.subarray(0, this.contentByteLength)
  }

  /** Appends bytes that copies must not point into (record headers, instruction bytes). */
  appendOpaque(bytes: Uint8Array): void {
    this.reserve(bytes.length)
    this.content.set(bytes, this.contentByteLength)
    this.contentByteLength += bytes.length
  }

  /** Appends bytes and indexes `literalRanges` of them (offsets relative to `bytes`). */
  append(bytes: Uint8Array, literalRanges: readonly (readonly [number, number])[]): void {
    if (this.released) throw new Error('vstore bug: a released delta source was appended to')
    const base = this.contentByteLength
    this.appendOpaque(bytes)
    for (const [start, end] of literalRanges) this.indexRange(base + start, base + end)
  }

  private reserve(extraByteLength: number): void {
    const needed = this.contentByteLength + extraByteLength
    if (needed <= this.content.length) return
    // Grown by half (not doubled): a group of large texts reaches tens of MB, and this buffer lives as
    // long as the group is being built.
    let capacity = Math.ceil(this.content.length * 1.5)
    while (capacity < needed) capacity = Math.ceil(capacity * 1.5)
    const grown = new Uint8Array(capacity)
    grown.set(this.content.subarray(0, this.contentByteLength))
    this.content = grown
  }

  private indexRange(start: number, end: number): void {
    const content = this.content
    for (let offset = start; offset + BLOCK_BYTE_LENGTH <= end; offset += BLOCK_BYTE_LENGTH) {
      let hash = 0
      for (let i = 0; i < BLOCK_BYTE_LENGTH; i++) hash = (Math.imul(hash, HASH_BASE) + (content[offset + i] as number)) | 0
      if (this.blockCount === this.blockOffsets.length) this.growBlocks()
      const block = this.blockCount++
      this.blockOffsets[block] = offset
      this.blockHashes[block] = hash
      const bucket = bucketOf(hash, this.shift)
      this.nextBlock[block] = this.heads[bucket] as number
      this.heads[bucket] = block
    }
    // Keep chains short as a group grows past what it was sized for (a group of versions of a large
    // file): at two blocks a bucket, four times the buckets.
    let shift = this.shift
    while (this.blockCount > 2 * 2 ** (32 - shift) && shift > 8) shift -= 2
    if (shift !== this.shift) this.rehash(shift)
  }

  private growBlocks(): void {
    const grow = (array: Int32Array) => {
      const grown = new Int32Array(array.length * 2)
      grown.set(array)
      return grown
    }
    this.blockOffsets = grow(this.blockOffsets)
    this.nextBlock = grow(this.nextBlock)
    this.blockHashes = grow(this.blockHashes)
  }

  private rehash(shift: number): void {
    this.shift = shift
    giveBackHeads(this.heads)
    this.heads = takeHeads(2 ** (32 - shift))
    for (let block = 0; block < this.blockCount; block++) {
      const bucket = bucketOf(this.blockHashes[block] as number, shift)
      this.nextBlock[block] = this.heads[bucket] as number
      this.heads[bucket] = block
    }
  }

  /**
   * A source holding just `text`, all of it indexed: the previous text of a record that deltas against
   * it (formats/group.md, Delta on the previous text).
   */
  static ofText(text: Uint8Array, options: MatcherOptions = DEFAULT_MATCHER_OPTIONS): DeltaSource {
    const source = new DeltaSource({ ...options, expectedContentByteLength: Math.max(text.length, 1) })
    source.append(text, [[0, text.length]])
    return source
  }

  /**
   * Encodes `target` as a delta body against the current content. Does not change the source. With
   * `previous`, copies address `previous`'s content at `[0, previous.byteLength)` and this content after
   * it, and candidates in `previous` are tried first.
   *
   * Longer than the 80 lines a function may have, on purpose: this is the scan every insert spends its time
   * in, and its state (position, rolling hash, best match) lives in locals of one loop; split into
   * functions, it would pass that state through calls or closures once per target byte.
   */
  encode(target: Uint8Array, previous?: DeltaSource, minCopyByteLength = this.options.minCopyByteLength): EncodedDelta {
    if (this.released) throw new Error('vstore bug: a released delta source was asked for a delta')
    const writer = deltaWriter()
    writer.varint(target.length)
    const literalRanges: [number, number][] = []
    const targetEnd = target.length
    const { maxCandidates } = this.options
    const tables: DeltaSource[] = previous === undefined ? [this] : [previous, this]
    const previousByteLength = previous?.contentByteLength ?? 0
    const biases = [0, previousByteLength]
    let previousCopyCount = 0

    const emitInsert = (start: number, end: number): void => {
      if (end <= start) return
      writer.varint((end - start) * 2)
      const literalStart = writer.byteLength
      writer.bytes(target.subarray(start, end))
      literalRanges.push([literalStart, writer.byteLength])
    }

    let pending = 0
    let position = 0
    let hash = 0
    const rehash = (at: number): void => {
      hash = 0
      for (let i = 0; i < BLOCK_BYTE_LENGTH; i++) hash = (Math.imul(hash, HASH_BASE) + (target[at + i] as number)) | 0
    }
    if (targetEnd >= BLOCK_BYTE_LENGTH && tables.some(table => table.blockCount > 0)) {
      rehash(0)
      while (true) {
        let bestLength = 0
        let bestSource = 0
        let bestBack = 0
        let bestForward = 0
        search: for (let t = 0; t < tables.length; t++) {
          const table = tables[t] as DeltaSource
          const source = table.content
          const sourceEnd = table.contentByteLength
          const nextBlock = table.nextBlock
          const blockOffsets = table.blockOffsets
          const blockHashes = table.blockHashes
          let block = table.heads[bucketOf(hash, table.shift)] as number
          for (let tries = 0; block >= 0 && tries < maxCandidates; block = nextBlock[block] as number) {
            // Blocks of other hashes share the bucket; only equal hashes are worth comparing (and counting).
            if (blockHashes[block] !== hash) continue
            tries++
            const candidate = blockOffsets[block] as number
            const forwardLimit = Math.min(sourceEnd - candidate, targetEnd - position)
            // A candidate that cannot pass the best match's forward length by its byte there is not worth
            // a full comparison (versions of a large file match many candidates for megabytes).
            if (bestForward > 0 && (forwardLimit <= bestForward || source[candidate + bestForward] !== target[position + bestForward])) continue
            const forward = forwardMatch(source, candidate, target, position, forwardLimit)
            if (forward < BLOCK_BYTE_LENGTH) continue
            let back = 0
            const backLimit = Math.min(candidate, position - pending)
            while (back < backLimit && source[candidate - back - 1] === target[position - back - 1]) back++
            if (forward + back > bestLength) {
              bestLength = forward + back
              bestSource = (biases[t] as number) + candidate - back
              bestBack = back
              bestForward = forward
              // A match this long is taken as it is: trying more candidates for it costs a comparison of
              // the same length each (a group of versions holds most regions several times).
              if (forward === targetEnd - position || forward >= GOOD_ENOUGH_BYTE_LENGTH) break search
            }
          }
        }
        if (bestLength >= minCopyByteLength) {
          const copyStart = position - bestBack
          emitInsert(pending, copyStart)
          writer.varint(bestLength * 2 + 1)
          writer.varint(bestSource)
          if (bestSource < previousByteLength) previousCopyCount++
          position = copyStart + bestLength
          pending = position
          if (position + BLOCK_BYTE_LENGTH > targetEnd) break
          rehash(position)
          continue
        }
        // Far into a run without matches (new text, or bytes that do not compress), step faster.
        const step = 1 + ((position - pending) >> SKIP_SHIFT)
        if (position + step + BLOCK_BYTE_LENGTH > targetEnd) break
        if (step === 1) {
          hash = (Math.imul(hash - Math.imul(target[position] as number, HASH_BASE_TOP), HASH_BASE) + (target[position + BLOCK_BYTE_LENGTH] as number)) | 0
          position++
        } else {
          position += step
          rehash(position)
        }
      }
    }
    emitInsert(pending, targetEnd)
    return { body: finishDelta(writer), literalRanges, previousCopyCount }
  }
}
