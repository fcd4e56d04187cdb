/**
 * npm packages as release histories: every stable version of a package that a range matches, in semver
 * order, one release each (see releases.ts). File id = `NAME/<path inside the package>`, revision =
 * `NAME@VERSION`.
 *
 * The registry is reached only through the `npm` command (its configuration, proxy and auth apply):
 * `npm view NAME versions --json` lists versions; `npm pack NAME@VERSION --pack-destination DIR --json`
 * fetches a tarball, which is checked against the integrity npm reports and moved into the cache under npm's
 * file name (`express-4.18.2.tgz`, `types-node-20.1.0.tgz`). A cached tarball is checked against the
 * registry's `dist.integrity` (one `npm view` per package) and, when it passes, not fetched again: a killed
 * import, run again, continues where it stopped. Tarballs are fetched one at a time, as the import reaches
 * them; memory is that of `importReleases` over one tarball.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { VstoreError, messageOf } from '../errors.js'
import type { TextRecord } from '../store/types.js'
import { firstStderrLine, keepStderr } from './child-process.js'
import { openArchive } from './archive.js'
import { importReleases, releaseOptionsOf, type Release, type ReleaseImportOptions } from './releases.js'
import { checkMaxTextByteLength, type TextLimitOptions } from './text-limit.js'

/** `maxTextByteLength` is checked against each file's size in a tarball's tar header (see `openArchive`). */
export interface NpmImportOptions extends ReleaseImportOptions, TextLimitOptions {
  /** Where tarballs are kept between imports (made if missing). */
  readonly cacheDir: string
  /** The npm command; default `npm`. */
  readonly npm?: string
  /** Told about each step, e.g. to print `[3/40] express@4.18.2 (cached)`. */
  readonly onProgress?: (event: NpmProgressEvent) => void
}

export type NpmProgressEvent =
  /** A package's versions were listed; `versions` are those the import will take, in order. */
  | { readonly kind: 'resolved'; readonly name: string; readonly versions: readonly string[] }
  /** A tarball is ready: `index` counts from 1 up to `count`, over all packages. */
  | {
    readonly kind: 'tarball'; readonly name: string; readonly version: string; readonly path: string
    readonly source: 'cache' | 'download'; readonly index: number; readonly count: number
  }

/**
 * Yields the records of the npm releases `specs` name (`NAME` or `NAME@RANGE`; see `parseNpmSpec`). A
 * package named by several specs is one history: the union of their versions, in semver order; packages
 * come in the order they are first named.
 *
 * @throws VstoreError `VSTORE_USAGE` for a spec that is not `NAME[@RANGE]` with a range this module reads,
 *   or no specs, or a `maxTextByteLength` that is not a whole number ≥ 0.
 * @throws VstoreError `VSTORE_NOT_FOUND` (where = the spec) when a spec matches no stable version;
 *   `VSTORE_IMPORT` (where = `NAME` or `NAME@VERSION`) when npm fails or prints what it should not, or a
 *   tarball does not match its integrity; `VSTORE_UNSUPPORTED` for an integrity in no known algorithm;
 *   `VSTORE_IO` when the cache cannot be written; and the errors of `openArchive` and `importReleases`, so
 *   `VSTORE_LIMIT` (where = `<tarball>:package/<path>`) for a file over `maxTextByteLength`, before its bytes
 *   are read.
 */
