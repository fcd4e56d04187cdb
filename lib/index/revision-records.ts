/**
 * The revision records of the run-based index layout (store formats 4 to 6, formats/index.md): `N` chunks list
 * revision ids by number, 16 to a record, and `Q` buckets find an id's number again through a hash of it.
 * Runs (lib/index/runs.ts) name revisions by these numbers only.
 */
import { createHash } from 'node:crypto'
import { ByteReader, ByteWriter, fromHex, toHex } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import { INDEX_VALUE_VERSION, REV_SHA1, REV_SHA256, REV_TEXT, openValue, readRev, revKindOf, sealValue, writeRev } from './records.js'

export const TAG_REVISIONS = 0x4e // 'N'
export const TAG_REVISION_BUCKET = 0x51 // 'Q'
/**
 * Revision ids an `N` record holds: revision number n is in chunk floor(n / 16), at n mod 16. A commit
 * rewrites the last chunk with its new ids, so a chunk is short: on jq, 64 ids would rewrite 670 bytes a
 * commit on average, 16 rewrite 170, for 0.4 more index bytes a text.
 */
export const REVISION_CHUNK_LENGTH = 16
/** Revision numbers fit 32 bits (a key holds 4 bytes of one). */
export const MAX_REVISION_NUMBER = 0xffff_ffff
const BUCKET_TAG_BYTE_LENGTH = 2

/** A key of `prefix` (its first byte replaced by `tag`) and `value` in 4 big-endian bytes, so that keys sort by it. */
export function uint32Key(tag: number, prefix: Uint8Array, value: number): Uint8Array {
  const key = new Uint8Array(prefix.length + 4)
  key.set(prefix)
  key[0] = tag
  new DataView(key.buffer).setUint32(prefix.length, value)
  return key
}

/** @throws VSTORE_USAGE for a value that is not a revision number (an integer 0 to MAX_REVISION_NUMBER). */
export function checkNumber(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_REVISION_NUMBER) throw new VstoreError('VSTORE_USAGE', `${what} ${value} is not a revision number`, 'index')
}

/** `N` and the chunk number (4 bytes, big-endian). */
export function encodeRevisionChunkKey(chunk: number): Uint8Array {
  checkNumber(chunk, 'chunk')
  return uint32Key(TAG_REVISIONS, Uint8Array.of(TAG_REVISIONS), chunk)
}

export function decodeRevisionChunkKey(key: Uint8Array, where = 'index'): number {
  const reader = new ByteReader(key, where)
  if (reader.byte() !== TAG_REVISIONS) throw reader.error('VSTORE_CORRUPT', 'not a revision chunk key')
  const number = reader.take(4)
  reader.expectEnd('revision chunk key')
  return new DataView(number.buffer, number.byteOffset, 4).getUint32(0)
}

/**
 * The revision chunk value version a writer of store formats 5 and 6 writes: one `Chunk_Kind` byte for the whole
 * chunk, so that a chunk of git commit ids keeps 20 bytes an id instead of 21. Version 1 (store format 4),
 * each id with its own kind, is still read.
 */
export const REVISION_CHUNK_VALUE_VERSION = 2

/** A chunk's revision ids, in number order. */
export function encodeRevisionChunkValue(key: Uint8Array, revs: readonly string[], version = REVISION_CHUNK_VALUE_VERSION): Uint8Array {
  if (revs.length === 0 || revs.length > REVISION_CHUNK_LENGTH) throw new VstoreError('VSTORE_USAGE', `a chunk of ${revs.length} revisions`, 'index')
  const writer = new ByteWriter(24 * revs.length + 8)
  writer.byte(version)
  writer.varint(revs.length)
  const kind = version === REVISION_CHUNK_VALUE_VERSION ? chunkKind(revs) : REV_TEXT
  if (version === REVISION_CHUNK_VALUE_VERSION) writer.byte(kind)
  for (const rev of revs) {
    if (kind === REV_TEXT) writeRev(writer, rev, true)
    else writer.bytes(fromHex(rev))
  }
  return sealValue(key, writer)
}

