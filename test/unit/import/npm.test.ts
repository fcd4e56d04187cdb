import test, { type ExecutionContext } from 'ava'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { VstoreError } from '../../../lib/errors.js'
import { compareVersions, importNpm, parseNpmSpec, selectVersions, tarballFileName, type NpmImportOptions, type NpmProgressEvent } from '../../../lib/import/npm.js'
import type { TextRecord } from '../../../lib/store/types.js'
import { makeTempDir } from '../../helpers/tmp.js'

// --- versions and ranges ---------------------------------------------------------------------------------

const PUBLISHED = [
  '0.0.1', '0.0.2', '0.1.0', '0.1.5', '0.2.0', '1.0.0', '1.0.1', '1.1.0', '1.2.0-beta.1', '1.2.0', '1.9.0', '1.10.0',
  '2.0.0-rc.1', '2.0.0', '2.1.3', '3.0.0', 'not-a-version',
]

test('selectVersions: stable versions a range matches, in semver order', t => {
  const cases: Array<[string, string[]]> = [
    ['*', ['0.0.1', '0.0.2', '0.1.0', '0.1.5', '0.2.0', '1.0.0', '1.0.1', '1.1.0', '1.2.0', '1.9.0', '1.10.0', '2.0.0', '2.1.3', '3.0.0']],
    ['', selectVersions(PUBLISHED, '*')],
    ['x', selectVersions(PUBLISHED, '*')],
    ['1', ['1.0.0', '1.0.1', '1.1.0', '1.2.0', '1.9.0', '1.10.0']],
    ['1.x', ['1.0.0', '1.0.1', '1.1.0', '1.2.0', '1.9.0', '1.10.0']],
    ['1.0', ['1.0.0', '1.0.1']],
    ['1.0.1', ['1.0.1']],
    ['=1.0.1', ['1.0.1']],
    ['v1.0.1', ['1.0.1']],
    ['^1.1', ['1.1.0', '1.2.0', '1.9.0', '1.10.0']],
    ['^1.1.0', ['1.1.0', '1.2.0', '1.9.0', '1.10.0']],
    ['^0.1.2', ['0.1.5']],
    ['^0.1', ['0.1.0', '0.1.5']],
    ['^0.0.1', ['0.0.1']],
    ['^0', ['0.0.1', '0.0.2', '0.1.0', '0.1.5', '0.2.0']],
    ['~1.0.0', ['1.0.0', '1.0.1']],
    ['~1', ['1.0.0', '1.0.1', '1.1.0', '1.2.0', '1.9.0', '1.10.0']],
    ['~0.1.2', ['0.1.5']],
    ['>=1.1 <2', ['1.1.0', '1.2.0', '1.9.0', '1.10.0']],
    ['>= 1.1 < 2', ['1.1.0', '1.2.0', '1.9.0', '1.10.0']],
    ['>1.9', ['1.10.0', '2.0.0', '2.1.3', '3.0.0']],
    ['>1', ['2.0.0', '2.1.3', '3.0.0']],
    ['<=1.0', ['0.0.1', '0.0.2', '0.1.0', '0.1.5', '0.2.0', '1.0.0', '1.0.1']],
    ['<0.1', ['0.0.1', '0.0.2']],
    ['1.1 - 2.0.0', ['1.1.0', '1.2.0', '1.9.0', '1.10.0', '2.0.0']],
    ['1.1.0 - 2', ['1.1.0', '1.2.0', '1.9.0', '1.10.0', '2.0.0', '2.1.3']],
    ['0.0.2 || ^2', ['0.0.2', '2.0.0', '2.1.3']],
    ['>=4', []],
  ]
  for (const [range, expected] of cases) t.deepEqual(selectVersions(PUBLISHED, range), expected, range)
})

