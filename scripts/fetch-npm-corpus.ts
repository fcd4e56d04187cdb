/**
 * Fetches npm releases into a benchmark corpus (`scripts/corpus.ts`): one text per file version, where a
 * file is `<package>/<path inside the package>` and each release `<package>@<version>` is one revision.
 *
 *   node dist/scripts/fetch-npm-corpus.js NAME [SPEC ...] [--update] [--jobs N] [--pins DIR]
 *
 *   SPEC  `pkg`          every stable version (no prerelease tag), in semver order
 *         `pkg@4`        the stable versions of major 4
 *         `pkg@every3`   every 3rd stable version, starting with the first, always with the last
 *         `pkg@1.2.3`    that one version
 *
 * The first run resolves the specs with `npm view` and writes the pin file `scripts/corpora/NAME.json`: the
 * exact releases with each tarball's registry integrity (sha512) and our sha256. Later runs take the list
 * from the pin (no `npm view`) and check every tarball against it; `--update` re-resolves the specs.
 * Tarballs come from `npm pack` into `.corpora/cache/npm/`; one already there that passes the check is not
 * fetched again, so a killed run, run again, continues where it stopped.
 *
 * History is linear per file: releases in the order given (each spec's versions in semver order, then the
 * next spec's), and a file's version names the previous release that changed it as its one parent. A file
 * whose bytes did not change makes no new text; one missing from a release and back later continues from
 * its last version.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { realpathSync } from 'node:fs'
import { basename, dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { describeError, exitStatusFor } from '../lib/cli/exit.js'
import { VstoreError } from '../lib/errors.js'
import type { TextRecord } from '../lib/store/types.js'
import { corporaRoot, corpusDir, CorpusWriter, exists } from './corpus.js'

// ---------------------------------------------------------------------------------------------------------
// Versions

export interface SemVer {
  readonly major: number
  readonly minor: number
  readonly patch: number
  /** Dot-separated prerelease identifiers; numeric ones as numbers. Empty for a stable version. */
  readonly prerelease: readonly (string | number)[]
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/

/** Parses a SemVer 2.0 version (an optional leading `v`, build metadata ignored); `undefined` if it is not one. */
export function parseVersion(text: string): SemVer | undefined {
  const match = SEMVER.exec(text)
  if (match === null) return undefined
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])]
  if (![major, minor, patch].every(Number.isSafeInteger)) return undefined
  const prerelease = match[4] === undefined ? [] : match[4].split('.').map(part => (/^\d+$/.test(part) ? Number(part) : part))
  return { major, minor, patch, prerelease }
}

export function isStable(version: string): boolean {
  return parseVersion(version)?.prerelease.length === 0
}

/**
 * SemVer precedence: major, minor, patch, then a prerelease before its release and identifiers compared in
 * turn (numbers numerically and below words, words by ASCII). Versions of equal precedence (differing only
 * in build metadata) are ordered by their text, so sorting is deterministic.
 * @throws RangeError when either is not a version.
 */
export function compareVersions(a: string, b: string): number {
  const left = parseVersion(a)
  const right = parseVersion(b)
  if (left === undefined) throw new RangeError(`not a semver version: ${JSON.stringify(a)}`)
  if (right === undefined) throw new RangeError(`not a semver version: ${JSON.stringify(b)}`)
  const byNumbers = left.major - right.major || left.minor - right.minor || left.patch - right.patch
  if (byNumbers !== 0) return Math.sign(byNumbers)
  const byPrerelease = comparePrerelease(left.prerelease, right.prerelease)
  if (byPrerelease !== 0) return byPrerelease
  return a < b ? -1 : a > b ? 1 : 0
}

function comparePrerelease(left: readonly (string | number)[], right: readonly (string | number)[]): number {
  if (left.length === 0 || right.length === 0) return Math.sign(right.length - left.length)
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const [x, y] = [left[i], right[i]]
    if (x === y) continue
    if (typeof x === 'number' && typeof y === 'number') return Math.sign(x - y)
    if (typeof x === 'number') return -1
    if (typeof y === 'number') return 1
    return String(x) < String(y) ? -1 : 1
  }
  return Math.sign(left.length - right.length)
}

export type VersionSelector =
  | { readonly kind: 'all' }
  | { readonly kind: 'major'; readonly major: number }
  | { readonly kind: 'every'; readonly step: number }
  | { readonly kind: 'exact'; readonly version: string }

export interface PackageSpec {
  readonly packageName: string
  readonly selector: VersionSelector
}

const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/i

/**
 * Parses `pkg`, `pkg@MAJOR`, `pkg@everyN` or `pkg@X.Y.Z` (scoped names such as `@types/node@20` too).
 * @throws VstoreError `VSTORE_USAGE` for anything else.
 */
