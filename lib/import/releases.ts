/**
 * Release histories: a sequence of snapshots (tarballs, npm package versions, plain folders) turned into
 * per-file text records, parents first.
 *
 * History is linear per file: releases come in the order given, and a file's new version names its previous
 * version (in this import, or else the one the caller's `previous` reports from an earlier import) as its one
 * parent. A file whose bytes did not change makes no text; a file missing from a release and back later
 * continues from its last version. So releases must come oldest first: one whose version (release-order.ts)
 * is older than a release before it, or than the newest stored version of a file it changes, is refused
 * unless `allowOlder` is set; one whose age cannot be told (no version in its name) is let through.
 *
 * A release's top folder is known only once all of its paths are: so each release is read twice when it can
 * be (its `files` is a function). The first read lists every path with its SHA-256 and nothing else; the
 * second, skipped when nothing changed, yields the changed texts. Memory is then one file's bytes plus, per
 * release, a path and a hash per file, plus for the whole import a file id and two hashes per file id seen.
 */
import { createHash } from 'node:crypto'
import { VstoreError } from '../errors.js'
import { compareReleaseNames, newestNewerThan } from './release-order.js'
import type { TextKey, TextRecord } from '../store/types.js'
import { hashesMatch } from '../store/text-hash.js'

/** One regular file of a release: its path inside the release (`/`-separated) and its bytes. */
export interface ReleaseFile {
  readonly path: string
  readonly text: Uint8Array
}

export type ReleaseFiles = AsyncIterable<ReleaseFile> | Iterable<ReleaseFile>

/** What a release's `files` function is handed each time it is called. */
export interface ReleaseRead {
  /**
   * To be called with the path (inside the release, like a file's) of each symlink met: a symlink is no
   * file here (the store keeps no file modes), but the import tells `onSymlink` about it.
   */
  readonly onSymlink: (path: string) => void
}

export interface Release {
  /** The revision id of every text this release makes, e.g. `zstd-1.5.6` or `express@4.18.2`. Not empty. */
  readonly rev: string
  /**
   * The release's files, in any order. A function is called up to twice and must give the same files each
   * time (an archive opened afresh): memory stays at one file. A plain iterable is read once, and the
   * release's texts are held until its end (its top folder is known only then), and it has no symlinks.
   */
  readonly files: ReleaseFiles | ((read: ReleaseRead) => ReleaseFiles)
  /** Names the release in errors, as `<where>:<path>`; default `rev`. An archive's path, usually. */
  readonly where?: string
  /** Put before every file id of the release (after the top folder is stripped), e.g. `express/`. */
  readonly filePrefix?: string
}

/** A version of a file stored by an earlier import: its revision and its content hash. */
export interface StoredVersion {
  readonly rev: string
  /**
   * SHA-256 of the text, whole (32 bytes) or a prefix of at least 16 bytes: the store's `contentHash`
   * (20 bytes) fits as it is.
   */
  readonly hash: Uint8Array
}

/**
 * The version the next release of `file` descends from, when an earlier import stored one: for an import
 * that adds newer releases, the file's newest stored version. `undefined` when the file is new.
 */
export type PreviousVersionLookup = (file: string) => Promise<StoredVersion | undefined>

/**
 * The content hash (SHA-256, whole or a prefix of 16+ bytes) stored under the key (`file`, `rev`), or
 * `undefined` when that key is not stored: for a store, `store.contentHash(file, rev)` when `store.has`
 * it (an index entry keeps only 4 bytes of a short text's hash).
 */
export type StoredHashLookup = (file: string, rev: string) => Promise<Uint8Array | undefined>

export interface ReleaseImportOptions {
  /**
   * Asked at most once per file id: the first time a release of this import holds it and `stored` does not
   * know it at that release, so that importing newer releases continues the stored history; or when a
   * release changes it, to refuse a release older than the file's newest stored version. Without it, the
   * import starts from nothing.
   */
  readonly previous?: PreviousVersionLookup
  /**
   * Asked for each file of each release: a key already stored makes no text and becomes the file's last
   * version. So importing a list of releases again, with a new one at its end, adds only the new one's
   * texts (without it, `previous` would make the old releases descend from the newest stored version).
   */
  readonly stored?: StoredHashLookup
  /** Called once a release's texts have all been yielded (or it had none that were new). */
  readonly onReleaseDone?: (rev: string) => void
  /**
   * Told once per release of each symlink it holds, which is skipped: the key a file there would have had
   * (its file id, the release's rev). Told while the release is listed, before any of its texts.
   */
  readonly onSymlink?: (key: TextKey) => void
  /**
   * Let through a release older than one before it in this import, or than the newest stored version of a
   * file it changes (whose new version then descends from that newer one). Default: refused.
   */
  readonly allowOlder?: boolean
}

