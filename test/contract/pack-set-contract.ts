/**
 * The behaviour every PackSet must have, written once: `packSetContract(name, harness)` registers the tests
 * for one implementation (local files today; object storage next). The harness opens the set at the pack
 * states an index would hold, and damages a pack the way its backend can be damaged.
 */
import test from 'ava'
import { VstoreError } from '../../lib/errors.js'
import { PACK_HEADER_BYTE_LENGTH } from '../../lib/bytes/index.js'
import type { PackSet, PackState } from '../../lib/store/pack-set.js'

export interface PackSetHarness {
  /** A fresh, empty backend for one test. */
  create(): Promise<PackSetBackend>
}

export interface PackSetBackend {
  /** Opens the set at the states an index vouches for. */
  open(states: ReadonlyMap<number, PackState>, options: { writable: boolean; maxPackByteLength: number }): Promise<PackSet>
  /** Makes a pack's bytes unreadable: gone altogether, or cut to `byteLength`. */
  deletePack(packId: number): Promise<void>
  truncatePack(packId: number, byteLength: number): Promise<void>
  /** Frees what the backend holds. */
  dispose(): Promise<void>
}

const BIG = 1024 * 1024 * 1024

function group(seed: number, byteLength: number): Uint8Array {
  return Uint8Array.from({ length: byteLength }, (_, i) => (seed * 31 + i * 7) & 0xff)
}

/** Appends `groups` in one write, commits it, and returns where each went and the states an index would record. */
async function appendCommitted(packs: PackSet, groups: readonly Uint8Array[], states: Map<number, PackState>, firstPackId?: number): Promise<{ packId: number; offset: number }[]> {
  const write = packs.beginWrite(firstPackId === undefined ? {} : { firstPackId })
  const places = []
  for (const bytes of groups) places.push(await write.append(bytes))
  await write.sync()
  for (const [packId, state] of write.touched) states.set(packId, state)
  write.committed()
  return places
}

