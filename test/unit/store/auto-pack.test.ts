import test, { type ExecutionContext } from 'ava'
import fc from 'fast-check'
import { readdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { AUTO_PACK_UNIT_BYTE_LENGTH, packsToMerge, tierOf, type WeighedPack } from '../../../lib/store/auto-pack.js'
import { parsePackFileName } from '../../../lib/store/layout.js'
import { INDEX_COMPACTION_BYTES } from '../../../lib/store/leveldb-index.js'
import type { IndexDumpRow, TextRecord } from '../../../lib/vstore.js'
import { expectTexts, history } from '../../helpers/history.js'
import { PROPERTY_SEED, randomLines, seededRandom } from '../../helpers/random.js'
import { dumpIndex, openStore } from '../../helpers/store.js'
import { makeTempDir } from '../../helpers/tmp.js'

const POLICY = { factor: 3, unitByteLength: 1000 }
const packs = (...weights: (number | undefined)[]): WeighedPack[] => weights.map((rawByteLength, i) => ({ packId: i + 1, rawByteLength }))

test('a pack\'s tier is ⌊log_factor(weight / unit)⌋, 0 below the unit, and above every tier when its weight is not known', t => {
  t.deepEqual([0, 999, 2999, 3000, 8999, 9000, 26999, 27000].map(weight => tierOf(weight, POLICY)), [0, 0, 0, 1, 1, 2, 2, 3])
  t.is(tierOf(undefined, POLICY), Infinity)
})

test('the newest packs are merged once `factor` of them sit at one tier or below, and the merge cascades into the tier above', t => {
  t.deepEqual(packsToMerge(packs(100, 100), POLICY), [], 'two tier-0 packs stay')
  t.deepEqual(packsToMerge(packs(100, 100, 100), POLICY), [1, 2, 3])
  t.deepEqual(packsToMerge(packs(50_000, 100, 100, 100), POLICY), [2, 3, 4], 'a larger older pack stays')
  // Two tier-1 packs and three tier-0 ones: the merged tier-0 packs weigh 3,000 (tier 1), the third of that tier.
  t.deepEqual(packsToMerge(packs(50_000, 4000, 4000, 1000, 1000, 1000), POLICY), [2, 3, 4, 5, 6])
  t.deepEqual(packsToMerge(packs(undefined, 100, 100), POLICY), [], 'a pack of unknown weight is never merged, and stops the run')
  t.deepEqual(packsToMerge(packs(100, undefined, 100, 100), POLICY), [], 'nor is what lies before it')
  t.deepEqual(packsToMerge(packs(100), POLICY), [])
  t.deepEqual(packsToMerge(packs(), POLICY), [])
})

test('property: whatever the insert sizes, merges take the newest packs, and each tier holds fewer than `factor` packs after the rule', t => {
  fc.assert(fc.property(fc.integer({ min: 2, max: 6 }), fc.array(fc.integer({ min: 0, max: 200_000 }), { maxLength: 300 }), (factor, inserts) => {
    const policy = { factor, unitByteLength: 1000 }
    let set: WeighedPack[] = []
    let nextId = 1
    for (const weight of inserts) {
      set.push({ packId: nextId++, rawByteLength: weight })
      const merged = packsToMerge(set, policy)
      if (merged.length === 0) continue
      if (merged.length < 2) return false
      const suffix = set.slice(set.length - merged.length)
      if (suffix.some((pack, i) => pack.packId !== merged[i])) return false
      const sum = suffix.reduce((s, pack) => s + (pack.rawByteLength as number), 0)
      set = [...set.slice(0, set.length - merged.length), { packId: nextId++, rawByteLength: sum }]
    }
    // No tier is left with `factor` packs at the newest end (the rule would merge them). (A text can be
    // rewritten more than once in one tier: a merge whose pack stays in its tier takes part in the tier's
    // next merge; weights 0, 1, 0 with factor 2 rewrite the 1-byte text twice in tier 0. The store's
    // write amplification is measured, DESIGN.md.)
    return packsToMerge(set, policy).length === 0
  }), { numRuns: 200, seed: PROPERTY_SEED })
  t.pass()
})

test('a store written one commit at a time packs itself: few packs, chains at most 3 bases deep throughout, every text and parent as inserted, verify clean, and within 1.15× of one insert', async t => {
  const commits = history(6, 60, 23)
  const dir = await makeTempDir(t, 'vstore-autopack-')
  const store = await openStore(t, dir, { create: true, autoPackFactor: 3 })
  let packed = 0
  let deepest = 0
  for (const commit of commits) {
    if ((await store.insert(commit)).packed !== undefined) packed++
    // Chains run down the tiers: every extraction at every point takes at most 4 reads (3 bases deep).
    for (const row of await dumpIndex(store)) deepest = Math.max(deepest, row.baseDepth)
  }
  t.true(deepest <= 3, `a base chain ${deepest} deep`)
  const bulk = await openStore(t, await makeTempDir(t, 'vstore-autopack-bulk-'), { create: true, autoPack: false })
  await bulk.insert(commits.flat())
  const stats = await store.stats()
  const bulkStats = await bulk.stats()
  t.log(`${commits.length} inserts, ${packed} merges: packs ${stats.packByteLength} (${stats.packCount} packs) against one insert's ${bulkStats.packByteLength}; store ${stats.storeByteLength} against ${bulkStats.storeByteLength}`)
  t.true(packed >= 10, `${packed} merges`)
  t.true(stats.packCount <= 8, `${stats.packCount} packs`)
  t.true(stats.packByteLength <= 1.15 * bulkStats.packByteLength, `packs ${stats.packByteLength} against one insert's ${bulkStats.packByteLength}`)
  // The index may also hold up to INDEX_COMPACTION_BYTES of run values its commits replaced, until it
  // compacts itself (a store this small has an index of 4.5 KB).
  t.true(stats.storeByteLength <= 1.15 * bulkStats.storeByteLength + INDEX_COMPACTION_BYTES, `store ${stats.storeByteLength} against one insert's ${bulkStats.storeByteLength}`)
  t.is(stats.textCount, commits.flat().length)
  t.is(stats.rawByteLength, bulkStats.rawByteLength)
  t.is(stats.groupCount, (await dumpGroupCount(store)), 'the totals count the groups the packs hold')
  const parents = new Map(commits.flat().map(record => [`${record.file}@${record.rev}`, record.parents]))
  for (const row of await dumpIndex(store)) t.deepEqual(row.parents, parents.get(`${row.file}@${row.rev}`), `${row.file}@${row.rev}`)
  t.deepEqual((await store.verify({ full: true })).problems, [])
  await expectTexts(t, store, commits)
  t.deepEqual((await readdir(join(dir, 'packs'))).length, stats.packCount, 'merged packs are deleted')
  await checkBaseChains(t, store)
})

/** The tiers of packs merged by 3 (the tests' autoPackFactor). */
const FACTOR_3 = { factor: 3, unitByteLength: AUTO_PACK_UNIT_BYTE_LENGTH }

/** Each pack's tier (merged by 3), weighed by the lengths of the texts its entries locate in it. */
function packTiers(rows: readonly IndexDumpRow[]): Map<string, number> {
  const weights = new Map<string, number>()
  for (const row of rows) weights.set(row.pack, (weights.get(row.pack) ?? 0) + row.textByteLength)
  return new Map([...weights].map(([pack, weight]) => [pack, tierOf(weight, FACTOR_3)]))
}

/** The pack number of a row's pack. */
function packIdOf(row: Pick<IndexDumpRow, 'pack'>): number {
  return parsePackFileName(basename(row.pack)) as number
}

/** `file@rev` of the stored version a row's group starts on, or undefined for a group without a base. */
async function groupBase(store: Awaited<ReturnType<typeof openStore>>, row: IndexDumpRow): Promise<string | undefined> {
  const named = (await store.dumpGroup(packIdOf(row), row.groupOffset)).records.find(record => record.kind === 'base')?.base
  return named === undefined ? undefined : `${named.file}@${named.rev}`
}

/**
 * Every entry names a group the packs hold, and every entry of a group with a base carries the chain's
 * costs from its base's entry (index.md, Location): depth one more, bytes read and decoded its base's plus
 * its base's chain.
 */
async function checkBaseChains(t: ExecutionContext, store: Awaited<ReturnType<typeof openStore>>): Promise<void> {
  const rows = await dumpIndex(store)
  const byKey = new Map(rows.map(row => [`${row.file}@${row.rev}`, row]))
  const groups = new Set<string>()
  for await (const group of store.groups()) groups.add(`${group.packId}@${group.groupOffset}`)
  const bases = new Map<string, string>()
  for (const row of rows) {
    const groupName = `${packIdOf(row)}@${row.groupOffset}`
    t.true(groups.has(groupName), `${row.file}@${row.rev} in ${groupName}, a group the packs hold`)
    if (row.baseDepth === 0) continue
    let base = bases.get(groupName)
    if (base === undefined) {
      base = (await groupBase(store, row)) ?? ''
      bases.set(groupName, base)
    }
    const baseRow = byKey.get(base)
    if (baseRow === undefined) {
      t.fail(`${row.file}@${row.rev}: its group's base ${base} has no entry`)
      continue
    }
    t.deepEqual(
      [row.baseDepth, row.baseReadByteLength, row.baseDecodedByteLength],
      [baseRow.baseDepth + 1, baseRow.readByteLength + baseRow.baseReadByteLength, baseRow.decodedByteLength + baseRow.baseDecodedByteLength],
      `${row.file}@${row.rev} on ${base}`,
    )
  }
}

test('getMany reads the keys it located before an insert\'s merge moved them and deleted their packs', async t => {
  const commits = history(3, 12, 19)
  const store = await openStore(t, await makeTempDir(t, 'vstore-autopack-moved-'), { create: true, autoPackFactor: 3 })
  // Two packs of the lowest tier: the third insert merges them (factor 3).
  let done = 0
  while ((await store.stats()).packCount < 2) await store.insert(commits[done++] as TextRecord[])
  t.true(done < commits.length)
  const stored = commits.slice(0, done).flat()
  const packsBefore = (await store.stats()).packCount
  async function* locatedThenMerged() {
    yield* stored.map(({ file, rev }) => ({ file, rev }))
    // After every key is located and before any is read: the merge rewrites the packs they are in.
    t.not((await store.insert(commits[done] as TextRecord[])).packed, undefined)
  }
  const texts = new Map(stored.map(record => [`${record.file}@${record.rev}`, record.text]))
  let read = 0
  for await (const { file, rev, text } of store.getMany(locatedThenMerged())) {
    t.deepEqual(text, texts.get(`${file}@${rev}`), `${file}@${rev}`)
    read++
  }
  t.is(read, stored.length)
  t.true((await store.stats()).packCount < packsBefore + 1, 'the packs the keys were located in are gone')
})

async function dumpGroupCount(store: Awaited<ReturnType<typeof openStore>>): Promise<number> {
  let count = 0
  for await (const _ of store.groups()) count++
  return count
}

test('an insert may start on the version the insert before it left, in a pack of the lowest tier, while that version is at most 2 bases deep', async t => {
  const commits = history(1, 40, 31)
  const store = await openStore(t, await makeTempDir(t, 'vstore-autopack-same-tier-'), { create: true, autoPackFactor: 3 })
  let onParent = 0
  let mergedBefore = true
  for (const commit of commits.filter(records => records.length > 0)) {
    const merged = (await store.insert(commit)).packed !== undefined
    const [record] = commit
    if (!merged && !mergedBefore && record?.parents[0] !== undefined) {
      const all = await dumpIndex(store)
      // Only once a pack of tier 1 holds versions: before that (a young store) every insert starts on its parent.
      if (![...packTiers(all).values()].some(tier => tier >= 1)) continue
      const rows = new Map(all.map(row => [row.rev, row]))
      const row = rows.get(record.rev)
      const parent = rows.get(record.parents[0])
      if (row === undefined || parent === undefined) throw new Error(`${record.rev} or its parent is not stored`)
      if ((await groupBase(store, row)) === `${parent.file}@${parent.rev}`) {
        onParent++
        t.true(parent.baseDepth <= 2, `${record.rev} starts on ${parent.rev}, ${parent.baseDepth} bases deep`)
        t.is(row.baseDepth, parent.baseDepth + 1)
      }
    }
    mergedBefore = merged
  }
  t.true(onParent > 0, 'no insert started on the one before it')
  t.true((await dumpIndex(store)).every(row => row.baseDepth <= 3))
  await checkBaseChains(t, store)
})

test('a merge may start a file on a version in an older pack of the tier it makes, only as deep as leaves every tier below a base', async t => {
  const commits = history(6, 60, 23)
  const store = await openStore(t, await makeTempDir(t, 'vstore-autopack-merge-same-tier-'), { create: true, autoPackFactor: 3 })
  let sameTier = 0
  for (const commit of commits) {
    if ((await store.insert(commit)).packed === undefined) continue
    const rows = await dumpIndex(store)
    const tiers = packTiers(rows)
    // The merged pack is the newest; its groups' bases are in older packs.
    const merged = Math.max(...rows.map(packIdOf))
    const byKey = new Map(rows.map(row => [`${row.file}@${row.rev}`, row]))
    const groups = new Set<number>()
    for (const row of rows.filter(candidate => packIdOf(candidate) === merged)) {
      if (groups.has(row.groupOffset)) continue
      groups.add(row.groupOffset)
      const named = await groupBase(store, row)
      const base = named === undefined ? undefined : byKey.get(named)
      if (base === undefined) continue
      const tier = tiers.get(row.pack) as number
      // A merge into the top tier starts on its newest packs' unbased versions anyway (no tier above to start on).
      const belowTop = [...tiers.values()].some(other => other > tier)
      if (!belowTop || tiers.get(base.pack) !== tier) continue
      sameTier++
      t.true(packIdOf(base) < merged)
      t.true(base.baseDepth <= Math.max(0, 2 - tier), `${row.file}@${row.rev}, tier ${tier}, on ${named} ${base.baseDepth} deep`)
    }
  }
  t.true(sameTier > 0, 'no merge started a group in its own tier')
})

test('in a store whose top tier is 3 or more no base chain passes 3 bases at any point, though a base a tier would', async t => {
  // Merged by 3, 6 files of about 20 KB over 150 commits reach tier 3 or more: a base a tier would pass 3 deep
  // (it reached 4 from the 68th commit on).
  const commits = history(6, 150, 23)
  const store = await openStore(t, await makeTempDir(t, 'vstore-autopack-deep-'), { create: true, autoPackFactor: 3 })
  let deepest = 0
  for (const commit of commits) {
    await store.insert(commit)
    for (const row of await dumpIndex(store)) deepest = Math.max(deepest, row.baseDepth)
  }
  const top = Math.max(...packTiers(await dumpIndex(store)).values())
  t.true(top >= 3, `the top tier is ${top}`)
  t.true(deepest <= 3, `a base chain ${deepest} deep`)
  await checkBaseChains(t, store)
  await expectTexts(t, store, commits)
})

test('with autoPack off, inserts append to the newest pack and nothing is merged', async t => {
  const commits = history(3, 12, 5)
  const store = await openStore(t, await makeTempDir(t), { create: true, autoPack: false })
  for (const commit of commits) t.is((await store.insert(commit)).packed, undefined)
  t.is((await store.stats()).packCount, 1)
})

test('a large text is found through merges: a later copy naming it as its origin is stored once, and reads back', async t => {
  const random = seededRandom(9)
  const large = randomLines(random, 1200)
  t.true(large.length >= 16 * 1024)
  const store = await openStore(t, await makeTempDir(t), { create: true, autoPackFactor: 2 })
  const commits: TextRecord[][] = [[{ file: 'big.txt', rev: 'r0', parents: [], text: large }]]
  for (let i = 1; i <= 8; i++) commits.push([{ file: 'small.txt', rev: `r${i}`, parents: i === 1 ? [] : [`r${i - 1}`], text: randomLines(random, 80) }])
  let merges = 0
  for (const commit of commits) if ((await store.insert(commit)).packed !== undefined) merges++
  t.true(merges >= 3, `${merges} merges`)
  const copy = await store.insert([{ file: 'copy.txt', rev: 'r9', parents: [], origin: { file: 'big.txt', rev: 'r0' }, text: large }])
  t.is(copy.duplicateTextCount, 1)
  t.deepEqual(await store.get('copy.txt', 'r9'), large)
  t.deepEqual((await store.verify({ full: true })).problems, [])
})

test('a reader opened before merges reads every text it knew after the writer merged and deleted those packs', async t => {
  const commits = history(4, 12, 31)
  const dir = await makeTempDir(t, 'vstore-autopack-reader-')
  const writer = await openStore(t, dir, { create: true, autoPackFactor: 2 })
  for (const commit of commits.slice(0, 6)) await writer.insert(commit)
  const reader = await openStore(t, dir, { readOnly: true })
  const packsBefore = (await readdir(join(dir, 'packs'))).sort()
  let merges = 0
  for (const commit of commits.slice(6)) if ((await writer.insert(commit)).packed !== undefined) merges++
  const packsAfter = await readdir(join(dir, 'packs'))
  t.true(merges > 0 && packsBefore.some(name => !packsAfter.includes(name)), `merges ${merges}; packs ${packsBefore.join(',')} → ${packsAfter.join(',')}`)
  await expectTexts(t, reader, commits.slice(0, 6))
  const later = await openStore(t, dir, { readOnly: true })
  await expectTexts(t, later, commits)
})
