/**
 * A reader's private copy of an index that a writer keeps changing (lib/store/snapshot.ts): each copy must
 * hold the writer's state at one commit, whole, however the copy falls between the writer's log appends,
 * memtable flushes (which write a table, add it to the manifest and delete the log it replaces) and
 * compactions. The writer here puts key i with i in its value, one batch each, with values large enough
 * that LevelDB flushes its memtable every hundred or so; a whole copy holds exactly the keys 0 … last.
 * A copy that falls on a flush is rare (the copy tries again when the version's own log is gone, or a
 * table it names, or CURRENT moved on); this checks the rule under load, and that copying does not give up.
 */
import test from 'ava'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { openLevelDb } from '../../../lib/index/leveldb.js'
import { copyIndexSnapshot } from '../../../lib/store/snapshot.js'
import { makeTempDir } from '../../helpers/tmp.js'

const key = (i: number) => new TextEncoder().encode(`k${String(i).padStart(8, '0')}`)

test('every copy of an index a writer is changing holds the writer\'s state at one commit, whole', async t => {
  const dir = join(await makeTempDir(t), 'index')
  const writer = await openLevelDb(dir, dir, { create: true })
  let written = 0
  let writing = true
  const value = new Uint8Array(32 * 1024).fill(0x61)
  const writes = (async () => {
    while (writing) {
      await writer.write([{ key: key(written), value }], { sync: false })
      written++
      // About 1,000 batches a second: a memtable flush (4 MiB) every eighth of a second or so.
      if (written % 10 === 0) await new Promise(resolve => setTimeout(resolve, 10))
    }
  })()
  const deadline = performance.now() + 3000
  let copies = 0
  const problems: string[] = []
  while (performance.now() < deadline) {
    const copy = await copyIndexSnapshot(dir, dir)
    try {
      const reader = await openLevelDb(copy, copy, { create: false })
      let count = 0
      let last = -1
      for await (const [found] of reader.entries(new TextEncoder().encode('k'))) {
        count++
        last = Number(new TextDecoder().decode(found).slice(1))
      }
      await reader.close()
      if (count !== last + 1) problems.push(`a copy holds ${count} keys, the last of them ${last}`)
      copies++
    } finally {
      await rm(copy, { recursive: true, force: true })
    }
  }
  writing = false
  await writes
  await writer.close()
  t.log(`${copies} copies while ${written} batches were written`)
  t.true(copies >= 10 && written >= 200, `${copies} copies, ${written} batches`)
  t.deepEqual(problems, [])
})