export function parseSpec(spec: string): PackageSpec {
  const at = spec.indexOf('@', 1)
  const packageName = at < 0 ? spec : spec.slice(0, at)
  const selectorText = at < 0 ? undefined : spec.slice(at + 1)
  if (!PACKAGE_NAME.test(packageName)) throw new VstoreError('VSTORE_USAGE', `not an npm package name: ${JSON.stringify(packageName)}`, spec)
  if (selectorText === undefined) return { packageName, selector: { kind: 'all' } }
  if (/^(0|[1-9]\d{0,8})$/.test(selectorText)) return { packageName, selector: { kind: 'major', major: Number(selectorText) } }
  const every = /^every([1-9]\d{0,8})$/.exec(selectorText)
  if (every !== null) return { packageName, selector: { kind: 'every', step: Number(every[1]) } }
  if (parseVersion(selectorText) !== undefined) return { packageName, selector: { kind: 'exact', version: selectorText } }
  throw new VstoreError('VSTORE_USAGE', `expected pkg, pkg@MAJOR, pkg@everyN or pkg@X.Y.Z, got ${JSON.stringify(spec)}`, spec)
}

/**
 * The versions a selector picks from a package's published `versions`, in semver order. `all`, `major` and
 * `every` look only at stable versions (those without a prerelease tag); `every` takes indexes 0, N, 2N, …
 * of the stable versions and always the last one. `exact` picks its version if published.
 */
export function selectVersions(versions: readonly string[], selector: VersionSelector): string[] {
  if (selector.kind === 'exact') return versions.includes(selector.version) ? [selector.version] : []
  const stable = [...new Set(versions.filter(isStable))].sort(compareVersions)
  switch (selector.kind) {
    case 'all': return stable
    case 'major': return stable.filter(version => parseVersion(version)?.major === selector.major)
    case 'every': return stable.filter((_, index) => index % selector.step === 0 || index === stable.length - 1)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Tarballs

export interface TarEntry {
  /** The entry's path as the archive spells it (after pax / GNU long names). */
  readonly path: string
  /** `file` for regular files; the others are kept out of corpora. */
  readonly kind: 'file' | 'directory' | 'other'
  readonly bytes: Uint8Array
}

const BLOCK = 512
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

function decodeName(bytes: Uint8Array, where: string): string {
  const end = bytes.indexOf(0)
  try {
    return utf8Decoder.decode(end < 0 ? bytes : bytes.subarray(0, end))
  } catch (error) {
    throw new VstoreError('VSTORE_IMPORT', 'entry name is not UTF-8', where, { cause: error })
  }
}

function readOctal(bytes: Uint8Array, where: string, field: string): number {
  const first = bytes[0] ?? 0
  if ((first & 0x80) !== 0) {
    // GNU base-256: big-endian, the top bit of the first byte set.
    let value = first & 0x7f
    for (const byte of bytes.subarray(1)) value = value * 256 + byte
    if (!Number.isSafeInteger(value)) throw new VstoreError('VSTORE_CORRUPT', `${field} too large`, where)
    return value
  }
  const text = Buffer.from(bytes).toString('latin1').replace(/[\0 ]+$/, '').replace(/^[ ]+/, '')
  if (text === '') return 0
  if (!/^[0-7]+$/.test(text)) throw new VstoreError('VSTORE_CORRUPT', `${field} is not octal: ${JSON.stringify(text)}`, where)
  return parseInt(text, 8)
}

function parsePaxRecords(bytes: Uint8Array, where: string): Map<string, string> {
  const records = new Map<string, string>()
  let offset = 0
  while (offset < bytes.length) {
    const space = bytes.indexOf(0x20, offset)
    if (space < 0) break
    const recordByteLength = Number(Buffer.from(bytes.subarray(offset, space)).toString('latin1'))
    if (!Number.isSafeInteger(recordByteLength) || recordByteLength <= space - offset || offset + recordByteLength > bytes.length) {
      throw new VstoreError('VSTORE_CORRUPT', 'bad pax record length', where)
    }
    const record = Buffer.from(bytes.subarray(space + 1, offset + recordByteLength - 1)).toString('utf8')
    const equals = record.indexOf('=')
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1))
    offset += recordByteLength
  }
  return records
}

/**
 * Reads an uncompressed tar archive (POSIX ustar with pax headers, GNU long names, old v7). Each entry's
 * bytes are a view into `tar`.
 * @throws VstoreError `VSTORE_CORRUPT` (where = `where@offset`) for a bad checksum, size or truncation;
 *   `VSTORE_IMPORT` for a name that is not UTF-8.
 */
