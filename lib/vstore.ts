/**
 * vstore's public API: a versioned-text store in the style of Bazaar's groupcompress.
 *
 * ```ts
 * import { Store } from 'vstore'
 * const store = await Store.open('.vstore', { create: true })
 * await store.insert([{ file: 'README', rev: 'r1', parents: [], text: new TextEncoder().encode('hello\n') }])
 * const text = await store.get('README', 'r1')
 * await store.close()
 * ```
 */
export {
  Store, DEFAULT_STORE_OPTIONS, STORE_FORMAT_VERSION, MAX_STORABLE_TEXT_BYTE_LENGTH, type StoreOptions, type GroupDump, type IndexDumpRow, type InsertOptions, type InsertProgress,
  type PackOptions, type PackSummary, type RepairSummary, type Reparented, type FetchOptions, type FetchSummary, type FetchSource, type AncestryGraph, type AnnotatedLine,
} from './store/store.js'
export { MAX_ID_BYTE_LENGTH, idProblem, isHexId } from './store/types.js'
export type { IndexRepairSummary } from './store/index-repair.js'
export type {
  TextRecord, TextKey, TextLocation, TextEntry, InsertSummary, StoreStats, ByteDistribution, VerifyProblem, VerifyReport,
} from './store/types.js'
export { VstoreError, VSTORE_CODES, isVstoreError, type VstoreCode } from './errors.js'
export type { GitImportOptions } from './import/git.js'
export { diffLines, diffStat, isBinary, unifiedDiff, type DiffStat, type LineChange, type UnifiedDiffOptions } from './delta/line-diff.js'

import type { GitImportOptions } from './import/git.js'
import type { TextRecord } from './store/types.js'

/**
 * Every version of every file of a git history, as records for `Store.insert` (lib/import/git.ts). The
 * importer loads on first use, so that programs that only read (`vstore extract`) start without it.
 */
export async function* importGit(repoPath: string, options: GitImportOptions = {}): AsyncGenerator<TextRecord> {
  const { importGit: run } = await import('./import/git.js')
  yield* run(repoPath, options)
}
