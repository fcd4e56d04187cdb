/**
 * LevelDB's file formats, read without LevelDB, for checking its files and naming what damage takes:
 * CRC-32C as LevelDB masks it, varints, snappy blocks, table blocks and their entries, log records and
 * write batches, and manifest edits. lib/index/leveldb-files.ts finds damage with these.
 */
/** A key and value read out of an index file. */
export interface IndexEntry {
  readonly key: Uint8Array
  readonly value: Uint8Array
  /** LevelDB's sequence number of the write, where the file gives it: of two versions of a key, the larger is the newer. */
  readonly sequence?: number
}

/** A delete of a key read out of an index file, with its sequence number. */
export interface IndexDeletion {
  readonly key: Uint8Array
  readonly sequence: number
}

/** The sequence number in an internal key's last 8 bytes (little-endian: the type byte, then 7 bytes of sequence). */
function sequenceOf(internalKey: Uint8Array): number {
  let sequence = 0
  for (let i = 6; i >= 0; i--) sequence = sequence * 256 + (internalKey[internalKey.length - 7 + i] as number)
  return sequence
}

/** What a manifest's edits add up to: the live tables by file number, with the user keys each spans, and the log numbers. */
export interface ManifestVersion {
  readonly tables: ReadonlyMap<number, { readonly firstKey: Uint8Array; readonly lastKey: Uint8Array }>
  readonly logNumber: number
  readonly previousLogNumber: number
}

/**
 * Replays a manifest's version edits (a record cut off at its end is a write in progress).
 * @throws Error for an edit that does not parse.
 */
export function parseManifest(manifest: Uint8Array): ManifestVersion {
  const tables = new Map<number, { firstKey: Uint8Array; lastKey: Uint8Array }>()
  let logNumber = 0
  let previousLogNumber = 0
  for (const edit of logRecords(manifest, { stopAtDamage: true })) {
    const at = { offset: 0 }
    const slice = (): Uint8Array => {
      const byteLength = varint(edit, at)
      if (at.offset + byteLength > edit.length) throw new Error('manifest edit runs past its record')
      at.offset += byteLength
      return edit.subarray(at.offset - byteLength, at.offset)
    }
    while (at.offset < edit.length) {
      const tag = varint(edit, at)
      if (tag === 1) slice() // comparator name
      else if (tag === 2) logNumber = varint(edit, at)
      else if (tag === 3 || tag === 4) varint(edit, at) // next file number, last sequence
      else if (tag === 5) { varint(edit, at); slice() } // compaction pointer
      else if (tag === 6) { varint(edit, at); tables.delete(varint(edit, at)) }
      else if (tag === 7) {
        varint(edit, at) // level
        const number = varint(edit, at)
        varint(edit, at) // file size
        tables.set(number, { firstKey: userKeyOf(slice()).slice(), lastKey: userKeyOf(slice()).slice() })
      } else if (tag === 9) previousLogNumber = varint(edit, at)
      else throw new Error(`manifest edit tag ${tag}`)
    }
  }
  return { tables, logNumber, previousLogNumber }
}

/** Eight tables for slicing-by-8: table k maps a byte k positions before the end of an 8-byte step. */
const CRC32C_TABLES = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256))
  const first = tables[0] as Uint32Array
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    first[n] = c >>> 0
  }
  for (let k = 1; k < 8; k++) {
    const previous = tables[k - 1] as Uint32Array
    const table = tables[k] as Uint32Array
    for (let n = 0; n < 256; n++) table[n] = ((first[(previous[n] as number) & 0xff] as number) ^ ((previous[n] as number) >>> 8)) >>> 0
  }
  return tables
})()
const CRC32C_TABLE = CRC32C_TABLES[0] as Uint32Array