export function readTar(tar: Uint8Array, where: string): TarEntry[] {
  const entries: TarEntry[] = []
  let offset = 0
  let longName: string | undefined
  let paxPath: string | undefined
  let paxSize: number | undefined
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK)
    const at = `${where}@${offset}`
    if (header.every(byte => byte === 0)) break // end of archive
    const storedSum = readOctal(header.subarray(148, 156), at, 'checksum')
    let unsignedSum = 0
    let signedSum = 0
    for (let i = 0; i < BLOCK; i++) {
      const byte = i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0)
      unsignedSum += byte
      signedSum += byte > 127 ? byte - 256 : byte
    }
    if (storedSum !== unsignedSum && storedSum !== signedSum) throw new VstoreError('VSTORE_CORRUPT', `header checksum ${storedSum}, computed ${unsignedSum}`, at)
    const type = String.fromCharCode(header[156] ?? 0)
    const dataByteLength = paxSize ?? readOctal(header.subarray(124, 136), at, 'size')
    const dataStart = offset + BLOCK
    const dataEnd = dataStart + dataByteLength
    if (dataEnd > tar.length) throw new VstoreError('VSTORE_CORRUPT', `entry of ${dataByteLength} bytes runs past the end (${tar.length} bytes)`, at)
    const data = tar.subarray(dataStart, dataEnd)
    offset = dataStart + Math.ceil(dataByteLength / BLOCK) * BLOCK

    if (type === 'x') {
      const records = parsePaxRecords(data, at)
      paxPath = records.get('path')
      const size = records.get('size')
      paxSize = size === undefined ? undefined : Number(size)
      if (paxSize !== undefined && !Number.isSafeInteger(paxSize)) throw new VstoreError('VSTORE_CORRUPT', `pax size ${size}`, at)
      continue
    }
    if (type === 'L') {
      longName = decodeName(data, at)
      continue
    }
    if (type === 'g' || type === 'K') continue // global pax settings, GNU long link name: not needed here

    const isUstar = Buffer.from(header.subarray(257, 263)).toString('latin1') === 'ustar\0'
    const name = decodeName(header.subarray(0, 100), at)
    const prefix = isUstar ? decodeName(header.subarray(345, 500), at) : ''
    const path = paxPath ?? longName ?? (prefix === '' ? name : `${prefix}/${name}`)
    longName = undefined
    paxPath = undefined
    paxSize = undefined
    const kind = type === '5' ? 'directory' : type === '0' || type === '\0' || type === '7' ? (path.endsWith('/') ? 'directory' : 'file') : 'other'
    entries.push({ path, kind, bytes: data })
  }
  return entries
}

/**
 * A tar entry's path inside the package: the top folder (`package/`, or whatever old tarballs used) and any
 * `.` segments removed. `undefined` for the top folder itself or a file beside it.
 * @throws VstoreError `VSTORE_IMPORT` for an absolute path or one with a `..` segment.
 */
export function packagePath(entryPath: string, where: string): string | undefined {
  if (entryPath.startsWith('/') || entryPath.startsWith('\\') || /^[A-Za-z]:/.test(entryPath)) {
    throw new VstoreError('VSTORE_IMPORT', `absolute path in tarball: ${JSON.stringify(entryPath)}`, where)
  }
  const segments = entryPath.split('/').filter(segment => segment !== '' && segment !== '.')
  if (segments.some(segment => segment.split('\\').includes('..'))) {
    throw new VstoreError('VSTORE_IMPORT', `path with '..' in tarball: ${JSON.stringify(entryPath)}`, where)
  }
  return segments.length < 2 ? undefined : segments.slice(1).join('/')
}

