import test, { type ExecutionContext } from 'ava'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { compareBytes } from '../../../lib/bytes/index.js'
import { VstoreError } from '../../../lib/errors.js'
import { IndexCheck } from '../../../lib/index/index-check.js'
import { openLevelDb } from '../../../lib/index/leveldb.js'
import { findIndexDamage } from '../../../lib/index/leveldb-files.js'
import { crc32c, snappyDecompress } from '../../../lib/index/leveldb-format.js'
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

/** An index of 200 texts compacted into one table of several data blocks, and that table's name. */
async function indexWithTable(t: ExecutionContext): Promise<{ index: string; table: string }> {
  const dir = await makeTempDir(t, 'vstore-leveldb-files-')
  // LevelDB's own 4 KiB blocks (the store writes 16 KiB ones): several blocks from a small index.
  const store = await Store.open(dir, { create: true, indexBlockByteLength: 4096 })
  const encoder = new TextEncoder()
  // A revision of its own for each text, with a 40-hex id: the revision chunks alone fill several blocks.
  const revOf = (i: number) => (BigInt(i + 1) * 0x9e3779b97f4a7c15n).toString(16).padStart(40, '0').slice(-40)
  await store.insert(Array.from({ length: 400 }, (_, i) => ({ file: `f${i % 8}`, rev: revOf(i), parents: i < 8 ? [] : [revOf(i - 8)], text: encoder.encode(`text ${i}\n`.repeat(20)) })))
  await store.close()
  const index = join(dir, 'index')
  const table = readdirSync(index).find(name => name.endsWith('.ldb'))
  if (table === undefined) throw new Error('no table')
  return { index, table }
}

test('findIndexDamage passes a real index, and names the table and the key range of the block a flipped byte damages', async t => {
  const { index, table } = await indexWithTable(t)
  t.deepEqual(await findIndexDamage(index), [])
  const bytes = readFileSync(join(index, table))
  bytes[20] = (bytes[20] as number) ^ 0x01
  writeFileSync(join(index, table), bytes)
  const damage = await findIndexDamage(index)
  t.is(damage.length, 1)
  t.is(damage[0]?.file, table)
  t.regex(damage[0]?.message ?? '', /CRC-32C mismatch/)
  // The first block: from the table's first key to the index block's first separator.
  t.truthy(damage[0]?.firstKey)
  t.truthy(damage[0]?.lastKey)
  t.true((damage[0]?.keys.length ?? 0) > 0, 'the keys of the damaged block are named')
})

test('IndexCheck checks a data block only when a read may touch it, and finds its damage then', async t => {
  const { index, table } = await indexWithTable(t)
  const whole = await findIndexDamage(index)
  t.deepEqual(whole, [])
  const bytes = readFileSync(join(index, table))
  bytes[20] = (bytes[20] as number) ^ 0x01
  writeFileSync(join(index, table), bytes)
  const [expected] = await findIndexDamage(index)
  if (expected?.firstKey === undefined || expected.lastKey === undefined) return t.fail('no damaged range')
  const check = await IndexCheck.open(index)
  try {
    // Keys past the damaged block's range: nothing found, since that block is not read.
    const after = new Uint8Array([...expected.lastKey, 0])
    await check.check(after, undefined)
    t.deepEqual(check.damage, [])
    // A key inside it: the damage, with the same range findIndexDamage gives.
    await check.check(expected.lastKey, new Uint8Array([...expected.lastKey, 0]))
    t.is(check.damage.length, 1)
    t.deepEqual(check.damage[0]?.firstKey, expected.firstKey)
    t.deepEqual(check.damage[0]?.lastKey, expected.lastKey)
  } finally {
    await check.close()
  }
})

test('a checked reader\'s search for the last key at or before another answers from above damage, and refuses where damage may hold the answer', async t => {
  const { index, table } = await indexWithTable(t)
  const bytes = readFileSync(join(index, table))
  bytes[20] = (bytes[20] as number) ^ 0x01
  writeFileSync(join(index, table), bytes)
  const [damaged] = await findIndexDamage(index)
  if (damaged?.firstKey === undefined || damaged.lastKey === undefined) return t.fail('no damaged range')
  const check = await IndexCheck.open(index)
  const db = await openLevelDb(index, 'index', { create: false, check })
  try {
    const all = new Uint8Array(0)
    // The index's last key is far past the damaged first block: found, though the range from the start meets the damage.
    const last = await db.last(all, Uint8Array.of(0xff))
    t.truthy(last, 'an answer above the damage')
    t.true(compareBytes(last?.[0] ?? all, damaged.lastKey) > 0)
    // The last key at or before one just past the damaged block is in it: refused, never a key from before it.
    const past = Uint8Array.of(...damaged.lastKey, 0)
    await t.throwsAsync(db.last(all, past), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
    await t.throwsAsync(db.last(all, damaged.lastKey), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
  } finally {
    await db.close()
  }
})
