/**
 * Fetches npm releases into a benchmark corpus (`scripts/corpus.ts`): one text per file version, where a
 * file is `<package>/<path inside the package>` and each release `<package>@<version>` is one revision.
 *
 *   node dist/scripts/fetch-npm-corpus.js NAME [SPEC ...] [--update] [--jobs N] [--pins DIR]
 *
 *   SPEC  `pkg`          every stable version (no prerelease tag), in semver order
 *         `pkg@RANGE`    the stable versions an npm range matches, read as `vstore import npm` reads it
 *                        (lib/import/npm.ts): `pkg@4` is major 4, `pkg@1.2.3` that one version (a published
 *                        version named exactly is taken even when it is a prerelease), `pkg@^4.2`, `pkg@>=2 <4`
 *         `pkg@everyN`   every Nth stable version, starting with the first, always with the last
 *
 * The first run resolves the specs with `npm view` and writes the pin file `scripts/corpora/NAME.json`: the
 * exact releases with each tarball's registry integrity (sha512) and our sha256. Later runs take the list
 * from the pin (no `npm view`) and check every tarball against it; `--update` re-resolves the specs.
 * Tarballs come from `npm pack` into `.corpora/cache/npm/` (under npm's file name, as `vstore import npm`
 * keeps them); one already there that passes the check is not fetched again, so a killed run, run again,
 * continues where it stopped.
 *
 * History is `importReleases`' (lib/import/releases.ts), over all releases in the order given (each spec's
 * versions in semver order, then the next spec's): linear per file, a file's version names the previous
 * release that changed it as its one parent, a file whose bytes did not change makes no new text, and one
 * missing from a release and back later continues from its last version. The path inside the package drops
 * the tarball's top folder (`package/`, or whatever old tarballs used) when every file lies in one. Within a
 * release, texts come sorted by path, not in the tarball's order, so that the corpus does not depend on the
 * packer.
 */
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises'
import { basename, join, relative } from 'node:path'
import { VstoreError } from '../lib/errors.js'
import { integrityFromView, parseNpmSpec, selectVersions, tarballFileName } from '../lib/import/npm.js'
import { importReleases, type Release } from '../lib/import/releases.js'
import { openArchive } from '../lib/import/archive.js'
import type { ArchiveEntry } from '../lib/import/archive-entry.js'
import {
  corporaRoot, CountingWriter, describeSummary, exists, formatBytes, isMainModule, isRecord, parseCommandLine, runCommand, runMain,
  sha256Hex, startFetch, writeJson, type CorpusSummary, type FetchOptions,
} from './corpus.js'

// ---------------------------------------------------------------------------------------------------------
// Specs

export type VersionSelector =
  /** An npm range, as `parseNpmSpec` gives it (`*` for a bare name). */
  | { readonly kind: 'range'; readonly range: string }
  | { readonly kind: 'every'; readonly step: number }

export interface PackageSpec {
  readonly packageName: string
  readonly selector: VersionSelector
}

const USAGE_SPEC = 'pkg, pkg@RANGE or pkg@everyN'

/**
 * Parses `pkg`, `pkg@RANGE` (see `parseNpmSpec`) or `pkg@everyN` (N ≥ 1); scoped names such as
 * `@types/node@20` too.
 * @throws VstoreError `VSTORE_USAGE` for anything else.
 */
export function parseSpec(spec: string): PackageSpec {
  const every = /^(.+)@every([1-9]\d{0,8})$/.exec(spec)
  let parsed
  try {
    parsed = parseNpmSpec(every?.[1] ?? spec)
  } catch (error) {
    if (!(error instanceof VstoreError && error.code === 'VSTORE_USAGE')) throw error
    throw new VstoreError('VSTORE_USAGE', `${error.message}; expected ${USAGE_SPEC}`, spec, { cause: error })
  }
  if (every === null) return { packageName: parsed.name, selector: { kind: 'range', range: parsed.range } }
  if (parsed.name !== every[1]) throw new VstoreError('VSTORE_USAGE', `everyN takes no range as well; expected ${USAGE_SPEC}`, spec)
  return { packageName: parsed.name, selector: { kind: 'every', step: Number(every[2]) } }
}

/**
 * The versions a selector picks from a package's published `versions`, in semver order: a range's stable
 * versions (`selectVersions`), or that one version when the range names a published one exactly (so
 * `pkg@2.0.0-beta.1` works); `every` takes indexes 0, N, 2N, … of the stable versions and always the last.
 */
