import test from 'ava'
import { PackKeys } from '../../../lib/store/pack-keys.js'
import type { KeyedEntry } from '../../../lib/store/locations.js'
import type { TextEntry } from '../../../lib/store/types.js'

const row = (file: string, packId: number): KeyedEntry => ({
  file, rev: 'r1',
  entry: { packId, groupOffset: 8, readByteLength: 10, recordStart: 0, recordEnd: 5, decodedByteLength: 5, textByteLength: 5, hash: new Uint8Array(20), baseDepth: 0, baseReadByteLength: 0, baseDecodedByteLength: 0, parents: [] } satisfies TextEntry,
})

test('a pack\'s keys are known only for packs the writer created; a key located elsewhere is not noted', t => {
  const keys = new PackKeys()
  keys.created(2)
  keys.committed(row('a', 2))
  keys.committed(row('b', 1))
  t.deepEqual(keys.keysOf([2])?.map(r => r.file), ['a'])
  t.is(keys.keysOf([1, 2]), undefined, 'pack 1 was not made by this writer')
  keys.created(3)
  t.deepEqual(keys.keysOf([2, 3])?.map(r => r.file), ['a'])
  keys.forget([2])
  t.is(keys.keysOf([2]), undefined)
  t.deepEqual(keys.keysOf([3]), [])
  keys.forget()
  t.is(keys.keysOf([3]), undefined)
})

test('a pack past 65,536 keys is no longer known (its merge scans the index)', t => {
  const keys = new PackKeys()
  keys.created(1)
  for (let i = 0; i < 64 * 1024; i++) keys.committed(row(`f${i}`, 1))
  t.is(keys.keysOf([1])?.length, 64 * 1024)
  keys.committed(row('one-more', 1))
  t.is(keys.keysOf([1]), undefined)
})