/** A release's regular files, by path inside the package (sorted); a later entry for the same path wins, as in extraction. */
export function readPackageFiles(tgz: Uint8Array, where: string, maxTarByteLength = 2 ** 30): Map<string, Uint8Array> {
  let tar: Uint8Array
  try {
    tar = gunzipSync(tgz, { maxOutputLength: maxTarByteLength })
  } catch (error) {
    const tooBig = error instanceof RangeError || (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE'
    throw new VstoreError(tooBig ? 'VSTORE_LIMIT' : 'VSTORE_CORRUPT', tooBig ? `unpacks to more than ${maxTarByteLength} bytes` : 'not a gzip file', where, { cause: error })
  }
  const files = new Map<string, Uint8Array>()
  for (const entry of readTar(tar, where)) {
    if (entry.kind !== 'file') continue
    const path = packagePath(entry.path, where)
    if (path !== undefined) files.set(path, entry.bytes)
  }
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

// ---------------------------------------------------------------------------------------------------------
// Per-file linear history

export interface LatestVersion {
  readonly rev: string
  readonly sha256: string
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * The texts one release adds, and `latest` (file id → its last stored version) brought up to date. File id =
 * `<package>/<path>`, rev = `<package>@<version>`, parents = the file's last stored version, if any. A file
 * with the same bytes as its last version makes no text; files absent from the release keep theirs.
 */
export function releaseTexts(latest: Map<string, LatestVersion>, packageName: string, version: string, files: ReadonlyMap<string, Uint8Array>): TextRecord[] {
  const rev = `${packageName}@${version}`
  const texts: TextRecord[] = []
  for (const [path, text] of files) {
    const file = `${packageName}/${path}`
    const sha256 = sha256Hex(text)
    const previous = latest.get(file)
    if (previous?.sha256 === sha256) continue
    texts.push({ file, rev, parents: previous === undefined ? [] : [previous.rev], text })
    latest.set(file, { rev, sha256 })
  }
  return texts
}

// ---------------------------------------------------------------------------------------------------------
// Integrity

const SRI_ALGORITHMS = ['sha512', 'sha384', 'sha256', 'sha1'] as const

/** The `sha512-…` (or, for old tarballs, `sha1-…`) integrity of bytes. */
export function integrityOf(bytes: Uint8Array, algorithm: (typeof SRI_ALGORITHMS)[number] = 'sha512'): string {
  return `${algorithm}-${createHash(algorithm).update(bytes).digest('base64')}`
}

/**
 * Checks a tarball against an SRI integrity string (its strongest algorithm, as npm does) and, when given, a
 * sha256 hex digest.
 * @throws VstoreError `VSTORE_CORRUPT` (where = `where`) on a mismatch; `VSTORE_UNSUPPORTED` when the
 *   integrity names no algorithm we know.
 */
export function checkTarball(bytes: Uint8Array, expected: { readonly integrity: string; readonly sha256?: string | undefined }, where: string): void {
  const hashes = expected.integrity.trim().split(/\s+/).map(item => item.replace(/\?.*$/, ''))
  const algorithm = SRI_ALGORITHMS.find(name => hashes.some(hash => hash.startsWith(`${name}-`)))
  if (algorithm === undefined) throw new VstoreError('VSTORE_UNSUPPORTED', `no known algorithm in integrity ${JSON.stringify(expected.integrity)}`, where)
  const actual = integrityOf(bytes, algorithm)
  if (!hashes.includes(actual)) throw new VstoreError('VSTORE_CORRUPT', `tarball integrity is ${actual}, expected ${expected.integrity}`, where)
  if (expected.sha256 !== undefined) {
    const sha256 = sha256Hex(bytes)
    if (sha256 !== expected.sha256) throw new VstoreError('VSTORE_CORRUPT', `tarball sha256 is ${sha256}, expected ${expected.sha256}`, where)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Pin file

export interface PinnedRelease {
  readonly packageName: string
  readonly version: string
  /** The registry's `dist.integrity` (sha512 SRI). */
  readonly integrity: string
  /** Of the .tgz, hex; computed when first fetched. */
  readonly sha256: string
  readonly tarballByteLength: number
}

export interface NpmPin {
  readonly kind: 'npm'
  readonly name: string
  readonly specs: readonly string[]
  readonly resolvedAt: string
  readonly releases: readonly PinnedRelease[]
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Narrows a parsed pin file. @throws VstoreError `VSTORE_CORRUPT` (where = `where`) when it is not one. */
export function decodeNpmPin(value: unknown, where: string): NpmPin {
  const bad = (what: string): never => {
    throw new VstoreError('VSTORE_CORRUPT', `not an npm pin file: ${what}`, where)
  }
  if (!isRecord(value)) return bad('not an object')
  const { kind, name, specs, resolvedAt, releases } = value
  if (kind !== 'npm') return bad(`kind is ${JSON.stringify(kind)}`)
  if (typeof name !== 'string' || typeof resolvedAt !== 'string') return bad('name or resolvedAt')
  if (!Array.isArray(specs) || !specs.every(spec => typeof spec === 'string')) return bad('specs')
  if (!Array.isArray(releases)) return bad('releases')
  const decoded = releases.map((release: unknown, index): PinnedRelease => {
    if (!isRecord(release)) return bad(`releases[${index}]`)
    const { packageName, version, integrity, sha256, tarballByteLength } = release
    if (typeof packageName !== 'string' || typeof version !== 'string' || typeof integrity !== 'string' || typeof sha256 !== 'string'
      || !/^[0-9a-f]{64}$/.test(sha256) || typeof tarballByteLength !== 'number') return bad(`releases[${index}]`)
    return { packageName, version, integrity, sha256, tarballByteLength }
  })
  return { kind, name, specs: specs as string[], resolvedAt, releases: decoded }
}

export async function tryReadJson(path: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined
    throw new VstoreError('VSTORE_IO', 'cannot read', path, { cause: error })
  }
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new VstoreError('VSTORE_CORRUPT', 'not JSON', path, { cause: error })
  }
}

/** Writes JSON with a trailing newline, through a temp file so a killed run leaves the old file whole. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`)
  await rename(`${path}.tmp`, path)
}

/** Corpus names become folder and file names: letters, digits, `.`, `_`, `-`; not `cache`. */
export function checkCorpusName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name) || name === 'cache') {
    throw new VstoreError('VSTORE_USAGE', 'a corpus name is letters, digits, ".", "_" and "-" (and not "cache")', name)
  }
}

/** `scripts/corpora/` of this checkout, wherever it is run from (this file runs as dist/scripts/*.js). */
export const DEFAULT_PIN_DIR = fileURLToPath(new URL('../../scripts/corpora/', import.meta.url))

// ---------------------------------------------------------------------------------------------------------
// The npm client

export interface NpmClient {
  /** Every published version (`npm view PKG versions`). */
  versions(packageName: string): Promise<string[]>
  /** Version → the registry's integrity (SRI), for `versions`. */
  integrities(packageName: string, versions: readonly string[]): Promise<Map<string, string>>
  /** Downloads `PKG@VERSION`'s tarball into `destination` (a folder) and returns its path. */
  pack(packageName: string, version: string, destination: string): Promise<string>
}

function run(command: string, args: readonly string[], where: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error === null) return resolvePromise(stdout)
      const firstLine = stderr.split('\n').find(line => line.trim() !== '' && !/^npm (warn|notice)/i.test(line)) ?? error.message
      reject(new VstoreError('VSTORE_IMPORT', `${command} ${args.join(' ')}: ${firstLine.trim()}`, where, { cause: error }))
    })
  })
}