test('compareVersions is semver precedence', t => {
  t.deepEqual(['1.10.0', '1.2.0', '1.2.0-beta.2', '1.2.0-beta.10', '1.2.0-alpha', '0.9.9'].sort(compareVersions),
    ['0.9.9', '1.2.0-alpha', '1.2.0-beta.2', '1.2.0-beta.10', '1.2.0', '1.10.0'])
  t.throws(() => compareVersions('1.0', '1.0.0'), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('parseNpmSpec splits NAME[@RANGE], scoped names too, and refuses what it cannot read', t => {
  t.deepEqual(parseNpmSpec('express'), { name: 'express', range: '*' })
  t.deepEqual(parseNpmSpec('express@^4.18'), { name: 'express', range: '^4.18' })
  t.deepEqual(parseNpmSpec('@types/node@>=18 <20'), { name: '@types/node', range: '>=18 <20' })
  t.deepEqual(parseNpmSpec('@types/node'), { name: '@types/node', range: '*' })
  for (const spec of ['', '@', 'bad name', '../evil', 'express@latest', 'express@^x.y.z', 'express@1.2.3.4', 'express@>=1 <']) {
    t.throws(() => parseNpmSpec(spec), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, spec)
  }
  t.is(tarballFileName('@types/node', '20.1.0'), 'types-node-20.1.0.tgz')
  t.is(tarballFileName('express', '4.18.2'), 'express-4.18.2.tgz')
})

// --- a fake registry behind a fake npm -------------------------------------------------------------------

/** A node script standing in for `npm view` and `npm pack`; it logs each call to calls.log. */
const FAKE_NPM = `#!/usr/bin/env node
const fs = require('fs')
const path = require('path')
const root = __dirname
const registry = JSON.parse(fs.readFileSync(path.join(root, 'registry.json'), 'utf8'))
const args = process.argv.slice(2)
fs.appendFileSync(path.join(root, 'calls.log'), JSON.stringify(args) + '\\n')
const print = value => { process.stdout.write(JSON.stringify(value, null, 2) + '\\n'); process.exit(0) }
const fail = message => {
  process.stderr.write('npm warn something harmless\\nnpm error ' + message + '\\n')
  process.stdout.write(JSON.stringify({ error: { code: 'E404', summary: message } }))
  process.exit(1)
}
const split = spec => { const at = spec.indexOf('@', 1); return at === -1 ? [spec, undefined] : [spec.slice(0, at), spec.slice(at + 1)] }
if (args[0] === 'view') {
  const [name, selector] = split(args[1])
  const pkg = registry[name]
  if (pkg === undefined) fail('404 Not Found - GET https://registry.invalid/' + name)
  const fields = args.slice(2).filter(arg => arg !== '--json')
  const all = Object.keys(pkg.versions)
  if (fields.join() === 'versions') print(all.length === 1 ? all[0] : all)
  const versions = selector !== undefined && selector in pkg.versions ? [selector] : all.filter(v => !v.includes('-'))
  const items = versions.map(v => Object.fromEntries(fields.map(f => [f, f === 'version' ? v : f === 'dist.integrity' ? pkg.versions[v].integrity : undefined])))
  print(items.length === 1 ? items[0] : items)
}
if (args[0] === 'pack') {
  const [name, version] = split(args[1])
  const destination = args[args.indexOf('--pack-destination') + 1]
  const release = registry[name] && registry[name].versions[version]
  if (release === undefined) fail('No matching version found for ' + args[1])
  const filename = name.replace('@', '').replace('/', '-') + '-' + version + '.tgz'
  fs.copyFileSync(path.join(root, release.file), path.join(destination, filename))
  print([{ id: name + '@' + version, name, version, filename, integrity: release.packIntegrity || release.integrity, files: [] }])
}
fail('unknown command ' + args.join(' '))
`

interface FakeRegistry {
  readonly npm: string
  readonly cacheDir: string
  readonly root: string
  /** Each npm call's arguments, in order. */
  calls(): string[][]
  /** Changes a published release (e.g. the integrity npm pack reports). */
  edit(name: string, version: string, change: Record<string, string>): void
}

type PackageTree = Readonly<Record<string, string>>

/** Publishes each version's files as a real .tgz (`package/…`, made with `tar -czf`) behind a fake npm. */
async function makeRegistry(t: ExecutionContext, packages: Readonly<Record<string, Readonly<Record<string, PackageTree>>>>): Promise<FakeRegistry> {
  const root = await makeTempDir(t, 'vstore-npm-registry-')
  const registry: Record<string, { versions: Record<string, Record<string, string>> }> = {}
  for (const [name, versions] of Object.entries(packages)) {
    registry[name] = { versions: {} }
    for (const [version, files] of Object.entries(versions)) {
      const work = join(root, 'work', tarballFileName(name, version))
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(work, 'package', path)), { recursive: true })
        writeFileSync(join(work, 'package', path), content)
      }
      const file = join('tarballs', tarballFileName(name, version))
      mkdirSync(join(root, 'tarballs'), { recursive: true })
      execFileSync('tar', ['-czf', join(root, file), '-C', work, 'package'])
      const integrity = `sha512-${createHash('sha512').update(readFileSync(join(root, file))).digest('base64')}`
      const entry: Record<string, string> = { file, integrity }
      const versionsOfName = registry[name]?.versions
      if (versionsOfName !== undefined) versionsOfName[version] = entry
    }
  }
  const registryPath = join(root, 'registry.json')
  writeFileSync(registryPath, JSON.stringify(registry))
  const npm = join(root, 'npm')
  writeFileSync(npm, FAKE_NPM, { mode: 0o755 })
  return {
    npm,
    root,
    cacheDir: join(root, 'cache'),
    calls: () => (existsSync(join(root, 'calls.log')) ? readFileSync(join(root, 'calls.log'), 'utf8').split('\n').filter(line => line !== '').map(line => JSON.parse(line) as string[]) : []),
    edit: (name, version, change) => {
      const current = JSON.parse(readFileSync(registryPath, 'utf8')) as typeof registry
      Object.assign(current[name]?.versions[version] ?? {}, change)
      writeFileSync(registryPath, JSON.stringify(current))
    },
  }
}

