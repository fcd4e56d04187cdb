import test, { type ExecutionContext } from 'ava'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFile, mkdir, readFile, writeFile as writeFileAsync } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { VstoreError, type VstoreCode } from '../../../lib/errors.js'
import { importGit } from '../../../lib/import/git.js'
import { compareVersions } from '../../../lib/import/npm.js'
import { importReleases } from '../../../lib/import/releases.js'
import type { TextRecord } from '../../../lib/store/types.js'
import { readCorpus, readManifest } from '../../../scripts/corpus.js'
import { decodeGitPin, fetchGitCorpus } from '../../../scripts/fetch-git-corpus.js'
import {
  checkTarball, decodeNpmPin, fetchNpmCorpus, integrityOf, parseSpec, readRelease, selectSpecVersions, type NpmClient,
} from '../../../scripts/fetch-npm-corpus.js'
import { commit, expectedFileVersions, git, makeGitRepo, merge, branch, switchTo, writeFile, writeSymlink, deleteFile } from '../../helpers/git.js'
import { makeTempDir } from '../../helpers/tmp.js'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const quiet = (): void => undefined
const FIXED_NOW = (): Date => new Date('2024-01-02T03:04:05Z')

function isCode(code: VstoreCode) {
  return (error: unknown): boolean => error instanceof VstoreError && error.code === code
}

async function throwsCode(t: ExecutionContext, run: () => unknown, code: VstoreCode): Promise<void> {
  const error = await t.throwsAsync(async () => run())
  t.true(error instanceof VstoreError, String(error))
  t.is((error as VstoreError).code, code, (error as Error).message)
}

// ---------------------------------------------------------------------------------------------------------
// Versions

// compareVersions is lib/import/npm.ts's (tested in test/unit/import/npm.test.ts); the fetcher's pins rely on
// the full SemVer 2.0 order, which these cases check beyond that file's.
test('compareVersions follows semver precedence, prereleases before their release', t => {
  const ordered = ['0.9.0', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.2.0', '1.10.0', '2.0.0', '10.0.0']
  const shuffled = [...ordered].reverse().sort((a, b) => (a.length % 3) - (b.length % 3))
  t.deepEqual(shuffled.sort(compareVersions), ordered)
  t.is(compareVersions('1.0.0+build.2', '1.0.0+build.1'), 1) // equal precedence, ordered by text so sorting is stable
  for (const text of ['1.0', '01.0.0', '1.0.0-', 'latest', '1.0.0.0', '']) t.throws(() => compareVersions(text, '1.0.0'), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, text)
})

const PUBLISHED = ['0.1.0', '2.0.0', '1.0.0', '1.1.0-rc.1', '1.1.0', '1.2.0', '2.0.0-beta.1', '1.10.0', '2.1.0', '3.0.0-dev.20240101']

test('a bare package name selects every stable version in semver order', t => {
  t.deepEqual(selectSpecVersions(PUBLISHED, parseSpec('demo').selector), ['0.1.0', '1.0.0', '1.1.0', '1.2.0', '1.10.0', '2.0.0', '2.1.0'])
})

test('pkg@MAJOR selects the stable versions of that major; pkg@RANGE those of the range', t => {
  t.deepEqual(selectSpecVersions(PUBLISHED, parseSpec('demo@1').selector), ['1.0.0', '1.1.0', '1.2.0', '1.10.0'])
  t.deepEqual(selectSpecVersions(PUBLISHED, parseSpec('demo@3').selector), [])
  t.deepEqual(selectSpecVersions(PUBLISHED, parseSpec('demo@^1.1').selector), ['1.1.0', '1.2.0', '1.10.0'])
  t.deepEqual(selectSpecVersions(PUBLISHED, parseSpec('demo@>=1.2 <2.1').selector), ['1.2.0', '1.10.0', '2.0.0'])
})

test('pkg@everyN takes every N-th stable version from the first, and always the last', t => {
  const stable = ['0.1.0', '1.0.0', '1.1.0', '1.2.0', '1.10.0', '2.0.0', '2.1.0']
  t.deepEqual(selectSpecVersions(PUBLISHED, parseSpec('demo@every3').selector), ['0.1.0', '1.2.0', '2.1.0'])
  t.deepEqual(selectSpecVersions(PUBLISHED, parseSpec('demo@every4').selector), ['0.1.0', '1.10.0', '2.1.0'])
  t.deepEqual(selectSpecVersions(PUBLISHED, parseSpec('demo@every1').selector), stable)
  t.deepEqual(selectSpecVersions(PUBLISHED, parseSpec('demo@every100').selector), ['0.1.0', '2.1.0'])
  t.deepEqual(selectSpecVersions(['1.0.0'], parseSpec('demo@every2').selector), ['1.0.0'])
})

test('pkg@X.Y.Z selects that version, even a prerelease', t => {
  t.deepEqual(selectSpecVersions(PUBLISHED, parseSpec('demo@2.0.0-beta.1').selector), ['2.0.0-beta.1'])
  t.deepEqual(selectSpecVersions(PUBLISHED, parseSpec('demo@1.2.0').selector), ['1.2.0'])
  t.deepEqual(selectSpecVersions(PUBLISHED, parseSpec('demo@9.9.9').selector), [])
})

test('parseSpec reads scoped names and rejects anything else as VSTORE_USAGE', t => {
  t.deepEqual(parseSpec('@types/node@20'), { packageName: '@types/node', selector: { kind: 'range', range: '20' } })
  t.deepEqual(parseSpec('@types/node'), { packageName: '@types/node', selector: { kind: 'range', range: '*' } })
  t.deepEqual(parseSpec('@types/node@every5'), { packageName: '@types/node', selector: { kind: 'every', step: 5 } })
  for (const spec of ['demo@every0', 'demo@every', 'demo@1@every2', 'demo@latest', '-rf', 'a b', '', '@']) {
    t.throws(() => parseSpec(spec), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, spec)
  }
})

// ---------------------------------------------------------------------------------------------------------
// Tarballs

/**
 * Writes `files` under `<dir>/package/` and packs them with the system tar (`members` in their order, default
 * the whole folder); returns the .tgz bytes.
 */
async function makeTgz(
  t: ExecutionContext, files: Record<string, string>,
  options: { extra?: (root: string) => void; tarArguments?: string[]; members?: string[] } = {},
): Promise<Uint8Array> {
  const root = await makeTempDir(t, 'vstore-tgz-')
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, 'package', path)), { recursive: true })
    await writeFileAsync(join(root, 'package', path), content)
  }
  options.extra?.(root)
  const output = join(root, 'out.tgz')
  execFileSync('tar', ['-czf', output, ...(options.tarArguments ?? []), '-C', root, ...(options.members ?? ['package'])], { stdio: 'pipe' })
  return new Uint8Array(await readFile(output))
}