function parseJsonOutput(stdout: string, where: string): unknown {
  if (stdout.trim() === '') return undefined
  try {
    return JSON.parse(stdout) as unknown
  } catch (error) {
    throw new VstoreError('VSTORE_IMPORT', `npm printed something that is not JSON: ${stdout.slice(0, 80)}`, where, { cause: error })
  }
}

/** `dist.integrity`, or for tarballs that predate it, `sha1-` from `dist.shasum`. */
function integrityFromView(item: Record<string, unknown>): string | undefined {
  const integrity = item['dist.integrity']
  if (typeof integrity === 'string' && integrity !== '') return integrity
  const shasum = item['dist.shasum']
  if (typeof shasum === 'string' && /^[0-9a-f]{40}$/.test(shasum)) return `sha1-${Buffer.from(shasum, 'hex').toString('base64')}`
  return undefined
}

/** The real registry, through the `npm` command and its configuration. */
export function npmCommandClient(npm = 'npm'): NpmClient {
  return {
    async versions(packageName) {
      const value = parseJsonOutput(await run(npm, ['view', packageName, 'versions', '--json'], packageName), packageName)
      if (typeof value === 'string') return [value]
      if (Array.isArray(value) && value.every(item => typeof item === 'string')) return value as string[]
      throw new VstoreError('VSTORE_IMPORT', 'npm view versions did not print a list of versions', packageName)
    },
    async integrities(packageName, versions) {
      // One query for every stable version (a range matches no prereleases), then one per version left.
      const found = new Map<string, string>()
      const add = (value: unknown): void => {
        for (const item of Array.isArray(value) ? value : [value]) {
          if (!isRecord(item) || typeof item.version !== 'string') continue
          const integrity = integrityFromView(item)
          if (integrity !== undefined) found.set(item.version, integrity)
        }
      }
      const fields = ['version', 'dist.integrity', 'dist.shasum', '--json']
      add(parseJsonOutput(await run(npm, ['view', `${packageName}@>=0.0.0`, ...fields], packageName), packageName))
      for (const version of versions) {
        if (found.has(version)) continue
        const where = `${packageName}@${version}`
        add(parseJsonOutput(await run(npm, ['view', where, ...fields], where), where))
      }
      return found
    },
    async pack(packageName, version, destination) {
      const where = `${packageName}@${version}`
      const value = parseJsonOutput(await run(npm, ['pack', where, '--pack-destination', destination, '--json', '--ignore-scripts'], where), where)
      const first: unknown = Array.isArray(value) ? value[0] : undefined
      if (!isRecord(first) || typeof first.filename !== 'string') throw new VstoreError('VSTORE_IMPORT', 'npm pack --json did not name the tarball', where)
      return join(destination, basename(first.filename))
    },
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fetching

export interface NpmFetchOptions {
  readonly name: string
  /** Empty: take them from the pin file. */
  readonly specs: readonly string[]
  /** Re-resolve the specs even when a pin file exists. */
  readonly update?: boolean
  readonly client: NpmClient
  /** Default `scripts/corpora/`. */
  readonly pinDir?: string
  /** Default `.corpora/cache/npm/`. */
  readonly cacheDir?: string
  /** Default `.corpora/<name>/`; replaced when the new corpus is whole. */
  readonly corpusDir?: string
  /** Tarballs downloaded ahead of the one being unpacked; default 4. */
  readonly jobs?: number
  readonly now?: () => Date
  /** Progress, one line at a time; default stderr. */
  readonly log?: (line: string) => void
}

export interface CorpusSummary {
  readonly name: string
  readonly dir: string
  readonly pinPath: string
  /** Releases (npm) or commits (git). */
  readonly revisionCount: number
  readonly fileVersionCount: number
  readonly fileCount: number
  readonly rawByteLength: number
  readonly blobCount: number
  readonly blobByteLength: number
  /** Tarball bytes (npm); 0 for git. */
  readonly sourceByteLength: number
  readonly downloadedCount: number
  readonly elapsedMilliseconds: number
}

/**
 * A CorpusWriter that counts what goes through it and writes into `<dir>.partial/`, which `finish` swaps in
 * for `dir`: a failed or killed run leaves the previous corpus as it was.
 */
export class CountingWriter {
  private readonly writer: CorpusWriter
  private readonly partialDir: string
  private readonly blobs = new Set<string>()
  private readonly files = new Set<string>()
  fileVersionCount = 0
  rawByteLength = 0
  blobByteLength = 0

  private constructor(readonly dir: string) {
    this.partialDir = `${dir}.partial`
    this.writer = new CorpusWriter(this.partialDir)
  }

  /** Empties `<dir>.partial/` (left by a killed run) and returns a writer into it. */
  static async create(dir: string): Promise<CountingWriter> {
    const writer = new CountingWriter(dir)
    await rm(writer.partialDir, { recursive: true, force: true })
    return writer
  }

  async add(record: TextRecord): Promise<void> {
    await this.writer.add(record)
    this.fileVersionCount++
    this.rawByteLength += record.text.length
    this.files.add(record.file)
    const sha256 = sha256Hex(record.text)
    if (!this.blobs.has(sha256)) {
      this.blobs.add(sha256)
      this.blobByteLength += record.text.length
    }
  }

  get blobCount(): number {
    return this.blobs.size
  }

  get fileCount(): number {
    return this.files.size
  }

  async finish(source: unknown): Promise<void> {
    await this.writer.finish(source)
    await rm(this.dir, { recursive: true, force: true })
    await rename(this.partialDir, this.dir)
  }
}

export function formatBytes(byteLength: number): string {
  if (byteLength < 1000) return `${byteLength} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let value = byteLength
  let unit = -1
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}

function cacheFileName(packageName: string, version: string): string {
  return `${packageName.replace(/^@/, '').replace('/', '-')}-${version}.tgz`
}

async function resolveReleases(specs: readonly string[], client: NpmClient, previous: NpmPin | undefined): Promise<Omit<PinnedRelease, 'sha256' | 'tarballByteLength'>[]> {
  const releases: Omit<PinnedRelease, 'sha256' | 'tarballByteLength'>[] = []
  const seen = new Set<string>()
  for (const spec of specs) {
    const { packageName, selector } = parseSpec(spec)
    const versions = selectVersions(await client.versions(packageName), selector)
    if (versions.length === 0) throw new VstoreError('VSTORE_NOT_FOUND', 'no published version matches', spec)
    const integrities = await client.integrities(packageName, versions)
    for (const version of versions) {
      const key = `${packageName}@${version}`
      if (seen.has(key)) continue // e.g. `lodash lodash@4`: a release is stored once, at its first place
      seen.add(key)
      const integrity = integrities.get(version)
      if (integrity === undefined) throw new VstoreError('VSTORE_IMPORT', 'the registry gives no integrity', key)
      const pinned = previous?.releases.find(release => release.packageName === packageName && release.version === version)
      if (pinned !== undefined && pinned.integrity !== integrity) {
        throw new VstoreError('VSTORE_CORRUPT', `the registry's integrity ${integrity} differs from the pinned ${pinned.integrity}`, key)
      }
      releases.push({ packageName, version, integrity })
    }
  }
  return releases
}

