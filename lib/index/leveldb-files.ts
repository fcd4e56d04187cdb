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