/** CRC-32C of the parts one after another, eight bytes a step (every open checks the whole index with it). */
export function crc32c(parts: readonly Uint8Array[]): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC32C_TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array]
  let crc = 0xffffffff
  for (const bytes of parts) {
    let i = 0
    const stepsEnd = bytes.length - (bytes.length % 8)
    for (; i < stepsEnd; i += 8) {
      const low = (crc ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24))) >>> 0
      crc = (t7[low & 0xff] as number) ^ (t6[(low >>> 8) & 0xff] as number) ^ (t5[(low >>> 16) & 0xff] as number) ^ (t4[low >>> 24] as number)
        ^ (t3[bytes[i + 4] as number] as number) ^ (t2[bytes[i + 5] as number] as number) ^ (t1[bytes[i + 6] as number] as number) ^ (t0[bytes[i + 7] as number] as number)
    }
    for (; i < bytes.length; i++) crc = (t0[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8)
  }
  return (crc ^ 0xffffffff) >>> 0
}

function unmask(masked: number): number {
  const rotated = (masked - 0xa282ead8) >>> 0
  return ((rotated >>> 17) | (rotated << 15)) >>> 0
}

function uint32At(bytes: Uint8Array, offset: number): number {
  if (offset + 4 > bytes.length) throw new Error(`needs 4 bytes at ${offset}, file has ${bytes.length}`)
  return ((bytes[offset] as number) | ((bytes[offset + 1] as number) << 8) | ((bytes[offset + 2] as number) << 16) | ((bytes[offset + 3] as number) << 24)) >>> 0
}

/** A varint of up to 64 bits (LevelDB's), as a number; `at` is advanced. */
export function varint(bytes: Uint8Array, at: { offset: number }, end = bytes.length): number {
  let value = 0
  for (let shift = 0; shift < 64; shift += 7) {
    if (at.offset >= end) throw new Error(`varint runs past ${end}`)
    const byte = bytes[at.offset++] as number
    value += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) return value
  }
  throw new Error('varint longer than 10 bytes')
}

export const TABLE_MAGIC = [0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]
export const FOOTER_BYTE_LENGTH = 48
/** A block's compression type byte and masked CRC-32C, after its contents. */
export const BLOCK_TRAILER_BYTE_LENGTH = 5

export interface BlockHandle {
  readonly offset: number
  readonly byteLength: number
}

/** The user key of an internal key (LevelDB appends 8 bytes of sequence number and type). */
export function userKeyOf(internalKey: Uint8Array): Uint8Array {
  return internalKey.subarray(0, Math.max(0, internalKey.length - 8))
}

/**
 * A block's contents as far as they decode, checksum or not (for naming the keys of a damaged block): a
 * compressed block whose damage stops its decoding gives what came before, with its restarts cut off.
 */
export function rawBlock(bytes: Uint8Array, handle: BlockHandle): { block: Uint8Array; whole: boolean } {
  const raw = bytes.subarray(handle.offset, Math.min(bytes.length, handle.offset + handle.byteLength))
  if (bytes[handle.offset + handle.byteLength] !== 1) return { block: raw, whole: true }
  const decoded = { produced: new Uint8Array(0) }
  try {
    return { block: snappyDecompress(raw, decoded), whole: true }
  } catch {
    return { block: decoded.produced, whole: false }
  }
}

/**
 * The block's contents (uncompressed), after checking that it lies before `end` and its CRC; with
 * `decode` false only the check (data blocks need not be decompressed to be checked).
 */
export function checkedBlock(bytes: Uint8Array, handle: BlockHandle, end: number, options = { decode: true }): Uint8Array {
  const { offset, byteLength } = handle
  if (offset + byteLength + BLOCK_TRAILER_BYTE_LENGTH > end) throw new Error(`block at ${offset} of ${byteLength} bytes runs past ${end}`)
  return checkedBlockBytes(bytes.subarray(offset, offset + byteLength + BLOCK_TRAILER_BYTE_LENGTH), offset, options)
}

/** checkedBlock of one block read with its 5-byte trailer; `offset` is where it is in its file, for messages. */
export function checkedBlockBytes(bytes: Uint8Array, offset: number, options = { decode: true }): Uint8Array {
  const byteLength = bytes.length - BLOCK_TRAILER_BYTE_LENGTH
  const contents = bytes.subarray(0, byteLength)
  const type = bytes.subarray(byteLength, byteLength + 1)
  const stored = unmask(uint32At(bytes, byteLength + 1))
  if (crc32c([contents, type]) !== stored) throw new Error(`block at ${offset}: CRC-32C mismatch`)
  if (type[0] === 0 || !options.decode) return contents
  if (type[0] === 1) return snappyDecompress(contents)
  throw new Error(`block at ${offset}: compression type ${type[0]}`)
}

