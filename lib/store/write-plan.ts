/**
 * What a batch writes (a WritePlan), as insert, pack, repair and fetch each build it for the one batch
 * writer (lib/store/batch-writer.ts): the texts, where the writer reads them, what the batch replaces, and
 * groups copied whole.
 */
import type { SpillRef } from './spill.js'
import type { TextSource } from './stored-texts.js'
import type { Totals } from './store-index.js'
import type { InsertOptions, TextEntry, TextKey, TextLocation } from './types.js'

/**
 * A new text of the batch: its key and parents, its content hash (whole, or the short check a stored entry
 * keeps, when the writer then hashes the text itself), and where the writer reads it (`ref`).
 */
export interface PlannedText {
  readonly file: string
  readonly rev: string
  readonly parents: readonly string[]
  readonly ref: SpillRef
  readonly hash: Uint8Array
  /** The version of another file it was copied or moved from (TextRecord.origin). */
  readonly origin?: TextKey | undefined
}

/** What a rewrite (pack, repair) replaces in the batch's one commit. */
export interface Replacement {
  /** Packs the batch forgets; their files are deleted once it is committed. */
  readonly oldPackIds: readonly number[]
  /** The rewrite writes only to packs from this id on, so that no old pack is appended to. */
  readonly firstPackId: number
  /** Keys the batch deletes (texts a repair could not read back). */
  readonly deletedKeys: readonly TextKey[]
  /**
   * A rewrite of some packs only (automatic packing): what the packs it keeps hold, which its totals start
   * from. Its texts may then point at content and start on bases stored in the kept packs. Absent: every
   * pack is replaced.
   */
  readonly keptTotals?: Totals
}

/** The index records of groups copied whole, and what they count for in the totals. */
export interface CopiedRecords {
  readonly texts: readonly { readonly key: TextKey; readonly entry: TextEntry }[]
  readonly textCount: number
  readonly rawByteLength: number
  /** Keys pointed at content stored once already (as an insert's duplicates are). */
  readonly duplicateTextCount: number
  /** Where the copied large texts are, by hex hash: the batch stores the same content once. */
  readonly locationsByHash: ReadonlyMap<string, TextLocation>
}

/** Groups a fetch copies whole: appended before anything is compressed, and indexed by the batch's first commit. */
export interface CopiedGroups {
  /** Appends each group through `append` (with the length of the texts it copies) and returns the records naming its keys. */
  append(append: (bytes: Uint8Array, rawByteLength: number) => Promise<{ packId: number; offset: number }>): Promise<CopiedRecords>
}

export interface WritePlan {
  /** New texts, each file's parents before its children. */
  readonly texts: readonly PlannedText[]
  readonly source: TextSource
  /** Records received (new or not) and their bytes, and the new texts' bytes, for progress and the summary. */
  readonly counts: { readonly textCount: number; readonly rawByteLength: number; readonly newRawByteLength: number }
  readonly options: InsertOptions
  readonly replaces?: Replacement
  readonly copied?: CopiedGroups
  /** Append only to packs from this id on (a new pack for each insert, so that automatic packing can merge them). */
  readonly firstPackId?: number
  /**
   * With automatic packing: a file's group starts only on a stored version in a pack at least this high
   * in the tiers (its nearest such ancestor along first parents), so that base chains run down the tiers
   * and stay as short as there are tiers. Absent: on the version its first text descends from.
   */
  readonly baseTier?: { readonly minTier: number; readonly tierOf: (packId: number) => number }
}