export async function* importNpm(specs: readonly string[], options: NpmImportOptions): AsyncGenerator<TextRecord> {
  if (specs.length === 0) throw new VstoreError('VSTORE_USAGE', 'importNpm needs at least one NAME[@RANGE]', 'import options')
  checkMaxTextByteLength(options.maxTextByteLength)
  const archiveOptions = options.maxTextByteLength === undefined ? {} : { maxTextByteLength: options.maxTextByteLength }
  const parsed = specs.map(spec => ({ spec, ...parseNpmSpec(spec) }))
  const cacheDir = resolve(options.cacheDir)
  const npm = new NpmCommand(options.npm ?? 'npm', cacheDir)
  try {
    await mkdir(cacheDir, { recursive: true })
  } catch (cause) {
    throw new VstoreError('VSTORE_IO', `cannot make the cache folder: ${messageOf(cause)}`, cacheDir, { cause })
  }

  const plans: Array<{ readonly name: string; readonly versions: readonly string[] }> = []
  for (const name of new Set(parsed.map(spec => spec.name))) {
    const published = await npm.versions(name)
    const chosen = new Set<string>()
    for (const { spec, range } of parsed.filter(item => item.name === name)) {
      const matching = selectVersions(published, range)
      if (matching.length === 0) throw new VstoreError('VSTORE_NOT_FOUND', `no stable version of ${name} matches ${JSON.stringify(range)}`, spec)
      for (const version of matching) chosen.add(version)
    }
    const versions = [...chosen].sort(compareVersions)
    plans.push({ name, versions })
    options.onProgress?.({ kind: 'resolved', name, versions })
  }

  const count = plans.reduce((sum, plan) => sum + plan.versions.length, 0)
  async function* releases(): AsyncGenerator<Release> {
    let index = 0
    for (const { name, versions } of plans) {
      const registryIntegrities = new Lazy(() => npm.integrities(name, versions))
      for (const version of versions) {
        index += 1
        const { path, source } = await obtainTarball(npm, cacheDir, name, version, registryIntegrities)
        options.onProgress?.({ kind: 'tarball', name, version, path, source, index, count })
        yield { rev: `${name}@${version}`, where: path, filePrefix: `${name}/`, files: read => openArchive(path, { ...archiveOptions, onSymlink: read.onSymlink }) }
      }
    }
  }
  yield* importReleases(releases(), releaseOptionsOf(options))
}

// ---------------------------------------------------------------------------------------------------------
// Specs and versions

export interface NpmSpec {
  readonly name: string
  /** `*` when the spec gives none. */
  readonly range: string
}

const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/i

/**
 * Splits `NAME[@RANGE]` (`express`, `express@^4`, `@types/node@>=18 <20`) and checks both parts.
 * @throws VstoreError `VSTORE_USAGE` (where = the spec) for a name npm would refuse or a range `parseRange`
 *   cannot read.
 */
export function parseNpmSpec(spec: string): NpmSpec {
  const at = spec.indexOf('@', 1)
  const name = at === -1 ? spec : spec.slice(0, at)
  const range = at === -1 ? '*' : spec.slice(at + 1).trim()
  if (!PACKAGE_NAME.test(name) || name.length > 214) throw new VstoreError('VSTORE_USAGE', `not an npm package name: ${JSON.stringify(name)}`, spec)
  parseRange(range)
  return { name, range: range === '' ? '*' : range }
}

interface Version {
  readonly major: number
  readonly minor: number
  readonly patch: number
  /** Dot-separated prerelease identifiers, numeric ones as numbers; empty for a stable version. */
  readonly prerelease: readonly (string | number)[]
}

const VERSION = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/

/** A SemVer 2.0 version (leading `v` allowed, build metadata ignored); `undefined` if it is not one. */
function parseVersion(text: string): Version | undefined {
  const match = VERSION.exec(text)
  if (match === null) return undefined
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])]
  if (![major, minor, patch].every(Number.isSafeInteger)) return undefined
  const prerelease = match[4] === undefined ? [] : match[4].split('.').map(part => (/^\d+$/.test(part) ? Number(part) : part))
  return { major, minor, patch, prerelease }
}

function compareParsed(left: Version, right: Version): number {
  const byNumbers = left.major - right.major || left.minor - right.minor || left.patch - right.patch
  if (byNumbers !== 0) return Math.sign(byNumbers)
  if (left.prerelease.length === 0 || right.prerelease.length === 0) return Math.sign(right.prerelease.length - left.prerelease.length)
  for (let index = 0; index < Math.min(left.prerelease.length, right.prerelease.length); index++) {
    const [x, y] = [left.prerelease[index], right.prerelease[index]]
    if (x === y) continue
    if (typeof x === 'number' && typeof y === 'number') return Math.sign(x - y)
    if (typeof x === 'number') return -1
    if (typeof y === 'number') return 1
    return String(x) < String(y) ? -1 : 1
  }
  return Math.sign(left.prerelease.length - right.prerelease.length)
}

