import test from 'ava'
import fc from 'fast-check'
import { PassThrough } from 'node:stream'
import { parseByteLength, parseCommandLine, parseKeySpec } from '../../lib/cli/args.js'
import { run, type Output } from '../../lib/cli/main.js'
import { VstoreError } from '../../lib/errors.js'
import { MAX_ID_BYTE_LENGTH, Store } from '../../lib/vstore.js'
import { PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'
import { makeTempDir } from '../helpers/tmp.js'

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }

const COMMANDS = [
  'init', 'import-git', 'import-tar', 'import-npm', 'import-fast-export', 'extract', 'log', 'stats', 'verify', 'dump-group', 'dump-index', 'help',
]

/** Strings the OS could hand over, and some it could not (lone surrogates), of every length class. */
const anyString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map(code => String.fromCharCode(code)), maxLength: 3 }),
  fc.constantFrom('', ' ', '\n', '\0', '@', '@@', 'a@b', 'a@', '@a', '=', '-', '--', '\uFEFF', 'x'.repeat(5000)),
)

/** Tokens of a command line: commands, every option spelled the ways parseArgs reads them, and anything. */
const argumentArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...COMMANDS) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '--store', '--ref', '--rev', '--cache', '--all', '--paths', '--prefix', '--codec', '--batch', '--json', '--quiet', '-q', '--help', '-h',
      '--', '-', '--store=', '--ref=', '--ref=main', '--codec=none', '--json=1', '--all=yes', '--no-json', '-qh', '-qx', '-x', '--unknown', '-hq',
      '--paths=(', '--paths=[', '--rev=v1@beta', '-q=1',
    ),
  },
  { weight: 3, arbitrary: anyString },
)

const argvArbitrary = fc.array(argumentArbitrary, { maxLength: 8 })

test('any argv gives parseCommandLine a command or a VSTORE_USAGE error, and a command it returns is well-formed', t => {
  t.notThrows(() => fc.assert(fc.property(argvArbitrary, argv => {
    let command
    try {
      command = parseCommandLine(argv)
    } catch (error) {
      if (error instanceof VstoreError && error.code === 'VSTORE_USAGE') return
      throw error
    }
    if (command.help) return
    if (!COMMANDS.includes(command.name)) throw new Error(`parsed an unknown command ${JSON.stringify(command.name)}`)
    if (command.name === 'extract' && command.batch === (command.positionals.length === 1)) throw new Error('extract with both or neither of FILE@REV and --batch')
    if (command.all && command.refs.length > 0) throw new Error('--all with --ref')
    if (command.refs.some(ref => ref === '' || /[\0\r\n]/.test(ref))) throw new Error('an empty or multi-line --ref')
    if (command.revs.length > 0 && command.revs.length !== command.positionals.length) throw new Error('--rev count differs from the archives')
  }), options))
})

test('any string gives parseKeySpec a split at its last @ with both sides non-empty, or a VSTORE_USAGE error', t => {
  t.notThrows(() => fc.assert(fc.property(fc.oneof(anyString, fc.array(fc.oneof(anyString, fc.constant('@')), { maxLength: 6 }).map(parts => parts.join(''))), spec => {
    let key
    try {
      key = parseKeySpec(spec)
    } catch (error) {
      if (!(error instanceof VstoreError) || error.code !== 'VSTORE_USAGE') throw error
      const at = spec.lastIndexOf('@')
      if (at > 0 && at < spec.length - 1) throw new Error(`refused ${JSON.stringify(spec)}, which splits`)
      return
    }
    if (key.file === '' || key.rev === '' || key.rev.includes('@') || `${key.file}@${key.rev}` !== spec) throw new Error(`${JSON.stringify(spec)} split as ${JSON.stringify(key)}`)
  }), options))
})

// ---------------------------------------------------------------------------------------------------------
// `vstore extract FILE@REV` against a store, through run(): the outcome the documented rule gives

