import test from 'ava'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { VstoreError } from '../../../lib/errors.js'
import { openLevelDb } from '../../../lib/index/leveldb.js'
import { encodeRunKey, encodeRunPrefix } from '../../../lib/index/runs.js'
import { makeTempDir } from '../../helpers/tmp.js'

// Regression: a full disk made `vstore import-git` print only "cannot open index: Database failed to
// open"; the reason (LevelDB's "IO error: …: No space left on device") was in the error's cause.
test('an index that cannot be opened is VSTORE_IO whose message carries the reason, not only "failed to open"', async t => {
  const dir = await makeTempDir(t, 'vstore-leveldb-')
  const notADirectory = join(dir, 'file')
  await writeFile(notADirectory, 'x')
  const error = await t.throwsAsync<VstoreError>(openLevelDb(join(notADirectory, 'index'), 'store/index', { create: true }), { instanceOf: VstoreError, code: 'VSTORE_IO' })
  t.is(error?.where, 'store/index')
  t.regex(error?.message ?? '', /^cannot open index: .*ENOTDIR/)
  t.truthy(error?.cause)
})

test('an index opened, written, read and closed keeps what was written', async t => {
  const dir = await makeTempDir(t, 'vstore-leveldb-')
  const db = await openLevelDb(join(dir, 'index'), 'index', { create: true })
  await db.write([{ key: Uint8Array.of(1), value: Uint8Array.of(2, 3) }, { key: Uint8Array.of(4), value: Uint8Array.of(5) }], { sync: true })
  await db.write([{ key: Uint8Array.of(4), value: undefined }], { sync: false })
  t.deepEqual(await db.get(Uint8Array.of(1)), Uint8Array.of(2, 3))
  t.is(await db.get(Uint8Array.of(4)), undefined)
  await db.close()
  const again = await openLevelDb(join(dir, 'index'), 'index', { create: false })
  t.teardown(() => again.close())
  const entries: [number[], number[]][] = []
  for await (const [key, value] of again.entries(new Uint8Array(0))) entries.push([[...key], [...value]])
  t.deepEqual(entries, [[[1], [2, 3]]])
})

test('last gives the last entry of a prefix at or before a key, and nothing before the prefix\'s first', async t => {
  const db = await openLevelDb(join(await makeTempDir(t), 'index'), 'index', { create: true })
  t.teardown(() => db.close())
  const key = (file: string, first: number) => encodeRunKey(file, first)
  const value = (n: number) => Uint8Array.of(n)
  await db.write([
    { key: key('a', 0), value: value(1) }, { key: key('a', 64), value: value(2) }, { key: key('a', 128), value: value(3) },
    { key: key('b', 10), value: value(4) }, { key: key('ab', 5), value: value(5) },
  ], { sync: true })
  const found = async (file: string, at: number) => (await db.last(encodeRunPrefix(file), key(file, at)))?.[1][0]
  t.is(await found('a', 100), 2)
  t.is(await found('a', 64), 2)
  t.is(await found('a', 63), 1)
  t.is(await found('a', 1000), 3)
  t.is(await found('b', 9), undefined)
  t.is(await found('b', 10), 4)
  t.is(await found('ab', 4), undefined)
  t.is(await found('ab', 6), 5)
})