export function selectSpecVersions(versions: readonly string[], selector: VersionSelector): string[] {
  if (selector.kind === 'range') return versions.includes(selector.range) ? [selector.range] : selectVersions(versions, selector.range)
  const stable = selectVersions(versions, '*')
  return stable.filter((_, index) => index % selector.step === 0 || index === stable.length - 1)
}

// ---------------------------------------------------------------------------------------------------------
// Tarballs

/**
 * A release for `importReleases`: the tarball's regular files (`openArchive`: paths canonical, unsafe ones
 * refused), sorted by path. File id = `<package>/` + the path without the top folder; rev = `<package>@<version>`.
 * @throws VstoreError as `openArchive`.
 */
export async function readRelease(packageName: string, version: string, tarballPath: string): Promise<Release> {
  const files: ArchiveEntry[] = []
  for await (const entry of openArchive(tarballPath)) files.push(entry)
  // npm pack and older packers list files in their own orders (none of the pinned tarballs is sorted).
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return { rev: `${packageName}@${version}`, where: tarballPath, filePrefix: `${packageName}/`, files }
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

function parseJsonOutput(stdout: string, where: string): unknown {
  if (stdout.trim() === '') return undefined
  try {
    return JSON.parse(stdout) as unknown
  } catch (error) {
    throw new VstoreError('VSTORE_IMPORT', `npm printed something that is not JSON: ${stdout.slice(0, 80)}`, where, { cause: error })
  }
}


/** The real registry, through the `npm` command and its configuration. */
export function npmCommandClient(npm = 'npm'): NpmClient {
  return {
    async versions(packageName) {
      const value = parseJsonOutput(await runCommand(npm, ['view', packageName, 'versions', '--json'], packageName), packageName)
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
      add(parseJsonOutput(await runCommand(npm, ['view', `${packageName}@>=0.0.0`, ...fields], packageName), packageName))
      for (const version of versions) {
        if (found.has(version)) continue
        const where = `${packageName}@${version}`
        add(parseJsonOutput(await runCommand(npm, ['view', where, ...fields], where), where))
      }
      return found
    },
    async pack(packageName, version, destination) {
      const where = `${packageName}@${version}`
      const value = parseJsonOutput(await runCommand(npm, ['pack', where, '--pack-destination', destination, '--json', '--ignore-scripts'], where), where)
      const first: unknown = Array.isArray(value) ? value[0] : undefined
      if (!isRecord(first) || typeof first.filename !== 'string') throw new VstoreError('VSTORE_IMPORT', 'npm pack --json did not name the tarball', where)
      return join(destination, basename(first.filename))
    },
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fetching

export interface NpmFetchOptions extends FetchOptions {
  /** Empty: take them from the pin file. */
  readonly specs: readonly string[]
  readonly client: NpmClient
  /** Default `.corpora/cache/npm/`. */
  readonly cacheDir?: string
  /** Tarballs downloaded ahead of the one being unpacked; default 4. */
  readonly jobs?: number
}

async function resolveReleases(specs: readonly string[], client: NpmClient, previous: NpmPin | undefined): Promise<Omit<PinnedRelease, 'sha256' | 'tarballByteLength'>[]> {
  const releases: Omit<PinnedRelease, 'sha256' | 'tarballByteLength'>[] = []
  const seen = new Set<string>()
  for (const spec of specs) {
    const { packageName, selector } = parseSpec(spec)
    const versions = selectSpecVersions(await client.versions(packageName), selector)
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

/** A tarball in the cache, checked. */
interface ObtainedTarball {
  readonly path: string
  readonly state: 'cached' | 'downloaded'
  readonly sha256: string
  readonly tarballByteLength: number
}

/**
 * Resolves (or reads) the pin, downloads or reuses every tarball, and writes the corpus.
 * @throws VstoreError `VSTORE_USAGE` for a bad name or spec, or specs that differ from the pin's without
 *   `update`; `VSTORE_CORRUPT` when a downloaded tarball does not match its pin or the registry's integrity;
 *   `VSTORE_NOT_FOUND` when a spec matches no version; `VSTORE_IMPORT` when npm fails or a tarball is
 *   damaged or holds an unsafe path (and the other errors of `openArchive` and `importReleases`).
 */
export async function fetchNpmCorpus(options: NpmFetchOptions): Promise<CorpusSummary> {
  const start = await startFetch(options, decodeNpmPin)
  const { pin, pinPath, log } = start
  const cacheDir = options.cacheDir ?? join(corporaRoot(), 'cache', 'npm')
  const jobs = options.jobs ?? 4
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new VstoreError('VSTORE_USAGE', `jobs must be ≥ 1, got ${jobs}`, 'fetch options')

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
  const pinned: PinnedRelease[] = []
  let sourceByteLength = 0
  let downloadedCount = 0
  try {
    const obtain = (index: number): Promise<ObtainedTarball> => {
      const release = planned[index] as (typeof planned)[number]
      const sha256 = release.sha256 ?? pin?.releases.find(r => r.packageName === release.packageName && r.version === release.version)?.sha256
      return obtainTarball(release, { integrity: release.integrity, sha256 }, { cacheDir, downloadDir, client: options.client, log })
    }
    const pending: Promise<ObtainedTarball>[] = []
    const startUpTo = (end: number): void => {
      while (pending.length < Math.min(end, planned.length)) {
        const promise = obtain(pending.length)
        promise.catch(() => undefined) // awaited in order below; this only keeps an early failure from being "unhandled"
        pending.push(promise)
      }
    }
    async function* releases(): AsyncGenerator<Release> {
      for (let index = 0; index < planned.length; index++) {
        startUpTo(index + jobs)
        const release = planned[index] as (typeof planned)[number]
        const tarball = await (pending[index] as (typeof pending)[number])
        log(`[${index + 1}/${planned.length}] ${release.packageName}@${release.version} (${tarball.state}) ${formatBytes(tarball.tarballByteLength)}`)
        if (tarball.state === 'downloaded') downloadedCount++
        sourceByteLength += tarball.tarballByteLength
        pinned.push({ ...release, sha256: tarball.sha256, tarballByteLength: tarball.tarballByteLength })
        yield await readRelease(release.packageName, release.version, tarball.path)
      }
    }

    const writer = await CountingWriter.create(start.dir)
    for await (const record of importReleases(releases())) await writer.add(record)

    const fetchedAt = start.now().toISOString()
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
      tarballByteLength: sourceByteLength,
      releases: pinned.map(({ packageName, version, integrity, sha256 }) => ({ packageName, version, integrity, sha256 })),
    })
    if (!usePin) await writeJson(pinPath, { kind: 'npm', name: options.name, specs, resolvedAt: fetchedAt, releases: pinned } satisfies NpmPin)
    return writer.summary(start, options.name, { revisionCount: planned.length, sourceByteLength, downloadedCount })
  } finally {
    await rm(downloadDir, { recursive: true, force: true })
  }
}

/** Checks the cached tarball of `release`, else downloads it (and checks that) into the cache. */
async function obtainTarball(
  release: { readonly packageName: string; readonly version: string }, expected: { readonly integrity: string; readonly sha256: string | undefined },
  place: { readonly cacheDir: string; readonly downloadDir: string; readonly client: NpmClient; readonly log: (line: string) => void },
): Promise<ObtainedTarball> {
  const where = `${release.packageName}@${release.version}`
  const cachePath = join(place.cacheDir, tarballFileName(release.packageName, release.version))
  const checked = (tgz: Uint8Array, state: ObtainedTarball['state']): ObtainedTarball => ({ path: cachePath, state, sha256: sha256Hex(tgz), tarballByteLength: tgz.length })
  if (await exists(cachePath)) {
    const cached = new Uint8Array(await readFile(cachePath))
    let intact = true
    try {
      checkTarball(cached, { integrity: expected.integrity }, where)
    } catch (error) {
      if (!(error instanceof VstoreError && error.code === 'VSTORE_CORRUPT')) throw error
      place.log(`${where}: cached tarball fails its check (${error.message}); downloading again`)
      await rm(cachePath, { force: true })
      intact = false
    }
    if (intact) {
      // It has the registry's bytes; a sha256 that still differs is the pin's fault, so stop here.
      checkTarball(cached, expected, where)
      return checked(cached, 'cached')
    }
  }
  const ownDir = await mkdtemp(join(place.downloadDir, 'pack-'))
  const packedPath = await place.client.pack(release.packageName, release.version, ownDir)
  const tgz = new Uint8Array(await readFile(packedPath))
  checkTarball(tgz, expected, where)
  await rename(packedPath, cachePath)
  await rm(ownDir, { recursive: true, force: true })
  return checked(tgz, 'downloaded')
}

const USAGE = `usage: fetch-npm-corpus NAME [SPEC ...] [--update] [--jobs N] [--pins DIR]   (SPEC: ${USAGE_SPEC})`

async function main(argv: readonly string[]): Promise<void> {
  const parsed = parseCommandLine(argv, { update: { type: 'boolean' }, jobs: { type: 'string' }, pins: { type: 'string' } }, USAGE)
  if (parsed === undefined) return
  const { values, positionals } = parsed
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

if (isMainModule(import.meta.url)) await runMain('fetch-npm-corpus', () => main(process.argv.slice(2)))
