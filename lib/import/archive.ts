/**
 * Opening an archive or a folder by its path: the kind from the file name (tar, gzip, xz, bzip2, zstd, zip,
 * or a plain folder), the decompression (gzip through node:zlib; xz, bzip2 and zstd through the system
 * commands, spawned, read and waited for), and release names from file names. Memory: one entry's bytes
 * (plus tar's hard-link window); a zip also holds its central directory.
 */
import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { open, readdir, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { pipeline } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { VstoreError, messageOf } from '../errors.js'
import { DEFAULT_MAX_ENTRY_BYTE_LENGTH, symlinkPath, type ArchiveEntry, type ArchiveReadOptions } from './archive-entry.js'
import { exitOf, firstStderrLine, keepStderr, type ChildExit } from './child-process.js'
import { normalizeEntryPath } from './releases.js'
import { readTarEntries } from './tar-reader.js'
import { checkMaxTextByteLength, checkTextByteLength } from './text-limit.js'
import { readZipEntries } from './zip-reader.js'


type ArchiveKind = 'tar' | 'gzip' | 'xz' | 'bzip2' | 'zstd' | 'zip'

const SUFFIXES: ReadonlyArray<readonly [suffix: string, kind: ArchiveKind]> = [
  ['.tar.gz', 'gzip'], ['.tgz', 'gzip'],
  ['.tar.xz', 'xz'], ['.txz', 'xz'],
  ['.tar.bz2', 'bzip2'], ['.tbz2', 'bzip2'], ['.tbz', 'bzip2'],
  ['.tar.zst', 'zstd'], ['.tzst', 'zstd'],
  ['.tar', 'tar'],
  ['.zip', 'zip'],
]

/**
 * The release name an archive's file name gives: the name without its archive suffix (`.tar.gz`, `.tgz`,
 * `.tar.xz`, `.txz`, `.tar.bz2`, `.tbz2`, `.tar.zst`, `.tar`, `.zip`, any case); a folder's own name. So
 * `zstd-1.5.6.tar.gz` is `zstd-1.5.6` and npm's `express-4.18.2.tgz` is `express-4.18.2`.
 */
export function releaseNameOf(archivePath: string): string {
  const name = basename(archivePath.replace(/[/\\]+$/, ''))
  const lower = name.toLowerCase()
  const suffix = SUFFIXES.find(([candidate]) => lower.endsWith(candidate) && lower.length > candidate.length)
  return suffix === undefined ? name : name.slice(0, name.length - suffix[0].length)
}

/**
 * Yields the regular files of the archive or folder at `path`; each call opens it afresh. The kind comes from
 * the name: `.tar`; `.tar.gz`/`.tgz` (node:zlib, streamed); `.tar.xz`/`.txz`, `.tar.bz2`/`.tbz2`,
 * `.tar.zst`/`.tzst` (through `xz -dc`, `bzip2 -dc`, `zstd -dc`); `.zip` (stored and deflated entries); or a
 * folder, walked for regular files (symlinks are not followed), sorted by path. Paths are canonical (see
 * `normalizeEntryPath`) and keep any top folder.
 *
 * Stopping early (`break`) closes the file and ends any decompressor process.
 *
 * @throws VstoreError `VSTORE_IMPORT` for a path that cannot be read, a corrupt archive or compression, a
 *   decompressor that fails, and the errors of `readTarEntries` (where = `<path>@<offset>` or
 *   `<path>:<entry>`); `VSTORE_UNSUPPORTED` for an unknown suffix, an encrypted or Zip64 zip, or an entry
 *   compression other than stored or deflate; `VSTORE_LIMIT` (where = `<path>:<entry>`) for a file over
 *   `maxTextByteLength` (see `ArchiveReadOptions`) or `maxEntryByteLength`.
 * @throws VstoreError `VSTORE_USAGE` for a `maxTextByteLength` that is not a whole number ≥ 0.
 */
export async function* openArchive(path: string, options: Omit<ArchiveReadOptions, 'where'> = {}): AsyncGenerator<ArchiveEntry> {
  checkMaxTextByteLength(options.maxTextByteLength)
  const readOptions: ArchiveReadOptions = { ...options, where: path }
  let isFolder: boolean
  try {
    isFolder = (await stat(path)).isDirectory()
  } catch (cause) {
    throw new VstoreError('VSTORE_IMPORT', `cannot read: ${messageOf(cause)}`, path, { cause })
  }
  if (isFolder) {
    yield* walkFolder(path, readOptions)
    return
  }
  const lower = basename(path).toLowerCase()
  const kind = SUFFIXES.find(([suffix]) => lower.endsWith(suffix))?.[1]
  switch (kind) {
    case 'tar':
      yield* readTarEntries(createReadStream(path), readOptions)
      return
    case 'gzip':
      yield* readGzippedTar(path, readOptions)
      return
    case 'xz':
    case 'bzip2':
    case 'zstd':
      yield* readTarThroughCommand(options.commands?.[kind] ?? kind, path, readOptions)
      return
    case 'zip':
      yield* readZipEntries(path, readOptions)
      return
    case undefined:
      throw new VstoreError('VSTORE_UNSUPPORTED', `not a known archive type (${SUFFIXES.map(([suffix]) => suffix).join(', ')} or a folder)`, path)
  }
}

async function* readGzippedTar(path: string, options: ArchiveReadOptions): AsyncGenerator<ArchiveEntry> {
  const gunzip = createGunzip()
  // pipeline: a read error destroys gunzip with it, so the loop below sees it.
  const stream = pipeline(createReadStream(path), gunzip, () => {})
  try {
    yield* readTarEntries(stream, options)
  } catch (error) {
    if (error instanceof VstoreError) throw error
    throw new VstoreError('VSTORE_IMPORT', `gzip: ${messageOf(error)}`, path, { cause: error })
  } finally {
    stream.destroy()
  }
}

/** A tar decompressed by a system command writing to stdout; its exit status is checked. */
async function* readTarThroughCommand(command: string, path: string, options: ArchiveReadOptions): AsyncGenerator<ArchiveEntry> {
  const child = spawn(command, ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
  const stderr = keepStderr(child.stderr)
  const exit = exitOf(child)
  const commandError = (status: ChildExit, cause?: unknown): VstoreError => {
    const firstLine = firstStderrLine(stderr())
    const detail = status.error !== undefined ? `cannot run ${command}: ${status.error.message}` : `${command} -dc exited with ${status.code ?? status.signal ?? '?'}`
    return new VstoreError('VSTORE_IMPORT', firstLine === undefined ? detail : `${firstLine} (${detail})`, path, { cause: status.error ?? cause })
  }
  let finished = false
  try {
    try {
      yield* readTarEntries(child.stdout, options)
    } catch (error) {
      // A truncated or corrupt stream ends the tar early: the command's own complaint says more.
      child.kill('SIGTERM')
      const status = await exit
      if (status.error !== undefined || (status.code !== null && status.code !== 0)) throw commandError(status, error)
      throw error
    }
    const status = await exit
    finished = true
    if (status.error !== undefined || status.code !== 0) throw commandError(status)
  } finally {
    if (!finished) {
      child.kill('SIGTERM')
      child.stdout.destroy()
      await exit
    }
  }
}


/** The regular files under `root` (symlinks not followed, told to `onSymlink`), sorted by their `/`-separated path. */
async function* walkFolder(root: string, options: ArchiveReadOptions): AsyncGenerator<ArchiveEntry> {
  const maxEntryByteLength = options.maxEntryByteLength ?? DEFAULT_MAX_ENTRY_BYTE_LENGTH
  const paths: string[] = []
  const visit = async (relativeFolder: string): Promise<void> => {
    const folder = relativeFolder === '' ? root : join(root, relativeFolder)
    let entries
    try {
      entries = await readdir(folder, { withFileTypes: true })
    } catch (cause) {
      throw new VstoreError('VSTORE_IMPORT', `cannot read folder: ${messageOf(cause)}`, `${root}:${relativeFolder}`, { cause })
    }
    for (const entry of entries) {
      const relativePath = relativeFolder === '' ? entry.name : `${relativeFolder}/${entry.name}`
      if (entry.isDirectory()) await visit(relativePath)
      else if (entry.isFile()) paths.push(relativePath)
      else if (entry.isSymbolicLink()) options.onSymlink?.(symlinkPath(relativePath, root))
    }
  }
  await visit('')
  paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  for (const relativePath of paths) {
    const where = `${root}:${relativePath}`
    const file = await open(join(root, relativePath), 'r').catch((cause: unknown) => {
      throw new VstoreError('VSTORE_IMPORT', `cannot read: ${messageOf(cause)}`, where, { cause })
    })
    let text: Uint8Array
    try {
      const byteLength = (await file.stat()).size
      checkTextByteLength(byteLength, options.maxTextByteLength, where)
      if (byteLength > maxEntryByteLength) throw new VstoreError('VSTORE_LIMIT', `file of ${byteLength} bytes, limit ${maxEntryByteLength}`, where)
      text = new Uint8Array(await file.readFile())
    } finally {
      await file.close()
    }
    yield { path: normalizeEntryPath(relativePath, root), text }
  }
}