/**
 * SemVer precedence (a prerelease before its release; build metadata ignored, then the text breaks ties so
 * sorting is deterministic). @throws VstoreError `VSTORE_USAGE` when either is not a version.
 */
export function compareVersions(a: string, b: string): number {
  const left = parseVersion(a)
  const right = parseVersion(b)
  if (left === undefined || right === undefined) throw new VstoreError('VSTORE_USAGE', 'not a semver version', left === undefined ? a : b)
  return compareParsed(left, right) || (a < b ? -1 : a > b ? 1 : 0)
}

type Operator = '<' | '<=' | '>' | '>=' | '='
interface Comparator {
  readonly operator: Operator
  readonly version: Version
}
/** Alternatives (`||`), each a list of comparators that must all hold; an empty list matches everything. */
type Range = readonly (readonly Comparator[])[]

/** A version with any of its parts missing or a wildcard (`x`, `X`, `*`): `1`, `1.2`, `1.x`, `*`. */
interface PartialVersion {
  readonly major?: number
  readonly minor?: number
  readonly patch?: number
  readonly prerelease: readonly (string | number)[]
}

const PARTIAL = /^v?(\*|x|X|0|[1-9]\d*)(?:\.(\*|x|X|0|[1-9]\d*)(?:\.(\*|x|X|0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-.]+)?)?)?$/

function parsePartial(text: string, range: string): PartialVersion {
  const match = PARTIAL.exec(text)
  if (match === null) throw new VstoreError('VSTORE_USAGE', `not a version in range ${JSON.stringify(range)}: ${JSON.stringify(text)}`, range)
  const number = (part: string | undefined): number | undefined => {
    if (part === undefined || part === '*' || part === 'x' || part === 'X') return undefined
    const value = Number(part)
    if (!Number.isSafeInteger(value)) throw new VstoreError('VSTORE_USAGE', `version number too large in range ${JSON.stringify(range)}`, range)
    return value
  }
  const [major, minor, patch] = [number(match[1]), number(match[2]), number(match[3])]
  // After a wildcard, everything is a wildcard (`1.x.3` is `1.x`).
  const result: { major?: number; minor?: number; patch?: number } = {}
  if (major !== undefined) {
    result.major = major
    if (minor !== undefined) {
      result.minor = minor
      if (patch !== undefined) result.patch = patch
    }
  }
  const prerelease = match[4] === undefined || patch === undefined ? [] : match[4].split('.').map(part => (/^\d+$/.test(part) ? Number(part) : part))
  return { ...result, prerelease }
}

function version(major: number, minor: number, patch: number, prerelease: readonly (string | number)[] = []): Version {
  return { major, minor, patch, prerelease }
}

/** `>=` the lowest version a partial covers. */
function lowerBound(partial: PartialVersion): Comparator[] {
  if (partial.major === undefined) return []
  return [{ operator: '>=', version: version(partial.major, partial.minor ?? 0, partial.patch ?? 0, partial.prerelease) }]
}

/** `<` the first version past what a partial covers (`1.2` → `<1.3.0`), or `<=` a full version. */
function upperBound(partial: PartialVersion): Comparator[] {
  if (partial.major === undefined) return []
  if (partial.minor === undefined) return [{ operator: '<', version: version(partial.major + 1, 0, 0) }]
  if (partial.patch === undefined) return [{ operator: '<', version: version(partial.major, partial.minor + 1, 0) }]
  return [{ operator: '<=', version: version(partial.major, partial.minor, partial.patch, partial.prerelease) }]
}

const NEVER: Comparator = { operator: '<', version: version(0, 0, 0, [0]) }

