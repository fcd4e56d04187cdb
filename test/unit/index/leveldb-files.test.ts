import test from 'ava'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkLevelDbFiles, crc32c, snappyDecompress } from '../../../lib/index/leveldb-files.js'
import { Store } from '../../../lib/vstore.js'
import { makeTempDir } from '../../helpers/tmp.js'

test('crc32c is CRC-32C (Castagnoli): the check value of "123456789"', t => {
  t.is(crc32c([new TextEncoder().encode('123456789')]), 0xe3069283)
  t.is(crc32c([new TextEncoder().encode('1234'), new TextEncoder().encode('56789')]), 0xe3069283)
})

test('snappyDecompress reads literals and copies, and refuses a copy before the start', t => {
  t.is(new TextDecoder().decode(snappyDecompress(Uint8Array.of(9, 0x08, 97, 98, 99, 0x09, 0x03))), 'abcabcabc')
  t.throws(() => snappyDecompress(Uint8Array.of(9, 0x08, 97, 98, 99, 0x09, 0x04)), { message: /copy out of range/ })
  t.throws(() => snappyDecompress(Uint8Array.of(10, 0x08, 97, 98, 99, 0x09, 0x03)), { message: /claims 10/ })
})

test('checkLevelDbFiles passes a real index, and names the table whose block a flipped byte damages', async t => {
  const dir = await makeTempDir(t, 'vstore-leveldb-files-')
  const store = await Store.open(dir, { create: true })
  const encoder = new TextEncoder()
  await store.insert(Array.from({ length: 80 }, (_, i) => ({ file: `f${i % 8}`, rev: `r${Math.floor(i / 8)}`, parents: i < 8 ? [] : [`r${Math.floor(i / 8) - 1}`], text: encoder.encode(`text ${i}\n`.repeat(20)) })))
  await store.close()
  const index = join(dir, 'index')
  t.deepEqual(await checkLevelDbFiles(index), [])
  const table = readdirSync(index).find(name => name.endsWith('.ldb'))
  if (table === undefined) return t.fail('no table')
  const bytes = readFileSync(join(index, table))
  bytes[20] = (bytes[20] as number) ^ 0x01
  writeFileSync(join(index, table), bytes)
  const problems = await checkLevelDbFiles(index)
  t.is(problems.length, 1)
  t.is(problems[0]?.file, table)
  t.regex(problems[0]?.message ?? '', /CRC-32C mismatch/)
})
