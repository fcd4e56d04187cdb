import test, { type ExecutionContext } from 'ava'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { VstoreError } from '../../../lib/errors.js'
import { openArchive, releaseNameOf } from '../../../lib/import/archive.js'
import type { ArchiveEntry } from '../../../lib/import/archive-entry.js'
import { importTarballs } from '../../../lib/import/tar.js'
import { readTarEntries } from '../../../lib/import/tar-reader.js'
import type { TextRecord } from '../../../lib/store/types.js'
import { makeTempDir } from '../../helpers/tmp.js'
import { untilError } from '../../helpers/until-error.js'

function run(cwd: string, command: string, ...args: string[]): Buffer {
  return execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Writes `files` (path → content; `null` content: a folder) under `root`. */
function writeTree(root: string, files: Readonly<Record<string, string | null>>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path)
    if (content === null) {
      mkdirSync(full, { recursive: true })
      continue
    }
    mkdirSync(dirname(full), { recursive: true })
    writeFileSync(full, content)
  }
}

async function entriesOf(entries: AsyncIterable<ArchiveEntry>): Promise<Array<[string, string]>> {
  const collected: Array<[string, string]> = []
  for await (const entry of entries) collected.push([entry.path, Buffer.from(entry.text).toString('utf8')])
  return collected
}

function sorted<T extends readonly [string, ...unknown[]]>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

async function collect(records: AsyncIterable<TextRecord>): Promise<TextRecord[]> {
  const collected: TextRecord[] = []
  for await (const record of records) collected.push(record)
  return collected
}

function rowsOf(records: readonly TextRecord[]): Array<[string, string, readonly string[], string]> {
  return records.map(record => [record.file, record.rev, record.parents, Buffer.from(record.text).toString('utf8')])
}

const LONG_FOLDER = `${'deeply/nested/'.repeat(8)}folder`
const LONG_NAME = `${LONG_FOLDER}/a-file-name-that-is-long-enough-on-its-own-to-pass-one-hundred-bytes-${'x'.repeat(40)}.txt`

/** A release folder with what tar can hold besides regular files: a symlink, a hard link, empty folders, long and UTF-8 names. */
function writeRelease(root: string): Record<string, string> {
  const files = {
    'pkg/README.md': '# readme\n',
    'pkg/src/main.c': 'int main(void) { return 0; }\n',
    'pkg/empty.txt': '',
    'pkg/ünïcødé naïve.txt': 'utf-8 name\n',
    [`pkg/${LONG_NAME}`]: 'long name\n',
  }
  writeTree(root, { ...files, 'pkg/empty-folder': null })
  symlinkSync('README.md', join(root, 'pkg/link-to-readme'))
  linkSync(join(root, 'pkg/src/main.c'), join(root, 'pkg/src/hard-link.c'))
  return { ...files, 'pkg/src/hard-link.c': files['pkg/src/main.c'] }
}

for (const format of ['gnu', 'pax', 'ustar'] as const) {
  test(`readTarEntries reads a real ${format} tar: regular files only, long names, hard links`, async t => {
    const dir = await makeTempDir(t)
    const expected = writeRelease(dir)
    const tarPath = join(dir, 'release.tar')
    // ustar cannot hold the long name: leave it out there.
    const excluded = format === 'ustar' ? [`--exclude=${LONG_NAME.split('/').pop() ?? ''}`] : []
    run(dir, 'tar', `--format=${format}`, ...excluded, '-cf', tarPath, 'pkg')
    if (format === 'ustar') delete expected[`pkg/${LONG_NAME}`]
    const symlinks: string[] = []
    const entries = await entriesOf(readTarEntries(readFileSync(tarPath), { where: 'release.tar', onSymlink: path => symlinks.push(path) }))
    t.deepEqual(sorted(entries), sorted(Object.entries(expected)))
    t.deepEqual(symlinks, ['pkg/link-to-readme'])
  })
}

