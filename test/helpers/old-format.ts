/**
 * Stores as older builds wrote them, made from a store this build wrote: its text entries rewritten as
 * store formats 1 to 3 kept them (a `T` entry a text; whole hashes before format 3), the run records
 * removed, and its format record set; or its runs rewritten one file a run in value version 1 or 2 (and its
 * revision chunks in version 1), as store formats 4 and 5 kept them. The packs and the other records are the same. Real LevelDB, real files.
 */
import { join } from 'node:path'
import { openLevelDb } from '../../lib/index/leveldb.js'
import { encodeMetaKey, encodeTextKey, encodeTextValue, entryHashByteLength } from '../../lib/index/records.js'
import {
  RUN_VALUE_VERSION_1, RUN_VALUE_VERSION_2, TAG_FILE_RUN, TAG_REVISIONS, TAG_REVISION_BUCKET, decodeRevisionChunkValue, decodeRunSections, encodeRevisionChunkValue,
  encodeRunKey, encodeRunValue, type RunEntry,
} from '../../lib/index/runs.js'
import { RunIndex } from '../../lib/store/run-index.js'
import { hashText } from '../../lib/store/text-hash.js'

/** Rewrites the closed store in `dir` as store format `format`; `textOf` gives each key's text (for its whole hash). */
export async function rewriteAsOldFormat(dir: string, format: 1 | 2 | 3, textOf: (file: string, rev: string) => Uint8Array): Promise<void> {
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  try {
    const operations = []
    for await (const row of new RunIndex(db).entries()) {
      const key = encodeTextKey(row)
      const hash = hashText(textOf(row.file, row.rev)).subarray(0, entryHashByteLength(row.entry.textByteLength, format))
      operations.push({ key, value: encodeTextValue(key, { ...row.entry, hash }, format) })
    }
    for (const tag of [TAG_FILE_RUN, TAG_REVISIONS, TAG_REVISION_BUCKET]) {
      for await (const [key] of db.entries(Uint8Array.of(tag))) operations.push({ key, value: undefined })
    }
    operations.push({ key: encodeMetaKey('format'), value: Uint8Array.of(format) })
    await db.write(operations, { sync: true })
  } finally {
    await db.close()
  }
}

/**
 * Rewrites the closed store in `dir` as store format 4 or 5 kept runs: one file a run (a run of several is
 * cut into one a file, keyed by its first entry), in run value version 1 or 2; for format 4 every revision
 * chunk in version 1 too. Format 4 kept a decoded length in each entry (what the read decodes to, past the
 * record's end), which this build does not: the record's end plus a made-up 100 bytes stands in for it.
 */
export async function rewriteAsRunFormat(dir: string, format: 4 | 5): Promise<void> {
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  try {
    const operations = []
    for await (const [key, value] of db.entries(Uint8Array.of(TAG_FILE_RUN))) {
      for (const section of decodeRunSections(key, value, 'old-format')) {
        const entries = format === 5 ? section.entries : section.entries.map(entry => ({ ...entry, location: { ...entry.location, decodedByteLength: entry.location.recordEnd + 100 } }))
        const runKey = encodeRunKey(section.file, (entries[0] as RunEntry).rev)
        operations.push({ key: runKey, value: encodeRunValue(runKey, entries, format === 5 ? RUN_VALUE_VERSION_2 : RUN_VALUE_VERSION_1) })
      }
    }
    if (format === 4) {
      for await (const [key, value] of db.entries(Uint8Array.of(TAG_REVISIONS))) {
        operations.push({ key, value: encodeRevisionChunkValue(key, decodeRevisionChunkValue(key, value, 'old-format'), 1) })
      }
    }
    operations.push({ key: encodeMetaKey('format'), value: Uint8Array.of(format) })
    await db.write(operations, { sync: true })
  } finally {
    await db.close()
  }
}

/** The store format the closed store in `dir` records. */
export async function storeFormatOf(dir: string): Promise<number | undefined> {
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  try {
    return (await db.get(encodeMetaKey('format')))?.[0]
  } finally {
    await db.close()
  }
}