/** The .tgz of `makeTgz`, written as `<dir>/demo-1.0.0.tgz` for `readRelease`. */
async function makeTgzFile(t: ExecutionContext, files: Record<string, string>, options: Parameters<typeof makeTgz>[2] = {}): Promise<string> {
  const path = join(await makeTempDir(t, 'vstore-tgz-file-'), 'demo-1.0.0.tgz')
  await writeFileAsync(path, await makeTgz(t, files, options))
  return path
}

async function readReleaseRecords(path: string): Promise<TextRecord[]> {
  const records: TextRecord[] = []
  for await (const record of importReleases([await readRelease('demo', '1.0.0', path)])) records.push(record)
  return records
}

test('readRelease gives the regular files sorted by path, whatever order the tarball lists them', async t => {
  const path = await makeTgzFile(t, { 'z.js': 'z', 'lib/a.js': 'a', 'package.json': '{}', 'empty.txt': '' }, {
    members: ['package/z.js', 'package/package.json', 'package/link.js', 'package/lib/a.js', 'package/empty.txt'],
    extra: root => execFileSync('ln', ['-s', 'lib/a.js', join(root, 'package', 'link.js')]),
  })
  const records = await readReleaseRecords(path)
  t.deepEqual(records.map(record => record.file), ['demo/empty.txt', 'demo/lib/a.js', 'demo/package.json', 'demo/z.js'])
  t.true(records.every(record => record.rev === 'demo@1.0.0' && record.parents.length === 0))
})

