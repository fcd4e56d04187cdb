/**
 * Verify: the index's own check, then every group the packs hold read whole (checksum, decode, record
 * structure) and, in full, every text rebuilt and checked against its length and content hash. Problems
 * name the keys they take with them: exactly the keys `repair` drops. Nothing is repaired.
 */
import { VstoreError } from '../errors.js'
import { DEFAULT_GROUP_LIMITS, checkGroup } from '../group/frame.js'
import { decodeRecord, dumpRecords } from '../group/records.js'
import { MAX_BASE_DEPTH, describeKey } from '../index/records.js'
import type { BatchTarget } from './batch-writer.js'
import { readGroupBytes, readGroupContent, walkGroupsAroundDamage, type DamageReport, type WalkedGroup } from './group-walk.js'
import { packName } from './layout.js'
import { byGroup, groupKeyOf, plainKey, type KeyedEntry } from './locations.js'
import { problemOf } from './problems.js'
import { readsBack } from './rewrite.js'
import { hashText, hashesMatch } from './text-hash.js'
import { baseNamedBy } from './text-reader.js'
import type { TextKey, VerifyProblem, VerifyReport } from './types.js'

type Parts = Pick<BatchTarget, 'index' | 'packs' | 'reader'>

/** What the walk over the groups finds, for the rules after it. */
class GroupFindings {
  readonly problems: VerifyProblem[]
  /** Groups that failed their checks, and groups the walk reached. */
  readonly damaged = new Set<string>()
  readonly visited = new Set<string>()
  /** For each group with a base, the group that holds its base (checksums only). */
  readonly baseGroupOf = new Map<string, { groupKey: string | undefined; base: TextKey }>()
  groupCount = 0

  constructor(readonly keysByGroup: ReadonlyMap<string, readonly KeyedEntry[]>, problems: VerifyProblem[]) {
    this.problems = problems
  }

  keysOf(groupKey: string): readonly KeyedEntry[] {
    return this.keysByGroup.get(groupKey) ?? []
  }

  lost(groupKey: string, problem: VerifyProblem): void {
    this.problems.push(problem)
    this.damaged.add(groupKey)
    this.visited.add(groupKey)
  }

  report(): DamageReport {
    const offsetsByPack = new Map<number, number[]>()
    for (const groupKey of this.keysByGroup.keys()) {
      const [packId, offset] = groupKey.split(':').map(Number) as [number, number]
      offsetsByPack.set(packId, [...(offsetsByPack.get(packId) ?? []), offset])
    }
    for (const offsets of offsetsByPack.values()) offsets.sort((a, b) => a - b)
    return {
      knownOffsets: packId => offsetsByPack.get(packId) ?? [],
      packLost: (packId, error) => {
        const offsets = offsetsByPack.get(packId) ?? []
        this.problems.push(problemOf(error, packName(packId), offsets.flatMap(offset => this.keysOf(`${packId}:${offset}`))))
        for (const offset of offsets) {
          this.damaged.add(`${packId}:${offset}`)
          this.visited.add(`${packId}:${offset}`)
        }
      },
      packDamaged: (packId, why) => this.problems.push({ code: 'VSTORE_CORRUPT', where: packName(packId), message: why, keys: [] }),
      groupLost: (packId, offset, error, where) => this.lost(`${packId}:${offset}`, problemOf(error, where, this.keysOf(`${packId}:${offset}`))),
    }
  }
}

export async function verifyStore(parts: Parts, options: { readonly full?: boolean }): Promise<VerifyReport> {
  const full = options.full ?? true
  const { textCount, entries, problems } = await parts.index.check()
  const findings = new GroupFindings(byGroup(entries, row => row.entry), problems)
  /** Full: the texts of the last group's last record, rebuilt and checked (usually the next group's base). */
  const lastRebuilt = new Map<string, Uint8Array>()
  try {
    for await (const group of walkGroupsAroundDamage(parts.packs, findings.report())) {
      findings.groupCount++
      findings.visited.add(groupKeyOf(group))
      if (full) await rebuildGroup(parts, group, findings, lastRebuilt)
      else await checkGroupBytes(parts, group, findings)
    }
  } catch (error) {
    problems.push(problemOf(error, 'packs', []))
  }
  for (const [groupKey, keys] of findings.keysByGroup) {
    if (!findings.visited.has(groupKey)) findings.lost(groupKey, { code: 'VSTORE_CORRUPT', where: groupKey, message: 'index points at no group', keys: keys.map(plainKey) })
  }
  lostThroughBases(findings)
  return { textCount, groupCount: findings.groupCount, full, problems: await withoutReadableKeys(parts, problems) }
}