const SHA1_A = '1234567aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const SHA1_B = '1234567bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' // shares 7 characters with SHA1_A
const SHA256 = 'cafe'.repeat(16)
const KEYS: readonly { file: string; rev: string }[] = [
  { file: 'a', rev: 'b@c' }, { file: 'a@b', rev: 'c' }, { file: 'a', rev: 'v1@' }, { file: 'a@', rev: 'x' }, { file: '@', rev: '@' },
  { file: 'pkg/index.js', rev: 'pkg@1.0.0' }, { file: 'pkg/index.js', rev: 'pkg@1.0.1' }, { file: 'dir/we@ird name', rev: SHA1_A },
  { file: 'dir/we@ird name', rev: SHA1_B }, { file: 'dir/we@ird name', rev: SHA256 }, { file: 'src/main.c', rev: SHA1_A.toUpperCase() },
  { file: 'src/main.c', rev: SHA1_B }, { file: 'line\nbreak', rev: 'r\n1' }, { file: 'x'.repeat(MAX_ID_BYTE_LENGTH), rev: 'long' },
]
const textOf = (key: { file: string; rev: string }): string => `${JSON.stringify(key)}\n`
const MIN_REVISION_PREFIX = 7

type Outcome = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'error'; readonly code: string }

/** What the help's rule says `extract spec` does: the last @ splits, unless an exact key splits at an earlier one; else a unique prefix of 7+. */
function expectedOutcome(spec: string): Outcome {
  const has = (file: string, rev: string) => KEYS.find(key => key.file === file && key.rev === rev)
  for (let at = spec.length - 2; at > 0; at--) {
    if (spec[at] !== '@') continue
    const key = has(spec.slice(0, at), spec.slice(at + 1))
    if (key !== undefined) return { kind: 'text', text: textOf(key) }
  }
  const at = spec.lastIndexOf('@')
  if (at <= 0 || at === spec.length - 1) return { kind: 'error', code: 'VSTORE_USAGE' }
  const file = spec.slice(0, at)
  const prefix = spec.slice(at + 1)
  // Ids no key can have: longer than the limit, or not well-formed Unicode.
  const impossible = (id: string) => Buffer.byteLength(id) > MAX_ID_BYTE_LENGTH || /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(id)
  if (impossible(file) || impossible(prefix)) return { kind: 'error', code: 'VSTORE_USAGE' }
  if (prefix.length < MIN_REVISION_PREFIX) return { kind: 'error', code: 'VSTORE_NOT_FOUND' }
  const matches = KEYS.filter(key => key.file === file && key.rev.startsWith(prefix))
  if (matches.length === 0) return { kind: 'error', code: 'VSTORE_NOT_FOUND' }
  if (matches.length > 1) return { kind: 'error', code: 'VSTORE_USAGE' }
  return { kind: 'text', text: textOf(matches[0] as { file: string; rev: string }) }
}

/**
 * Specs near the stored keys (whole, cut, with a revision prefix, with @ added or removed) and anything
 * (lone surrogates too: argv cannot hold them, but run() takes any string).
 */
const specArbitrary: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...KEYS).map(key => `${key.file}@${key.rev}`),
  fc.tuple(fc.constantFrom(...KEYS), fc.nat(70)).map(([key, n]) => `${key.file}@${key.rev.slice(0, n)}`),
  fc.tuple(fc.constantFrom(...KEYS), fc.nat(), fc.constantFrom('@', '', 'x', '@@')).map(([key, position, insert]) => {
    const spec = `${key.file}@${key.rev}`
    const at = position % (spec.length + 1)
    return `${spec.slice(0, at)}${insert}${spec.slice(at + (insert === '' ? 1 : 0))}`
  }),
  fc.array(fc.oneof(fc.constantFrom('a', 'b', 'c', '@', 'v1', 'x', '1234567', 'pkg'), anyString), { maxLength: 6 }).map(parts => parts.join('')),
)

