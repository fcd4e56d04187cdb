import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * What damage to an index directory's files hides: the user keys it may affect, from `firstKey` to
 * `lastKey` inclusive (undefined: from the first key, or to the last, of the whole key space), and the user
 * keys the damaged part still names as far as it parses (for saying what is lost; never for reading values).
 */
export interface IndexDamage {
  readonly file: string
  readonly message: string
  readonly firstKey: Uint8Array | undefined
  readonly lastKey: Uint8Array | undefined
  readonly keys: readonly Uint8Array[]
  /** The entries behind `keys` (user key, value), for a repair that can check each by its own checksum. */
  readonly entries: readonly IndexEntry[]
}

/** A key and value read out of an index file. */
export interface IndexEntry {
  readonly key: Uint8Array
  readonly value: Uint8Array
}

/**
 * LevelDB's own checksums, checked by reading its files directly: LevelDB verifies them only when asked,
 * and classic-level does not ask, so a damaged block is read as whatever it decodes to (a get that misses,
 * an iteration that ends early: a shorter answer, never an error). Tables (`*.ldb`, `*.sst`): the footer's
 * magic and zero padding, and the masked CRC-32C of every block (data, filter, meta index, index) that the
 * index and meta index blocks name. A damaged data block hides the keys between the index block's
 * separators around it; damage anywhere else in a table (its footer, index, filters), or in a log or
 * manifest (a record LevelDB would drop), may hide any key. A record cut off by the end of a log is a write
 * in progress, not damage. Returns one entry per damaged part, in file order.
 */
export async function findIndexDamage(dir: string): Promise<IndexDamage[]> {
  // Damage is there every time; what a writer's concurrent compaction or manifest switch shows once is not.
  let previous: string | undefined
  for (let attempt = 1; ; attempt++) {
    const damage = await findIndexDamageOnce(dir)
    const seen = damage.map(part => `${part.file}: ${part.message}`).join('\n')
    if (damage.length === 0 || seen === previous || attempt >= 4) return damage
    previous = seen
    await new Promise(resolve => setTimeout(resolve, 20 * attempt))
  }
}

async function findIndexDamageOnce(dir: string): Promise<IndexDamage[]> {
  for (let attempt = 1; ; attempt++) {
    const live = await liveFiles(dir)
    if (live.damage !== undefined) return [live.damage]
    const damage: IndexDamage[] = []
    let moved = false
    for (const file of live.files) {
      let bytes: Uint8Array
      try {
        bytes = new Uint8Array(await readFile(join(dir, file.name)))
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOENT') throw error
        // A writer's compaction may retire a table (or a log) between the manifest and the read: look again.
        moved = true
        damage.push({ file: file.name, message: 'a file the manifest names is missing', firstKey: file.firstKey, lastKey: file.lastKey, keys: [], entries: [] })
        continue
      }
      if (file.kind === 'table') damage.push(...(await tableDamage(file.name, bytes, file)))
      else {
        const found = logDamage(file, bytes)
        if (found !== undefined) damage.push(found)
      }
    }
    if (!moved || attempt >= 3) return damage
  }
}

/**
 * The damage of a log or manifest held whole in `bytes` (a record LevelDB would drop may hide any key), with
 * the keys of the log's batches before it; or undefined.
 */
export function logDamage(file: LiveFile, bytes: Uint8Array): IndexDamage | undefined {
  try {
    checkLog(bytes)
    return undefined
  } catch (error) {
    const entries: IndexEntry[] = []
    try {
      if (file.kind === 'log') for (const batch of logRecords(bytes, { stopAtDamage: true })) entries.push(...batchPuts(batch))
    } catch {
      // The keys of the batches before the damage are all that can be named.
    }
    return { file: file.name, message: errorMessage(error), firstKey: undefined, lastKey: undefined, keys: entries.map(entry => entry.key), entries }
  }
}

/** A file of the index's current version: tables with the user keys they span, logs, the manifest. */
export interface LiveFile {
  readonly name: string
  readonly kind: 'table' | 'log' | 'manifest'
  readonly firstKey: Uint8Array | undefined
  readonly lastKey: Uint8Array | undefined
}