export function packSetContract(name: string, harness: PackSetHarness): void {
  const each = (title: string, body: (t: import('ava').ExecutionContext, backend: PackSetBackend) => Promise<void>) => {
    test(`${name} › ${title}`, async t => {
      const backend = await harness.create()
      try {
        await body(t, backend)
      } finally {
        await backend.dispose()
      }
    })
  }

  each('an empty set names no pack and holds no bytes', async (t, backend) => {
    const packs = await backend.open(new Map(), { writable: true, maxPackByteLength: BIG })
    t.deepEqual(packs.packIds(), [])
    t.is(packs.totalByteLength(), 0)
    t.is(packs.missingPackCount, 0)
    t.is(packs.committedByteLength(0), undefined)
    await packs.close()
  })

  each('committed groups read back, after the header and one after another, and again after a reopen', async (t, backend) => {
    const states = new Map<number, PackState>()
    let packs = await backend.open(states, { writable: true, maxPackByteLength: BIG })
    const groups = [group(1, 100), group(2, 3000), group(3, 1)]
    const places = await appendCommitted(packs, groups, states)
    t.is(places[0]?.offset, PACK_HEADER_BYTE_LENGTH)
    t.is(places[1]?.offset, PACK_HEADER_BYTE_LENGTH + 100)
    t.is(packs.totalByteLength(), PACK_HEADER_BYTE_LENGTH + 3101)
    t.deepEqual(packs.packIds(), [...states.keys()])
    for (const [i, { packId, offset }] of places.entries()) t.deepEqual(await packs.read(packId, offset, (groups[i] as Uint8Array).length, 'here'), groups[i])
    await packs.close()
    packs = await backend.open(states, { writable: false, maxPackByteLength: BIG })
    for (const [i, { packId, offset }] of places.entries()) t.deepEqual(await packs.read(packId, offset, (groups[i] as Uint8Array).length, 'here'), groups[i])
    t.true(packs.readCounter.readCount >= 3)
    t.true(packs.readCounter.readByteLength >= 3101)
    await packs.close()
  })

  each('a read past what the index vouches for, or of a pack it does not name, is VSTORE_CORRUPT naming the caller', async (t, backend) => {
    const states = new Map<number, PackState>()
    const packs = await backend.open(states, { writable: true, maxPackByteLength: BIG })
    const [place] = await appendCommitted(packs, [group(1, 50)], states)
    const { packId, offset } = place as { packId: number; offset: number }
    await t.throwsAsync(packs.read(packId, offset, 51, 'f@r'), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT', message: /past the end/ })
    const error = await t.throwsAsync(packs.read(packId + 7, offset, 1, 'f@r'), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
    t.is((error as VstoreError).where, 'f@r')
    await packs.close()
  })

  each('a rollback undoes every append since the last commit, a new pack included', async (t, backend) => {
    const states = new Map<number, PackState>()
    let packs = await backend.open(states, { writable: true, maxPackByteLength: 1000 })
    await appendCommitted(packs, [group(1, 600)], states)
    const before = new Map(states)
    const write = packs.beginWrite()
    const inFirst = await write.append(group(2, 100))
    const inSecond = await write.append(group(3, 900))
    t.not(inFirst.packId, inSecond.packId)
    await write.rollback()
    t.deepEqual(packs.packIds(), [...before.keys()])
    await t.throwsAsync(packs.read(inFirst.packId, inFirst.offset, 100, 'x'), { code: 'VSTORE_CORRUPT' })
    // The next write appends where the committed bytes end, in the committed pack.
    const next = await appendCommitted(packs, [group(4, 10)], states)
    t.deepEqual(next[0], inFirst)
    await packs.close()
    packs = await backend.open(states, { writable: true, maxPackByteLength: 1000 })
    t.deepEqual(await packs.read(inFirst.packId, inFirst.offset, 10, 'x'), group(4, 10))
    t.is(packs.committedByteLength(inSecond.packId), undefined)
    await packs.close()
  })

  each('appends start a new pack past the pack cap, and never go below firstPackId', async (t, backend) => {
    const states = new Map<number, PackState>()
    const packs = await backend.open(states, { writable: true, maxPackByteLength: 1000 })
    const places = await appendCommitted(packs, [group(1, 700), group(2, 700), group(3, 100)], states)
    const first = places[0]?.packId as number
    t.is(places[1]?.packId, first + 1)
    t.is(places[2]?.packId, first + 1)
    // A group over the cap still goes somewhere: alone in its pack.
    const [alone] = await appendCommitted(packs, [group(4, 5000)], states)
    t.is(alone?.packId, first + 2)
    const [rewritten] = await appendCommitted(packs, [group(5, 10)], states, first + 9)
    t.is(rewritten?.packId, first + 9)
    t.deepEqual(packs.packIds(), [first, first + 1, first + 2, first + 9])
    await packs.close()
  })

  each('ensurePack leaves an empty pack that the index can name, and remove forgets packs for good', async (t, backend) => {
    const states = new Map<number, PackState>()
    let packs = await backend.open(states, { writable: true, maxPackByteLength: BIG })
    const [old] = await appendCommitted(packs, [group(1, 10)], states)
    const oldPackId = old?.packId as number
    const write = packs.beginWrite({ firstPackId: oldPackId + 5 })
    await write.ensurePack(oldPackId + 5)
    t.deepEqual([...write.touched], [[oldPackId + 5, { committedByteLength: PACK_HEADER_BYTE_LENGTH, groupCount: 0, rawByteLength: 0 }]])
    await write.sync()
    states.set(oldPackId + 5, write.touched.get(oldPackId + 5) as PackState)
    write.committed()
    await packs.remove([oldPackId])
    states.delete(oldPackId)
    t.deepEqual(packs.packIds(), [oldPackId + 5])
    t.is(packs.totalByteLength(), PACK_HEADER_BYTE_LENGTH)
    await packs.close()
    packs = await backend.open(states, { writable: true, maxPackByteLength: BIG })
    t.deepEqual(packs.packIds(), [oldPackId + 5])
    t.is(packs.damage(oldPackId + 5), undefined)
    await packs.close()
  })

  each('a pack\'s state weighs the texts of its groups as they are appended, and keeps it across commits and a reopen', async (t, backend) => {
    const states = new Map<number, PackState>()
    let packs = await backend.open(states, { writable: true, maxPackByteLength: BIG })
    let write = packs.beginWrite()
    const { packId } = await write.append(group(1, 10), 1000)
    await write.append(group(2, 10), 234)
    t.is(write.touched.get(packId)?.rawByteLength, 1234)
    await write.sync()
    for (const [id, state] of write.touched) states.set(id, state)
    write.committed()
    t.is(packs.state(packId)?.rawByteLength, 1234)
    t.is(packs.state(packId)?.groupCount, 2)
    write = packs.beginWrite()
    await write.append(group(3, 10), 6)
    t.is(write.touched.get(packId)?.rawByteLength, 1240, 'a later commit adds to the committed weight')
    await write.rollback()
    t.is(packs.state(packId)?.rawByteLength, 1234, 'a rollback leaves the committed state')
    await packs.close()
    packs = await backend.open(states, { writable: true, maxPackByteLength: BIG })
    t.deepEqual(packs.state(packId), states.get(packId))
    t.is(packs.state(packId + 1), undefined)
    await packs.close()
  })

  each('bytes appended but never committed are gone when a writer opens the set again', async (t, backend) => {
    const states = new Map<number, PackState>()
    let packs = await backend.open(states, { writable: true, maxPackByteLength: BIG })
    const [kept] = await appendCommitted(packs, [group(1, 40)], states)
    const write = packs.beginWrite()
    await write.append(group(2, 40))
    await write.sync()
    // A writer that dies here: no commit, no rollback.
    await packs.close()
    packs = await backend.open(states, { writable: true, maxPackByteLength: BIG })
    const [next] = await appendCommitted(packs, [group(3, 40)], states)
    t.is(next?.offset, (kept?.offset as number) + 40)
    t.deepEqual(await packs.read(next?.packId as number, next?.offset as number, 40, 'x'), group(3, 40))
    await packs.close()
  })

  each('a missing or short pack does not stop the set from opening; reads of it name what is wrong; a writer does not append to it', async (t, backend) => {
    const states = new Map<number, PackState>()
    let packs = await backend.open(states, { writable: true, maxPackByteLength: BIG })
    const places = await appendCommitted(packs, [group(1, 100), group(2, 100)], states)
    const short = places[0]?.packId as number
    const [other] = await appendCommitted(packs, [group(3, 100)], states, short + 1)
    const gone = other?.packId as number
    await packs.close()
    await backend.truncatePack(short, PACK_HEADER_BYTE_LENGTH + 150)
    await backend.deletePack(gone)
    packs = await backend.open(states, { writable: true, maxPackByteLength: BIG })
    t.is(packs.missingPackCount, 1)
    t.regex(packs.damage(short) ?? '', /bytes/)
    t.regex(packs.damage(gone) ?? '', /missing/)
    t.deepEqual(await packs.read(short, places[0]?.offset as number, 100, 'x'), group(1, 100))
    await t.throwsAsync(packs.read(gone, other?.offset as number, 100, 'a@b'), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT', message: /missing/ })
    t.is(packs.availableByteLength(short), PACK_HEADER_BYTE_LENGTH + 150)
    t.is(packs.availableByteLength(gone), undefined)
    const [appended] = await appendCommitted(packs, [group(4, 10)], states)
    t.true((appended?.packId as number) > gone)
    await packs.close()
  })
}