function memoryOutput(): { output: Output; text: () => string; lines: string[] } {
  const chunks: Buffer[] = []
  const lines: string[] = []
  const quiet = { update() {}, stop() {} }
  return {
    output: {
      async write(bytes) { chunks.push(Buffer.from(bytes)) },
      error(line) { lines.push(line) },
      terminalProgress: async () => quiet,
      jsonProgress: async () => quiet,
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
    lines,
  }
}

test('extract FILE@REV of any spec near the stored keys gives the text the rule names, or VSTORE_USAGE or VSTORE_NOT_FOUND as it says', async t => {
  const dir = await makeTempDir(t, 'vstore-cli-args-')
  const store = await Store.open(dir, { create: true })
  await store.insert(KEYS.map(key => ({ ...key, parents: [], text: new TextEncoder().encode(textOf(key)) })))
  await store.close()
  const outcomes = new Map<string, number>()
  await t.notThrowsAsync(fc.assert(fc.asyncProperty(specArbitrary, async spec => {
    const expected = expectedOutcome(spec)
    const label = expected.kind === 'text' ? 'text' : expected.code
    outcomes.set(label, (outcomes.get(label) ?? 0) + 1)
    const { output, text } = memoryOutput()
    let status: number
    try {
      // After `--`, so that a spec starting with `-` is not an option.
      status = await run(['--store', dir, 'extract', '--', spec], output, new PassThrough())
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
      if (expected.kind !== 'error' || error.code !== expected.code) throw new Error(`${JSON.stringify(spec)}: ${error.code} (${error.message}), expected ${JSON.stringify(expected)}`)
      return
    }
    if (status !== 0 || expected.kind !== 'text' || text() !== expected.text) throw new Error(`${JSON.stringify(spec)}: exit ${status}, ${JSON.stringify(text())}; expected ${JSON.stringify(expected)}`)
  }), options))
  t.log(`outcomes: ${[...outcomes].map(([label, count]) => `${label} ${count}`).join(', ')}`)
  // The specs reach every outcome, not only the errors.
  t.true(['text', 'VSTORE_USAGE', 'VSTORE_NOT_FOUND'].every(label => (outcomes.get(label) ?? 0) > 0))
})

test('extract --batch answers any lines as the rule says, one answer a line, in order', async t => {
  const dir = await makeTempDir(t, 'vstore-cli-args-')
  const store = await Store.open(dir, { create: true })
  await store.insert(KEYS.map(key => ({ ...key, parents: [], text: new TextEncoder().encode(textOf(key)) })))
  await store.close()
  // One key a line (stdin is read as UTF-8 lines): no line breaks, no lone surrogates.
  const lineArbitrary = specArbitrary.filter(spec => !/[\r\n\uD800-\uDFFF]/.test(spec) && spec !== '')
  await t.notThrowsAsync(fc.assert(fc.asyncProperty(fc.array(lineArbitrary, { maxLength: 8 }), async specs => {
    const { output, text } = memoryOutput()
    const stdin = new PassThrough()
    stdin.end(specs.map(spec => `${spec}\n`).join(''))
    const status = await run(['--store', dir, 'extract', '--batch'], output, stdin)
    const expected = specs.map(spec => {
      const outcome = expectedOutcome(spec)
      return outcome.kind === 'text' ? `${spec} ${Buffer.byteLength(outcome.text)}\n${outcome.text}\n` : `${spec} missing\n`
    }).join('')
    if (status !== 0 || text() !== expected) throw new Error(`exit ${status}\n${text()}\nexpected\n${expected}`)
  }), { ...options, numRuns: Math.max(1, Math.floor(PROPERTY_RUNS / 4)) }))
})

test('parseByteLength reads a count with any unit as that many bytes, and anything else is a usage error', t => {
  const units: readonly (readonly [string, number])[] = [['', 1], ['B', 1], ['KiB', 1024], ['MiB', 1024 ** 2], ['GiB', 1024 ** 3], ['kB', 1000], ['MB', 1000 ** 2], ['GB', 1000 ** 3]]
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 20 }), fc.constantFrom(...units), fc.boolean(), (count, [unit, factor], spaced) => {
    t.is(parseByteLength(`${count}${spaced ? ' ' : ''}${unit.toLowerCase()}`, '--size'), count * factor)
  }), options)
  fc.assert(fc.property(anyString, text => {
    try {
      const byteLength = parseByteLength(text, '--size')
      t.true(Number.isSafeInteger(byteLength) && byteLength >= 0, text)
    } catch (error) {
      if (!(error instanceof VstoreError && error.code === 'VSTORE_USAGE')) throw error
    }
  }), options)
  t.is(parseByteLength('1.5GiB', '--size'), 1.5 * 1024 ** 3)
  for (const text of ['1.5', '0.3KiB', '-1', '1 TiB', '']) t.throws(() => parseByteLength(text, '--size'), { code: 'VSTORE_USAGE' }, text)
})