test('a tarball entry with a .. segment or an absolute path is refused', async t => {
  for (const target of ['package/../evil', '/etc/evil']) {
    const path = await makeTgzFile(t, { 'a.js': 'a', evil: 'x' }, { tarArguments: ['-P', '--transform', `s,^package/evil$,${target},`] })
    await t.throwsAsync(readReleaseRecords(path), { instanceOf: VstoreError, code: 'VSTORE_IMPORT' }, target)
  }
})

test('checkTarball compares the strongest integrity hash and the sha256', t => {
  const bytes = utf8('tarball bytes')
  t.notThrows(() => checkTarball(bytes, { integrity: integrityOf(bytes), sha256: sha256(bytes) }, 'w'))
  t.notThrows(() => checkTarball(bytes, { integrity: `${integrityOf(bytes, 'sha1')} ${integrityOf(bytes)}` }, 'w'))
  t.throws(() => checkTarball(bytes, { integrity: integrityOf(utf8('other')) }, 'w'), { code: 'VSTORE_CORRUPT' })
  t.throws(() => checkTarball(bytes, { integrity: integrityOf(bytes), sha256: sha256(utf8('other')) }, 'w'), { code: 'VSTORE_CORRUPT' })
  t.throws(() => checkTarball(bytes, { integrity: 'md5-abc' }, 'w'), { code: 'VSTORE_UNSUPPORTED' })
})

// ---------------------------------------------------------------------------------------------------------
// A package's releases, for fetchNpmCorpus

const RELEASES: Record<string, Record<string, string>> = {
  '1.0.0': { 'a.txt': 'A1', 'b.txt': 'B1', 'lib/c.js': 'C1' },
  '1.1.0': { 'a.txt': 'A2', 'b.txt': 'B1' }, // a changes, b unchanged, c gone
  '2.0.0': { 'a.txt': 'A2', 'b.txt': 'B3', 'lib/c.js': 'C3' }, // a unchanged, b changes, c back
}

/**
 * What `importReleases`' rule gives for RELEASES of `demo` then `other@1.0.0` (with its own a.txt): each file
 * version names its previous stored version, unchanged files make no text, and c.js, missing from 1.1.0,
 * continues from 1.0.0 when it comes back.
 */
function expectedTexts(): { file: string; rev: string; parents: string[]; text: string }[] {
  return [
    { file: 'demo/a.txt', rev: 'demo@1.0.0', parents: [], text: 'A1' },
    { file: 'demo/b.txt', rev: 'demo@1.0.0', parents: [], text: 'B1' },
    { file: 'demo/lib/c.js', rev: 'demo@1.0.0', parents: [], text: 'C1' },
    { file: 'demo/a.txt', rev: 'demo@1.1.0', parents: ['demo@1.0.0'], text: 'A2' },
    { file: 'demo/b.txt', rev: 'demo@2.0.0', parents: ['demo@1.0.0'], text: 'B3' },
    { file: 'demo/lib/c.js', rev: 'demo@2.0.0', parents: ['demo@1.0.0'], text: 'C3' },
    { file: 'other/a.txt', rev: 'other@1.0.0', parents: [], text: 'A1' },
  ]
}

const readable = (records: readonly Pick<TextRecord, 'file' | 'rev' | 'parents' | 'text'>[]) =>
  records.map(({ file, rev, parents, text }) => ({ file, rev, parents: [...parents], text: Buffer.from(text).toString() }))

// ---------------------------------------------------------------------------------------------------------
// fetchNpmCorpus with a stand-in registry (no network)

interface FakeRegistry {
  readonly client: NpmClient
  readonly tarballs: Map<string, Uint8Array>
  packCount: number
  viewCount: number
}

async function fakeRegistry(t: ExecutionContext, releases: Record<string, Record<string, Record<string, string>>>): Promise<FakeRegistry> {
  const tarballs = new Map<string, Uint8Array>()
  for (const [packageName, versions] of Object.entries(releases)) {
    for (const [version, files] of Object.entries(versions)) tarballs.set(`${packageName}@${version}`, await makeTgz(t, files))
  }
  const source = await makeTempDir(t, 'vstore-registry-')
  const registry: FakeRegistry = {
    tarballs,
    packCount: 0,
    viewCount: 0,
    client: {
      async versions(packageName) {
        registry.viewCount++
        return [...tarballs.keys()].filter(key => key.startsWith(`${packageName}@`)).map(key => key.slice(packageName.length + 1))
      },
      async integrities(packageName, versions) {
        registry.viewCount++
        return new Map(versions.map(version => [version, integrityOf(tarballs.get(`${packageName}@${version}`) as Uint8Array)]))
      },
      async pack(packageName, version, destination) {
        registry.packCount++
        const path = join(source, `${packageName}-${version}.tgz`)
        await writeFileAsync(path, tarballs.get(`${packageName}@${version}`) as Uint8Array)
        await copyFile(path, join(destination, basename(path)))
        return join(destination, basename(path))
      },
    },
  }
  return registry
}

