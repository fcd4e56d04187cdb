import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * LevelDB's own checksums, checked by reading its files directly: LevelDB verifies them only when asked,
 * and classic-level does not ask. Tables (`*.ldb`, `*.sst`): the footer's magic and zero padding, and the
 * masked CRC-32C of every block (data, filter, meta index, index) that the index and meta index blocks
 * name. Logs and manifests: the CRC-32C of every complete record and the zeros of block trailers (a record
 * cut off by the end of the file is a write in progress, not damage). Returns one line per damaged file.
 */
export async function checkLevelDbFiles(dir: string): Promise<{ file: string; message: string }[]> {
  const problems: { file: string; message: string }[] = []
  for (const name of (await readdir(dir)).sort()) {
    const isTable = /\.(ldb|sst)$/.test(name)
    const isLog = /\.log$/.test(name) || /^MANIFEST-\d+$/.test(name)
    if (!isTable && !isLog) continue
    let bytes: Uint8Array
    try {
      bytes = new Uint8Array(await readFile(join(dir, name)))
    } catch (error) {
      // A compaction may remove a file between the listing and the read.
      if ((error as { code?: string }).code === 'ENOENT') continue
      throw error
    }
    try {
      if (isTable) checkTable(bytes)
      else checkLog(bytes)
    } catch (error) {
      problems.push({ file: name, message: error instanceof Error ? error.message : String(error) })
    }
  }
  return problems
}

// ---- CRC-32C (Castagnoli), as LevelDB stores it: masked ----

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

export function crc32c(parts: readonly Uint8Array[]): number {
  let crc = 0xffffffff
  for (const bytes of parts) for (const byte of bytes) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8)
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
function varint(bytes: Uint8Array, at: { offset: number }, end = bytes.length): number {
  let value = 0
  for (let shift = 0; shift < 64; shift += 7) {
    if (at.offset >= end) throw new Error(`varint runs past ${end}`)
    const byte = bytes[at.offset++] as number
    value += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) return value
  }
  throw new Error('varint longer than 10 bytes')
}

// ---- tables ----

const TABLE_MAGIC = [0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]
const FOOTER_BYTE_LENGTH = 48
const BLOCK_TRAILER_BYTE_LENGTH = 5

interface BlockHandle {
  readonly offset: number
  readonly byteLength: number
}

function checkTable(bytes: Uint8Array): void {
  if (bytes.length < FOOTER_BYTE_LENGTH) throw new Error(`table of ${bytes.length} bytes, shorter than its footer`)
  const footer = bytes.length - FOOTER_BYTE_LENGTH
  for (let i = 0; i < 8; i++) if (bytes[bytes.length - 8 + i] !== TABLE_MAGIC[i]) throw new Error('bad table magic')
  const at = { offset: footer }
  const metaIndex = { offset: varint(bytes, at, footer + 40), byteLength: varint(bytes, at, footer + 40) }
  const index = { offset: varint(bytes, at, footer + 40), byteLength: varint(bytes, at, footer + 40) }
  for (let i = at.offset; i < footer + 40; i++) if (bytes[i] !== 0) throw new Error(`footer padding byte at ${i} is not zero`)
  for (const handle of [...blockHandles(checkedBlock(bytes, index, footer)), ...blockHandles(checkedBlock(bytes, metaIndex, footer))]) {
    checkedBlock(bytes, handle, footer)
  }
}

/** The block's contents (uncompressed), after checking that it lies before `end` and its CRC. */
function checkedBlock(bytes: Uint8Array, handle: BlockHandle, end: number): Uint8Array {
  const { offset, byteLength } = handle
  if (offset + byteLength + BLOCK_TRAILER_BYTE_LENGTH > end) throw new Error(`block at ${offset} of ${byteLength} bytes runs past ${end}`)
  const contents = bytes.subarray(offset, offset + byteLength)
  const type = bytes.subarray(offset + byteLength, offset + byteLength + 1)
  const stored = unmask(uint32At(bytes, offset + byteLength + 1))
  if (crc32c([contents, type]) !== stored) throw new Error(`block at ${offset}: CRC-32C mismatch`)
  if (type[0] === 0) return contents
  if (type[0] === 1) return snappyDecompress(contents)
  throw new Error(`block at ${offset}: compression type ${type[0]}`)
}

/** The block handles an index or meta index block holds as its values. */
function blockHandles(block: Uint8Array): BlockHandle[] {
  if (block.length < 4) throw new Error('block shorter than its restart count')
  const restartCount = uint32At(block, block.length - 4)
  const entriesEnd = block.length - 4 - 4 * restartCount
  if (entriesEnd < 0) throw new Error(`${restartCount} restarts do not fit a block of ${block.length} bytes`)
  const handles: BlockHandle[] = []
  const at = { offset: 0 }
  while (at.offset < entriesEnd) {
    varint(block, at, entriesEnd) // bytes shared with the previous key
    const unshared = varint(block, at, entriesEnd)
    const valueByteLength = varint(block, at, entriesEnd)
    at.offset += unshared
    const valueEnd = at.offset + valueByteLength
    if (valueEnd > entriesEnd) throw new Error('block entry runs past the restarts')
    handles.push({ offset: varint(block, at, valueEnd), byteLength: varint(block, at, valueEnd) })
    at.offset = valueEnd
  }
  return handles
}

