/**
 * Stores as older builds wrote them, made from a store this build wrote: its text entries rewritten as
 * store format 1 or 2 wrote them (whole hashes; the other records and the packs are the same), and its
 * format record set. Real LevelDB, real files.
 */
import { join } from 'node:path'
import { openLevelDb } from '../../lib/index/leveldb.js'
import { STORE_FORMAT_VERSION, TAG_TEXT, decodeTextKey, decodeTextValue, encodeMetaKey, encodeTextValue } from '../../lib/index/records.js'
import { hashText } from '../../lib/store/text-hash.js'

/** Rewrites the closed store in `dir` as store format `format` (1 or 2); `textOf` gives each key's text. */
export async function rewriteAsOldFormat(dir: string, format: 1 | 2, textOf: (file: string, rev: string) => Uint8Array): Promise<void> {
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  try {
    const operations = []
    for await (const [key, value] of db.entries(Uint8Array.of(TAG_TEXT))) {
      const { file, rev } = decodeTextKey(key)
      const entry = decodeTextValue(key, value, 'test', STORE_FORMAT_VERSION)
      operations.push({ key, value: encodeTextValue(key, { ...entry, hash: hashText(textOf(file, rev)) }, format) })
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