async function npmDirs(t: ExecutionContext) {
  const root = await makeTempDir(t, 'vstore-fetch-npm-')
  return { pinDir: join(root, 'pins'), cacheDir: join(root, 'cache'), corpusDir: join(root, 'corpus') }
}

async function readBack(dir: string) {
  const records = []
  for await (const entry of readCorpus(dir)) records.push(entry)
  return records
}

test('fetchNpmCorpus writes the pin and a corpus that reads back as the linear history', async t => {
  const registry = await fakeRegistry(t, { demo: { ...RELEASES, '2.1.0-rc.1': { 'a.txt': 'prerelease' } }, other: { '1.0.0': { 'a.txt': 'A1' } } })
  const dirs = await npmDirs(t)
  const summary = await fetchNpmCorpus({ name: 'demo', specs: ['demo', 'other'], client: registry.client, ...dirs, now: FIXED_NOW, log: quiet })
  t.is(summary.revisionCount, 4)
  t.is(summary.fileVersionCount, 7)
  t.is(summary.blobCount, 6) // other/a.txt has demo/a.txt@1.0.0's bytes
  t.is(summary.downloadedCount, 4)

  const records = await readBack(dirs.corpusDir)
  t.deepEqual(readable(records), expectedTexts())
  for (const record of records) {
    t.is(record.sha256, sha256(record.text))
    t.is(record.byteLength, record.text.length)
  }

  const pin = decodeNpmPin(JSON.parse(await readFile(join(dirs.pinDir, 'demo.json'), 'utf8')), 'pin')
  t.deepEqual(pin.specs, ['demo', 'other'])
  t.is(pin.resolvedAt, FIXED_NOW().toISOString())
  t.deepEqual(pin.releases.map(release => `${release.packageName}@${release.version}`), ['demo@1.0.0', 'demo@1.1.0', 'demo@2.0.0', 'other@1.0.0'])
  for (const release of pin.releases) {
    const tgz = registry.tarballs.get(`${release.packageName}@${release.version}`) as Uint8Array
    t.is(release.sha256, sha256(tgz))
    t.is(release.integrity, integrityOf(tgz))
    t.is(release.tarballByteLength, tgz.length)
  }
  const source = JSON.parse(await readFile(join(dirs.corpusDir, 'source.json'), 'utf8')) as { fetchedAt: string; specs: string[] }
  t.is(source.fetchedAt, FIXED_NOW().toISOString())
  t.deepEqual(source.specs, ['demo', 'other'])
})

test('a second run takes the list from the pin and the tarballs from the cache', async t => {
  const registry = await fakeRegistry(t, { demo: RELEASES })
  const dirs = await npmDirs(t)
  await fetchNpmCorpus({ name: 'demo', specs: ['demo'], client: registry.client, ...dirs, log: quiet })
  const first = await readFile(join(dirs.corpusDir, 'manifest.jsonl'), 'utf8')
  const pinText = await readFile(join(dirs.pinDir, 'demo.json'), 'utf8')
  const [views, packs] = [registry.viewCount, registry.packCount]

  const lines: string[] = []
  const summary = await fetchNpmCorpus({ name: 'demo', specs: [], client: registry.client, ...dirs, log: line => lines.push(line) })
  t.is(registry.viewCount, views)
  t.is(registry.packCount, packs)
  t.is(summary.downloadedCount, 0)
  t.regex(lines.find(line => line.startsWith('[2/3]')) ?? '', /^\[2\/3\] demo@1\.1\.0 \(cached\) \d/)
  t.is(await readFile(join(dirs.corpusDir, 'manifest.jsonl'), 'utf8'), first)
  t.is(await readFile(join(dirs.pinDir, 'demo.json'), 'utf8'), pinText) // not rewritten
})

