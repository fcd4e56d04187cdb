import test from 'ava'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Store } from '../../../lib/vstore.js'
import { expectTexts, history, insertCommits } from '../../helpers/history.js'
import { dumpIndex, openStore } from '../../helpers/store.js'
import { makeTempDir } from '../../helpers/tmp.js'
import { RecentTexts } from '../../../lib/store/recent-texts.js'
import type { TextEntry } from '../../../lib/store/types.js'

const entry = (textByteLength: number): TextEntry => ({
  packId: 1, groupOffset: 8, readByteLength: 10, recordStart: 0, recordEnd: 5, decodedByteLength: 10, textByteLength, hash: new Uint8Array(20),
  baseDepth: 0, baseReadByteLength: 0, baseDecodedByteLength: 0, parents: [],
})

test('the texts asked for least recently go first once the budget is passed; a text over a quarter of it is not kept', t => {
  const recent = new RecentTexts(100)
  recent.put({ file: 'a', rev: '1' }, entry(25), new Uint8Array(25))
  recent.put({ file: 'b', rev: '1' }, entry(25), new Uint8Array(25))
  recent.put({ file: 'c', rev: '1' }, entry(25), new Uint8Array(25))
  t.truthy(recent.get({ file: 'a', rev: '1' }))
  recent.put({ file: 'd', rev: '1' }, entry(25), new Uint8Array(25))
  recent.put({ file: 'e', rev: '1' }, entry(25), new Uint8Array(25))
  t.is(recent.get({ file: 'b', rev: '1' }), undefined)
  for (const file of ['a', 'c', 'd', 'e']) t.truthy(recent.get({ file, rev: '1' }), file)
  recent.put({ file: 'big', rev: '1' }, entry(26), new Uint8Array(26))
  t.is(recent.get({ file: 'big', rev: '1' }), undefined)
  recent.clear()
  t.is(recent.get({ file: 'a', rev: '1' }), undefined)
})

test('a writer that keeps its last commits\' texts and the groups it decoded writes the same store as one that reopens before every commit, merges included', async t => {
  const commits = history(5, 30, 17)
  const kept = await openStore(t, await makeTempDir(t, 'vstore-recent-'), { create: true, maxContentByteLength: 64 * 1024 })
  await insertCommits(kept, commits)
  const reopenedDir = await makeTempDir(t, 'vstore-recent-')
  for (const commit of commits) {
    const store = await Store.open(reopenedDir, { create: true, maxContentByteLength: 64 * 1024 })
    await store.insert(commit)
    await store.close()
  }
  const reopened = await openStore(t, reopenedDir)
  t.deepEqual(await dumpIndex(kept), await dumpIndex(reopened))
  // Automatic packing merged the same packs in both, into the same bytes.
  const names = (await readdir(join(kept.dir, 'packs'))).sort()
  t.deepEqual(names, (await readdir(join(reopenedDir, 'packs'))).sort())
  t.true(names.length < commits.length, `packs: ${names.join(', ')}`)
  for (const name of names) t.deepEqual(await readFile(join(kept.dir, 'packs', name)), await readFile(join(reopenedDir, 'packs', name)), name)
  await expectTexts(t, kept, commits)
  t.deepEqual((await kept.verify({ full: true })).problems, [])
})