/**
 * Resolves (or reads) the pin, downloads or reuses every tarball, and writes the corpus.
 * @throws VstoreError `VSTORE_USAGE` for a bad name or spec, or specs that differ from the pin's without
 *   `update`; `VSTORE_CORRUPT` when a downloaded tarball does not match its pin or the registry's integrity;
 *   `VSTORE_NOT_FOUND` when a spec matches no version; `VSTORE_IMPORT` when npm fails or a tarball holds an
 *   unsafe path.
 */
export async function fetchNpmCorpus(options: NpmFetchOptions): Promise<CorpusSummary> {
  const started = Date.now()
  const now = options.now ?? (() => new Date())
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  checkCorpusName(options.name)
  const pinPath = join(options.pinDir ?? DEFAULT_PIN_DIR, `${options.name}.json`)
  const cacheDir = options.cacheDir ?? join(corporaRoot(), 'cache', 'npm')
  const dir = options.corpusDir ?? corpusDir(options.name)
  const jobs = options.jobs ?? 4
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new RangeError(`jobs must be ≥ 1, got ${jobs}`)

  const pinValue = await tryReadJson(pinPath)
  const pin = pinValue === undefined ? undefined : decodeNpmPin(pinValue, pinPath)
  const usePin = pin !== undefined && options.update !== true
  if (usePin && options.specs.length > 0 && options.specs.join(' ') !== pin.specs.join(' ')) {
    throw new VstoreError('VSTORE_USAGE', `pinned for "${pin.specs.join(' ')}", asked for "${options.specs.join(' ')}"; pass --update to re-resolve`, pinPath)
  }
  const specs = options.specs.length > 0 ? options.specs : (pin?.specs ?? [])
  if (specs.length === 0) throw new VstoreError('VSTORE_USAGE', 'no SPEC given and no pin file', pinPath)
  for (const spec of specs) parseSpec(spec)
  const planned: readonly (Omit<PinnedRelease, 'sha256' | 'tarballByteLength'> & { sha256?: string })[] = usePin
    ? pin.releases
    : await resolveReleases(specs, options.client, pin)
  log(`${options.name}: ${planned.length} releases ${usePin ? `from ${pinPath}` : `resolved from ${specs.join(' ')}`}`)

  await mkdir(cacheDir, { recursive: true })
  const downloadDir = await mkdtemp(join(cacheDir, '.download-'))
  const summary = {
    pinned: [] as PinnedRelease[],
    sourceByteLength: 0,
    downloadedCount: 0,
  }
  try {
    /** Reads the cached tarball if it passes the check, else downloads it (and checks that). */
    const obtain = async (index: number): Promise<{ tgz: Uint8Array; state: 'cached' | 'downloaded' }> => {
      const release = planned[index] as (typeof planned)[number]
      const where = `${release.packageName}@${release.version}`
      const expected = { integrity: release.integrity, sha256: release.sha256 ?? pin?.releases.find(r => r.packageName === release.packageName && r.version === release.version)?.sha256 }
      const cachePath = join(cacheDir, cacheFileName(release.packageName, release.version))
      if (await exists(cachePath)) {
        const cached = new Uint8Array(await readFile(cachePath))
        let intact = true
        try {
          checkTarball(cached, { integrity: expected.integrity }, where)
        } catch (error) {
          if (!(error instanceof VstoreError && error.code === 'VSTORE_CORRUPT')) throw error
          log(`${where}: cached tarball fails its check (${error.message}); downloading again`)
          await rm(cachePath, { force: true })
          intact = false
        }
        if (intact) {
          // It has the registry's bytes; a sha256 that still differs is the pin's fault, so stop here.
          checkTarball(cached, expected, where)
          return { tgz: cached, state: 'cached' }
        }
      }
      const ownDir = await mkdtemp(join(downloadDir, 'pack-'))
      const packedPath = await options.client.pack(release.packageName, release.version, ownDir)
      const tgz = new Uint8Array(await readFile(packedPath))
      checkTarball(tgz, expected, where)
      await rename(packedPath, cachePath)
      await rm(ownDir, { recursive: true, force: true })
      return { tgz, state: 'downloaded' }
    }

    const pending: Promise<{ tgz: Uint8Array; state: 'cached' | 'downloaded' }>[] = []
    const startUpTo = (end: number): void => {
      while (pending.length < Math.min(end, planned.length)) {
        const promise = obtain(pending.length)
        promise.catch(() => undefined) // awaited in order below; this only keeps an early failure from being "unhandled"
        pending.push(promise)
      }
    }

    const writer = await CountingWriter.create(dir)
    const latest = new Map<string, LatestVersion>()
    for (let index = 0; index < planned.length; index++) {
      startUpTo(index + jobs)
      const release = planned[index] as (typeof planned)[number]
      const { tgz, state } = await (pending[index] as (typeof pending)[number])
      pending[index] = Promise.resolve({ tgz: new Uint8Array(0), state }) // let the bytes go
      const where = `${release.packageName}@${release.version}`
      log(`[${index + 1}/${planned.length}] ${where} (${state}) ${formatBytes(tgz.length)}`)
      if (state === 'downloaded') summary.downloadedCount++
      summary.sourceByteLength += tgz.length
      summary.pinned.push({ ...release, sha256: sha256Hex(tgz), tarballByteLength: tgz.length })
      for (const record of releaseTexts(latest, release.packageName, release.version, readPackageFiles(tgz, where))) await writer.add(record)
    }

    const fetchedAt = now().toISOString()
    const newPin: NpmPin = usePin ? pin : { kind: 'npm', name: options.name, specs, resolvedAt: fetchedAt, releases: summary.pinned }
    await writer.finish({
      kind: 'npm',
      name: options.name,
      specs,
      pinFile: relative(process.cwd(), pinPath),
      fetchedAt,
      releaseCount: planned.length,
      fileVersionCount: writer.fileVersionCount,
      fileCount: writer.fileCount,
      rawByteLength: writer.rawByteLength,
      blobCount: writer.blobCount,
      tarballByteLength: summary.sourceByteLength,
      releases: summary.pinned.map(({ packageName, version, integrity, sha256 }) => ({ packageName, version, integrity, sha256 })),
    })
    if (!usePin) await writeJson(pinPath, newPin)
    return {
      name: options.name,
      dir,
      pinPath,
      revisionCount: planned.length,
      fileVersionCount: writer.fileVersionCount,
      fileCount: writer.fileCount,
      rawByteLength: writer.rawByteLength,
      blobCount: writer.blobCount,
      blobByteLength: writer.blobByteLength,
      sourceByteLength: summary.sourceByteLength,
      downloadedCount: summary.downloadedCount,
      elapsedMilliseconds: Date.now() - started,
    }
  } finally {
    await rm(downloadDir, { recursive: true, force: true })
  }
}

