import test from 'ava'
import fc from 'fast-check'
import { compareReleaseNames, findReleaseOutOfOrder, parseReleaseVersion } from '../../lib/import/release-order.js'
import { PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }

interface Spelled {
  readonly name: string
  readonly project: string
  readonly numbers: readonly number[]
  /** A pre-release word and its number, if any. */
  readonly tag: readonly [word: string, number: number | undefined] | undefined
}

/** Release names as people spell them: a project (or none), a separator, `v` or not, numbers, a tag or not. */
const spelledName: fc.Arbitrary<Spelled> = fc.record({
  project: fc.constantFrom('', 'zstd', 'ZSTD', 'lodash', 'my-lib'),
  separator: fc.constantFrom('-', '_', '@'),
  v: fc.boolean(),
  numbers: fc.array(fc.nat({ max: 30 }), { minLength: 1, maxLength: 4 }),
  numberSeparator: fc.constantFrom('.', '_'),
  tag: fc.option(fc.tuple(fc.constantFrom('a', 'alpha', 'b', 'beta', 'pre', 'rc'), fc.option(fc.nat({ max: 20 }), { nil: undefined }), fc.constantFrom('', '-', '.')), { nil: undefined }),
}).map(({ project, separator, v, numbers, numberSeparator, tag }) => ({
  name: `${project === '' ? '' : project + separator}${v ? 'v' : ''}${numbers.join(numberSeparator)}${tag === undefined ? '' : `${tag[2]}${tag[0]}${tag[1] === undefined ? '' : `.${tag[1]}`}`}`,
  project: project.toLowerCase(),
  numbers,
  tag: tag === undefined ? undefined : [tag[0], tag[1]] as const,
}))

/** Any name at all: spelled ones, and strings that may or may not hold a version. */
const anyName = fc.oneof(spelledName.map(spelled => spelled.name), fc.string({ maxLength: 16 }), fc.constantFrom('nightly', 'r1', 'lz4-r131', '1.0', 'v1.0', 'x-1.0'))

/** The order the spelled parts say, worked out apart from the parser: numbers padded with 0, then tags. */
function modelOrder(a: Spelled, b: Spelled): number {
  for (let index = 0; index < Math.max(a.numbers.length, b.numbers.length); index++) {
    const order = Math.sign((a.numbers[index] ?? 0) - (b.numbers[index] ?? 0))
    if (order !== 0) return order
  }
  if (a.tag === undefined || b.tag === undefined) return a.tag === b.tag ? 0 : a.tag === undefined ? 1 : -1
  if (a.tag[0] !== b.tag[0]) return a.tag[0] < b.tag[0] ? -1 : 1
  if (a.tag[1] === b.tag[1]) return 0
  if (a.tag[1] === undefined || b.tag[1] === undefined) return a.tag[1] === undefined ? -1 : 1
  return Math.sign(a.tag[1] - b.tag[1])
}

function sign(order: number | undefined): number | undefined {
  return order === undefined ? undefined : Math.sign(order)
}

test('a spelled name parses to its project and numbers', t => {
  t.notThrows(() => fc.assert(fc.property(spelledName, spelled => {
    const version = parseReleaseVersion(spelled.name)
    return version !== undefined && version.project === spelled.project && version.numbers.join('.') === spelled.numbers.join('.')
  }), options))
})

test('comparison is antisymmetric, and a name equals itself when it has a version', t => {
  t.notThrows(() => fc.assert(fc.property(anyName, anyName, (a, b) => {
    const [ab, ba] = [sign(compareReleaseNames(a, b)), sign(compareReleaseNames(b, a))]
    if (ab === undefined || ba === undefined) return ab === ba
    return ab === -ba
  }), options))
  t.notThrows(() => fc.assert(fc.property(anyName, a => compareReleaseNames(a, a) === (parseReleaseVersion(a) === undefined ? undefined : 0)), options))
})

test('names of one project order as their numbers, then tags, a pre-release before its release', t => {
  t.notThrows(() => fc.assert(fc.property(spelledName, spelledName, (a, b) => {
    const order = sign(compareReleaseNames(a.name, b.name))
    if (a.project !== '' && b.project !== '' && a.project !== b.project) return order === undefined
    return order === modelOrder(a, b)
  }), options))
})

test('within one project (bare versions included) the order is transitive, so a sorted list is in order', t => {
  const oneProject = spelledName.map(spelled => (spelled.project === '' ? spelled.name : `zstd-${spelled.name.slice(spelled.name.search(/[0-9]|v[0-9]/))}`))
  t.notThrows(() => fc.assert(fc.property(oneProject, oneProject, oneProject, (a, b, c) => {
    const [ab, bc, ac] = [compareReleaseNames(a, b), compareReleaseNames(b, c), compareReleaseNames(a, c)]
    if (ab === undefined || bc === undefined || ac === undefined) return false
    return !(ab <= 0 && bc <= 0) || ac <= 0
  }), options))
  t.notThrows(() => fc.assert(fc.property(fc.array(oneProject, { maxLength: 12 }), names => {
    const sorted = [...names].sort((a, b) => compareReleaseNames(a, b) ?? 0)
    return findReleaseOutOfOrder(sorted) === undefined && (sorted.length < 2 || findReleaseOutOfOrder([...sorted].reverse()) !== undefined
      || sorted.every(name => compareReleaseNames(name, sorted[0] as string) === 0))
  }), options))
})

test('numbers of any size compare by value', t => {
  t.notThrows(() => fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 40n }), fc.bigInt({ min: 0n, max: 10n ** 40n }), (x, y) => {
    return sign(compareReleaseNames(`p-1.${x}`, `p-1.${y}`)) === (x < y ? -1 : x > y ? 1 : 0)
  }), options))
})
