/** The longest file id or revision id, in UTF-8 bytes (a longer one is VSTORE_USAGE wherever a key is formed), and idProblem, which says why an id can be no key's. */
export { MAX_ID_BYTE_LENGTH } from '../bytes/index.js'
export { MAX_PARENTS, idProblem } from '../index/records.js'
export { isHexId } from '../bytes/index.js'

/** One version of one file, as handed to `Store.insert`. */
export interface TextRecord {
  /** File id: any non-empty string of well-formed Unicode (a path, usually), at most MAX_ID_BYTE_LENGTH UTF-8 bytes. */
  readonly file: string
  /** Revision id, unique within the file. */
  readonly rev: string
  /** Revisions of the same file this version descends from, in order; each present in the store or earlier in the same insert. */
  readonly parents: readonly string[]
  readonly text: Uint8Array
  /**
   * The version of another file this version was copied or moved from (a rename or a copy), present in
   * the store or earlier in the same insert: history kept across the move (formats/index.md, Origin). A
   * finding of rename detection, which may change from run to run: a key inserted again keeps the origin
   * it was first stored with.
   */
  readonly origin?: TextKey
}

import type { VstoreCode } from '../errors.js'
import type { DumpedRecord } from '../group/records.js'
import type { TextKey } from '../index/types.js'
import type { Reparented } from './reparent.js'

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
  /** The automatic packing that followed the insert (lib/store/auto-pack.ts), if it merged packs. */
  readonly packed?: PackSummary
  /** Why that packing failed, when it did (the insert itself is stored; the packs it would merge stay as they were). */
  readonly packProblem?: string
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
  /** The index's bytes over its texts (0 for an empty store): what the index costs a key. */
  readonly indexBytesPerText: number
  /** Sum of all texts' lengths. */
  readonly rawByteLength: number
  /** Compressed bytes read to extract one key, over all keys. */
  readonly readByteLength: ByteDistribution
  /** Decompressed bytes produced to extract one key, over all keys. */
  readonly decompressedByteLength: ByteDistribution
}

export interface VerifyProblem {
  readonly code: VstoreCode
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

export interface InsertOptions {
  /** Called as records arrive and as texts are written; cheap to call, so the caller throttles any rendering. */
  readonly onProgress?: (progress: InsertProgress) => void
  /**
   * Commit whenever this many bytes of new texts have been placed since the last commit (at the next
   * file boundary, so that each file's texts become visible with their parents). A long import killed
   * half-way then keeps what it committed, and running it again adds only the rest. Without it, an
   * insert is all or nothing.
   */
  readonly checkpointByteLength?: number
}

export type PackOptions = Pick<InsertOptions, 'onProgress'>

export interface PackSummary {
  /** Keys rewritten (all of them), and their texts' bytes. */
  readonly textCount: number
  readonly rawByteLength: number
  /** Groups and pack bytes before and after. */
  readonly oldGroupCount: number
  readonly groupCount: number
  readonly oldPackByteLength: number
  readonly packByteLength: number
  /** Bytes the rewrite wrote to its new packs. */
  readonly writtenByteLength: number
}

export interface RepairSummary extends PackSummary {
  /** Whether anything was wrong (false: nothing was written). */
  readonly repaired: boolean
  /** Keys dropped because their texts could not be rebuilt (textCount counts the kept ones). */
  readonly lostKeys: readonly TextKey[]
  readonly reparented: readonly Reparented[]
}

export interface FetchOptions extends Pick<InsertOptions, 'onProgress'> {
  /** Only these files' histories (default: every file of the source). */
  readonly files?: readonly string[]
}

export interface FetchSummary extends InsertSummary {
  /** Source groups copied whole, byte for byte, and the new keys they brought (counted in newTextCount). */
  readonly reusedGroupCount: number
  readonly reusedTextCount: number
}

export interface InsertProgress {
  readonly phase: 'reading' | 'writing'
  /** Records received so far, and their bytes. */
  readonly textCount: number
  readonly rawByteLength: number
  /** New keys among them (the rest were stored already), and their bytes. */
  readonly newTextCount: number
  readonly newRawByteLength: number
  /** New texts placed in groups so far, and their bytes. */
  readonly writtenTextCount: number
  readonly writtenRawByteLength: number
  readonly groupCount: number
  /** Pack bytes this insert has written so far. */
  readonly storedByteLength: number
}

export interface GroupDump {
  readonly pack: string
  readonly groupOffset: number
  readonly groupByteLength: number
  readonly codec: number
  readonly contentByteLength: number
  readonly storedByteLength: number
  readonly records: readonly (DumpedRecord & { readonly keys: readonly TextKey[] })[]
}

export interface IndexDumpRow extends TextKey {
  readonly pack: string
  readonly groupOffset: number
  readonly readByteLength: number
  readonly recordStart: number
  readonly recordEnd: number
  readonly decodedByteLength: number
  readonly textByteLength: number
  /** The first bytes of the text's SHA-256 the entry keeps, in hex: 20 bytes, or 4 for a text under 16 KiB (index.md, Location). */
  readonly hash: string
  /** The group's base chain (index.md, Location): hops, and bytes read and decoded for it. */
  readonly baseDepth: number
  readonly baseReadByteLength: number
  readonly baseDecodedByteLength: number
  readonly parents: readonly string[]
  /** `FILE@REV` of the version of another file this text was copied or moved from, when it names one. */
  readonly origin?: string
}