/** The entries of an index or meta index block: each key, and the block handle it holds as its value. */
export function blockEntries(block: Uint8Array): { key: Uint8Array; handle: BlockHandle }[] {
  if (block.length < 4) throw new Error('block shorter than its restart count')
  const restartCount = uint32At(block, block.length - 4)
  const entriesEnd = block.length - 4 - 4 * restartCount
  if (entriesEnd < 0) throw new Error(`${restartCount} restarts do not fit a block of ${block.length} bytes`)
  const entries: { key: Uint8Array; handle: BlockHandle }[] = []
  const at = { offset: 0 }
  let previous = new Uint8Array(0)
  while (at.offset < entriesEnd) {
    const shared = varint(block, at, entriesEnd)
    const unshared = varint(block, at, entriesEnd)
    const valueByteLength = varint(block, at, entriesEnd)
    if (shared > previous.length || at.offset + unshared > entriesEnd) throw new Error('block entry runs past the restarts')
    const key = new Uint8Array(shared + unshared)
    key.set(previous.subarray(0, shared))
    key.set(block.subarray(at.offset, at.offset + unshared), shared)
    at.offset += unshared
    const valueEnd = at.offset + valueByteLength
    if (valueEnd > entriesEnd) throw new Error('block entry runs past the restarts')
    entries.push({ key, handle: { offset: varint(block, at, valueEnd), byteLength: varint(block, at, valueEnd) } })
    at.offset = valueEnd
    previous = key
  }
  return entries
}

/** Snappy's block format; on an error, `partial.produced` holds what was decoded before it. */
export function snappyDecompress(source: Uint8Array, partial?: { produced: Uint8Array }): Uint8Array {
  const at = { offset: 0 }
  const byteLength = varint(source, at)
  if (byteLength > 64 * source.length + 64) throw new Error(`snappy block claims ${byteLength} bytes from ${source.length}`)
  const output = new Uint8Array(byteLength)
  let produced = 0
  try {
    while (at.offset < source.length) {
      const tag = source[at.offset++] as number
      const kind = tag & 3
      if (kind === 0) {
        let length = tag >>> 2
        if (length >= 60) {
          const lengthBytes = length - 59
          length = 0
          for (let i = 0; i < lengthBytes; i++) length += (source[at.offset++] ?? 0) * 2 ** (8 * i)
        }
        length += 1
        if (at.offset + length > source.length || produced + length > byteLength) throw new Error('snappy literal runs past its end')
        output.set(source.subarray(at.offset, at.offset + length), produced)
        at.offset += length
        produced += length
        continue
      }
      let length: number
      let distance: number
      if (kind === 1) {
        length = ((tag >>> 2) & 7) + 4
        distance = ((tag >>> 5) << 8) | (source[at.offset++] ?? 0)
      } else if (kind === 2) {
        length = (tag >>> 2) + 1
        distance = (source[at.offset] ?? 0) | ((source[at.offset + 1] ?? 0) << 8)
        at.offset += 2
      } else {
        length = (tag >>> 2) + 1
        distance = uint32At(source, at.offset)
        at.offset += 4
      }
      if (at.offset > source.length || distance === 0 || distance > produced || produced + length > byteLength) throw new Error('snappy copy out of range')
      for (let i = 0; i < length; i++, produced++) output[produced] = output[produced - distance] as number
    }
    if (produced !== byteLength) throw new Error(`snappy block gives ${produced} bytes, claims ${byteLength}`)
  } catch (error) {
    if (partial !== undefined) partial.produced = output.subarray(0, produced)
    throw error
  }
  return output
}

const LOG_BLOCK_BYTE_LENGTH = 32768
const LOG_HEADER_BYTE_LENGTH = 7

