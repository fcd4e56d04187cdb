import test from 'ava'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VstoreError } from '../../../lib/errors.js'
import { decodePackHeader, encodePackHeader, PackFile, type ReadCounter } from '../../../lib/pack/pack-file.js'
import { PACK_HEADER_BYTE_LENGTH } from '../../../lib/bytes/index.js'
import { randomBytes, seededRandom } from '../../helpers/random.js'

const CORRUPT = { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' } as const
let directory = ''
let fileCount = 0

test.before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'vstore-pack-file-'))
})
test.after.always(async () => {
  await rm(directory, { recursive: true, force: true })
})

function newPath(): string {
  fileCount++
  return join(directory, `${fileCount}.vpk`)
}

const newCounter = (): ReadCounter => ({ readCount: 0, readByteLength: 0 })

test('the header is the magic F6 76 70 00, version 1 and three zero bytes', t => {
  t.deepEqual([...encodePackHeader()], [0xf6, 0x76, 0x70, 0x00, 1, 0, 0, 0])
  t.is(PACK_HEADER_BYTE_LENGTH, 8)
  t.notThrows(() => decodePackHeader(encodePackHeader(), 'p'))
})

test('a header with a bad magic, a non-zero reserved byte or too few bytes is VSTORE_CORRUPT', t => {
  const header = encodePackHeader()
  for (const offset of [0, 1, 2, 3, 5, 6, 7]) {
    const bad = header.slice()
    bad[offset] = (bad[offset] as number) ^ 0x01
    t.throws(() => decodePackHeader(bad, 'p'), CORRUPT, `@${offset}`)
  }
  for (let byteLength = 0; byteLength < 8; byteLength++) t.throws(() => decodePackHeader(header.subarray(0, byteLength), 'p'), CORRUPT, `${byteLength} bytes`)
})

test('a header of another version is VSTORE_UNSUPPORTED', t => {
  for (const version of [0, 2, 0xff]) {
    t.throws(() => decodePackHeader(Uint8Array.of(0xf6, 0x76, 0x70, 0x00, version, 0, 0, 0), 'p'), { instanceOf: VstoreError, code: 'VSTORE_UNSUPPORTED' })
  }
})

test('create writes only the header', async t => {
  const path = newPath()
  const pack = await PackFile.create(path, 'packs/1.vpk', newCounter())
  t.is(pack.byteLength, 8)
  await pack.close()
  t.deepEqual(new Uint8Array(await readFile(path)), encodePackHeader())
})

test('create fails with a VstoreError when the file exists, leaving it as it was', async t => {
  const path = newPath()
  await writeFile(path, 'precious')
  await t.throwsAsync(PackFile.create(path, 'p', newCounter()), { instanceOf: VstoreError })
  t.is(await readFile(path, 'utf8'), 'precious')
})

test('bytes written at an offset read back, and byteLength follows the furthest write', async t => {
  const random = seededRandom(111)
  const pack = await PackFile.create(newPath(), 'p', newCounter())
  const first = randomBytes(random, 1000)
  const second = randomBytes(random, 300)
  await pack.writeAt(8, first)
  t.is(pack.byteLength, 1008)
  await pack.writeAt(1008, second)
  t.is(pack.byteLength, 1308)
  await pack.writeAt(100, Uint8Array.of(1, 2, 3))
  t.is(pack.byteLength, 1308)
  t.deepEqual(await pack.read(1008, 300), second)
  t.deepEqual([...await pack.read(99, 5)], [first[91], 1, 2, 3, first[95]])
  t.deepEqual(await pack.read(0, 8), encodePackHeader())
  await pack.close()
})

test('reading past the end is VSTORE_CORRUPT naming the pack and offset', async t => {
  const pack = await PackFile.create(newPath(), 'packs/9.vpk', newCounter())
  await pack.writeAt(8, new Uint8Array(100))
  const error = await t.throwsAsync(pack.read(50, 59), CORRUPT)
  t.is(error?.where, 'packs/9.vpk@50')
  await t.throwsAsync(pack.read(108, 1), CORRUPT)
  t.is((await pack.read(50, 58)).length, 58)
  await pack.close()
})