/**
 * Yields one record per new file version across `releases`, every record after its parent.
 *
 * File id = `filePrefix` + the path inside the release, with the top folder stripped when every path of the
 * release lies in one folder (`package/`, `zstd-1.5.6/`); so a file keeps its id across releases whose top
 * folders are named after their versions. Revision = the release's `rev`. Within a release, texts come in
 * the order of its files.
 *
 * @throws VstoreError `VSTORE_IMPORT` (where = `<where>:<path>`) for a path that is absolute or escapes the
 *   release (`..`), or that is empty; a path given twice in one release with different bytes; a file whose
 *   stored version at this release's rev has other bytes (the release was imported before with other
 *   content); a release whose files differ between the two reads. Also (where = `<where>`) for a
 *   `rev` given to two releases. Errors of `files` and `previous` pass through.
 * @throws VstoreError `VSTORE_USAGE` (where = `<where>`), unless `allowOlder`, for a release older than one
 *   before it, or than the newest stored version of a file it changes; nothing of that release is yielded
 *   (see `releaseOrderError`).
 * @throws VstoreError `VSTORE_USAGE` for an empty `rev`, or a `previous` or `stored` hash that is not 16 to
 *   32 bytes.
 */
export async function* importReleases(
  releases: AsyncIterable<Release> | Iterable<Release>,
  options: ReleaseImportOptions = {},
): AsyncGenerator<TextRecord> {
  const history = new FileHistory(options)
  const revs = new Set<string>()
  for await (const release of releases) {
    const where = checkReleaseRev(release, revs, options)
    const files = release.files
    const canReread = typeof files === 'function'
    const symlinkPaths = new Set<string>()
    const listing = await listRelease(canReread ? files({ onSymlink: path => symlinkPaths.add(path) }) : files, where, !canReread)
    const fileIdOf = fileIdsOf(listing.keys(), release.filePrefix ?? '')
    for (const path of symlinkPaths) options.onSymlink?.({ file: fileIdOf(path, true), rev: release.rev })
    const changed = await decideChanges(history, release, listing, fileIdOf, where)
    if (!canReread) {
      for (const [path, { file, parents }] of changed) {
        const text = listing.get(path)?.text
        if (text === undefined) throw new Error(`vstore bug: release text of ${path} was not kept`)
        yield { file, rev: release.rev, parents, text }
      }
    } else if (changed.size > 0) {
      yield* readChangedAgain(files, changed, listing, release.rev, where)
    }
    options.onReleaseDone?.(release.rev)
  }
}

/**
 * Checks a release's rev against those given before it. Returns where the release's errors point.
 * @throws VSTORE_USAGE for an empty rev or (unless `allowOlder`) a release older than one before it;
 * VSTORE_IMPORT for a rev given twice.
 */
function checkReleaseRev(release: Release, revs: Set<string>, options: ReleaseImportOptions): string {
  if (release.rev === '') throw new VstoreError('VSTORE_USAGE', 'a release rev must not be empty', release.where ?? 'releases')
  const where = release.where ?? release.rev
  if (revs.has(release.rev)) throw new VstoreError('VSTORE_IMPORT', `release ${JSON.stringify(release.rev)} is given twice`, where)
  const newerGiven = options.allowOlder === true ? undefined : newestNewerThan(release.rev, revs)
  if (newerGiven !== undefined) throw releaseOrderError(release.rev, newerGiven, where)
  revs.add(release.rev)
  return where
}

/**
 * The file id of a release path: `prefix`, then the path with the release's top folder stripped when all
 * its paths lie in one. A symlink's path (`symlink`) loses the top folder only when it lies in it.
 */
function fileIdsOf(paths: Iterable<string>, prefix: string): (path: string, symlink?: boolean) => string {
  const all = [...paths]
  const stripByteLength = topFolderLength(all)
  const topFolder = (all[0] ?? '').slice(0, stripByteLength)
  return (path, symlink = false) => {
    if (!symlink) return prefix + path.slice(stripByteLength)
    return prefix + (stripByteLength > 0 && path.startsWith(topFolder) ? path.slice(stripByteLength) : path)
  }
}

/** Each file id's last version in this import, and the newest stored version `previous` reports. */
class FileHistory {
  readonly latest = new Map<string, StoredVersion>()
  /** Each file id's newest stored version (null: none), asked of `previous` once. */
  readonly #newestStored = new Map<string, StoredVersion | null>()

