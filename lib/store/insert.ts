/**
 * Insert: takes records as they come, checks each new key, spills the new texts to a temporary file (in
 * memory while small), and hands the plan to the batch writer. A key stored already with the same content
 * is skipped, so an insert can be repeated.
 */
import { bytesEqual } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import { packOfItsOwn } from './auto-pack.js'
import { writeBatch, type BatchTarget } from './batch-writer.js'
import { tmpPath } from './layout.js'
import { INSERT_WORDS, checkRecord, checkTextByteLength, isNewKey, type KnownKey } from './new-keys.js'
import { TextSpill } from './spill.js'
import { hashText } from './text-hash.js'
import type { InsertOptions, InsertSummary, TextKey, TextRecord } from './types.js'
import type { PlannedText } from './write-plan.js'

/** Texts an insert keeps in memory before it spills them to a temporary file. */
export const SPILL_MEMORY_BYTE_LENGTH = 4 * 1024 * 1024

/** A spill in the store's temporary folder (made when the spill first moves to disk), named for what fills it. */
export async function openSpill(dir: string, purpose: string): Promise<TextSpill> {
  return new TextSpill(tmpPath(dir), `${purpose}-${process.pid}-${Date.now()}`, { memoryByteLength: SPILL_MEMORY_BYTE_LENGTH })
}

export async function insertRecords(records: Iterable<TextRecord> | AsyncIterable<TextRecord>, options: InsertOptions, target: BatchTarget & { readonly dir: string }): Promise<InsertSummary> {
  if (typeof records !== 'object' || records === null || !(Symbol.iterator in records || Symbol.asyncIterator in records)) {
    throw new VstoreError('VSTORE_USAGE', 'insert takes an iterable (or async iterable) of records', 'insert')
  }
  const spill = await openSpill(target.dir, 'insert')
  try {
    const texts: PlannedText[] = []
    const seen = new Map<string, Map<string, KnownKey>>()
    let textCount = 0
    let rawByteLength = 0
    let newRawByteLength = 0
    const progress = { phase: 'reading' as const, writtenTextCount: 0, writtenRawByteLength: 0, groupCount: 0, storedByteLength: 0 }
    for await (const record of records) {
      checkRecord(record)
      checkTextByteLength(record.text.length, record, target.settings.maxTextByteLength)
      textCount++
      rawByteLength += record.text.length
      const hash = hashText(record.text)
      const known = seen.get(record.file)?.get(record.rev) ?? target.recent?.get(record)?.entry ?? (await target.index.tryGetEntry(record))
      const keyKnown = async (key: TextKey) => seen.get(key.file)?.has(key.rev) === true || target.recent?.get(key) !== undefined || (await target.index.tryGetEntry(key)) !== undefined
      const parentKnown = (rev: string) => keyKnown({ file: record.file, rev })
      // A stored hash may be a short check: then the stored text itself is compared.
      const sameContent = async () => bytesEqual(await target.reader.get(record), record.text)
      const { origin } = record
      if (await isNewKey(record, { hash, textByteLength: record.text.length, parents: record.parents, origin }, known, parentKnown, INSERT_WORDS, sameContent, keyKnown)) {
        const parents = [...new Set(record.parents)]
        const revs = seen.get(record.file) ?? new Map<string, KnownKey>()
        revs.set(record.rev, { hash, parents, origin })
        seen.set(record.file, revs)
        texts.push({ file: record.file, rev: record.rev, parents, ref: await spill.append(record.text), hash, ...(origin === undefined ? {} : { origin: { file: origin.file, rev: origin.rev } }) })
        newRawByteLength += record.text.length
      }
      options.onProgress?.({ ...progress, textCount, rawByteLength, newTextCount: texts.length, newRawByteLength })
    }
    return await writeBatch({ texts, source: spill, counts: { textCount, rawByteLength, newRawByteLength }, options, ...packOfItsOwn(target) }, target)
  } finally {
    await spill.close()
  }
}