/**
 * The files LevelDB reads for the current version, from `CURRENT` and the manifest it names: the tables its
 * edits add and do not delete (a table a compaction is still writing is in no edit, so it is not read
 * half-written), the logs from the edits' log number on, and the manifest itself. Or, when `CURRENT` or the
 * manifest cannot be read, that as damage to the whole index.
 */
export async function liveFiles(dir: string): Promise<{ files: LiveFile[]; damage?: undefined } | { files?: undefined; damage: IndexDamage }> {
  const whole = (file: string, message: string) => ({ damage: { file, message, firstKey: undefined, lastKey: undefined, keys: [], entries: [] } })
  let manifestName: string
  let manifest: Uint8Array
  try {
    manifestName = (await readFile(join(dir, 'CURRENT'), 'utf8')).trim()
    if (!/^MANIFEST-\d+$/.test(manifestName)) return whole('CURRENT', `names ${JSON.stringify(manifestName.slice(0, 40))}, not a manifest`)
    manifest = new Uint8Array(await readFile(join(dir, manifestName)))
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return whole('CURRENT', `the manifest it names is missing: ${errorMessage(error)}`)
    throw error
  }
  let version: ManifestVersion
  try {
    version = parseManifest(manifest)
  } catch (error) {
    return whole(manifestName, errorMessage(error))
  }
  const named = versionFileNames(version, new Set(await readdir(dir)))
  return {
    files: [
      { name: manifestName, kind: 'manifest', firstKey: undefined, lastKey: undefined },
      ...named.tables.map(({ name, firstKey, lastKey }) => ({ name, kind: 'table' as const, firstKey, lastKey })),
      ...named.logs.map(name => ({ name, kind: 'log' as const, firstKey: undefined, lastKey: undefined })),
    ],
  }
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

/**
 * The file names of a version's tables (`NNNNNN.ldb`, or `.sst` where only that is in `names`, as older
 * LevelDBs wrote) and of its logs among `names` (from its log number on, and the previous log).
 */
export function versionFileNames(version: ManifestVersion, names: ReadonlySet<string>): {
  tables: { name: string; firstKey: Uint8Array; lastKey: Uint8Array }[]
  logs: string[]
} {
  const tables = [...version.tables].map(([number, span]) => {
    const base = String(number).padStart(6, '0')
    return { name: names.has(`${base}.sst`) && !names.has(`${base}.ldb`) ? `${base}.sst` : `${base}.ldb`, ...span }
  })
  const logs = [...names].sort().filter(name => {
    const log = /^(\d+)\.log$/.exec(name)
    return log !== null && (Number(log[1]) >= version.logNumber || (version.previousLogNumber !== 0 && Number(log[1]) === version.previousLogNumber))
  })
  return { tables, logs }
}

// ---- CRC-32C (Castagnoli), as LevelDB stores it: masked ----

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
/** A block's compression type byte and masked CRC-32C, after its contents. */
export const BLOCK_TRAILER_BYTE_LENGTH = 5

interface BlockHandle {
  readonly offset: number
  readonly byteLength: number
}

/** The user key of an internal key (LevelDB appends 8 bytes of sequence number and type). */
function userKeyOf(internalKey: Uint8Array): Uint8Array {
  return internalKey.subarray(0, Math.max(0, internalKey.length - 8))
}

/** Bytes of one file at an offset (fewer at its end). */
export type ReadAt = (offset: number, byteLength: number) => Promise<Uint8Array>

/** A table's data block: where it is, and the user keys it may hold (inclusive; undefined: from the first key). */
export interface DataBlock {
  readonly firstKey: Uint8Array | undefined
  readonly lastKey: Uint8Array
  readonly offset: number
  readonly byteLength: number
}

/**
 * A table's data blocks, read through its footer and index block, after checking the footer (magic, zero
 * padding) and the CRC-32C of the index block, the meta index block and the filter blocks it names (a
 * damaged filter can make a get miss a key that is there, in any block). Block i holds the keys after
 * separator i-1 (the same user key may go on, with older sequence numbers) up to separator i; the first
 * block's keys start at the table's first key (`span`, from the manifest).
 * @throws Error saying what is damaged.
 */
export async function mapTable(fileByteLength: number, read: ReadAt, span: { readonly firstKey: Uint8Array | undefined }): Promise<DataBlock[]> {
  const footer = fileByteLength - FOOTER_BYTE_LENGTH
  if (footer < 0) throw new Error(`table of ${fileByteLength} bytes, shorter than its footer`)
  const footerBytes = await read(footer, FOOTER_BYTE_LENGTH)
  for (let i = 0; i < 8; i++) if (footerBytes[40 + i] !== TABLE_MAGIC[i]) throw new Error('bad table magic')
  const at = { offset: 0 }
  const metaIndex = { offset: varint(footerBytes, at, 40), byteLength: varint(footerBytes, at, 40) }
  const index = { offset: varint(footerBytes, at, 40), byteLength: varint(footerBytes, at, 40) }
  for (let i = at.offset; i < 40; i++) if (footerBytes[i] !== 0) throw new Error(`footer padding byte at ${footer + i} is not zero`)
  const block = async (handle: BlockHandle, decode: boolean): Promise<Uint8Array> => {
    if (handle.offset + handle.byteLength + BLOCK_TRAILER_BYTE_LENGTH > footer) {
      throw new Error(`block at ${handle.offset} of ${handle.byteLength} bytes runs past ${footer}`)
    }
    return checkedBlockBytes(await read(handle.offset, handle.byteLength + BLOCK_TRAILER_BYTE_LENGTH), handle.offset, { decode })
  }
  const entries = blockEntries(await block(index, true))
  for (const { handle } of blockEntries(await block(metaIndex, true))) await block(handle, false)
  return entries.map(({ key, handle }, i) => ({
    firstKey: i === 0 ? span.firstKey : userKeyOf((entries[i - 1] as { key: Uint8Array }).key).slice(),
    lastKey: userKeyOf(key).slice(),
    offset: handle.offset,
    byteLength: handle.byteLength,
  }))
}

/** The damage of a data block read with its trailer (`bytes`), or undefined when its CRC-32C checks. */
export function dataBlockDamage(file: string, block: DataBlock, bytes: Uint8Array): IndexDamage | undefined {
  try {
    if (bytes.length !== block.byteLength + BLOCK_TRAILER_BYTE_LENGTH) throw new Error(`block at ${block.offset} is cut short`)
    checkedBlockBytes(bytes, block.offset, { decode: false })
    return undefined
  } catch (error) {
    const entries = blockPuts(rawBlock(bytes, { offset: 0, byteLength: block.byteLength }))
    return { file, message: errorMessage(error), firstKey: block.firstKey, lastKey: block.lastKey, keys: entries.map(entry => entry.key), entries }
  }
}

/** A whole table's damage: the keys the manifest says it spans, and the keys its blocks still name (found by their checksums). */
export function wholeTableDamage(file: string, bytes: Uint8Array, message: string, span: { readonly firstKey: Uint8Array | undefined; readonly lastKey: Uint8Array | undefined }): IndexDamage {
  const entries = blocksByChecksum(bytes).flatMap(handle => blockPuts(rawBlock(bytes, handle)))
  return { file, message, firstKey: span.firstKey, lastKey: span.lastKey, keys: entries.map(entry => entry.key), entries }
}

/** The damage of one table held whole in `bytes`: its data blocks by their key ranges, anything else as the whole table. */
async function tableDamage(file: string, bytes: Uint8Array, span: { readonly firstKey: Uint8Array | undefined; readonly lastKey: Uint8Array | undefined }): Promise<IndexDamage[]> {
  const read: ReadAt = async (offset, byteLength) => bytes.subarray(offset, offset + byteLength)
  let blocks: DataBlock[]
  try {
    blocks = await mapTable(bytes.length, read, span)
  } catch (error) {
    return [wholeTableDamage(file, bytes, errorMessage(error), span)]
  }
  const damage: IndexDamage[] = []
  for (const block of blocks) {
    const found = dataBlockDamage(file, block, bytes.subarray(block.offset, block.offset + block.byteLength + BLOCK_TRAILER_BYTE_LENGTH))
    if (found !== undefined) damage.push(found)
  }
  return damage
}

/**
 * A block's contents as far as they decode, checksum or not (for naming the keys of a damaged block): a
 * compressed block whose damage stops its decoding gives what came before, with its restarts cut off.
 */
function rawBlock(bytes: Uint8Array, handle: BlockHandle): { block: Uint8Array; whole: boolean } {
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
function checkedBlock(bytes: Uint8Array, handle: BlockHandle, end: number, options = { decode: true }): Uint8Array {
  const { offset, byteLength } = handle
  if (offset + byteLength + BLOCK_TRAILER_BYTE_LENGTH > end) throw new Error(`block at ${offset} of ${byteLength} bytes runs past ${end}`)
  return checkedBlockBytes(bytes.subarray(offset, offset + byteLength + BLOCK_TRAILER_BYTE_LENGTH), offset, options)
}

/** checkedBlock of one block read with its 5-byte trailer; `offset` is where it is in its file, for messages. */
function checkedBlockBytes(bytes: Uint8Array, offset: number, options = { decode: true }): Uint8Array {
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
function blockEntries(block: Uint8Array): { key: Uint8Array; handle: BlockHandle }[] {
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
      handles = blockEntries(checkedBlock(bytes, index, footer)).map(entry => entry.handle)
    } catch (error) {
      // Without the index block, the blocks are found by their checksums, from the start of the file.
      damaged.push({ file: name, message: `its index block or footer: ${errorMessage(error)}`, keys: [] })
      handles = blocksByChecksum(bytes)
    }
    for (const handle of handles) {
      try {
        keys.push(...blockUserKeys({ block: checkedBlock(bytes, handle, bytes.length - FOOTER_BYTE_LENGTH), whole: true }))
      } catch (error) {
        damaged.push({ file: name, message: errorMessage(error), keys: blockUserKeys(rawBlock(bytes, handle)) })
      }
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

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The user keys of a data block's live entries, as far as the entries parse (internal key = user key, then 8 bytes of sequence and type). */
function blockUserKeys(raw: { block: Uint8Array; whole: boolean }): Uint8Array[] {
  return blockPuts(raw).map(entry => entry.key)
}

/** The live entries (puts) of a data block, as far as they parse: user key (internal key = user key, then 8 bytes of sequence and type) and value. */
function blockPuts({ block, whole }: { block: Uint8Array; whole: boolean }): IndexEntry[] {
  const entries: IndexEntry[] = []
  if (whole && block.length < 4) return entries
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
      if (key.length >= 8 && key[key.length - 8] === 1) entries.push({ key: key.slice(0, key.length - 8), value })
    }
  } catch {
    // A damaged entry ends the list: the keys before it are what can be named.
  }
  return entries
}

/** Whole records of a log (fragments joined): an error at the first damaged one, or with `stopAtDamage` the records before it. */
function logRecords(bytes: Uint8Array, options = { stopAtDamage: false }): Uint8Array[] {
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

/** The keys a write batch puts (12-byte header, then tag 1 = put key value, tag 0 = delete key). */
function batchPutKeys(batch: Uint8Array): Uint8Array[] {
  return batchPuts(batch).map(entry => entry.key)
}

/** The entries a write batch puts (12-byte header, then tag 1 = put key value, tag 0 = delete key). */
function batchPuts(batch: Uint8Array): IndexEntry[] {
  const entries: IndexEntry[] = []
  const at = { offset: 12 }
  while (at.offset < batch.length) {
    const tag = batch[at.offset++]
    const keyByteLength = varint(batch, at)
    const key = batch.slice(at.offset, at.offset + keyByteLength)
    at.offset += keyByteLength
    if (tag === 1) {
      const valueByteLength = varint(batch, at)
      entries.push({ key, value: batch.slice(at.offset, at.offset + valueByteLength) })
      at.offset += valueByteLength
    } else if (tag !== 0) {
      throw new Error(`write batch tag ${tag}`)
    }
  }
  return entries
}
