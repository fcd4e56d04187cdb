/** Damage in LevelDB's files, found without LevelDB: which logs, blocks and records fail their checksums, and the keys they still name. */
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { messageOf } from '../errors.js'
import {
  BLOCK_TRAILER_BYTE_LENGTH, type BlockHandle, FOOTER_BYTE_LENGTH, type IndexDeletion, type IndexEntry, type ManifestVersion, TABLE_MAGIC, batchPuts, batchRecords, blockEntries, blockPuts, blockRecords, blocksByChecksum, checkLog, checkedBlock, checkedBlockBytes, logRecords, parseManifest, rawBlock, userKeyOf, varint,
} from './leveldb-format.js'

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
  /** The entries behind `keys` (user key, value, sequence), for a repair that can check each by its own checksum. */
  readonly entries: readonly IndexEntry[]
  /** The deletes the damaged part still shows, with their sequence numbers (a repair must not bring back what a later write removed). */
  readonly deletes?: readonly IndexDeletion[]
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
    const deletes: IndexDeletion[] = []
    try {
      if (file.kind === 'log') {
        let damagedBatch: Uint8Array | undefined
        for (const batch of logRecords(bytes, { stopAtDamage: true, resumeAfterDamage: true, damaged: record => { damagedBatch ??= record } })) {
          const records = batchRecords(batch)
          entries.push(...records.puts)
          deletes.push(...records.deletes)
        }
        // The damaged batch itself, as far as it parses: its keys named, its values checked by their own checksums.
        if (damagedBatch !== undefined) entries.push(...batchRecords(damagedBatch, { lenient: true }).puts)
      }
    } catch {
      // The keys of the batches before the damage are all that can be named.
    }
    return { file: file.name, message: messageOf(error), firstKey: undefined, lastKey: undefined, keys: entries.map(entry => entry.key), entries, deletes }
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
    if ((error as { code?: string }).code === 'ENOENT') return whole('CURRENT', `the manifest it names is missing: ${messageOf(error)}`)
    throw error
  }
  let version: ManifestVersion
  try {
    version = parseManifest(manifest)
  } catch (error) {
    return whole(manifestName, messageOf(error))
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
 * separator i-1 up to separator i (the separator's user key may go on into block i with older sequence
 * numbers, which no read returns while block i-1 holds the newest); the first block's keys start at the
 * table's first key (`span`, from the manifest).
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
    // After separator i-1: its user key's newest version is in block i-1 (entries run newest first), so
    // block i starts just past it (the key with a 0 byte added, the least key after it).
    firstKey: i === 0 ? span.firstKey : Uint8Array.of(...userKeyOf((entries[i - 1] as { key: Uint8Array }).key), 0),
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
    const { puts: entries, deletes } = blockRecords(rawBlock(bytes, { offset: 0, byteLength: block.byteLength }))
    return { file, message: messageOf(error), firstKey: block.firstKey, lastKey: block.lastKey, keys: entries.map(entry => entry.key), entries, deletes }
  }
}

/** A whole table's damage: the keys the manifest says it spans, and the keys its blocks still name (found by their checksums). */
export function wholeTableDamage(file: string, bytes: Uint8Array, message: string, span: { readonly firstKey: Uint8Array | undefined; readonly lastKey: Uint8Array | undefined }): IndexDamage {
  const records = blocksByChecksum(bytes).map(handle => blockRecords(rawBlock(bytes, handle)))
  const entries = records.flatMap(record => record.puts)
  return { file, message, firstKey: span.firstKey, lastKey: span.lastKey, keys: entries.map(entry => entry.key), entries, deletes: records.flatMap(record => record.deletes) }
}

/** The damage of one table held whole in `bytes`: its data blocks by their key ranges, anything else as the whole table. */
async function tableDamage(file: string, bytes: Uint8Array, span: { readonly firstKey: Uint8Array | undefined; readonly lastKey: Uint8Array | undefined }): Promise<IndexDamage[]> {
  const read: ReadAt = async (offset, byteLength) => bytes.subarray(offset, offset + byteLength)
  let blocks: DataBlock[]
  try {
    blocks = await mapTable(bytes.length, read, span)
  } catch (error) {
    return [wholeTableDamage(file, bytes, messageOf(error), span)]
  }
  const damage: IndexDamage[] = []
  for (const block of blocks) {
    const found = dataBlockDamage(file, block, bytes.subarray(block.offset, block.offset + block.byteLength + BLOCK_TRAILER_BYTE_LENGTH))
    if (found !== undefined) damage.push(found)
  }
  return damage
}

export interface SalvagedKeys {
  /** Every user key (put, not deleted) found in readable blocks and records, with its value, by file. */
  readonly keysByFile: ReadonlyMap<string, readonly IndexEntry[]>
  /** Files, or parts of them, that could not be read, with the entries they still hold as far as they parse. */
  readonly damaged: readonly { readonly file: string; readonly message: string; readonly keys: readonly IndexEntry[] }[]
}

/**
 * Reads the user keys out of an index directory that LevelDB refuses to open: each table's data blocks
 * (a block whose checksum fails is still parsed as far as it goes, and its keys are the damaged ones) and
 * each log's write batches, with their values. For naming what damage affects (a run's value names its
 * keys); never for reading texts.
 */
export async function salvageLevelDbKeys(dir: string): Promise<SalvagedKeys> {
  const keysByFile = new Map<string, IndexEntry[]>()
  const damaged: { file: string; message: string; keys: IndexEntry[] }[] = []
  for (const name of (await readdir(dir)).sort()) {
    const isTable = /\.(ldb|sst)$/.test(name)
    const isLog = /\.log$/.test(name)
    if (!isTable && !isLog) continue
    const bytes = new Uint8Array(await readFile(join(dir, name)))
    const keys: IndexEntry[] = []
    keysByFile.set(name, keys)
    if (isLog) {
      try {
        for (const batch of logRecords(bytes)) keys.push(...batchPuts(batch))
      } catch (error) {
        damaged.push({ file: name, message: messageOf(error), keys: [] })
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
      damaged.push({ file: name, message: `its index block or footer: ${messageOf(error)}`, keys: [] })
      handles = blocksByChecksum(bytes)
    }
    for (const handle of handles) {
      try {
        keys.push(...blockPuts({ block: checkedBlock(bytes, handle, bytes.length - FOOTER_BYTE_LENGTH), whole: true }))
      } catch (error) {
        damaged.push({ file: name, message: messageOf(error), keys: blockPuts(rawBlock(bytes, handle)) })
      }
    }
  }
  return { keysByFile, damaged }
}
