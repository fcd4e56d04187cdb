import test from 'ava'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { VstoreError } from '../../../lib/errors.js'
import { openLevelDb } from '../../../lib/index/leveldb.js'
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
