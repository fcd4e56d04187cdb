/**
 * Which of two releases is older, told from the version number at the end of each one's name, so that a
 * release import can refuse to make an older release the child of a newer one.
 *
 * A name reads as `PROJECT SEPARATOR [v] NUMBERS [TAG]`: `zstd-1.5.5`, `v1.5.5`, `1.5.5`, `express@4.18.2`,
 * `boost_1_84_0`, `node-v20.1.0`, `jq-1.7rc1`, `linux-6.1-rc3`, `Python-3.12.0a1`. The numbers are digits
 * joined by `.` or `_`, starting the name or after a separator (`-`, `_`, `@`, `/`, `+`, space), so the 3 of
 * `python3-3.12.0` belongs to the project. The tag is letters, digits, and more of them after dots (`rc1`,
 * `beta.2`, `a1`, `alpha.beta`), after an optional `-`, `.`, `_` or `~`; build metadata (`+build.5`) is
 * ignored. So a name ending in another word (`zstd-1.5.5-src`) reads as a pre-release of its version.
 *
 * Two names are compared only when their projects match (case aside) or one has none (`v1.5.6` against
 * `zstd-1.5.5`): a store may hold several projects, and `lodash@4.17.21` is no newer than `express@4.18.2`.
 * A name without such a version (`lz4-r131`, `nightly`, a git commit id) cannot be placed: whoever asks is
 * told so (`undefined`) and lets the release through.
 */
import { isHexId } from '../bytes/index.js'

/** A release name's version, as `parseReleaseVersion` reads it. */
export interface ReleaseVersion {
  /** The name before the version, lower case, without trailing separators: `zstd`, or `` for `v1.5.5`. */
  readonly project: string
  /** The dotted numbers as digit strings without leading zeros (so any length compares exactly). */
  readonly numbers: readonly string[]
  /** The tag split into runs of letters and of digits (`rc1` → `rc`, `1`), lower case; empty for none. */
  readonly tag: readonly string[]
}

const VERSIONED_NAME = /^(.*?)(?:^|(?<=[-_@/+ ]))(?<![0-9][._])[vV]?(\d+(?:[._]\d+)*)(?:[-._~]?([A-Za-z]+\d*(?:\.[0-9A-Za-z]+)*))?(?:\+[0-9A-Za-z.-]+)?$/

/** The version at the end of a release name; `undefined` when it has none (see the module's comment). */
export function parseReleaseVersion(name: string): ReleaseVersion | undefined {
  if (isHexId(name)) return undefined
  const match = VERSIONED_NAME.exec(name)
  if (match === null) return undefined
  const [, project = '', numbers = '', tag = ''] = match
  return {
    project: project.replace(/[-_@/+ ]+$/, '').toLowerCase(),
    numbers: numbers.split(/[._]/).map(digits => digits.replace(/^0+(?=\d)/, '')),
    tag: (tag.toLowerCase().match(/[a-z]+|\d+/g) ?? []).map(run => run.replace(/^0+(?=\d)/, '')),
  }
}

/** Digit strings without leading zeros, by value: the longer is larger, then the text decides. */
function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

function isDigits(run: string): boolean {
  return run.charCodeAt(0) >= 0x30 && run.charCodeAt(0) <= 0x39
}

/** Tags as SemVer orders pre-releases: none is newest, digits below letters, a longer tag after its prefix. */
function compareTags(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return Math.sign(b.length - a.length)
  for (let index = 0; index < Math.min(a.length, b.length); index++) {
    const [x = '', y = ''] = [a[index], b[index]]
    if (x === y) continue
    if (isDigits(x) && isDigits(y)) return compareDigits(x, y)
    if (isDigits(x) !== isDigits(y)) return isDigits(x) ? -1 : 1
    return x < y ? -1 : 1
  }
  return Math.sign(a.length - b.length)
}

/**
 * Orders two parsed versions: negative when `a` is older, 0 when they are the same version (`1.5` and
 * `1.5.0` are), positive when newer; `undefined` when their projects differ.
 */
function compareReleaseVersions(a: ReleaseVersion, b: ReleaseVersion): number | undefined {
  if (a.project !== '' && b.project !== '' && a.project !== b.project) return undefined
  for (let index = 0; index < Math.max(a.numbers.length, b.numbers.length); index++) {
    const order = compareDigits(a.numbers[index] ?? '0', b.numbers[index] ?? '0')
    if (order !== 0) return order
  }
  return compareTags(a.tag, b.tag)
}

/**
 * Orders two release names by their versions: negative when `a` is the older release, 0 for the same
 * version, positive when `a` is newer, `undefined` when they cannot be compared (either has no version, or
 * their projects differ).
 */
export function compareReleaseNames(a: string, b: string): number | undefined {
  const [left, right] = [parseReleaseVersion(a), parseReleaseVersion(b)]
  return left === undefined || right === undefined ? undefined : compareReleaseVersions(left, right)
}

/** The newest of `others` that is newer than `name` (comparable with it), or `undefined` when none is. */
export function newestNewerThan(name: string, others: Iterable<string>): string | undefined {
  const version = parseReleaseVersion(name)
  if (version === undefined) return undefined
  let newest: { readonly name: string; readonly version: ReleaseVersion } | undefined
  for (const other of others) {
    const otherVersion = parseReleaseVersion(other)
    if (otherVersion === undefined || (compareReleaseVersions(version, otherVersion) ?? 0) >= 0) continue
    if (newest === undefined || (compareReleaseVersions(otherVersion, newest.version) ?? 0) > 0) newest = { name: other, version: otherVersion }
  }
  return newest?.name
}

/**
 * The first of `names` (in the order given) that is older than a name before it, with the newest such
 * earlier name; `undefined` when the names that can be compared come oldest first.
 */
export function findReleaseOutOfOrder(names: readonly string[]): { readonly older: string; readonly newer: string } | undefined {
  for (let index = 1; index < names.length; index++) {
    const older = names[index] as string
    const newer = newestNewerThan(older, names.slice(0, index))
    if (newer !== undefined) return { older, newer }
  }
  return undefined
}
