/** The longest file id or revision id, in UTF-8 bytes (a longer one is a RangeError wherever a key is formed). */
export { MAX_ID_BYTE_LENGTH, MAX_PARENTS } from '../index/records.js'

/** One version of one file, as handed to `Store.insert`. */
export interface TextRecord {
  /** File id: any non-empty string of well-formed Unicode (a path, usually), at most MAX_ID_BYTE_LENGTH UTF-8 bytes. */
  readonly file: string
  /** Revision id, unique within the file. */
  readonly rev: string
  /** Revisions of the same file this version descends from, in order; each present in the store or earlier in the same insert. */
  readonly parents: readonly string[]
  readonly text: Uint8Array
}

import type { TextKey } from '../index/types.js'

export type { TextKey, TextLocation, TextEntry } from '../index/types.js'

export interface InsertSummary {
  /** Records received. */
  readonly textCount: number
  /** Records that were new keys (the rest were already stored with the same content). */
  readonly newTextCount: number
  /** New keys whose content was already stored under another key (stored once). */
  readonly duplicateTextCount: number
  /** Bytes of every record received (the input). */
  readonly rawByteLength: number
  /** Bytes of the new keys' texts. */
  readonly newRawByteLength: number
  readonly groupCount: number
  readonly storedByteLength: number
}

export interface ByteDistribution {
  readonly median: number
  readonly max: number
}

export interface StoreStats {
  readonly textCount: number
  readonly fileCount: number
  readonly groupCount: number
  readonly packCount: number
  /** Packs plus index files on disk. */
  readonly storeByteLength: number
  readonly packByteLength: number
  readonly indexByteLength: number
  /** Sum of all texts' lengths. */
  readonly rawByteLength: number
  /** Compressed bytes read to extract one key, over all keys. */
  readonly readByteLength: ByteDistribution
  /** Decompressed bytes produced to extract one key, over all keys. */
  readonly decompressedByteLength: ByteDistribution
}

export interface VerifyProblem {
  readonly code: string
  readonly where: string
  readonly message: string
  /** Keys whose texts the problem affects. */
  readonly keys: readonly TextKey[]
}

export interface VerifyReport {
  readonly textCount: number
  readonly groupCount: number
  /** Whether every text was rebuilt (`verify({ full: true })`), or only checksums and structure checked. */
  readonly full: boolean
  readonly problems: readonly VerifyProblem[]
}