const DEMO = {
  demo: {
    '1.0.0': { 'package.json': '{"version":"1.0.0"}\n', 'index.js': 'v1\n', 'lib/util.js': 'util\n' },
    '1.1.0': { 'package.json': '{"version":"1.1.0"}\n', 'index.js': 'v1\n', 'lib/util.js': 'util 2\n' },
    '1.2.0-beta.1': { 'package.json': '{"version":"1.2.0-beta.1"}\n', 'index.js': 'beta\n' },
    '2.0.0': { 'package.json': '{"version":"2.0.0"}\n', 'index.js': 'v2\n' },
  },
  '@scope/lib': {
    '0.1.0': { 'package.json': '{}\n', 'README.md': 'scoped\n' },
    '0.2.0': { 'package.json': '{}\n', 'README.md': 'scoped, edited\n' },
  },
}

async function importAll(specs: readonly string[], options: NpmImportOptions): Promise<{ rows: Array<[string, string, readonly string[], string]>; events: NpmProgressEvent[] }> {
  const events: NpmProgressEvent[] = []
  const records: TextRecord[] = []
  for await (const record of importNpm(specs, { ...options, onProgress: event => events.push(event) })) records.push(record)
  return { rows: records.map(record => [record.file, record.rev, record.parents, Buffer.from(record.text).toString('utf8')]), events }
}

const DEMO_ROWS: Array<[string, string, readonly string[], string]> = [
  ['demo/index.js', 'demo@1.0.0', [], 'v1\n'],
  ['demo/lib/util.js', 'demo@1.0.0', [], 'util\n'],
  ['demo/package.json', 'demo@1.0.0', [], '{"version":"1.0.0"}\n'],
  ['demo/lib/util.js', 'demo@1.1.0', ['demo@1.0.0'], 'util 2\n'],
  ['demo/package.json', 'demo@1.1.0', ['demo@1.0.0'], '{"version":"1.1.0"}\n'],
  ['demo/index.js', 'demo@2.0.0', ['demo@1.0.0'], 'v2\n'],
  ['demo/package.json', 'demo@2.0.0', ['demo@1.1.0'], '{"version":"2.0.0"}\n'],
]

function sortRows<T extends readonly [string, string, ...unknown[]]>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => (`${a[1]}\0${a[0]}` < `${b[1]}\0${b[0]}` ? -1 : 1))
}