export function checkLog(bytes: Uint8Array): void {
  let offset = 0
  while (offset < bytes.length) {
    const blockEnd = Math.min(bytes.length, (Math.floor(offset / LOG_BLOCK_BYTE_LENGTH) + 1) * LOG_BLOCK_BYTE_LENGTH)
    if (blockEnd - offset < LOG_HEADER_BYTE_LENGTH) {
      // A block's last bytes when no header fits: zeros.
      for (let i = offset; i < blockEnd; i++) if (bytes[i] !== 0) throw new Error(`block trailer byte at ${i} is not zero`)
      offset = blockEnd
      continue
    }
    const length = (bytes[offset + 4] as number) | ((bytes[offset + 5] as number) << 8)
    const type = bytes[offset + 6] as number
    const end = offset + LOG_HEADER_BYTE_LENGTH + length
    if (end > blockEnd) {
      // A record the end of the file cuts is a write in progress; inside the file it is damage.
      if (blockEnd === bytes.length) return
      throw new Error(`record at ${offset} of ${length} bytes runs past its block`)
    }
    if (type === 0 && length === 0) {
      offset = end
      continue
    }
    const stored = unmask(uint32At(bytes, offset))
    if (crc32c([bytes.subarray(offset + 6, end)]) !== stored) throw new Error(`record at ${offset}: CRC-32C mismatch`)
    offset = end
  }
}

/**
 * The blocks laid back to back from the start of a table, each found as the shortest run whose trailer's
 * CRC-32C matches (one pass per block); stops at the first block not found so.
 */
export function blocksByChecksum(bytes: Uint8Array): BlockHandle[] {
  const handles: BlockHandle[] = []
  let start = 0
  while (start + BLOCK_TRAILER_BYTE_LENGTH <= bytes.length) {
    let crc = 0xffffffff
    let found = -1
    for (let end = start; end + BLOCK_TRAILER_BYTE_LENGTH <= bytes.length; end++) {
      const type = bytes[end] as number
      const withType = ((CRC32C_TABLE[(crc ^ type) & 0xff] as number) ^ (crc >>> 8)) >>> 0
      if (((withType ^ 0xffffffff) >>> 0) === unmask(uint32At(bytes, end + 1)) && (type === 0 || type === 1)) {
        found = end
        break
      }
      crc = ((CRC32C_TABLE[(crc ^ (bytes[end] as number)) & 0xff] as number) ^ (crc >>> 8)) >>> 0
    }
    if (found < 0) break
    handles.push({ offset: start, byteLength: found - start })
    start = found + BLOCK_TRAILER_BYTE_LENGTH
  }
  return handles
}

/** The live entries (puts) of a data block, as far as they parse: user key (internal key = user key, then 8 bytes of sequence and type) and value. */
export function blockPuts(raw: { block: Uint8Array; whole: boolean }): IndexEntry[] {
  return blockRecords(raw).puts
}

/** blockPuts, and the deletes among the block's entries too. */
export function blockRecords({ block, whole }: { block: Uint8Array; whole: boolean }): { puts: IndexEntry[]; deletes: IndexDeletion[] } {
  const entries: IndexEntry[] = []
  const deletes: IndexDeletion[] = []
  if (whole && block.length < 4) return { puts: entries, deletes }
  // A block cut short has lost its restarts at the end: its entries run to where it stops.
  const entriesEnd = whole ? Math.max(0, block.length - 4 - 4 * uint32At(block, block.length - 4)) : block.length
  const at = { offset: 0 }
  let previous = new Uint8Array(0)
  try {
    while (at.offset < entriesEnd) {
      const shared = varint(block, at, entriesEnd)
      const unshared = varint(block, at, entriesEnd)
      const valueByteLength = varint(block, at, entriesEnd)
      if (shared > previous.length || at.offset + unshared + valueByteLength > entriesEnd) break
      const key = new Uint8Array(shared + unshared)
      key.set(previous.subarray(0, shared))
      key.set(block.subarray(at.offset, at.offset + unshared), shared)
      at.offset += unshared
      const value = block.slice(at.offset, at.offset + valueByteLength)
      at.offset += valueByteLength
      previous = key
      if (key.length < 8) continue
      if (key[key.length - 8] === 1) entries.push({ key: key.slice(0, key.length - 8), value, sequence: sequenceOf(key) })
      else if (key[key.length - 8] === 0) deletes.push({ key: key.slice(0, key.length - 8), sequence: sequenceOf(key) })
    }
  } catch {
    // A damaged entry ends the list: the keys before it are what can be named.
  }
  return { puts: entries, deletes }
}