export function describeSummary(summary: CorpusSummary, revisionWord: string): string {
  return `${summary.name}: ${summary.revisionCount} ${revisionWord}, ${summary.fileCount} files, ${summary.fileVersionCount} file versions, `
    + `${summary.rawByteLength} raw bytes (${formatBytes(summary.rawByteLength)}), ${summary.blobCount} distinct blobs (${formatBytes(summary.blobByteLength)})`
    + `${summary.sourceByteLength > 0 ? `, ${formatBytes(summary.sourceByteLength)} of tarballs (${summary.downloadedCount} downloaded)` : ''}`
    + `, ${(summary.elapsedMilliseconds / 1000).toFixed(1)} s → ${summary.dir}`
}

/** Runs a script's main: prints a VstoreError as one line and exits with the CLI's status for it. */
export async function runMain(program: string, main: () => Promise<void>): Promise<void> {
  try {
    await main()
  } catch (error) {
    process.stderr.write(`${describeError(error).replace(/^vstore:/, `${program}:`)}\n`)
    process.exitCode = exitStatusFor(error)
  }
}

const USAGE = 'usage: fetch-npm-corpus NAME [SPEC ...] [--update] [--jobs N] [--pins DIR]   (SPEC: pkg, pkg@MAJOR, pkg@everyN, pkg@X.Y.Z)'

async function main(argv: readonly string[]): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { update: { type: 'boolean' }, jobs: { type: 'string' }, pins: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    })
  } catch (error) {
    throw new VstoreError('VSTORE_USAGE', `${(error as Error).message}; ${USAGE}`, 'arguments', { cause: error })
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const [name, ...specs] = positionals
  if (name === undefined) throw new VstoreError('VSTORE_USAGE', USAGE, 'arguments')
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs)
  if (jobs !== undefined && (!Number.isSafeInteger(jobs) || jobs < 1)) throw new VstoreError('VSTORE_USAGE', `--jobs wants a whole number ≥ 1, got ${values.jobs}`, 'arguments')
  const summary = await fetchNpmCorpus({
    name,
    specs,
    update: values.update === true,
    client: npmCommandClient(),
    ...(values.pins === undefined ? {} : { pinDir: values.pins }),
    ...(jobs === undefined ? {} : { jobs }),
  })
  process.stdout.write(`${describeSummary(summary, 'releases')}\n`)
}

const invokedAs = process.argv[1]
if (invokedAs !== undefined && import.meta.url === pathToFileURL(realpathSync(invokedAs)).href) {
  await runMain('fetch-npm-corpus', () => main(process.argv.slice(2)))
}

