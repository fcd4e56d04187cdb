import test from 'ava'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { TextSpill } from '../../../lib/store/spill.js'
import { PROPERTY_RUNS, PROPERTY_SEED, pseudoRandomBytes } from '../../helpers/random.js'

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vstore-spill-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A disk with room for anything: the spill keeps texts as they are. */
const plentyOfRoom = async () => 2 ** 50

const bytes = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff)

test('texts under the memory limit stay in memory and read back', async t => {
  const dir = await tempDir(t)
  const spill = new TextSpill(dir, 'a', { memoryByteLength: 1000 })
  const texts = [bytes(10, 1), new Uint8Array(0), bytes(300, 2), new Uint8Array(0), bytes(5, 3)]
  const refs = []
  for (const text of texts) refs.push(await spill.append(text))
  t.deepEqual(await readdir(dir), [])
  for (let i = texts.length - 1; i >= 0; i--) t.deepEqual(await spill.read(refs[i]!), texts[i])
  await spill.close()
})

test('passing the memory limit moves every text to one file, read back in any order, removed on close', async t => {
  const dir = await tempDir(t)
  const spill = new TextSpill(dir, 'b', { memoryByteLength: 100, freeByteLength: plentyOfRoom })
  const texts = [bytes(60, 1), bytes(30, 2), new Uint8Array(0), bytes(50, 3), bytes(200, 4)]
  const refs = []
  for (const text of texts) refs.push(await spill.append(text))
  t.deepEqual(await readdir(dir), ['b.spill'])
  t.is(spill.totalByteLength, 340)
  for (const i of [4, 0, 2, 3, 1]) t.deepEqual(await spill.read(refs[i]!), texts[i])
  await spill.close()
  t.deepEqual(await readdir(dir), [])
})

test('once the disk is short of room, texts go to the file compressed one by one (a text no coder shrinks as it is), and read back in any order', async t => {
  const dir = await tempDir(t)
  const spill = new TextSpill(dir, 'c', { memoryByteLength: 1000, freeByteLength: async () => 100_000 })
  const line = (i: number) => `line ${i}: the same words again and again, with a number ${i * 7} in them\n`
  const texts = [
    new TextEncoder().encode(Array.from({ length: 400 }, (_, i) => line(i)).join('')),
    pseudoRandomBytes(5000, 7),
    new Uint8Array(0),
    new TextEncoder().encode(Array.from({ length: 300 }, (_, i) => line(i * 3)).join('')),
  ]
  const refs = []
  for (const text of texts) refs.push(await spill.append(text))
  const rawByteLength = texts.reduce((sum, text) => sum + text.length, 0)
  t.is(spill.totalByteLength, rawByteLength)
  t.true(spill.compressed)
  t.true(spill.fileByteLength < 5000 + (rawByteLength - 5000) / 3, `${spill.fileByteLength} bytes on disk for ${rawByteLength}`)
  t.true(spill.fileByteLength >= 5000, 'the incompressible text is kept whole')
  for (const i of [3, 1, 0, 2, 1]) t.deepEqual(await spill.read(refs[i]!), texts[i])
  await spill.close()
})

test('any texts, in memory or on disk, read back in any order (property)', async t => {
  await fc.assert(fc.asyncProperty(
    fc.array(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 400 }).map(text => new TextEncoder().encode(text.repeat(3)))), { maxLength: 12 }),
    fc.integer({ min: 0, max: 800 }),
    fc.constantFrom(0, 2 ** 40),
    async (texts, memoryByteLength, freeByteLength) => {
      const dir = await mkdtemp(join(tmpdir(), 'vstore-spill-'))
      const spill = new TextSpill(dir, 'p', { memoryByteLength, freeByteLength: async () => freeByteLength })
      try {
        const refs = []
        for (const text of texts) refs.push(await spill.append(text))
        for (let i = texts.length - 1; i >= 0; i--) t.deepEqual(await spill.read(refs[i]!), texts[i])
      } finally {
        await spill.close()
        await rm(dir, { recursive: true, force: true })
      }
    },
  ), { seed: PROPERTY_SEED, numRuns: Math.min(PROPERTY_RUNS, 60) })
})

test('with room on the disk, texts go to the file as they are; compression starts when room runs short, and every text still reads back', async t => {
  const dir = await tempDir(t)
  let free = 2 ** 40
  const spill = new TextSpill(dir, 'd', { memoryByteLength: 0, freeByteLength: async () => free })
  const text = new TextEncoder().encode('the same line again\n'.repeat(200))
  const first = await spill.append(text)
  t.false(spill.compressed)
  t.is(spill.fileByteLength, text.length)
  // Room is asked about again after every 64 MiB written raw: a long spill notices the disk filling.
  free = 1000
  const refs = [first]
  while (!spill.compressed) refs.push(await spill.append(text))
  t.true(spill.totalByteLength >= 64 * 1024 * 1024, `compression began after ${spill.totalByteLength} bytes`)
  const before = spill.fileByteLength
  refs.push(await spill.append(text))
  t.true(spill.fileByteLength - before < text.length / 10, 'a compressed text takes far less room')
  for (const ref of [refs[0]!, refs[refs.length - 1]!, refs[refs.length - 2]!]) t.deepEqual(await spill.read(ref), text)
  await spill.close()
})
