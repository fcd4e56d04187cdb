/** What the index records per key. */
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
  /**
   * Bytes of content that read decodes, at least: the record's end from store format 5 on, which keeps no more;
   * what the read decoded when it was written in older formats (the record's end, rounded up to the read chunk).
   */
  readonly decodedByteLength: number
  readonly textByteLength: number
  /**
   * The first bytes of the text's SHA-256: 20, which name its content, or 4 where the index keeps only a
   * check against damage (a text under 16 KiB, store format 3; formats/index.md, Location).
   */
  readonly hash: Uint8Array
  /**
   * Base hops before this text can be rebuilt: 0 when its group names no base text (formats/group.md),
   * else the base's own `baseDepth` plus 1.
   */
  readonly baseDepth: number
  /** Bytes read, and decoded, to rebuild the base texts of the chain (0 without a base). */
  readonly baseReadByteLength: number
  readonly baseDecodedByteLength: number
}

export interface TextEntry extends TextLocation {
  readonly parents: readonly string[]
  /** The version of another file this text was copied or moved from (a rename or copy), when one was given. */
  readonly origin?: TextKey
}