test('openArchive reads every archive kind and a folder alike', async t => {
  const dir = await makeTempDir(t)
  const source = join(dir, 'source')
  mkdirSync(source)
  const expected = sorted(Object.entries(writeRelease(source)))
  run(source, 'tar', '-cf', join(dir, 'r.tar'), 'pkg')
  run(source, 'tar', '-czf', join(dir, 'r.tar.gz'), 'pkg')
  run(source, 'tar', '-czf', join(dir, 'r.tgz'), 'pkg')
  run(source, 'tar', '-cJf', join(dir, 'r.tar.xz'), 'pkg')
  run(source, 'tar', '-cjf', join(dir, 'r.tar.bz2'), 'pkg')
  run(source, 'tar', '--zstd', '-cf', join(dir, 'r.tar.zst'), 'pkg')
  run(source, 'zip', '-qry', join(dir, 'r.zip'), 'pkg')
  for (const name of ['r.tar', 'r.tar.gz', 'r.tgz', 'r.tar.xz', 'r.tar.bz2', 'r.tar.zst', 'r.zip', 'source']) {
    const symlinks: string[] = []
    t.deepEqual(sorted(await entriesOf(openArchive(join(dir, name), { onSymlink: path => symlinks.push(path) }))), expected, name)
    t.deepEqual(symlinks, ['pkg/link-to-readme'], name)
  }
  // A folder is walked in sorted order.
  const folderPaths = (await entriesOf(openArchive(source))).map(([path]) => path)
  t.deepEqual(folderPaths, [...folderPaths].sort())
})

test('a zip with deflated entries is read and checked', async t => {
  const dir = await makeTempDir(t)
  writeTree(dir, { 'z/big.txt': 'compress me '.repeat(1000), 'z/small.txt': 'small\n' })
  run(dir, 'zip', '-qr9', 'z.zip', 'z')
  t.deepEqual(sorted(await entriesOf(openArchive(join(dir, 'z.zip')))), [['z/big.txt', 'compress me '.repeat(1000)], ['z/small.txt', 'small\n']])
})

test('a zip entry whose mode has no type bits is a file, as unzip reads it (Python\'s zipfile.writestr)', async t => {
  const dir = await makeTempDir(t)
  const zipPath = join(dir, 'p-1.0.zip')
  // writestr with a name gives external attributes 0o600 << 16 (permissions, no type) on a Unix host (3).
  const script = [
    'import sys, zipfile',
    "with zipfile.ZipFile(sys.argv[1], 'w') as z:",
    "    z.writestr('pkg/a.txt', 'hi\\n')",
    "    z.writestr('pkg/sub/', '')",
    '    info = zipfile.ZipInfo("pkg/dos.txt")',
    '    info.create_system = 0',
    "    z.writestr(info, 'dos\\n')",
    'for info in zipfile.ZipFile(sys.argv[1]).infolist():',
    "    print(info.filename, info.create_system, oct(info.external_attr >> 16 & 0o170000))",
  ].join('\n')
  const listing = run(dir, 'python3', '-c', script, zipPath).toString('utf8')
  t.true(listing.includes('pkg/a.txt 3 0o0\n'), listing)
  t.deepEqual(sorted(await entriesOf(openArchive(zipPath))), [['pkg/a.txt', 'hi\n'], ['pkg/dos.txt', 'dos\n']])
})

test('releaseNameOf strips archive suffixes and keeps npm-style names', t => {
  t.is(releaseNameOf('/x/zstd-1.5.6.tar.gz'), 'zstd-1.5.6')
  t.is(releaseNameOf('express-4.18.2.tgz'), 'express-4.18.2')
  t.is(releaseNameOf('xz-5.4.0.tar.xz'), 'xz-5.4.0')
  t.is(releaseNameOf('a/b/linux-6.1.tar'), 'linux-6.1')
  t.is(releaseNameOf('jq-1.7.ZIP'), 'jq-1.7')
  t.is(releaseNameOf('bzip2-1.0.8.tar.bz2'), 'bzip2-1.0.8')
  t.is(releaseNameOf('/releases/v1.2/'), 'v1.2')
  t.is(releaseNameOf('notes.txt'), 'notes.txt')
})

// --- failures ----------------------------------------------------------------------------------------------

async function archiveError(t: ExecutionContext, entries: AsyncIterable<ArchiveEntry>): Promise<VstoreError | undefined> {
  return t.throwsAsync(entriesOf(entries), { instanceOf: VstoreError })
}