/** Checksums only: the group's CRC, and which group holds its base. */
async function checkGroupBytes(parts: Parts, group: WalkedGroup, findings: GroupFindings): Promise<void> {
  const groupKey = groupKeyOf(group)
  const keys = findings.keysOf(groupKey)
  const where = `${packName(group.packId)}@${group.groupOffset}`
  try {
    const bytes = await readGroupBytes(parts.packs, group)
    checkGroup(bytes, where, DEFAULT_GROUP_LIMITS)
    if (keys.some(key => key.entry.baseDepth > 0)) {
      const named = await baseNamedBy(bytes, group.header, where)
      const base = { file: named.file, rev: named.rev }
      const entry = await parts.index.tryGetEntry(base)
      findings.baseGroupOf.set(groupKey, { groupKey: entry === undefined ? undefined : groupKeyOf(entry), base })
    }
  } catch (error) {
    findings.problems.push(problemOf(error, where, keys))
    findings.damaged.add(groupKey)
  }
}

/** Full: the group decoded whole and each of its keys' texts rebuilt and checked. */
async function rebuildGroup(parts: Parts, group: WalkedGroup, findings: GroupFindings, lastRebuilt: Map<string, Uint8Array>): Promise<void> {
  const keys = findings.keysOf(groupKeyOf(group))
  const where = `${packName(group.packId)}@${group.groupOffset}`
  let content: Uint8Array
  let baseText: Uint8Array | undefined
  /** For each record start, the last record that deltas on its text: a rebuilt text is kept until then. */
  const lastUse = new Map<number, number>()
  try {
    content = await readGroupContent(parts.packs, group)
    for (const record of dumpRecords(content, where, DEFAULT_GROUP_LIMITS)) {
      if (record.previousStart !== undefined) lastUse.set(record.previousStart, record.recordStart)
    }
    baseText = await parts.reader.baseTextOf(content, where, keys[0] ?? { file: '?', rev: '?' }, MAX_BASE_DEPTH, lastRebuilt)
  } catch (error) {
    findings.problems.push(problemOf(error, where, keys))
    return
  }
  lastRebuilt.clear()
  const lastRecordStart = Math.max(...keys.map(k => k.entry.recordStart))
  const rebuilt = new Map<number, Uint8Array>()
  for (const { file, rev, entry } of [...keys].sort((a, b) => a.entry.recordStart - b.entry.recordStart)) {
    try {
      const text = decodeRecord(content, entry.recordStart, entry.recordEnd, where, DEFAULT_GROUP_LIMITS, baseText, rebuilt)
      // Only texts a later record still deltas on stay: memory is a few texts, not the group's.
      for (const start of rebuilt.keys()) if ((lastUse.get(start) ?? -1) <= entry.recordStart) rebuilt.delete(start)
      if (text.length !== entry.textByteLength || !hashesMatch(hashText(text), entry.hash)) {
        throw new VstoreError('VSTORE_CORRUPT', 'rebuilt text does not match its length and content hash', where)
      }
      if (entry.recordStart === lastRecordStart) lastRebuilt.set(describeKey({ file, rev }), text)
    } catch (error) {
      findings.problems.push(problemOf(error, describeKey({ file, rev }), [{ file, rev }]))
    }
  }
}

/** A group whose base is in a damaged group (or missing) cannot rebuild its texts either. */
function lostThroughBases(findings: GroupFindings): void {
  for (let changed = true; changed;) {
    changed = false
    for (const [groupKey, { groupKey: baseGroupKey, base }] of findings.baseGroupOf) {
      if (findings.damaged.has(groupKey) || (baseGroupKey !== undefined && !findings.damaged.has(baseGroupKey))) continue
      findings.damaged.add(groupKey)
      changed = true
      const message = baseGroupKey === undefined ? `base text ${describeKey(base)} is not in the index` : `base text ${describeKey(base)} is in a damaged group`
      findings.problems.push({ code: 'VSTORE_CORRUPT', where: groupKey, message, keys: findings.keysOf(groupKey).map(plainKey) })
    }
  }
}

/**
 * The problems with only the keys they take with them: a key named because its group (or the group of a
 * base on its chain) is damaged may still read back, when its record lies before the damage, so each named
 * key is read as `get` reads it, and the ones that come back are left out (the message says how many).
 */
async function withoutReadableKeys(parts: Parts, problems: readonly VerifyProblem[]): Promise<VerifyProblem[]> {
  const readable = new Map<string, boolean>()
  const reads = async (key: TextKey): Promise<boolean> => {
    const known = readable.get(describeKey(key)) ?? (await readsBack(parts, key))
    readable.set(describeKey(key), known)
    return known
  }
  const result: VerifyProblem[] = []
  for (const problem of problems) {
    const lost: TextKey[] = []
    for (const key of problem.keys) if (!(await reads(key))) lost.push(key)
    const kept = problem.keys.length - lost.length
    result.push(kept === 0 ? problem : { ...problem, message: `${problem.message} (${kept} of the ${problem.keys.length} texts it holds still read back)`, keys: lost })
  }
  return result
}
