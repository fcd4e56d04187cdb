import test from 'ava'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TextSpill } from '../../../lib/store/spill.js'

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vstore-spill-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

const bytes = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff)

test('texts under the memory limit stay in memory and read back', async t => {
  const dir = await tempDir(t)
  const spill = new TextSpill(dir, 'a', 1000)
  const texts = [bytes(10, 1), new Uint8Array(0), bytes(300, 2), new Uint8Array(0), bytes(5, 3)]
  const refs = []
  for (const text of texts) refs.push(await spill.append(text))
  t.deepEqual(await readdir(dir), [])
  for (let i = texts.length - 1; i >= 0; i--) t.deepEqual(await spill.read(refs[i]!), texts[i])
  await spill.close()
})

test('passing the memory limit moves every text to one file, read back in any order, removed on close', async t => {
  const dir = await tempDir(t)
  const spill = new TextSpill(dir, 'b', 100)
  const texts = [bytes(60, 1), bytes(30, 2), new Uint8Array(0), bytes(50, 3), bytes(200, 4)]
  const refs = []
  for (const text of texts) refs.push(await spill.append(text))
  t.deepEqual(await readdir(dir), ['b.spill'])
  t.is(spill.totalByteLength, 340)
  for (const i of [4, 0, 2, 3, 1]) t.deepEqual(await spill.read(refs[i]!), texts[i])
  await spill.close()
  t.deepEqual(await readdir(dir), [])
})