/** A ustar header with a correct checksum (unless `checksum` overrides it), then the data padded to 512. */
function tarEntry(options: { name: string; data?: string | Uint8Array; type?: string; linkName?: string; checksum?: string; size?: string }): Buffer {
  const data = typeof options.data === 'string' ? Buffer.from(options.data) : Buffer.from(options.data ?? new Uint8Array(0))
  const header = Buffer.alloc(512)
  header.write(options.name, 0, 100, 'utf8')
  header.write('0000644\0', 100, 'latin1')
  header.write('0000000\0', 108, 'latin1')
  header.write('0000000\0', 116, 'latin1')
  header.write(options.size ?? `${data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1')
  header.write('00000000000\0', 136, 'latin1')
  header.write(options.type ?? '0', 156, 'latin1')
  header.write(options.linkName ?? '', 157, 100, 'utf8')
  header.write('ustar\x0000', 257, 'latin1')
  header.fill(0x20, 148, 156)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(options.checksum ?? `${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512)
  return Buffer.concat([header, data, padding])
}

const END = Buffer.alloc(1024)

test('a hand-made tar reads back (the test\'s writer is sound)', async t => {
  const tar = Buffer.concat([tarEntry({ name: 'a/b.txt', data: 'bee' }), tarEntry({ name: 'a/c', type: '5' }), END])
  t.deepEqual(await entriesOf(readTarEntries(tar)), [['a/b.txt', 'bee']])
})

test('a bad header checksum is VSTORE_IMPORT at the header\'s offset', async t => {
  const tar = Buffer.concat([tarEntry({ name: 'ok.txt', data: 'fine' }), tarEntry({ name: 'bad.txt', data: 'x' }), END])
  tar[512 + 512 + 3] = 0x41 // a byte of the second header's name
  const error = await archiveError(t, readTarEntries(tar, { where: 'r.tar' }))
  t.is(error?.code, 'VSTORE_IMPORT')
  t.is(error?.where, 'r.tar@1024')
  const wrongSum = Buffer.concat([tarEntry({ name: 'a', data: 'x', checksum: '0000000\0' }), END])
  t.is((await archiveError(t, readTarEntries(wrongSum)))?.code, 'VSTORE_IMPORT')
})

test('truncated tar data is VSTORE_IMPORT: in a header, in an entry, or with no end block', async t => {
  const whole = Buffer.concat([tarEntry({ name: 'a.txt', data: 'a'.repeat(1000) }), END])
  for (const byteLength of [100, 512 + 600, 512 + 1024, 0]) {
    const error = await archiveError(t, readTarEntries(whole.subarray(0, byteLength), { where: 'cut.tar' }))
    t.is(error?.code, 'VSTORE_IMPORT', `cut at ${byteLength}`)
  }
  const badSize = Buffer.concat([tarEntry({ name: 'a.txt', data: 'a', size: '00000000z01\0' }), END])
  t.is((await archiveError(t, readTarEntries(badSize)))?.code, 'VSTORE_IMPORT')
})

test('paths escaping the root are VSTORE_IMPORT naming the entry', async t => {
  for (const name of ['../evil.txt', 'a/../../evil.txt', '/etc/passwd', 'a\\..\\evil']) {
    const error = await archiveError(t, readTarEntries(Buffer.concat([tarEntry({ name, data: 'x' }), END]), { where: 'evil.tar' }))
    t.is(error?.code, 'VSTORE_IMPORT', name)
    t.is(error?.where, `evil.tar:${name}`, name)
  }
  // A real tar made with -P (absolute names kept).
  const dir = await makeTempDir(t)
  writeTree(dir, { 'inside/sub/x.txt': 'x' })
  run(join(dir, 'inside', 'sub'), 'tar', '-P', '-cf', join(dir, 'evil.tar'), '../../inside/sub/x.txt')
  t.is((await archiveError(t, openArchive(join(dir, 'evil.tar'))))?.code, 'VSTORE_IMPORT')
})

test('a bad pax record, an unknown entry type and a dangling hard link are refused', async t => {
  const badPax = Buffer.concat([tarEntry({ name: 'PaxHeader', type: 'x', data: '99 path=a\n' }), tarEntry({ name: 'a', data: 'a' }), END])
  t.is((await archiveError(t, readTarEntries(badPax)))?.code, 'VSTORE_IMPORT')
  const goodPax = Buffer.concat([tarEntry({ name: 'PaxHeader', type: 'x', data: '17 path=pax/name\n' }), tarEntry({ name: 'short', data: 'p' }), END])
  t.deepEqual(await entriesOf(readTarEntries(goodPax)), [['pax/name', 'p']])
  const sparse = Buffer.concat([tarEntry({ name: 's', type: 'S', data: '' }), END])
  t.is((await archiveError(t, readTarEntries(sparse)))?.code, 'VSTORE_UNSUPPORTED')
  const dangling = Buffer.concat([tarEntry({ name: 'h', type: '1', linkName: 'nowhere' }), END])
  t.is((await archiveError(t, readTarEntries(dangling)))?.code, 'VSTORE_UNSUPPORTED')
  const orphanLongName = Buffer.concat([tarEntry({ name: '././@LongLink', type: 'L', data: 'long\0' }), END])
  t.is((await archiveError(t, readTarEntries(orphanLongName)))?.code, 'VSTORE_IMPORT')
})

test('corrupt and truncated compressed archives are VSTORE_IMPORT', async t => {
  const dir = await makeTempDir(t)
  const lines = Array.from({ length: 200 }, (_, index) => createHash('sha256').update(String(index)).digest('hex'))
  writeTree(dir, { 'r/a.txt': `${lines.join('\n')}\n`, 'r/b.txt': 'b\n' })
  run(dir, 'tar', '-czf', 'r.tar.gz', 'r')
  run(dir, 'tar', '-cJf', 'r.tar.xz', 'r')
  run(dir, 'zip', '-qr', 'r.zip', 'r')
  for (const name of ['r.tar.gz', 'r.tar.xz', 'r.zip']) {
    const bytes = readFileSync(join(dir, name))
    writeFileSync(join(dir, `cut-${name}`), bytes.subarray(0, Math.floor(bytes.length / 2)))
    const flipped = Buffer.from(bytes)
    // The middle of the file: compressed data, whatever the format.
    const middle = Math.floor(bytes.length / 2)
    for (let offset = middle; offset < middle + 20; offset++) flipped[offset] = (flipped[offset] ?? 0) ^ 0xff
    writeFileSync(join(dir, `flipped-${name}`), flipped)
    for (const damaged of [`cut-${name}`, `flipped-${name}`]) {
      const error = await archiveError(t, openArchive(join(dir, damaged)))
      t.is(error?.code, 'VSTORE_IMPORT', damaged)
    }
  }
  // A zip whose stored bytes no longer match their CRC-32.
  writeTree(dir, { 's/stored.txt': 'stored bytes\n' })
  run(dir, 'zip', '-q0r', 's.zip', 's')
  const stored = readFileSync(join(dir, 's.zip'))
  const at = stored.indexOf('stored bytes')
  stored[at] = 0x53
  writeFileSync(join(dir, 's.zip'), stored)
  const crcError = await archiveError(t, openArchive(join(dir, 's.zip')))
  t.is(crcError?.code, 'VSTORE_IMPORT')
  t.is(crcError?.where, `${join(dir, 's.zip')}:s/stored.txt`)
})

test('an encrypted zip and an unknown suffix are VSTORE_UNSUPPORTED; a missing path is VSTORE_IMPORT', async t => {
  const dir = await makeTempDir(t)
  writeTree(dir, { 'e/secret.txt': 'secret\n', 'notes.rar': 'not an archive we know' })
  run(dir, 'zip', '-qr', '-P', 'password', 'e.zip', 'e')
  t.is((await archiveError(t, openArchive(join(dir, 'e.zip'))))?.code, 'VSTORE_UNSUPPORTED')
  t.is((await archiveError(t, openArchive(join(dir, 'notes.rar'))))?.code, 'VSTORE_UNSUPPORTED')
  t.is((await archiveError(t, openArchive(join(dir, 'missing.tar.gz'))))?.code, 'VSTORE_IMPORT')
})

test('an entry over maxEntryByteLength is VSTORE_LIMIT', async t => {
  const tar = Buffer.concat([tarEntry({ name: 'big', data: 'x'.repeat(2000) }), END])
  await t.throwsAsync(entriesOf(readTarEntries(tar, { maxEntryByteLength: 1999 })), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
})

test.serial('breaking out of an .tar.xz ends the xz process', async t => {
  const dir = await makeTempDir(t)
  const files: Record<string, string> = {}
  for (let index = 0; index < 200; index++) files[`r/file-${index}.txt`] = createHash('sha256').update(String(index)).digest('hex').repeat(200)
  writeTree(dir, files)
  run(dir, 'tar', '-cJf', 'r.tar.xz', 'r')
  const pidFile = join(dir, 'pids')
  const wrapper = join(dir, 'xz-noting-pid')
  writeFileSync(wrapper, `#!/bin/sh\necho $$ >> '${pidFile}'\nexec xz "$@"\n`, { mode: 0o755 })
  for await (const entry of openArchive(join(dir, 'r.tar.xz'), { commands: { xz: wrapper } })) {
    t.true(entry.path.startsWith('r/'))
    break
  }
  const pids = readFileSync(pidFile, 'utf8').split('\n').filter(line => line !== '').map(Number)
  t.is(pids.length, 1)
  t.throws(() => process.kill(pids[0] ?? 0, 0)) // gone
})

// --- release histories ---------------------------------------------------------------------------------

/** Three releases of `zstd`, each in its own top folder, as .tar.gz, .tar.xz and .zip. */
async function buildReleases(t: ExecutionContext): Promise<{ dir: string; paths: string[] }> {
  const dir = await makeTempDir(t)
  writeTree(dir, {
    'zstd-1.0.0/README': 'readme 1\n',
    'zstd-1.0.0/lib/zstd.c': 'code 1\n',
    'zstd-1.0.0/NEWS': 'news\n',
    'zstd-1.1.0/README': 'readme 1\n', // unchanged
    'zstd-1.1.0/lib/zstd.c': 'code 2\n',
    // NEWS missing from 1.1.0
    'zstd-1.2.0/README': 'readme 3\n',
    'zstd-1.2.0/lib/zstd.c': 'code 2\n', // unchanged since 1.1.0
    'zstd-1.2.0/NEWS': 'news, again\n', // back: continues from 1.0.0
    'zstd-1.2.0/lib/new.h': 'new\n',
  })
  run(dir, 'tar', '-czf', 'zstd-1.0.0.tar.gz', 'zstd-1.0.0')
  run(dir, 'tar', '-cJf', 'zstd-1.1.0.tar.xz', 'zstd-1.1.0')
  run(dir, 'zip', '-qr', 'zstd-1.2.0.zip', 'zstd-1.2.0')
  return { dir, paths: ['zstd-1.0.0.tar.gz', 'zstd-1.1.0.tar.xz', 'zstd-1.2.0.zip'].map(name => join(dir, name)) }
}

const ZSTD_HISTORY: Array<[string, string, readonly string[], string]> = [
  ['NEWS', 'zstd-1.0.0', [], 'news\n'],
  ['README', 'zstd-1.0.0', [], 'readme 1\n'],
  ['lib/zstd.c', 'zstd-1.0.0', [], 'code 1\n'],
  ['lib/zstd.c', 'zstd-1.1.0', ['zstd-1.0.0'], 'code 2\n'],
  ['NEWS', 'zstd-1.2.0', ['zstd-1.0.0'], 'news, again\n'],
  ['README', 'zstd-1.2.0', ['zstd-1.0.0'], 'readme 3\n'],
  ['lib/new.h', 'zstd-1.2.0', [], 'new\n'],
]

test('importTarballs: top folder stripped, unchanged files make no text, a file that comes back continues', async t => {
  const { paths } = await buildReleases(t)
  const records = await collect(importTarballs(paths))
  t.deepEqual(sorted(rowsOf(records)), sorted(ZSTD_HISTORY))
  // Releases in the order given.
  t.deepEqual([...new Set(records.map(record => record.rev))], ['zstd-1.0.0', 'zstd-1.1.0', 'zstd-1.2.0'])
})

test('importTarballs: revs name the releases instead of the file names', async t => {
  const { paths } = await buildReleases(t)
  const records = await collect(importTarballs(paths, { revs: ['v1', 'v2', 'v3'] }))
  t.deepEqual(records.filter(record => record.file === 'NEWS').map(record => [record.rev, record.parents]), [['v1', []], ['v3', ['v1']]])
  await t.throwsAsync(collect(importTarballs(paths, { revs: ['v1'] })), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('importTarballs refuses releases out of version order before reading any; allowOlder takes them as given', async t => {
  const { dir, paths } = await buildReleases(t)
  const missing = ['zstd-1.1.0.tar.gz', 'zstd-1.0.0.tar.gz'].map(name => join(dir, 'missing', name))
  const error = await t.throwsAsync(collect(importTarballs(missing)), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.is(error?.where, missing[1] as string)
  const reversed = await collect(importTarballs([...paths].reverse(), { allowOlder: true }))
  t.deepEqual(reversed.filter(record => record.file === 'lib/zstd.c').map(record => [record.rev, record.parents]), [['zstd-1.2.0', []], ['zstd-1.0.0', ['zstd-1.2.0']]])
})

/** What a store would answer after holding `records`: hashes as the index keeps them (20 bytes of SHA-256). */
function storeAnswers(records: readonly TextRecord[]): {
  newest: Map<string, { rev: string; hash: Uint8Array }>
  byKey: Map<string, Uint8Array>
} {
  const newest = new Map<string, { rev: string; hash: Uint8Array }>()
  const byKey = new Map<string, Uint8Array>()
  for (const record of records) {
    const hash = createHash('sha256').update(record.text).digest().subarray(0, 20)
    newest.set(record.file, { rev: record.rev, hash })
    byKey.set(`${record.file}\0${record.rev}`, hash)
  }
  return { newest, byKey }
}

const NEW_IN_1_2 = ZSTD_HISTORY.filter(([, rev]) => rev === 'zstd-1.2.0')

test('importTarballs: importing only a newer release with previous continues the stored history', async t => {
  const { paths } = await buildReleases(t)
  const { newest } = storeAnswers(await collect(importTarballs(paths.slice(0, 2))))
  const asked: string[] = []
  const records = await collect(importTarballs(paths.slice(2), {
    previous: async file => {
      asked.push(file)
      return newest.get(file)
    },
  }))
  t.deepEqual(sorted(rowsOf(records)), sorted(NEW_IN_1_2))
  t.deepEqual(asked.sort(), ['NEWS', 'README', 'lib/new.h', 'lib/zstd.c'])
})

test('importTarballs: importing the whole list again with stored and previous adds only the new release', async t => {
  const { paths } = await buildReleases(t)
  const { newest, byKey } = storeAnswers(await collect(importTarballs(paths.slice(0, 2))))
  const options = {
    previous: async (file: string) => newest.get(file),
    stored: async (file: string, rev: string) => byKey.get(`${file}\0${rev}`),
  }
  t.deepEqual(sorted(rowsOf(await collect(importTarballs(paths, options)))), sorted(NEW_IN_1_2))
  t.deepEqual(rowsOf(await collect(importTarballs(paths.slice(0, 2), options))), [])
  // A stored release whose archive now holds other bytes is refused.
  const changed = { ...options, stored: async () => new Uint8Array(20) }
  await t.throwsAsync(collect(importTarballs(paths.slice(0, 1), changed)), { instanceOf: VstoreError, code: 'VSTORE_IMPORT' })
})

test('a path twice in one release with different bytes is VSTORE_IMPORT; with the same bytes it is one file', async t => {
  const dir = await makeTempDir(t)
  writeTree(dir, { 'r/a.txt': 'one\n', 'r/b.txt': 'b\n' })
  run(dir, 'tar', '-cf', 'same.tar', 'r')
  run(dir, 'tar', '-rf', 'same.tar', 'r/a.txt')
  t.deepEqual(rowsOf(await collect(importTarballs([join(dir, 'same.tar')]))).map(([file]) => file).sort(), ['a.txt', 'b.txt'])
  run(dir, 'tar', '-cf', 'twice.tar', 'r')
  writeFileSync(join(dir, 'r/a.txt'), 'two\n')
  run(dir, 'tar', '-rf', 'twice.tar', 'r/a.txt')
  const error = await t.throwsAsync(collect(importTarballs([join(dir, 'twice.tar')])), { instanceOf: VstoreError })
  t.is(error?.code, 'VSTORE_IMPORT')
  t.is(error?.where, `${join(dir, 'twice.tar')}:r/a.txt`)
})

test('two archives with the same release name are VSTORE_IMPORT', async t => {
  const dir = await makeTempDir(t)
  writeTree(dir, { 'a/r-1/x': 'x1\n', 'b/r-1/x': 'x2\n' })
  run(join(dir, 'a'), 'tar', '-czf', 'r-1.tgz', 'r-1')
  run(join(dir, 'b'), 'tar', '-czf', 'r-1.tar.gz', 'r-1')
  const error = await t.throwsAsync(collect(importTarballs([join(dir, 'a', 'r-1.tgz'), join(dir, 'b', 'r-1.tar.gz')])), { instanceOf: VstoreError })
  t.is(error?.code, 'VSTORE_IMPORT')
})

// --- the text limit ----------------------------------------------------------------------------------------

const LIMIT_BYTE_LENGTH = 1000

/** Entries read until the archive failed, and its error. */
async function entriesUntilError(entries: AsyncIterable<ArchiveEntry>): Promise<{ paths: string[]; error: unknown }> {
  const { items, error } = await untilError(entries)
  return { paths: items.map(entry => entry.path), error }
}

test('a file over maxTextByteLength is VSTORE_LIMIT naming its path, in every archive kind and a folder; one of exactly the limit is taken', async t => {
  const dir = await makeTempDir(t)
  const exact = { 'pkg/exact.txt': 'e'.repeat(LIMIT_BYTE_LENGTH), 'pkg/small.txt': 'small\n' }
  writeTree(join(dir, 'under'), exact)
  writeTree(join(dir, 'over'), { ...exact, 'pkg/over.txt': 'o'.repeat(LIMIT_BYTE_LENGTH + 1) })
  const names: string[] = []
  for (const source of ['under', 'over']) {
    const cwd = join(dir, source)
    run(cwd, 'tar', '-cf', join(dir, `${source}.tar`), 'pkg')
    run(cwd, 'tar', '-czf', join(dir, `${source}.tar.gz`), 'pkg')
    run(cwd, 'tar', '-cJf', join(dir, `${source}.tar.xz`), 'pkg')
    run(cwd, 'tar', '-cjf', join(dir, `${source}.tar.bz2`), 'pkg')
    run(cwd, 'tar', '--zstd', '-cf', join(dir, `${source}.tar.zst`), 'pkg')
    run(cwd, 'zip', '-qr', join(dir, `${source}.zip`), 'pkg')
    run(cwd, 'zip', '-qr0', join(dir, `${source}-stored.zip`), 'pkg')
    names.push(...['.tar', '.tar.gz', '.tar.xz', '.tar.bz2', '.tar.zst', '.zip', '-stored.zip'].map(suffix => `${source}${suffix}`), source)
  }
  const options = { maxTextByteLength: LIMIT_BYTE_LENGTH }
  for (const name of names.filter(name => name.startsWith('under'))) {
    t.deepEqual(sorted(await entriesOf(openArchive(join(dir, name), options))), sorted(Object.entries(exact)), name)
  }
  for (const name of names.filter(name => name.startsWith('over'))) {
    const { error } = await entriesUntilError(openArchive(join(dir, name), options))
    t.true(error instanceof VstoreError, name)
    t.like(error, { code: 'VSTORE_LIMIT', where: `${join(dir, name)}:pkg/over.txt` }, name)
  }
})

test('a tar entry over maxTextByteLength is refused from its header: its data is never read', async t => {
  // The archive ends right after the header (after a pax size, too): reading the data would find it cut short.
  const header = tarEntry({ name: 'over.txt', data: 'o'.repeat(LIMIT_BYTE_LENGTH + 1) }).subarray(0, 512)
  const exact = tarEntry({ name: 'exact.txt', data: 'e'.repeat(LIMIT_BYTE_LENGTH) })
  const options = { where: 'r.tar', maxTextByteLength: LIMIT_BYTE_LENGTH }
  const { paths, error } = await entriesUntilError(readTarEntries(Buffer.concat([exact, header]), options))
  t.deepEqual(paths, ['exact.txt'])
  t.like(error, { code: 'VSTORE_LIMIT', where: 'r.tar:over.txt' })
  const pax = tarEntry({ name: 'PaxHeader', type: 'x', data: `13 size=${LIMIT_BYTE_LENGTH + 1}\n` })
  const small = tarEntry({ name: 'paxed.txt', data: 'p' }).subarray(0, 512)
  t.like((await entriesUntilError(readTarEntries(Buffer.concat([pax, small]), options))).error, { code: 'VSTORE_LIMIT', where: 'r.tar:paxed.txt' })
})

/**
 * Writes a zip by hand: `pkg/small.txt` stored, then `pkg/bomb.txt` deflated from `zeroByteLength` zero bytes,
 * whose local header and central directory claim `claimedByteLength`. With `spoil`, the deflate data ends
 * its block after the zeros and goes on with a block of the reserved type: an inflater that reads on fails.
 */
function writeLyingZip(path: string, claimedByteLength: number, zeroByteLength: number, spoil: boolean): void {
  const script = [
    'import struct, sys, zlib',
    'path, claimed, zero_byte_length, spoil = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "spoil"',
    'deflater = zlib.compressobj(9, zlib.DEFLATED, -15)',
    'bomb = deflater.compress(bytes(zero_byte_length))',
    'bomb += deflater.flush(zlib.Z_FULL_FLUSH) + b"\\x07" + bytes(64) if spoil else deflater.flush()',
    'entries = [("pkg/small.txt", 0, zlib.crc32(b"small\\n"), b"small\\n", 6), ("pkg/bomb.txt", 8, zlib.crc32(bytes(zero_byte_length)), bomb, claimed)]',
    'local, central = bytearray(), bytearray()',
    'for name, method, crc, data, size in entries:',
    '    offset, name = len(local), name.encode()',
    '    local += struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, method, 0, 0, crc, len(data), size, len(name), 0) + name + data',
    '    central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, method, 0, 0, crc, len(data), size, len(name), 0, 0, 0, 0, 0, offset) + name',
    'end = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(entries), len(entries), len(central), len(local), 0)',
    'open(path, "wb").write(local + central + end)',
  ].join('\n')
  execFileSync('python3', ['-c', script, path, String(claimedByteLength), String(zeroByteLength), spoil ? 'spoil' : 'whole'])
}

test('a zip whose directory claims a small size but whose entry inflates past maxTextByteLength is VSTORE_LIMIT, the inflater stopped near the limit', async t => {
  const dir = await makeTempDir(t)
  const options = { maxTextByteLength: LIMIT_BYTE_LENGTH }
  // The hand-made zip is sound: claiming its true size, it reads back.
  writeLyingZip(join(dir, 'true.zip'), 800, 800, false)
  t.deepEqual(await entriesOf(openArchive(join(dir, 'true.zip'), options)), [['pkg/small.txt', 'small\n'], ['pkg/bomb.txt', '\0'.repeat(800)]])

  // 1 MiB of zeros claimed as 500 bytes, then deflate data no inflater gets through: stopping past the
  // limit, the reader never reaches it.
  const bomb = join(dir, 'bomb.zip')
  writeLyingZip(bomb, 500, 1024 * 1024, true)
  const { paths, error } = await entriesUntilError(openArchive(bomb, options))
  t.deepEqual(paths, ['pkg/small.txt'])
  t.true(error instanceof VstoreError)
  t.like(error, { code: 'VSTORE_LIMIT', where: `${bomb}:pkg/bomb.txt` })
  // Without a limit the same zip is still refused at its claimed size, as a zip that lies.
  t.like((await entriesUntilError(openArchive(bomb))).error, { code: 'VSTORE_IMPORT', where: `${bomb}:pkg/bomb.txt` })

  // Inflating past its claim but not past the limit: a zip that lies, not a text over the limit.
  const liar = join(dir, 'liar.zip')
  writeLyingZip(liar, 10, 600, false)
  t.like((await entriesUntilError(openArchive(liar, options))).error, { code: 'VSTORE_IMPORT', where: `${liar}:pkg/bomb.txt` })
})

test('importTarballs: a file over maxTextByteLength is VSTORE_LIMIT naming the archive and path, after the releases before it', async t => {
  const dir = await makeTempDir(t)
  writeTree(dir, {
    'r-1.0/exact.txt': 'e'.repeat(LIMIT_BYTE_LENGTH),
    'r-1.1/exact.txt': 'E'.repeat(LIMIT_BYTE_LENGTH),
    'r-1.1/over.txt': 'o'.repeat(LIMIT_BYTE_LENGTH + 1),
  })
  run(dir, 'tar', '-czf', 'r-1.0.tar.gz', 'r-1.0')
  run(dir, 'zip', '-qr', 'r-1.1.zip', 'r-1.1')
  const paths = [join(dir, 'r-1.0.tar.gz'), join(dir, 'r-1.1.zip')]
  const records: TextRecord[] = []
  const error = await t.throwsAsync(async () => {
    for await (const record of importTarballs(paths, { maxTextByteLength: LIMIT_BYTE_LENGTH })) records.push(record)
  }, { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
  t.is(error?.where, `${paths[1] as string}:r-1.1/over.txt`)
  t.deepEqual(rowsOf(records), [['exact.txt', 'r-1.0', [], 'e'.repeat(LIMIT_BYTE_LENGTH)]])
  const all = await collect(importTarballs(paths, { maxTextByteLength: LIMIT_BYTE_LENGTH + 1 }))
  t.deepEqual(sorted(rowsOf(all).map(([file, rev]) => [`${file}@${rev}`] as [string])), [['exact.txt@r-1.0'], ['exact.txt@r-1.1'], ['over.txt@r-1.1']])
  await t.throwsAsync(collect(importTarballs(paths, { maxTextByteLength: Number.NaN })), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})