test('the read counter counts reads and the bytes they took', async t => {
  const counter = newCounter()
  const pack = await PackFile.create(newPath(), 'p', counter)
  await pack.writeAt(8, new Uint8Array(1000))
  t.deepEqual(counter, { readCount: 0, readByteLength: 0 })
  await pack.read(8, 100)
  await pack.read(500, 250)
  t.deepEqual(counter, { readCount: 2, readByteLength: 350 })
  await t.throwsAsync(pack.read(1000, 100), CORRUPT)
  t.deepEqual(counter, { readCount: 3, readByteLength: 358 })
  await pack.close()
})

test('opening counts no reads against the counter', async t => {
  const path = newPath()
  await (await PackFile.create(path, 'p', newCounter())).close()
  const counter = newCounter()
  const pack = await PackFile.open(path, 'p', { writable: false, counter })
  t.deepEqual(counter, { readCount: 0, readByteLength: 0 })
  await pack.close()
})

test('truncate drops the tail on disk and in byteLength', async t => {
  const path = newPath()
  const pack = await PackFile.create(path, 'p', newCounter())
  await pack.writeAt(8, new Uint8Array(500).fill(7))
  await pack.truncate(108)
  t.is(pack.byteLength, 108)
  t.is((await stat(path)).size, 108)
  await t.throwsAsync(pack.read(100, 9), CORRUPT)
  await pack.writeAt(108, Uint8Array.of(1))
  t.deepEqual([...await pack.read(106, 3)], [7, 7, 1])
  await pack.close()
})

test('a reopened pack has its bytes and length', async t => {
  const path = newPath()
  const bytes = randomBytes(seededRandom(112), 4000)
  const writer = await PackFile.create(path, 'p', newCounter())
  await writer.writeAt(8, bytes)
  await writer.sync()
  await writer.close()
  const reader = await PackFile.open(path, 'p', { writable: false, counter: newCounter() })
  t.is(reader.byteLength, 4008)
  t.deepEqual(await reader.read(8, 4000), bytes)
  await reader.close()
})

test('a pack opened writable appends after what is there', async t => {
  const path = newPath()
  const created = await PackFile.create(path, 'p', newCounter())
  await created.writeAt(8, Uint8Array.of(1, 2))
  await created.close()
  const pack = await PackFile.open(path, 'p', { writable: true, counter: newCounter() })
  await pack.writeAt(pack.byteLength, Uint8Array.of(3))
  t.is(pack.byteLength, 11)
  await pack.close()
  t.deepEqual([...(await readFile(path)).subarray(8)], [1, 2, 3])
})

test('writing to a pack opened read-only is VSTORE_IO', async t => {
  const path = newPath()
  await (await PackFile.create(path, 'p', newCounter())).close()
  const pack = await PackFile.open(path, 'p', { writable: false, counter: newCounter() })
  await t.throwsAsync(pack.writeAt(8, Uint8Array.of(1)), { instanceOf: VstoreError, code: 'VSTORE_IO' })
  await pack.close()
})

test('opening a missing pack is VSTORE_NOT_FOUND', async t => {
  await t.throwsAsync(PackFile.open(join(directory, 'missing.vpk'), 'p', { writable: false, counter: newCounter() }), { instanceOf: VstoreError, code: 'VSTORE_NOT_FOUND' })
})

test('opening a file with a bad header is VSTORE_CORRUPT, with another version VSTORE_UNSUPPORTED', async t => {
  const cases: [Uint8Array, string][] = [
    [new Uint8Array(0), 'VSTORE_CORRUPT'],
    [Uint8Array.of(0xf6, 0x76, 0x70), 'VSTORE_CORRUPT'],
    [Uint8Array.of(0xf6, 0x76, 0x67, 0x00, 1, 0, 0, 0), 'VSTORE_CORRUPT'],
    [Uint8Array.of(0xf6, 0x76, 0x70, 0x00, 1, 0, 0), 'VSTORE_CORRUPT'],
    [Uint8Array.of(0xf6, 0x76, 0x70, 0x00, 1, 0, 1, 0, 9, 9), 'VSTORE_CORRUPT'],
    [Uint8Array.of(0xf6, 0x76, 0x70, 0x00, 2, 0, 0, 0), 'VSTORE_UNSUPPORTED'],
  ]
  for (const [bytes, code] of cases) {
    const path = newPath()
    await writeFile(path, bytes)
    await t.throwsAsync(PackFile.open(path, 'p', { writable: false, counter: newCounter() }), { instanceOf: VstoreError, code }, `${bytes.length} bytes`)
  }
})
