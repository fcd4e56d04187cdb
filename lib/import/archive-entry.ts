/**
 * What every archive reader (tar-reader.ts, zip-reader.ts, archive.ts's folders) yields and takes, and the
 * entry-name rules they share.
 */
import { decodeUtf8Strictly, latin1 } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import { normalizeEntryPath } from './releases.js'
import type { TextLimitOptions } from './text-limit.js'

/** One regular file of an archive: its canonical path (`a/b`, no `.` or empty segments) and its bytes. */
export interface ArchiveEntry {
  readonly path: string
  readonly text: Uint8Array
}

/**
 * `maxTextByteLength` is checked against each file's size before its bytes are read: a tar header's (or pax
 * `size`), a zip directory's uncompressed size (and the inflater stops once it passes the limit, since a zip
 * may lie), a folder's file size from `stat`. Its error names `<where>:<path>`, the file's path in the archive.
 */
export interface ArchiveReadOptions extends TextLimitOptions {
  /** Names the archive in errors; default `archive` (`openArchive`: the archive's path). */
  readonly where?: string
  /** A larger entry is `VSTORE_LIMIT`, whatever `maxTextByteLength`: the reader's own bound; default 1 GiB. */
  readonly maxEntryByteLength?: number
  /** The commands that decompress `.tar.xz`, `.tar.bz2`, `.tar.zst`; default `xz`, `bzip2`, `zstd`. */
  readonly commands?: { readonly xz?: string; readonly bzip2?: string; readonly zstd?: string }
  /** Told the path of each symlink, which is skipped: canonical as a file's, or as the archive gives it. */
  readonly onSymlink?: (path: string) => void
}

/** The readers' own bound on one entry, whatever `maxTextByteLength`. */
export const DEFAULT_MAX_ENTRY_BYTE_LENGTH = 2 ** 30

/**
 * A symlink's path as a file's would be, or as the archive gives it when that is no release path: a symlink
 * is only counted, never stored, so its name is no reason to fail the import.
 */
export function symlinkPath(rawName: string, where: string): string {
  try {
    return normalizeEntryPath(rawName, where)
  } catch (error) {
    if (error instanceof VstoreError) return rawName
    throw error
  }
}

/** An entry name as UTF-8 (a leading U+FEFF kept: `\uFEFFREADME` is not `README`). */
export function decodeEntryName(bytes: Uint8Array, where: string): string {
  const name = decodeUtf8Strictly(bytes)
  if (name === undefined) throw new VstoreError('VSTORE_IMPORT', `entry name is not UTF-8: ${latin1(bytes)}`, where)
  return name
}