test('importNpm: every stable version in semver order, file ids NAME/path, revisions NAME@VERSION', async t => {
  const registry = await makeRegistry(t, DEMO)
  const { rows, events } = await importAll(['demo', '@scope/lib'], { cacheDir: registry.cacheDir, npm: registry.npm })
  t.deepEqual(sortRows(rows), sortRows([
    ...DEMO_ROWS,
    ['@scope/lib/README.md', '@scope/lib@0.1.0', [], 'scoped\n'],
    ['@scope/lib/package.json', '@scope/lib@0.1.0', [], '{}\n'],
    ['@scope/lib/README.md', '@scope/lib@0.2.0', ['@scope/lib@0.1.0'], 'scoped, edited\n'],
  ]))
  t.deepEqual(events.filter(event => event.kind === 'resolved'), [
    { kind: 'resolved', name: 'demo', versions: ['1.0.0', '1.1.0', '2.0.0'] },
    { kind: 'resolved', name: '@scope/lib', versions: ['0.1.0', '0.2.0'] },
  ])
  t.deepEqual(events.flatMap(event => (event.kind === 'tarball' ? [[event.index, event.count, event.version, event.source]] : [])), [
    [1, 5, '1.0.0', 'download'], [2, 5, '1.1.0', 'download'], [3, 5, '2.0.0', 'download'], [4, 5, '0.1.0', 'download'], [5, 5, '0.2.0', 'download'],
  ])
  t.deepEqual(readdirSync(registry.cacheDir).sort(), ['demo-1.0.0.tgz', 'demo-1.1.0.tgz', 'demo-2.0.0.tgz', 'scope-lib-0.1.0.tgz', 'scope-lib-0.2.0.tgz'])
  const packs = registry.calls().filter(call => call[0] === 'pack')
  t.deepEqual(packs.map(call => [call[1], call[2], call[4]]), [
    ['demo@1.0.0', '--pack-destination', '--json'], ['demo@1.1.0', '--pack-destination', '--json'], ['demo@2.0.0', '--pack-destination', '--json'],
    ['@scope/lib@0.1.0', '--pack-destination', '--json'], ['@scope/lib@0.2.0', '--pack-destination', '--json'],
  ])
  t.true(registry.calls().some(call => call.join(' ') === 'view demo versions --json'))
})

test('importNpm: a range picks versions; two specs of one package are one history', async t => {
  const registry = await makeRegistry(t, DEMO)
  t.deepEqual(sortRows((await importAll(['demo@^1'], { cacheDir: registry.cacheDir, npm: registry.npm })).rows), sortRows(DEMO_ROWS.filter(([, rev]) => rev !== 'demo@2.0.0')))
  t.deepEqual(sortRows((await importAll(['demo@2', 'demo@1.0.0 || 1.1.0'], { cacheDir: registry.cacheDir, npm: registry.npm })).rows), sortRows(DEMO_ROWS))
})

test('importNpm: tarballs in the cache that pass their check are not fetched again; a damaged one is', async t => {
  const registry = await makeRegistry(t, DEMO)
  const options = { cacheDir: registry.cacheDir, npm: registry.npm }
  const first = await importAll(['demo'], options)
  const packsBefore = registry.calls().filter(call => call[0] === 'pack').length
  t.is(packsBefore, 3)

  const second = await importAll(['demo'], options)
  t.deepEqual(second.rows, first.rows)
  t.is(registry.calls().filter(call => call[0] === 'pack').length, 3)
  t.deepEqual(second.events.flatMap(event => (event.kind === 'tarball' ? [event.source] : [])), ['cache', 'cache', 'cache'])
  // The cached tarballs were checked against the registry's integrity, asked once for the package.
  t.is(registry.calls().filter(call => call.join(' ') === 'view demo@>=0.0.0 version dist.integrity dist.shasum --json').length, 1)

  const damaged = join(registry.cacheDir, 'demo-1.1.0.tgz')
  writeFileSync(damaged, readFileSync(damaged).subarray(0, 20)) // a download cut short
  const third = await importAll(['demo'], options)
  t.deepEqual(third.rows, first.rows)
  t.deepEqual(registry.calls().filter(call => call[0] === 'pack').slice(3).map(call => call[1]), ['demo@1.1.0'])
  t.deepEqual(readdirSync(registry.cacheDir).filter(name => name.startsWith('.')), []) // no download folders left
})