/** One comparator as npm's semver reads it, as plain `<`, `<=`, `>`, `>=`, `=` comparators. */
function desugar(operator: string, partial: PartialVersion): Comparator[] {
  const { major, minor, patch } = partial
  switch (operator) {
    case '':
    case '=':
      if (major !== undefined && minor !== undefined && patch !== undefined) return [{ operator: '=', version: version(major, minor, patch, partial.prerelease) }]
      return [...lowerBound(partial), ...upperBound(partial)]
    case '>=':
      return lowerBound(partial)
    case '<=':
      return upperBound(partial)
    case '>':
      if (major === undefined) return [NEVER]
      if (minor === undefined) return [{ operator: '>=', version: version(major + 1, 0, 0) }]
      if (patch === undefined) return [{ operator: '>=', version: version(major, minor + 1, 0) }]
      return [{ operator: '>', version: version(major, minor, patch, partial.prerelease) }]
    case '<':
      if (major === undefined) return [NEVER]
      return [{ operator: '<', version: version(major, minor ?? 0, patch ?? 0, partial.prerelease) }]
    case '~':
    case '~>':
      if (major === undefined) return []
      return [...lowerBound(partial), { operator: '<', version: minor === undefined ? version(major + 1, 0, 0) : version(major, minor + 1, 0) }]
    case '^': {
      if (major === undefined) return []
      let upper: Version
      if (major > 0 || minor === undefined) upper = version(major + 1, 0, 0)
      else if (minor > 0 || patch === undefined) upper = version(0, minor + 1, 0)
      else upper = version(0, 0, patch + 1)
      return [...lowerBound(partial), { operator: '<', version: upper }]
    }
    default:
      throw new Error(`vstore bug: operator ${operator}`)
  }
}

/**
 * Reads an npm range: alternatives joined by `||`, each a hyphen range (`1.2 - 2.3.4`) or comparators
 * joined by spaces: `*`/`x`/empty, `1`, `1.2`, `1.2.3`, `=1.2.3`, `^1.2`, `~1.2.3`, `>=1.2`, `>1`, `<2`,
 * `<=2.1`, with npm's meaning for partial versions (`^0.2` is `>=0.2.0 <0.3.0`, `<=1.2` is `<1.3.0`).
 * Dist-tags (`latest`) are not ranges.
 * @throws VstoreError `VSTORE_USAGE` (where = the range) for anything else.
 */
function parseRange(text: string): Range {
  return text.split('||').map(alternative => {
    const trimmed = alternative.trim().replace(/(>=|<=|~>|[<>=~^])\s+/g, '$1')
    if (trimmed === '') return []
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(trimmed)
    if (hyphen !== null) return [...lowerBound(parsePartial(hyphen[1] ?? '', text)), ...upperBound(parsePartial(hyphen[2] ?? '', text))]
    return trimmed.split(/\s+/).flatMap(item => {
      const match = /^(>=|<=|~>|[<>=~^])?(.*)$/.exec(item)
      return desugar(match?.[1] ?? '', parsePartial(match?.[2] ?? '', text))
    })
  })
}

function satisfies(candidate: Version, range: Range): boolean {
  return range.some(comparators => comparators.every(({ operator, version: bound }) => {
    const order = compareParsed(candidate, bound)
    switch (operator) {
      case '<': return order < 0
      case '<=': return order <= 0
      case '>': return order > 0
      case '>=': return order >= 0
      case '=': return order === 0
    }
  }))
}

/**
 * The stable versions (no prerelease tag) among `versions` that `range` matches, without duplicates, in
 * semver order. Texts that are not versions are left out. @throws VstoreError `VSTORE_USAGE` for a range
 * `parseRange` refuses.
 */
export function selectVersions(versions: readonly string[], range: string): string[] {
  const parsedRange = parseRange(range)
  const selected = new Set<string>()
  for (const text of versions) {
    const parsed = parseVersion(text)
    if (parsed !== undefined && parsed.prerelease.length === 0 && satisfies(parsed, parsedRange)) selected.add(text)
  }
  return [...selected].sort(compareVersions)
}

// ---------------------------------------------------------------------------------------------------------
// Tarballs