/** A chunk's `Chunk_Kind`: the kind all its ids share when that is a hex kind, else REV_TEXT (each id says its own). */
function chunkKind(revs: readonly string[]): number {
  const kind = revKindOf(revs[0] as string)
  return kind !== REV_TEXT && revs.every(rev => revKindOf(rev) === kind) ? kind : REV_TEXT
}

export function decodeRevisionChunkValue(key: Uint8Array, value: Uint8Array, where: string): string[] {
  const reader = openValue(key, value, where, REVISION_CHUNK_VALUE_VERSION)
  const count = reader.varint()
  if (count === 0 || count > REVISION_CHUNK_LENGTH) throw reader.error('VSTORE_CORRUPT', `a chunk of ${count} revisions`)
  const kind = value[0] === REVISION_CHUNK_VALUE_VERSION ? reader.byte() : REV_TEXT
  if (kind !== REV_TEXT && kind !== REV_SHA1 && kind !== REV_SHA256) throw reader.error('VSTORE_CORRUPT', `unknown chunk kind ${kind}`)
  const revs: string[] = []
  for (let i = 0; i < count; i++) revs.push(kind === REV_TEXT ? readRev(reader, true) : toHex(reader.take(kind === REV_SHA1 ? 20 : 32)))
  reader.expectEnd('revision chunk')
  // One encoding a chunk: ids that all share a hex kind are written under it, never each with its own.
  if (value[0] === REVISION_CHUNK_VALUE_VERSION && kind === REV_TEXT && chunkKind(revs) !== REV_TEXT) throw reader.error('VSTORE_CORRUPT', 'ids of one hex kind under Chunk_Kind 00')
  return revs
}

/**
 * Where a revision id is listed: the SHA-256 of its UTF-8 bytes, whose first byte names its `Q` bucket
 * (`key`) and whose next two tag it there (`tag`).
 */
export function revisionBucket(rev: string): { key: Uint8Array; tag: number } {
  const hash = createHash('sha256').update(rev, 'utf8').digest()
  return { key: Uint8Array.of(TAG_REVISION_BUCKET, hash[0] as number), tag: ((hash[1] as number) << 8) | (hash[2] as number) }
}

/** A bucket: the numbers of its revisions, increasing, each with its tag (a lookup reads the `N` chunk of each candidate to confirm it). */
export function encodeRevisionBucketValue(key: Uint8Array, members: readonly { readonly rev: number; readonly tag: number }[]): Uint8Array {
  const writer = new ByteWriter(6 * members.length + 8)
  writer.byte(INDEX_VALUE_VERSION)
  writer.varint(members.length)
  let previous = -1
  for (const { rev, tag } of members) {
    checkNumber(rev, 'revision')
    if (rev <= previous) throw new VstoreError('VSTORE_USAGE', `bucket member ${rev} out of order`, 'index')
    writer.varint(rev - previous - 1)
    writer.byte(tag >> 8)
    writer.byte(tag & 0xff)
    previous = rev
  }
  return sealValue(key, writer)
}

export function decodeRevisionBucketValue(key: Uint8Array, value: Uint8Array, where: string): { rev: number; tag: number }[] {
  const reader = openValue(key, value, where)
  const count = reader.varint()
  if (count > MAX_REVISION_NUMBER) throw reader.error('VSTORE_CORRUPT', `a bucket of ${count} revisions`)
  const members: { rev: number; tag: number }[] = []
  let previous = -1
  for (let i = 0; i < count; i++) {
    const rev = previous + 1 + reader.varint()
    if (rev > MAX_REVISION_NUMBER) throw reader.error('VSTORE_CORRUPT', `revision number ${rev}`)
    const tag = reader.take(BUCKET_TAG_BYTE_LENGTH)
    members.push({ rev, tag: ((tag[0] as number) << 8) | (tag[1] as number) })
    previous = rev
  }
  reader.expectEnd('revision bucket')
  return members
}
