/** One version of one file, as handed to `Store.insert`. */
export interface TextRecord {
  /** File id: any non-empty string (a path, usually). */
  readonly file: string
  /** Revision id, unique within the file. */
  readonly rev: string
  /** Revisions of the same file this version descends from, in order; each present in the store or earlier in the same insert. */
  readonly parents: readonly string[]
  readonly text: Uint8Array
}

export interface TextKey {
  readonly file: string
  readonly rev: string
}

/** Where a text lives, what it costs to read, and what it is: one index record, decoded. */
export interface TextLocation {
  readonly packId: number
  /** Offset of the group's header in the pack file. */
  readonly groupOffset: number
  /** Bytes to read from `groupOffset` to rebuild this text: group header plus the compressed prefix. */
  readonly readByteLength: number
  /** The record's half-open range in the group's decompressed content. */
  readonly recordStart: number
  readonly recordEnd: number
  /** Bytes the decoder produces from that read (the record's end, rounded up to the read chunk). */
  readonly decodedByteLength: number
  readonly textByteLength: number
  /** SHA-256 of the text, truncated to 20 bytes. */
  readonly hash: Uint8Array
}

export interface TextEntry extends TextLocation {
  readonly parents: readonly string[]
}

export interface InsertSummary {
  /** Records received. */
  readonly textCount: number
  /** Records that were new keys (the rest were already stored with the same content). */
  readonly newTextCount: number
  /** New keys whose content was already stored under another key (stored once). */
  readonly duplicateTextCount: number
  readonly rawByteLength: number
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
  readonly problems: readonly VerifyProblem[]
}