export function snappyDecompress(source: Uint8Array): Uint8Array {
  const at = { offset: 0 }
  const byteLength = varint(source, at)
  if (byteLength > 64 * source.length + 64) throw new Error(`snappy block claims ${byteLength} bytes from ${source.length}`)
  const output = new Uint8Array(byteLength)
  let produced = 0
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
  return output
}

// ---- logs and manifests ----

const LOG_BLOCK_BYTE_LENGTH = 32768
const LOG_HEADER_BYTE_LENGTH = 7

function checkLog(bytes: Uint8Array): void {
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

// ---- salvage: the user keys the files hold, without LevelDB ----

export interface SalvagedKeys {
  /** Every user key (put, not deleted) found in readable blocks and records, by file. */
  readonly keysByFile: ReadonlyMap<string, readonly Uint8Array[]>
  /** Files, or parts of them, that could not be read: `undefined` keys when none could be named. */
  readonly damaged: readonly { readonly file: string; readonly message: string; readonly keys: readonly Uint8Array[] }[]
}

/**
 * Reads the user keys out of an index directory that LevelDB refuses to open: each table's data blocks
 * (a block whose checksum fails is still parsed as far as it goes, and its keys are the damaged ones) and
 * each log's write batches. For naming what damage affects; never for reading values.
 */
export async function salvageLevelDbKeys(dir: string): Promise<SalvagedKeys> {
  const keysByFile = new Map<string, Uint8Array[]>()
  const damaged: { file: string; message: string; keys: Uint8Array[] }[] = []
  for (const name of (await readdir(dir)).sort()) {
    const isTable = /\.(ldb|sst)$/.test(name)
    const isLog = /\.log$/.test(name)
    if (!isTable && !isLog) continue
    const bytes = new Uint8Array(await readFile(join(dir, name)))
    const keys: Uint8Array[] = []
    keysByFile.set(name, keys)
    if (isLog) {
      try {
        for (const batch of logRecords(bytes)) keys.push(...batchPutKeys(batch))
      } catch (error) {
        damaged.push({ file: name, message: errorMessage(error), keys: [] })
      }
      continue
    }
    let handles: BlockHandle[]
    try {
      const footer = bytes.length - FOOTER_BYTE_LENGTH
      if (footer < 0) throw new Error('shorter than its footer')
      const at = { offset: footer }
      varint(bytes, at, footer + 40)
      varint(bytes, at, footer + 40)
      const index = { offset: varint(bytes, at, footer + 40), byteLength: varint(bytes, at, footer + 40) }
      handles = blockHandles(checkedBlock(bytes, index, footer))
    } catch (error) {
      // Without the index block, the blocks are found by their checksums, from the start of the file.
      damaged.push({ file: name, message: `its index block or footer: ${errorMessage(error)}`, keys: [] })
      handles = blocksByChecksum(bytes)
    }
    for (const handle of handles) {
      let contents: Uint8Array
      let problem: string | undefined
      try {
        contents = checkedBlock(bytes, handle, bytes.length - FOOTER_BYTE_LENGTH)
      } catch (error) {
        problem = errorMessage(error)
        const raw = bytes.subarray(handle.offset, Math.min(bytes.length, handle.offset + handle.byteLength))
        const type = bytes[handle.offset + handle.byteLength]
        try {
          contents = type === 1 ? snappyDecompress(raw) : raw
        } catch {
          contents = raw
        }
      }
      const found = blockUserKeys(contents)
      if (problem === undefined) keys.push(...found)
      else damaged.push({ file: name, message: problem, keys: found })
    }
  }
  return { keysByFile, damaged }
}

/**
 * The blocks laid back to back from the start of a table, each found as the shortest run whose trailer's
 * CRC-32C matches (one pass per block); stops at the first block not found so.
 */
function blocksByChecksum(bytes: Uint8Array): BlockHandle[] {
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

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The user keys of a data block's live entries, as far as the entries parse (internal key = user key, then 8 bytes of sequence and type). */
function blockUserKeys(block: Uint8Array): Uint8Array[] {
  const keys: Uint8Array[] = []
  if (block.length < 4) return keys
  const restartCount = uint32At(block, block.length - 4)
  const entriesEnd = Math.max(0, block.length - 4 - 4 * restartCount)
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
      at.offset += unshared + valueByteLength
      previous = key
      if (key.length >= 8 && key[key.length - 8] === 1) keys.push(key.slice(0, key.length - 8))
    }
  } catch {
    // A damaged entry ends the list: the keys before it are what can be named.
  }
  return keys
}

/** Whole records of a log (fragments joined), stopping at the first damaged one. */
function logRecords(bytes: Uint8Array): Uint8Array[] {
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
    if (crc32c([bytes.subarray(offset + 6, end)]) !== unmask(uint32At(bytes, offset))) throw new Error(`record at ${offset}: CRC-32C mismatch`)
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

/** The keys a write batch puts (12-byte header, then tag 1 = put key value, tag 0 = delete key). */
function batchPutKeys(batch: Uint8Array): Uint8Array[] {
  const keys: Uint8Array[] = []
  const at = { offset: 12 }
  while (at.offset < batch.length) {
    const tag = batch[at.offset++]
    const keyByteLength = varint(batch, at)
    const key = batch.slice(at.offset, at.offset + keyByteLength)
    at.offset += keyByteLength
    if (tag === 1) {
      const valueByteLength = varint(batch, at)
      at.offset += valueByteLength
      keys.push(key)
    } else if (tag !== 0) {
      throw new Error(`write batch tag ${tag}`)
    }
  }
  return keys
}
