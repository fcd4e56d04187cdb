/** Gathers what an importer skipped or could not check, for the import's summary and warnings. */
import type { TextKey } from '../vstore.js'

/** A warning an import gives beside its summary: where (as errors name it) and what. */
export interface ImportWarning {
  readonly where: string
  readonly message: string
}

/**
 * What an importer skipped or could not check, gathered through its callbacks while the insert runs and
 * told with the import's summary. The store never sees any of it: an importer calls back, the CLI counts.
 */
export class ImportReport {
  readonly #symlinkFiles = new Set<string>()
  #uncheckedEnd: string | undefined

  /**
   * Pass as an importer's `onSymlink`. A path counts once however often it is told (a symlink in every
   * release, or changed by many commits), so the count reads as "paths that were symlinks".
   */
  readonly onSymlink = (key: TextKey): void => {
    this.#symlinkFiles.add(key.file)
  }

  /** Pass as import-fast-export's `onUncheckedEnd`. */
  readonly onUncheckedEnd = (where: string): void => {
    this.#uncheckedEnd = where
  }

  /** What to warn of once the import has succeeded (a failed one prints its error alone). */
  warnings(): ImportWarning[] {
    if (this.#uncheckedEnd === undefined) return []
    return [{
      where: this.#uncheckedEnd,
      message: 'the stream declared no "feature done", so an exporter that stopped early (git on a signed tag) '
        + 'cannot be told from a complete stream; run git fast-export with --use-done-feature to have the end checked',
    }]
  }

  /** Paths skipped because they were symlinks in some version read. */
  get skippedSymlinkCount(): number {
    return this.#symlinkFiles.size
  }

  /** The fields the `--json` summary gains. */
  summaryFields(): { skippedSymlinkCount: number } {
    return { skippedSymlinkCount: this.skippedSymlinkCount }
  }

  /** What the summary line gains at its end: `, 3 symlinks skipped`, or nothing when none was. */
  summaryText(): string {
    const count = this.skippedSymlinkCount
    return count === 0 ? '' : `, ${count} symlink${count === 1 ? '' : 's'} skipped`
  }
}