  constructor(readonly options: ReleaseImportOptions) {}

  async newestStored(file: string): Promise<StoredVersion | undefined> {
    if (this.options.previous === undefined) return undefined
    const known = this.#newestStored.get(file)
    if (known !== undefined) return known ?? undefined
    const version = await this.options.previous(file)
    if (version !== undefined) checkStoredVersion(version, file)
    this.#newestStored.set(file, version ?? null)
    return version
  }
}

/** A file a release changes: its id and the parents of its new version. */
interface ChangedFile {
  readonly file: string
  readonly parents: readonly string[]
}

/**
 * Decides every file of a release against its last version, before any text is read again: path → the
 * changed files (new versions), in listing order; the others become their file's last version as they are.
 */
async function decideChanges(
  history: FileHistory, release: Release, listing: ReadonlyMap<string, ListedFile>, fileIdOf: (path: string) => string, where: string,
): Promise<Map<string, ChangedFile>> {
  const { options, latest } = history
  const changed = new Map<string, ChangedFile>()
  for (const [path, listed] of listing) {
    const file = fileIdOf(path)
    const storedHash = options.stored === undefined ? undefined : await options.stored(file, release.rev)
    if (storedHash !== undefined) {
      checkHash(storedHash, `stored(${JSON.stringify(file)}, ${JSON.stringify(release.rev)})`)
      if (!hashesMatch(storedHash, listed.hash)) {
        throw new VstoreError('VSTORE_IMPORT', `${file} is already stored at ${release.rev} with other bytes`, `${where}:${path}`)
      }
      latest.set(file, { rev: release.rev, hash: listed.hash })
      continue
    }
    const last = latest.get(file) ?? await history.newestStored(file)
    if (last !== undefined && hashesMatch(last.hash, listed.hash)) {
      latest.set(file, last)
      continue
    }
    if (last?.rev === release.rev) {
      throw new VstoreError('VSTORE_IMPORT', `${file} is already stored at ${release.rev} with other bytes`, `${where}:${path}`)
    }
    // A new version here descends from the file's last one: refuse it when the store holds a newer one.
    const newest = options.allowOlder === true ? undefined : await history.newestStored(file)
    if (newest !== undefined && (compareReleaseNames(release.rev, newest.rev) ?? 0) < 0) {
      throw releaseOrderError(release.rev, newest.rev, where, file)
    }
    changed.set(path, { file, parents: last === undefined ? [] : [last.rev] })
    latest.set(file, { rev: release.rev, hash: listed.hash })
  }
  return changed
}

/** The changed files' texts from a second read of the release, each checked against its first read. */
async function* readChangedAgain(
  files: (read: ReleaseRead) => ReleaseFiles, changed: Map<string, ChangedFile>, listing: ReadonlyMap<string, ListedFile>, rev: string, where: string,
): AsyncGenerator<TextRecord> {
  // The symlinks were told on the first read.
  for await (const entry of files(IGNORED_SYMLINKS)) {
    const path = normalizeEntryPath(entry.path, where)
    const wanted = changed.get(path)
    if (wanted === undefined) continue // unchanged, or a duplicate already yielded
    if (!hashesMatch(listing.get(path)?.hash ?? new Uint8Array(32), sha256(entry.text))) {
      throw new VstoreError('VSTORE_IMPORT', 'the file changed between two reads of the release', `${where}:${path}`)
    }
    changed.delete(path)
    yield { file: wanted.file, rev, parents: wanted.parents, text: entry.text }
  }
  const [missingPath] = changed.keys()
  if (missingPath !== undefined) {
    throw new VstoreError('VSTORE_IMPORT', 'the file was gone on the second read of the release', `${where}:${missingPath}`)
  }
}

/**
 * The error for a release older than a release given before it (`storedFile` undefined), or than the
 * newest stored version of `storedFile`, which a new version would descend from. `VSTORE_USAGE`: the
 * releases are sound, the order asked for is not, and it is the command that changes (reordered, or
 * `--allow-older`); so it is no unreadable release that `ReleaseBoundary` would stop before, and the whole
 * import stores nothing.
 */
export function releaseOrderError(older: string, newer: string, where: string, storedFile?: string): VstoreError {
  const newerIs = storedFile === undefined ? `${newer}, given before it` : `${newer}, which the store holds (${storedFile}@${newer})`
  return new VstoreError('VSTORE_USAGE', `release ${older} is older than ${newerIs}: its files would descend from the newer release; `
    + 'import releases oldest first, or pass --allow-older to import it anyway', where)
}

