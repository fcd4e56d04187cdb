/**
 * Lengths that formats of two layers share, kept here, below both: the content hash and the ids that index
 * entries (formats/index.md) and group base records (formats/group.md) carry, and the pack header
 * (formats/pack.md) that the index's committed lengths never fall short of.
 */

/** Bytes of a text's content hash: SHA-256, truncated to 20 bytes. */
export const HASH_BYTE_LENGTH = 20

/** The longest file id or revision id, in UTF-8 bytes: index keys and group base records hold ids. */
export const MAX_ID_BYTE_LENGTH = 4096

/** Bytes of a pack file's header; no committed length is shorter. */
export const PACK_HEADER_BYTE_LENGTH = 8
