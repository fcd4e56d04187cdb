import type { TextKey } from '../vstore.js'

/**
 * What an importer skipped, gathered through its callbacks while the insert runs and told with the import's
 * summary. The store never sees any of it: an importer calls back, the CLI counts.
 */
export class ImportReport {
  readonly #symlinkFiles = new Set<string>()

  /**
   * Pass as an importer's `onSymlink`. A path counts once however often it is told (a symlink in every
   * release, or changed by many commits), so the count reads as "paths that were symlinks".
   */
  readonly onSymlink = (key: TextKey): void => {
    this.#symlinkFiles.add(key.file)
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
