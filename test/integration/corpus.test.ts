import test from 'ava'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { importGit } from '../../lib/import/git.js'
import { DEFAULT_STORE_OPTIONS, Store, type IndexDumpRow } from '../../lib/store/store.js'
import { expectedFileVersions, git, gitShowMany } from '../helpers/git.js'
import { makeTempDir } from '../helpers/tmp.js'

// This file runs as dist/test/integration/corpus.test.js: four levels below the repository root.
const BUNDLE = path.resolve(fileURLToPath(import.meta.url), '../../../../corpus/cors.bundle')
const CORS_COMMIT_COUNT = 351
// corpus/README.md counts 514 file versions: every regular-file blob that differs from the commit's first
// parent. The importer makes no new text where a merge took another parent's blob, so it yields fewer;
// expectedFileVersions works out which from whole trees.

test('the bundled cors history imports with default options; every key reads back as git has it, within the read bound', async t => {
  t.true(existsSync(BUNDLE), BUNDLE)
  const work = await makeTempDir(t, 'vstore-corpus-')
  const repo = path.join(work, 'cors.git')
  git(work, 'clone', '-q', '--bare', BUNDLE, repo)
  t.is(git(repo, 'rev-list', '--count', 'HEAD'), String(CORS_COMMIT_COUNT))

  const store = await Store.open(path.join(work, 'store'), { create: true })
  t.teardown(() => store.close())
  const summary = await store.insert(importGit(repo))
  const expectedVersions = expectedFileVersions(repo)
  t.is(summary.textCount, expectedVersions.size)

  const rows: IndexDumpRow[] = []
  for await (const row of store.dumpIndex()) rows.push(row)
  t.deepEqual(rows.map(row => `${row.file}@${row.rev}`).sort(), [...expectedVersions.keys()].sort())
  for (const row of rows) t.deepEqual(row.parents, expectedVersions.get(`${row.file}@${row.rev}`), `parents of ${row.file}@${row.rev}`)
  const expected = gitShowMany(repo, rows.map(({ file, rev }) => ({ rev, path: file })))

  // The read bounds: every read at most 256 KiB (or the text's own length), the median at most 128 KiB.
  const maxRead = DEFAULT_STORE_OPTIONS.maxReadByteLength
  t.is(maxRead, 256 * 1024)
  for (const [i, row] of rows.entries()) {
    const bound = Math.max(maxRead, row.textByteLength + 64)
    const before = store.readCounter.readByteLength
    const text = await store.get(row.file, row.rev)
    const readByteLength = store.readCounter.readByteLength - before
    t.is(readByteLength, row.readByteLength + row.baseReadByteLength, `${row.file}@${row.rev}: read as the index says`)
    t.true(readByteLength <= bound, `${row.file}@${row.rev}: read ${readByteLength} bytes, bound ${bound}`)
    const want = expected[i] as Buffer
    t.true(Buffer.from(text.buffer, text.byteOffset, text.byteLength).equals(want), `${row.file}@${row.rev}: got ${text.length} bytes, git has ${want.length}`)
  }
  const stats = await store.stats()
  t.is(stats.textCount, expectedVersions.size)
  t.is(stats.rawByteLength, expected.reduce((sum, blob) => sum + blob.length, 0))
  t.true(stats.readByteLength.max <= maxRead, `max read ${stats.readByteLength.max}`)
  t.true(stats.readByteLength.median <= 128 * 1024, `median read ${stats.readByteLength.median}`)
  t.deepEqual((await store.verify()).problems, [])
})
