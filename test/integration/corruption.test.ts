import test from 'ava'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { Store, VstoreError } from '../../lib/vstore.js'
import { makeTempDir } from '../helpers/tmp.js'

const encoder = new TextEncoder()

/** Flips every bit of the byte at `offset` of `path`; returns a function that puts it back. */
async function flipByte(path: string, offset: number): Promise<() => Promise<void>> {
  const handle = await open(path, 'r+')
  const byte = new Uint8Array(1)
  await handle.read(byte, 0, 1, offset)
  await handle.write(Uint8Array.of((byte[0] as number) ^ 0xff), 0, 1, offset)
  await handle.close()
  return async () => {
    const again = await open(path, 'r+')
    await again.write(byte, 0, 1, offset)
    await again.close()
  }
}

test('every single-byte corruption of a pack file is found by verify, or refused at open, and names the keys it affects', async t => {
  const dir = await makeTempDir(t, 'vstore-corrupt-')
  const store = await Store.open(dir, { create: true, maxContentByteLength: 4096, maxReadByteLength: 2048, readChunkByteLength: 256 })
  let text = 'line one\nline two\nline three\n'
  const records = []
  // Enough history for several groups of a few KiB: lines that differ, so the deltas have literals.
  for (let v = 1; v <= 12; v++) {
    for (const file of ['a.txt', 'b/c.md', 'd e.bin']) records.push({ file, rev: `r${v}`, parents: v === 1 ? [] : [`r${v - 1}`], text: encoder.encode(`${file}\n${text}`) })
    text += `line ${v + 3}: ${(v * 2654435761 % 4294967296).toString(36)} ${(v * 40503 % 65536).toString(16)}\n`
  }
  // Two inserts, so the pack holds at least two groups.
  await store.insert(records.slice(0, 18))
  await store.insert(records.slice(18))
  t.true((await store.stats()).groupCount >= 2)
  t.deepEqual((await store.verify()).problems, [])
  await store.close()

  const pack = join(dir, 'packs', '000001.vpk')
  const { size } = await (await open(pack, 'r')).stat()
  let refusedAtOpen = 0
  let namedKeys = 0
  for (let offset = 0; offset < size; offset++) {
    const restore = await flipByte(pack, offset)
    try {
      let reopened: Store | undefined
      try {
        reopened = await Store.open(dir)
      } catch (error) {
        // The pack header is checked when the store opens (a changed version byte is VSTORE_UNSUPPORTED).
        t.true(error instanceof VstoreError && (error.code === 'VSTORE_CORRUPT' || error.code === 'VSTORE_UNSUPPORTED'), `offset ${offset}: ${String(error)}`)
        refusedAtOpen++
        continue
      }
      const report = await reopened.verify()
      await reopened.close()
      t.true(report.problems.length > 0, `a flipped byte at offset ${offset} of ${size} went unnoticed`)
      if (report.problems.some(problem => problem.keys.length > 0)) namedKeys++
    } finally {
      await restore()
    }
  }
  t.log(`${size} offsets: ${refusedAtOpen} refused at open (pack header), ${namedKeys} reported by verify with the keys they affect`)
  t.is(refusedAtOpen + namedKeys, size, 'every corruption is refused at open or names the keys it affects')
})
