/**
 * Automatic packing: after an insert, the newest packs are merged when enough of them weigh alike, tiered
 * as an LSM tree is (many small packs merge often, few large ones rarely), so that a store written one
 * commit at a time stays near packed size while each text is rewritten about once per tier.
 */
import type { BatchTarget } from './batch-writer.js'
import type { WritePlan } from './write-plan.js'
import { nextPackId, type PackSet } from './pack-set.js'
import { packNewest } from './rewrite.js'
import { VstoreError } from '../errors.js'
import type { InsertSummary, PackSummary, PackOptions } from './types.js'

/** A pack as the rule weighs it: by the length of the texts it holds (undefined: not known, never merged). */
export interface WeighedPack {
  readonly packId: number
  readonly rawByteLength: number | undefined
}

export interface AutoPackPolicy {
  /** How many packs of one tier are merged into one (also the ratio of one tier's weight to the next's). */
  readonly factor: number
  /** The weight of the lowest tier: packs under `unitByteLength × factor` are tier 0. */
  readonly unitByteLength: number
}

/** Inserts are about this size on the histories measured (jq: 70 KB of texts a commit); smaller ones share tier 0. */
export const AUTO_PACK_UNIT_BYTE_LENGTH = 64 * 1024

/** A pack's tier: ⌊log_factor(weight / unit)⌋, 0 below the unit; a pack of unknown weight is above every tier. */
export function tierOf(rawByteLength: number | undefined, policy: AutoPackPolicy): number {
  if (rawByteLength === undefined) return Infinity
  let tier = 0
  for (let bound = policy.unitByteLength * policy.factor; rawByteLength >= bound; bound *= policy.factor) tier++
  return tier
}

/**
 * The newest packs to merge into one (ascending ids), or none. `packs` ascending by id, oldest first. The
 * newest pack counts with the packs before it that sit at its tier or below; when they are `factor` or
 * more, they are merged, and the merged pack counts again at its own (higher) tier, so that one rewrite
 * does the whole cascade. Only a run of newest packs is ever taken: a pack names bases only in packs
 * older than it.
 */
export function packsToMerge(packs: readonly WeighedPack[], policy: AutoPackPolicy): number[] {
  const n = packs.length
  if (n < 2) return []
  let from = n - 1
  let merged = false
  let weight = packs[n - 1]?.rawByteLength
  for (;;) {
    const tier = tierOf(weight, policy)
    if (tier === Infinity) break
    let start = from
    while (start > 0 && tierOf(packs[start - 1]?.rawByteLength, policy) <= tier) start--
    // The packs from `start` to `from - 1`, and the newest (or what the step before merged) as one more.
    if (from - start + 1 < policy.factor) break
    for (let i = start; i < from; i++) weight = (weight as number) + (packs[i]?.rawByteLength as number)
    from = start
    merged = true
  }
  return merged ? packs.slice(from).map(pack => pack.packId) : []
}

/** The packs of a set, weighed, oldest first. */
export function weighedPacks(packs: PackSet): WeighedPack[] {
  return packs.packIds().map(packId => ({ packId, rawByteLength: packs.state(packId)?.rawByteLength }))
}

/** The rule as the store's settings give it. */
function policyOf(target: Pick<BatchTarget, 'settings'>): AutoPackPolicy {
  return { factor: target.settings.autoPackFactor, unitByteLength: AUTO_PACK_UNIT_BYTE_LENGTH }
}

/** Each pack's tier, as the rule weighs it now. */
function tiersOf(target: Pick<BatchTarget, 'packs' | 'settings'>, policy: AutoPackPolicy): (packId: number) => number {
  return packId => tierOf(target.packs.state(packId)?.rawByteLength, policy)
}

/**
 * With automatic packing, what an insert's or fetch's plan adds: a pack of its own, numbered after every
 * pack, for the rule to weigh and merge; and groups that start only on stored versions in packs above the
 * lowest tier, so that a file's appends do not chain one on another (each would add a read) but each
 * starts on the version the last merge left.
 */
export function packOfItsOwn(target: Pick<BatchTarget, 'packs' | 'settings'>): Pick<WritePlan, 'firstPackId' | 'baseTier'> {
  if (!target.settings.autoPack) return {}
  return { firstPackId: nextPackId(target.packs), baseTier: { minTier: 1, tierOf: tiersOf(target, policyOf(target)) } }
}

/** Merges the newest packs when the rule says so (and automatic packing is on); undefined when nothing was merged. */
export async function autoPack(options: PackOptions, target: BatchTarget): Promise<PackSummary | undefined> {
  if (!target.settings.autoPack) return undefined
  const policy = policyOf(target)
  const weighed = weighedPacks(target.packs)
  const packIds = packsToMerge(weighed, policy)
  if (packIds.length < 2) return undefined
  // The merged pack's texts start on stored versions only in packs above its own tier: chains run down
  // the tiers.
  const weight = weighed.filter(pack => packIds.includes(pack.packId)).reduce((sum, pack) => sum + (pack.rawByteLength as number), 0)
  return packNewest(packIds, options, target, { minTier: tierOf(weight, policy) + 1, tierOf: tiersOf(target, policy) })
}

/**
 * An insert's (or fetch's) summary, after the automatic packing it leads to. The insert is committed
 * already: a packing that fails (damage in a pack it reads, a full disk) leaves the store as the insert
 * left it, and is told in `packProblem`, not thrown.
 */
export async function withAutoPack<S extends InsertSummary>(summary: S, options: PackOptions, target: BatchTarget): Promise<S> {
  try {
    const packed = await autoPack(options.onProgress === undefined ? {} : { onProgress: options.onProgress }, target)
    return packed === undefined ? summary : { ...summary, packed }
  } catch (error) {
    if (!(error instanceof VstoreError)) throw error
    return { ...summary, packProblem: `${error.code}: ${error.message} (${error.where})` }
  }
}
