/** Looking inside a store: its statistics, one group's records with the keys that point at them, and the index's rows. */
import { toHex } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import { DEFAULT_GROUP_LIMITS } from '../group/frame.js'
import { dumpRecords } from '../group/records.js'
import type { BatchTarget } from './batch-writer.js'
import { readGroupContent, walkGroups, type WalkedGroup } from './group-walk.js'
import { packName } from './layout.js'
import { plainKey, type KeyedEntry } from './locations.js'
import type { ByteDistribution, GroupDump, IndexDumpRow, StoreStats } from './types.js'

type Parts = Pick<BatchTarget, 'index' | 'packs'>

function distribution(values: number[]): ByteDistribution {
  if (values.length === 0) return { median: 0, max: 0 }
  values.sort((a, b) => a - b)
  return { median: values[Math.floor((values.length - 1) / 2)] as number, max: values[values.length - 1] as number }
}

export async function storeStats(parts: Parts): Promise<StoreStats> {
  const files = new Set<string>()
  const reads: number[] = []
  const decoded: number[] = []
  let rawByteLength = 0
  for await (const { file, entry } of parts.index.entries()) {
    files.add(file)
    reads.push(entry.readByteLength + entry.baseReadByteLength)
    decoded.push(entry.decodedByteLength + entry.baseDecodedByteLength)
    rawByteLength += entry.textByteLength
  }
  const packByteLength = parts.packs.totalByteLength()
  const indexByteLength = await parts.index.byteLength()
  return {
    textCount: reads.length,
    fileCount: files.size,
    groupCount: (await parts.index.totals()).groupCount,
    packCount: parts.packs.packIds().length,
    storeByteLength: packByteLength + indexByteLength,
    packByteLength,
    indexByteLength,
    indexBytesPerText: reads.length === 0 ? 0 : Math.round((10 * indexByteLength) / reads.length) / 10,
    rawByteLength,
    readByteLength: distribution(reads),
    decompressedByteLength: distribution(decoded),
  }
}

/** One group's header and records, with the delta instructions and the keys that point at each record. */
export async function dumpGroup(parts: Parts, packId: number, groupOffset: number): Promise<GroupDump> {
  let found: WalkedGroup | undefined
  for await (const group of walkGroups(parts.packs)) if (group.packId === packId && group.groupOffset === groupOffset) found = group
  if (found === undefined) throw new VstoreError('VSTORE_NOT_FOUND', 'no group starts here', `${packName(packId)}@${groupOffset}`)
  const { header } = found
  const content = await readGroupContent(parts.packs, found)
  const where = `${packName(packId)}@${groupOffset}`
  const keys: KeyedEntry[] = []
  for await (const row of parts.index.entries()) if (row.entry.packId === packId && row.entry.groupOffset === groupOffset) keys.push(row)
  return {
    pack: packName(packId),
    groupOffset,
    groupByteLength: header.headerByteLength + header.storedByteLength,
    codec: header.codecId,
    contentByteLength: header.contentByteLength,
    storedByteLength: header.storedByteLength,
    records: dumpRecords(content, where, DEFAULT_GROUP_LIMITS, true).map(record => ({
      ...record,
      keys: keys.filter(k => k.entry.recordStart === record.recordStart).map(plainKey),
    })),
  }
}

export async function* dumpIndex(parts: Parts, filePrefix?: string): AsyncGenerator<IndexDumpRow> {
  for await (const { file, rev, entry } of parts.index.entries(filePrefix)) {
    yield {
      file,
      rev,
      pack: packName(entry.packId),
      groupOffset: entry.groupOffset,
      readByteLength: entry.readByteLength,
      recordStart: entry.recordStart,
      recordEnd: entry.recordEnd,
      decodedByteLength: entry.decodedByteLength,
      textByteLength: entry.textByteLength,
      hash: toHex(entry.hash),
      baseDepth: entry.baseDepth,
      baseReadByteLength: entry.baseReadByteLength,
      baseDecodedByteLength: entry.baseDecodedByteLength,
      parents: entry.parents,
      ...(entry.origin === undefined ? {} : { origin: `${entry.origin.file}@${entry.origin.rev}` }),
    }
  }
}