test('importNpm: a tarball that does not match its integrity is VSTORE_IMPORT, and is not cached', async t => {
  const registry = await makeRegistry(t, DEMO)
  registry.edit('demo', '1.1.0', { packIntegrity: `sha512-${createHash('sha512').update('other bytes').digest('base64')}` })
  const error = await t.throwsAsync(importAll(['demo'], { cacheDir: registry.cacheDir, npm: registry.npm }), { instanceOf: VstoreError })
  t.is(error?.code, 'VSTORE_IMPORT')
  t.is(error?.where, 'demo@1.1.0')
  t.false(existsSync(join(registry.cacheDir, 'demo-1.1.0.tgz')))
  registry.edit('demo', '1.1.0', { packIntegrity: 'md5-AAAA' })
  rmSync(registry.cacheDir, { recursive: true, force: true })
  await t.throwsAsync(importAll(['demo'], { cacheDir: registry.cacheDir, npm: registry.npm }), { instanceOf: VstoreError, code: 'VSTORE_UNSUPPORTED' })
})

test('importNpm: an unknown package or a failing npm is VSTORE_IMPORT; no matching version is VSTORE_NOT_FOUND', async t => {
  const registry = await makeRegistry(t, DEMO)
  const options = { cacheDir: registry.cacheDir, npm: registry.npm }
  const unknown = await t.throwsAsync(importAll(['no-such-package'], options), { instanceOf: VstoreError })
  t.is(unknown?.code, 'VSTORE_IMPORT')
  t.is(unknown?.where, 'no-such-package')
  t.regex(unknown?.message ?? '', /404 Not Found/)
  const noMatch = await t.throwsAsync(importAll(['demo@>=9'], options), { instanceOf: VstoreError })
  t.is(noMatch?.code, 'VSTORE_NOT_FOUND')
  t.is(noMatch?.where, 'demo@>=9')
  await t.throwsAsync(importAll(['demo'], { ...options, npm: join(registry.root, 'no-such-npm') }), { instanceOf: VstoreError, code: 'VSTORE_IMPORT' })
  await t.throwsAsync(importAll(['demo@latest'], options), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  await t.throwsAsync(importAll([], options), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('importNpm: with stored and previous, importing again adds only the new release', async t => {
  const registry = await makeRegistry(t, DEMO)
  const options = { cacheDir: registry.cacheDir, npm: registry.npm }
  const first: TextRecord[] = []
  for await (const record of importNpm(['demo@1'], options)) first.push(record)
  const hashOf = (text: Uint8Array): Uint8Array => createHash('sha256').update(text).digest().subarray(0, 20)
  const newest = new Map(first.map(record => [record.file, { rev: record.rev, hash: hashOf(record.text) }]))
  const byKey = new Map(first.map(record => [`${record.file}\0${record.rev}`, hashOf(record.text)]))
  const { rows } = await importAll(['demo'], {
    ...options,
    previous: async file => newest.get(file),
    stored: async (file, rev) => byKey.get(`${file}\0${rev}`),
  })
  t.deepEqual(sortRows(rows), sortRows(DEMO_ROWS.filter(([, rev]) => rev === 'demo@2.0.0')))
})

test('importNpm: a file over maxTextByteLength is VSTORE_LIMIT naming the tarball and path; a file of exactly the limit is taken', async t => {
  const limitByteLength = 1000
  const registry = await makeRegistry(t, {
    big: {
      '1.0.0': { 'package.json': '{}\n', 'exact.js': 'e'.repeat(limitByteLength) },
      '2.0.0': { 'package.json': '{}\n', 'exact.js': 'E'.repeat(limitByteLength), 'over.js': 'o'.repeat(limitByteLength + 1) },
    },
  })
  const options = { cacheDir: registry.cacheDir, npm: registry.npm, maxTextByteLength: limitByteLength }
  const records: TextRecord[] = []
  const error = await t.throwsAsync(async () => {
    for await (const record of importNpm(['big'], options)) records.push(record)
  }, { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
  t.is(error?.where, `${join(registry.cacheDir, 'big-2.0.0.tgz')}:package/over.js`)
  t.deepEqual(sortRows(records.map(record => [record.file, record.rev, record.text.length] as const)), [['big/exact.js', 'big@1.0.0', limitByteLength], ['big/package.json', 'big@1.0.0', 3]])
  const { rows } = await importAll(['big'], { ...options, maxTextByteLength: limitByteLength + 1 })
  t.deepEqual(sortRows(rows).map(([file, rev]) => `${file}@${rev}`), ['big/exact.js@big@1.0.0', 'big/package.json@big@1.0.0', 'big/exact.js@big@2.0.0', 'big/over.js@big@2.0.0'])
  await t.throwsAsync(importAll(['big'], { ...options, maxTextByteLength: -1 }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})