/**
 * Lets an import keep the releases before one that fails: `guard(records)` ends cleanly at the last
 * whole release when a release fails with `VSTORE_IMPORT` before any of its texts was yielded (a corrupt
 * archive, a path escaping the release or a duplicate path: all found while the release is listed), and
 * keeps that error in `failure` for the caller to report once the insert has committed. An error after
 * a release's first text, or of another kind, passes through (the insert then stores nothing of the
 * import). Pass `done` as `onReleaseDone`.
 */
export class ReleaseBoundary {
  private textsSinceRelease = 0
  failure: VstoreError | undefined
  readonly done = (): void => {
    this.textsSinceRelease = 0
  }

  async *guard(records: AsyncIterable<TextRecord>): AsyncGenerator<TextRecord> {
    try {
      for await (const record of records) {
        this.textsSinceRelease++
        yield record
      }
    } catch (error) {
      if (this.textsSinceRelease === 0 && error instanceof VstoreError && error.code === 'VSTORE_IMPORT') {
        this.failure = error
        return
      }
      throw error
    }
  }
}

const IGNORED_SYMLINKS: ReleaseRead = { onSymlink: () => {} }

interface ListedFile {
  readonly hash: Uint8Array
  /** Kept only when the release cannot be read again. */
  readonly text?: Uint8Array
}

/** Path → hash (and text, when `keepTexts`) of every file; a path given twice must have the same bytes. */
async function listRelease(files: ReleaseFiles, where: string, keepTexts: boolean): Promise<Map<string, ListedFile>> {
  const listing = new Map<string, ListedFile>()
  for await (const entry of files) {
    const path = normalizeEntryPath(entry.path, where)
    const hash = sha256(entry.text)
    const earlier = listing.get(path)
    if (earlier !== undefined) {
      if (!hashesMatch(earlier.hash, hash)) {
        throw new VstoreError('VSTORE_IMPORT', 'the path is given twice in one release, with different bytes', `${where}:${path}`)
      }
      continue
    }
    listing.set(path, keepTexts ? { hash, text: entry.text } : { hash })
  }
  return listing
}

/** Byte length of `<top>/` when every path lies inside one folder `<top>`; else 0. */
export function topFolderLength(paths: Iterable<string>): number {
  let top: string | undefined
  for (const path of paths) {
    const slash = path.indexOf('/')
    if (slash <= 0) return 0
    const folder = path.slice(0, slash + 1)
    if (top === undefined) top = folder
    else if (folder !== top) return 0
  }
  return top?.length ?? 0
}

/**
 * A release path made canonical: `/`-separated, without empty or `.` segments (so `./a//b` is `a/b`).
 * @throws VstoreError `VSTORE_IMPORT` (where = `<where>:<path>`) for an absolute path (`/…`, `C:…`), one with
 *   a `..` segment, a backslash segment `..`, a NUL, or one that names no file (`.`, ``).
 */
export function normalizeEntryPath(path: string, where: string): string {
  const fail = (reason: string): never => {
    throw new VstoreError('VSTORE_IMPORT', `${reason}: ${JSON.stringify(path)}`, `${where}:${path}`)
  }
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path)) fail('absolute path')
  if (path.includes('\0')) fail('NUL in path')
  const segments = path.split('/').filter(segment => segment !== '' && segment !== '.')
  if (segments.some(segment => segment === '..' || segment.split('\\').includes('..'))) fail('path escapes the root')
  if (segments.length === 0) fail('path names no file')
  return segments.join('/')
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

function checkStoredVersion(version: StoredVersion, file: string): void {
  checkHash(version.hash, `previous(${JSON.stringify(file)})`)
  if (typeof version.rev !== 'string' || version.rev === '') throw new VstoreError('VSTORE_USAGE', 'previous: rev must be a non-empty string', file)
}

function checkHash(hash: unknown, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length < 16 || hash.length > 32) throw new VstoreError('VSTORE_USAGE', `${what}: hash must be 16 to 32 bytes of SHA-256`, 'import options')
}

/** Only the options `importReleases` reads (exactOptionalPropertyTypes: no `undefined` values). */
export function releaseOptionsOf(options: ReleaseImportOptions): ReleaseImportOptions {
  return {
    ...(options.previous === undefined ? {} : { previous: options.previous }),
    ...(options.stored === undefined ? {} : { stored: options.stored }),
    ...(options.onReleaseDone === undefined ? {} : { onReleaseDone: options.onReleaseDone }),
    ...(options.onSymlink === undefined ? {} : { onSymlink: options.onSymlink }),
    ...(options.allowOlder === undefined ? {} : { allowOlder: options.allowOlder }),
  }
}