test('a damaged cached tarball is fetched again (the resume after a killed run)', async t => {
  const registry = await fakeRegistry(t, { demo: RELEASES })
  const dirs = await npmDirs(t)
  await fetchNpmCorpus({ name: 'demo', specs: ['demo'], client: registry.client, ...dirs, log: quiet })
  await writeFileAsync(join(dirs.cacheDir, 'demo-1.1.0.tgz'), 'half a tarball')
  const packs = registry.packCount
  const summary = await fetchNpmCorpus({ name: 'demo', specs: [], client: registry.client, ...dirs, log: quiet })
  t.is(registry.packCount, packs + 1)
  t.is(summary.downloadedCount, 1)
  t.deepEqual(readable(await readBack(dirs.corpusDir)), expectedTexts().filter(text => text.file.startsWith('demo/')))
})

test('a tarball that differs from its pin is a clear error', async t => {
  const registry = await fakeRegistry(t, { demo: RELEASES })
  const dirs = await npmDirs(t)
  await fetchNpmCorpus({ name: 'demo', specs: ['demo'], client: registry.client, ...dirs, log: quiet })
  // The registry now serves different bytes for a pinned version; the cache is gone.
  registry.tarballs.set('demo@1.1.0', await makeTgz(t, { 'a.txt': 'tampered' }))
  await writeFileAsync(join(dirs.cacheDir, 'demo-1.1.0.tgz'), 'gone')
  const error = await t.throwsAsync(fetchNpmCorpus({ name: 'demo', specs: [], client: registry.client, ...dirs, log: quiet }))
  t.true(isCode('VSTORE_CORRUPT')(error), String(error))
  t.is((error as VstoreError).where, 'demo@1.1.0')
  // The failed run left the corpus of the good run in place.
  t.deepEqual(readable(await readBack(dirs.corpusDir)), expectedTexts().filter(text => text.file.startsWith('demo/')))
})

test('specs that differ from the pin need --update, which re-resolves', async t => {
  const registry = await fakeRegistry(t, { demo: RELEASES })
  const dirs = await npmDirs(t)
  await fetchNpmCorpus({ name: 'demo', specs: ['demo@1'], client: registry.client, ...dirs, log: quiet })
  await throwsCode(t, () => fetchNpmCorpus({ name: 'demo', specs: ['demo'], client: registry.client, ...dirs, log: quiet }), 'VSTORE_USAGE')
  const summary = await fetchNpmCorpus({ name: 'demo', specs: ['demo'], update: true, client: registry.client, ...dirs, log: quiet })
  t.is(summary.revisionCount, 3)
  const pin = decodeNpmPin(JSON.parse(await readFile(join(dirs.pinDir, 'demo.json'), 'utf8')), 'pin')
  t.deepEqual(pin.releases.map(release => release.version), ['1.0.0', '1.1.0', '2.0.0'])
})

test('a corpus name that is not a plain folder name is refused', async t => {
  const registry = await fakeRegistry(t, { demo: { '1.0.0': { 'a.txt': 'a' } } })
  const dirs = await npmDirs(t)
  for (const name of ['../up', 'a/b', '', 'cache', '.hidden']) {
    await throwsCode(t, () => fetchNpmCorpus({ name, specs: ['demo'], client: registry.client, ...dirs, log: quiet }), 'VSTORE_USAGE')
  }
})

// ---------------------------------------------------------------------------------------------------------
// fetchGitCorpus

async function makeSmallRepo(t: ExecutionContext) {
  const repo = await makeGitRepo(t)
  writeFile(repo, 'README.md', 'hello\n')
  writeFile(repo, 'src/a.js', 'a1\n')
  writeSymlink(repo, 'link', 'README.md')
  commit(repo, 'first')
  branch(repo, 'side')
  writeFile(repo, 'src/a.js', 'a1\nside\n')
  commit(repo, 'side edit')
  switchTo(repo, 'main')
  writeFile(repo, 'README.md', 'hello, world\n')
  deleteFile(repo, 'link')
  commit(repo, 'main edit')
  merge(repo, 'side', 'merge side')
  return repo
}

async function gitDirs(t: ExecutionContext) {
  const root = await makeTempDir(t, 'vstore-fetch-git-')
  return { pinDir: join(root, 'pins'), corpusDir: join(root, 'corpus') }
}