/** Whole records of a log (fragments joined): an error at the first damaged one, or with `stopAtDamage` the records before it. */
export function logRecords(bytes: Uint8Array, options: { stopAtDamage: boolean; damaged?: (record: Uint8Array) => void; resumeAfterDamage?: boolean } = { stopAtDamage: false }): Uint8Array[] {
  const records: Uint8Array[] = []
  let pending: Uint8Array[] = []
  let offset = 0
  while (offset + LOG_HEADER_BYTE_LENGTH <= bytes.length) {
    const blockEnd = Math.min(bytes.length, (Math.floor(offset / LOG_BLOCK_BYTE_LENGTH) + 1) * LOG_BLOCK_BYTE_LENGTH)
    if (blockEnd - offset < LOG_HEADER_BYTE_LENGTH) {
      offset = blockEnd
      continue
    }
    const length = (bytes[offset + 4] as number) | ((bytes[offset + 5] as number) << 8)
    const type = bytes[offset + 6] as number
    const end = offset + LOG_HEADER_BYTE_LENGTH + length
    if (end > blockEnd) break
    if (crc32c([bytes.subarray(offset + 6, end)]) !== unmask(uint32At(bytes, offset))) {
      // A whole record that fails its checksum is still handed over, to name what it held.
      if (type === 1) options.damaged?.(bytes.subarray(offset + LOG_HEADER_BYTE_LENGTH, end))
      // As LevelDB replays a log: the rest of the damaged 32 KiB block is dropped, the next blocks are read.
      if (options.resumeAfterDamage === true) {
        pending = []
        offset = blockEnd
        continue
      }
      if (options.stopAtDamage) break
      throw new Error(`record at ${offset}: CRC-32C mismatch`)
    }
    const data = bytes.subarray(offset + LOG_HEADER_BYTE_LENGTH, end)
    if (type === 1) records.push(data)
    else if (type === 2) pending = [data]
    else if (type === 3) pending.push(data)
    else if (type === 4) {
      pending.push(data)
      const whole = new Uint8Array(pending.reduce((sum, part) => sum + part.length, 0))
      let at = 0
      for (const part of pending) {
        whole.set(part, at)
        at += part.length
      }
      records.push(whole)
      pending = []
    }
    offset = end
  }
  return records
}


/** The entries a write batch puts (12-byte header, then tag 1 = put key value, tag 0 = delete key). */
export function batchPuts(batch: Uint8Array): IndexEntry[] {
  return batchRecords(batch).puts
}

/**
 * The puts and deletes of a write batch, each with its sequence number (the batch's first, from its 12-byte
 * header, plus its place in the batch).
 */
export function batchRecords(batch: Uint8Array, options = { lenient: false }): { puts: IndexEntry[]; deletes: IndexDeletion[] } {
  const entries: IndexEntry[] = []
  const deletes: IndexDeletion[] = []
  if (options.lenient) {
    // A damaged batch: what parses before the damage (each value is checked by its own checksum later).
    try {
      return batchRecords(batch)
    } catch {
      return { puts: entries, deletes }
    }
  }
  let sequence = 0
  for (let i = 7; i >= 0; i--) sequence = sequence * 256 + (batch[i] ?? 0)
  const at = { offset: 12 }
  while (at.offset < batch.length) {
    const tag = batch[at.offset++]
    const keyByteLength = varint(batch, at)
    const key = batch.slice(at.offset, at.offset + keyByteLength)
    at.offset += keyByteLength
    if (tag === 1) {
      const valueByteLength = varint(batch, at)
      entries.push({ key, value: batch.slice(at.offset, at.offset + valueByteLength), sequence })
      at.offset += valueByteLength
    } else if (tag === 0) {
      deletes.push({ key, sequence })
    } else {
      throw new Error(`write batch tag ${tag}`)
    }
    sequence++
  }
  return { puts: entries, deletes }
}