/** npm's tarball file name: `@scope/name` → `scope-name-VERSION.tgz`. */
export function tarballFileName(name: string, version: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`
}

async function obtainTarball(
  npm: NpmCommand, cacheDir: string, name: string, version: string, registryIntegrities: Lazy<Map<string, string>>,
): Promise<{ path: string; source: 'cache' | 'download' }> {
  const where = `${name}@${version}`
  const cachePath = join(cacheDir, tarballFileName(name, version))
  if (await isFile(cachePath)) {
    const integrity = (await registryIntegrities.get()).get(version) ?? await npm.integrity(name, version)
    if (await checkIntegrity(cachePath, integrity, where)) return { path: cachePath, source: 'cache' }
    // A partial or damaged file: fetch it again.
  }
  let downloadDir: string
  try {
    downloadDir = await mkdtemp(join(cacheDir, '.download-'))
  } catch (cause) {
    throw new VstoreError('VSTORE_IO', `cannot write the cache: ${messageOf(cause)}`, cacheDir, { cause })
  }
  try {
    const packed = await npm.pack(name, version, downloadDir)
    if (!(await checkIntegrity(packed.path, packed.integrity, where))) {
      throw new VstoreError('VSTORE_IMPORT', `the tarball npm pack wrote does not match the integrity it reports (${packed.integrity.slice(0, 30)}…)`, where)
    }
    try {
      await rename(packed.path, cachePath)
    } catch (cause) {
      throw new VstoreError('VSTORE_IO', `cannot move the tarball into the cache: ${messageOf(cause)}`, cachePath, { cause })
    }
  } finally {
    await rm(downloadDir, { recursive: true, force: true })
  }
  return { path: cachePath, source: 'download' }
}

const INTEGRITY_ALGORITHMS = ['sha512', 'sha384', 'sha256', 'sha1'] as const

/**
 * Whether a file matches an SRI integrity string (`sha512-<base64>`, several allowed): as npm does, by the
 * strongest algorithm the string names. @throws VstoreError `VSTORE_UNSUPPORTED` when it names none we know.
 */
async function checkIntegrity(path: string, integrity: string, where: string): Promise<boolean> {
  const hashes = integrity.trim().split(/\s+/).map(item => item.replace(/\?.*$/, ''))
  const algorithm = INTEGRITY_ALGORITHMS.find(name => hashes.some(hash => hash.startsWith(`${name}-`)))
  if (algorithm === undefined) throw new VstoreError('VSTORE_UNSUPPORTED', `no known algorithm in integrity ${JSON.stringify(integrity.slice(0, 80))}`, where)
  const hash = createHash(algorithm)
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  } catch (cause) {
    throw new VstoreError('VSTORE_IO', `cannot read: ${messageOf(cause)}`, path, { cause })
  }
  return hashes.includes(`${algorithm}-${hash.digest('base64')}`)
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}

/** A value computed on first use, once. */
class Lazy<T> {
  #promise: Promise<T> | undefined

  constructor(readonly compute: () => Promise<T>) {}

  get(): Promise<T> {
    this.#promise ??= this.compute()
    return this.#promise
  }
}

// ---------------------------------------------------------------------------------------------------------
// The npm command

const MAX_OUTPUT_BYTE_LENGTH = 256 * 1024 * 1024

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

class NpmCommand {
  constructor(readonly command: string, readonly cwd: string) {}

  /** Every published version: `npm view NAME versions --json` (a string when there is only one). */
  async versions(name: string): Promise<string[]> {
    const value = await this.#runJson(['view', name, 'versions', '--json'], name)
    if (typeof value === 'string') return [value]
    if (Array.isArray(value) && value.every(item => typeof item === 'string')) return value as string[]
    throw new VstoreError('VSTORE_IMPORT', 'npm view versions did not print a list of versions', name)
  }

  /** Version → the registry's integrity, for the stable versions, in one `npm view NAME@>=0.0.0`. */
  async integrities(name: string, versions: readonly string[]): Promise<Map<string, string>> {
    const spec = versions.length === 1 ? `${name}@${versions[0] ?? ''}` : `${name}@>=0.0.0`
    const value = await this.#runJson(['view', spec, 'version', 'dist.integrity', 'dist.shasum', '--json'], name)
    const integrities = new Map<string, string>()
    for (const item of Array.isArray(value) ? value : [value]) {
      if (!isRecord(item) || typeof item.version !== 'string') continue
      const integrity = integrityFromView(item)
      if (integrity !== undefined) integrities.set(item.version, integrity)
    }
    return integrities
  }

  /** One version's registry integrity: `npm view NAME@VERSION dist.integrity`. */
  async integrity(name: string, version: string): Promise<string> {
    const where = `${name}@${version}`
    const value = await this.#runJson(['view', where, 'version', 'dist.integrity', 'dist.shasum', '--json'], where)
    const integrity = isRecord(value) ? integrityFromView(value) : undefined
    if (integrity === undefined) throw new VstoreError('VSTORE_IMPORT', 'the registry gives no integrity for this version', where)
    return integrity
  }

  /** `npm pack NAME@VERSION --pack-destination DIR --json`: the tarball's path and the integrity npm reports. */
  async pack(name: string, version: string, destination: string): Promise<{ path: string; integrity: string }> {
    const where = `${name}@${version}`
    const value = await this.#runJson(['pack', where, '--pack-destination', destination, '--json'], where)
    const item: unknown = Array.isArray(value) ? value[0] : value
    if (!isRecord(item) || typeof item.filename !== 'string' || typeof item.integrity !== 'string') {
      throw new VstoreError('VSTORE_IMPORT', 'npm pack --json did not give the tarball\'s filename and integrity', where)
    }
    if (item.name !== undefined && item.name !== name) throw new VstoreError('VSTORE_IMPORT', `npm pack fetched ${String(item.name)}`, where)
    if (item.version !== undefined && item.version !== version) throw new VstoreError('VSTORE_IMPORT', `npm pack fetched version ${String(item.version)}`, where)
    return { path: join(destination, basename(item.filename)), integrity: item.integrity }
  }

  async #runJson(args: readonly string[], where: string): Promise<unknown> {
    const stdout = await this.#run(args, where)
    try {
      return JSON.parse(stdout) as unknown
    } catch (cause) {
      throw new VstoreError('VSTORE_IMPORT', `npm ${args[0] ?? ''} printed something that is not JSON: ${JSON.stringify(stdout.slice(0, 80))}`, where, { cause })
    }
  }

  #run(args: readonly string[], where: string): Promise<string> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(this.command, args, { cwd: this.cwd, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
      const stdout: Buffer[] = []
      let stdoutByteLength = 0
      child.stdout.on('data', (chunk: Buffer) => {
        stdoutByteLength += chunk.length
        if (stdoutByteLength <= MAX_OUTPUT_BYTE_LENGTH) stdout.push(chunk)
        else child.kill('SIGTERM')
      })
      const stderr = keepStderr(child.stderr)
      const command = `${this.command} ${args.join(' ')}`
      child.on('error', cause => reject(new VstoreError('VSTORE_IMPORT', `cannot run ${command}: ${cause.message}`, where, { cause })))
      child.on('close', (code, signal) => {
        if (stdoutByteLength > MAX_OUTPUT_BYTE_LENGTH) {
          reject(new VstoreError('VSTORE_IMPORT', `${command} printed more than ${MAX_OUTPUT_BYTE_LENGTH} bytes`, where))
        } else if (code === 0) {
          resolvePromise(Buffer.concat(stdout).toString('utf8'))
        } else {
          const firstLine = firstStderrLine(stderr(), /^npm (warn|notice)\b/i)
          reject(new VstoreError('VSTORE_IMPORT', `${command} exited with ${code ?? signal ?? '?'}${firstLine === undefined ? '' : `: ${firstLine}`}`, where))
        }
      })
    })
  }
}

/** `dist.integrity`, or for tarballs that predate it, `sha1-` from `dist.shasum`. */
export function integrityFromView(item: Record<string, unknown>): string | undefined {
  const integrity = item['dist.integrity']
  if (typeof integrity === 'string' && integrity !== '') return integrity
  const shasum = item['dist.shasum']
  if (typeof shasum === 'string' && /^[0-9a-f]{40}$/.test(shasum)) return `sha1-${Buffer.from(shasum, 'hex').toString('base64')}`
  return undefined
}