test('fetchGitCorpus writes importGit records and pins the tip', async t => {
  const repo = await makeSmallRepo(t)
  const tip = git(repo.dir, 'rev-parse', 'HEAD')
  const dirs = await gitDirs(t)
  const summary = await fetchGitCorpus({ name: 'tiny', repo: repo.dir, ...dirs, now: FIXED_NOW, log: quiet })
  t.is(summary.revisionCount, 4)

  const expected: TextRecord[] = []
  for await (const record of importGit(repo.dir)) expected.push(record)
  const records = await readBack(dirs.corpusDir)
  t.deepEqual(readable(records), readable(expected))
  t.deepEqual(new Map(records.map(record => [`${record.file}@${record.rev}`, [...record.parents]])), expectedFileVersions(repo.dir, tip))
  t.is(summary.fileVersionCount, records.length)

  const pin = decodeGitPin(JSON.parse(await readFile(join(dirs.pinDir, 'tiny.json'), 'utf8')), 'pin')
  t.like(pin, { kind: 'git', ref: 'HEAD', commit: tip, commitCount: 4, resolvedAt: FIXED_NOW().toISOString() })
  t.is(pin.bundleSha256, undefined)
})

test('a later run imports the pinned commit though the ref has moved; --update moves the pin', async t => {
  const repo = await makeSmallRepo(t)
  const dirs = await gitDirs(t)
  await fetchGitCorpus({ name: 'tiny', repo: repo.dir, ...dirs, log: quiet })
  const before = (await readManifest(dirs.corpusDir)).length
  writeFile(repo, 'src/a.js', 'moved on\n')
  const newTip = commit(repo, 'after the pin')

  const again = await fetchGitCorpus({ name: 'tiny', ...dirs, log: quiet }) // REPO from the pin
  t.is(again.fileVersionCount, before)
  const updated = await fetchGitCorpus({ name: 'tiny', repo: repo.dir, update: true, ...dirs, log: quiet })
  t.is(updated.fileVersionCount, before + 1)
  t.is(decodeGitPin(JSON.parse(await readFile(join(dirs.pinDir, 'tiny.json'), 'utf8')), 'pin').commit, newTip)
})

test('--commit fails when the ref resolves elsewhere', async t => {
  const repo = await makeSmallRepo(t)
  const dirs = await gitDirs(t)
  const first = git(repo.dir, 'rev-list', '--max-parents=0', 'HEAD')
  await throwsCode(t, () => fetchGitCorpus({ name: 'tiny', repo: repo.dir, commit: first, ...dirs, log: quiet }), 'VSTORE_IMPORT')
  const summary = await fetchGitCorpus({ name: 'tiny', repo: repo.dir, ref: 'side', commit: git(repo.dir, 'rev-parse', 'side').slice(0, 12), ...dirs, log: quiet })
  t.is(summary.revisionCount, 2)
  await throwsCode(t, () => fetchGitCorpus({ name: 'tiny', repo: repo.dir, ref: 'main', ...dirs, log: quiet }), 'VSTORE_USAGE') // pinned to side
})

test('a .bundle is cloned first, and its sha256 is pinned and checked', async t => {
  const repo = await makeSmallRepo(t)
  const bundle = join(await makeTempDir(t, 'vstore-bundle-'), 'tiny.bundle')
  git(repo.dir, 'bundle', 'create', bundle, 'main')
  const dirs = await gitDirs(t)
  const summary = await fetchGitCorpus({ name: 'tiny', repo: bundle, ...dirs, log: quiet })
  t.is(summary.revisionCount, 4)
  const expected: TextRecord[] = []
  for await (const record of importGit(repo.dir)) expected.push(record)
  t.deepEqual(readable(await readBack(dirs.corpusDir)), readable(expected))
  const pin = decodeGitPin(JSON.parse(await readFile(join(dirs.pinDir, 'tiny.json'), 'utf8')), 'pin')
  t.is(pin.bundleSha256, sha256(new Uint8Array(await readFile(bundle))))

  writeFile(repo, 'src/a.js', 'changed\n')
  commit(repo, 'more')
  git(repo.dir, 'bundle', 'create', bundle, 'main')
  await throwsCode(t, () => fetchGitCorpus({ name: 'tiny', repo: bundle, ...dirs, log: quiet }), 'VSTORE_CORRUPT')
})
