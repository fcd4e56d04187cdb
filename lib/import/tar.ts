/**
 * Tarball histories: a sequence of release archives (or folders), named by their paths, imported as one
 * linear history per file through `importReleases`.
 */
import { VstoreError } from '../errors.js'
import type { TextRecord } from '../store/types.js'
import { openArchive, releaseNameOf } from './archive.js'
import type { ArchiveReadOptions } from './archive-entry.js'
import { findReleaseOutOfOrder } from './release-order.js'
import { importReleases, releaseOptionsOf, releaseOrderError, type Release, type ReleaseImportOptions } from './releases.js'
import { checkMaxTextByteLength, type TextLimitOptions } from './text-limit.js'

/** `maxTextByteLength` is handed to `openArchive` for each archive: see `ArchiveReadOptions`. */
export interface TarballImportOptions extends ReleaseImportOptions, TextLimitOptions {
  /** One revision per path, in the same order, instead of each archive's release name (a `--rev` per archive). */
  readonly revs?: readonly string[]
  readonly maxEntryByteLength?: number
  readonly commands?: ArchiveReadOptions['commands']
}

/**
 * Imports a sequence of release archives (or folders) as one linear history per file: see `importReleases`.
 * Revision = `revs[i]` or `releaseNameOf(paths[i])`; file id = the path inside the archive, its single top
 * folder (`zstd-1.5.6/`) stripped. Each archive is read up to twice (once to list it, once for new texts).
 *
 * @throws VstoreError `VSTORE_USAGE` when `revs` is given with a length other than `paths`', or
 *   `maxTextByteLength` is not a whole number ≥ 0.
 * @throws VstoreError as `openArchive` and `importReleases`; `VSTORE_IMPORT` (where = the path) when two
 *   archives give the same release name; `VSTORE_USAGE` (where = the path), unless `allowOlder`, when a
 *   release's version is older than one given before it. Both before any archive is read. `VSTORE_LIMIT`
 *   (where = `<archive>:<path>`) for a file over `maxTextByteLength`, found while its release is listed, so
 *   before any text of that release.
 */
export async function* importTarballs(paths: readonly string[], options: TarballImportOptions = {}): AsyncGenerator<TextRecord> {
  const { revs } = options
  if (revs !== undefined && revs.length !== paths.length) {
    throw new VstoreError('VSTORE_USAGE', `revs has ${revs.length} names for ${paths.length} archives`, 'import options')
  }
  checkMaxTextByteLength(options.maxTextByteLength)
  const archiveOptions = {
    ...(options.maxTextByteLength === undefined ? {} : { maxTextByteLength: options.maxTextByteLength }),
    ...(options.maxEntryByteLength === undefined ? {} : { maxEntryByteLength: options.maxEntryByteLength }),
    ...(options.commands === undefined ? {} : { commands: options.commands }),
  }
  const releases: Release[] = paths.map((path, index) => ({
    rev: revs?.[index] ?? releaseNameOf(path),
    where: path,
    files: read => openArchive(path, { ...archiveOptions, onSymlink: read.onSymlink }),
  }))
  // Found before anything is read: a mistake in the arguments, not in one release.
  const seen = new Set<string>()
  for (const release of releases) {
    if (seen.has(release.rev)) throw new VstoreError('VSTORE_IMPORT', `release ${JSON.stringify(release.rev)} is given twice`, release.where as string)
    seen.add(release.rev)
  }
  const outOfOrder = options.allowOlder === true ? undefined : findReleaseOutOfOrder(releases.map(release => release.rev))
  if (outOfOrder !== undefined) {
    throw releaseOrderError(outOfOrder.older, outOfOrder.newer, releases.find(release => release.rev === outOfOrder.older)?.where ?? outOfOrder.older)
  }
  yield* importReleases(releases, releaseOptionsOf(options))
}
