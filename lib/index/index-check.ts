/** A reader's lazy check of LevelDB's checksums on its private index copy: each data block the first time a read may touch it. */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs'
import { join } from 'node:path'
import { compareBytes } from '../bytes/index.js'
import { messageOf } from '../errors.js'
import { dataBlockDamage, liveFiles, logDamage, mapTable, wholeTableDamage, type DataBlock, type IndexDamage, type ReadAt } from './leveldb-files.js'
import { BLOCK_TRAILER_BYTE_LENGTH } from './leveldb-format.js'

/** A table of the index, with its data blocks and which of them have been checked. */
interface CheckedTable {
  readonly name: string
  /** A file descriptor (sync reads: a few small reads at open and one per block checked, cheaper without event-loop hops). */
  readonly fd: number
  readonly firstKey: Uint8Array | undefined
  readonly lastKey: Uint8Array | undefined
  readonly blocks: readonly DataBlock[]
  readonly checked: Set<number>
}

/** Whether the user keys from `first` to `last` (inclusive; undefined: open) meet those from `start` to `end` (end exclusive). */
function overlaps(first: Uint8Array | undefined, last: Uint8Array | undefined, start: Uint8Array, end: Uint8Array | undefined): boolean {
  return (last === undefined || compareBytes(last, start) >= 0) && (end === undefined || first === undefined || compareBytes(first, end) < 0)
}

function readAt(fd: number): ReadAt {
  return async (offset, byteLength) => {
    const bytes = new Uint8Array(byteLength)
    let done = 0
    while (done < byteLength) {
      const bytesRead = readSync(fd, bytes, done, byteLength - done, offset + done)
      if (bytesRead === 0) break
      done += bytesRead
    }
    return bytes.subarray(0, done)
  }
}

/**
 * LevelDB's checksums, checked as reads need them, for a reader's private copy of an index (nothing
 * changes under it): opening reads the manifest, the logs (LevelDB replays them whole at its own open) and
 * each table's footer, index block and filters; a data block is checked the first time a get or an
 * iteration may read it. So an extraction checks the few blocks it touches, not the whole index (jq's
 * 471 KB table: 10–12 ms to check whole in a new process, about as long as the rest of the open).
 * `damage` holds what was found so far (findIndexDamage's entries).
 */
export class IndexCheck {
  private constructor(private readonly tables: readonly CheckedTable[], readonly damage: IndexDamage[]) {}

  /** @throws only for an I/O error other than a missing file (which is damage); damage itself is recorded in `damage`. */
  static async open(dir: string): Promise<IndexCheck> {
    const live = await liveFiles(dir)
    if (live.damage !== undefined) return new IndexCheck([], [live.damage])
    const damage: IndexDamage[] = []
    const tables: CheckedTable[] = []
    try {
      for (const file of live.files) {
        const path = join(dir, file.name)
        if (file.kind !== 'table') {
          const found = logDamage(file, new Uint8Array(readFileSync(path)))
          if (found !== undefined) damage.push(found)
          continue
        }
        let fd: number
        try {
          fd = openSync(path, 'r')
        } catch (error) {
          if ((error as { code?: string }).code !== 'ENOENT') throw error
          damage.push({ file: file.name, message: 'a file the manifest names is missing', firstKey: file.firstKey, lastKey: file.lastKey, keys: [], entries: [] })
          continue
        }
        try {
          const { size } = fstatSync(fd)
          tables.push({ name: file.name, fd, firstKey: file.firstKey, lastKey: file.lastKey, blocks: await mapTable(size, readAt(fd), file), checked: new Set() })
        } catch (error) {
          closeSync(fd)
          if ((error as { code?: string }).code !== undefined) throw error
          damage.push(wholeTableDamage(file.name, new Uint8Array(readFileSync(path)), messageOf(error), file))
        }
      }
    } catch (error) {
      for (const table of tables) closeSync(table.fd)
      throw error
    }
    return new IndexCheck(tables, damage)
  }

  /** Checks every data block that may hold keys from `start` (inclusive) to `end` (exclusive; undefined: to the last). */
  async check(start: Uint8Array, end: Uint8Array | undefined): Promise<void> {
    for (const table of this.tables) {
      if (!overlaps(table.firstKey, table.lastKey, start, end)) continue
      // Blocks are in key order: the first that may hold `start` is the first whose last key is not before it.
      let low = 0
      for (let high = table.blocks.length; low < high;) {
        const middle = (low + high) >>> 1
        if (compareBytes((table.blocks[middle] as DataBlock).lastKey, start) < 0) low = middle + 1
        else high = middle
      }
      for (let i = low; i < table.blocks.length; i++) {
        const block = table.blocks[i] as DataBlock
        if (!overlaps(block.firstKey, block.lastKey, start, end)) break
        await this.checkBlock(table, i)
      }
    }
  }

  /**
   * Checks the data blocks a search for the last key at or before `atOrBefore` (and from `start`) reads first:
   * in each table, the block that may hold `atOrBefore` and the one before it (the greatest key at or before
   * it is in one of the two, unless newer deletes hide them; the caller checks what the search crossed).
   */
  async checkLast(start: Uint8Array, atOrBefore: Uint8Array): Promise<void> {
    for (const table of this.tables) {
      if (!overlaps(table.firstKey, table.lastKey, start, undefined) || (table.firstKey !== undefined && compareBytes(table.firstKey, atOrBefore) > 0)) continue
      let low = 0
      for (let high = table.blocks.length; low < high;) {
        const middle = (low + high) >>> 1
        if (compareBytes((table.blocks[middle] as DataBlock).lastKey, atOrBefore) < 0) low = middle + 1
        else high = middle
      }
      for (const i of [low - 1, low]) {
        const block = table.blocks[i]
        if (block === undefined || compareBytes(block.lastKey, start) < 0) continue
        await this.checkBlock(table, i)
      }
    }
  }

  private async checkBlock(table: CheckedTable, i: number): Promise<void> {
    if (table.checked.has(i)) return
    table.checked.add(i)
    const block = table.blocks[i] as DataBlock
    const found = dataBlockDamage(table.name, block, await readAt(table.fd)(block.offset, block.byteLength + BLOCK_TRAILER_BYTE_LENGTH))
    if (found !== undefined) this.damage.push(found)
  }

  async close(): Promise<void> {
    for (const table of this.tables) {
      try {
        closeSync(table.fd)
      } catch {
        // Closing a descriptor only fails for one already closed.
      }
    }
  }
}
