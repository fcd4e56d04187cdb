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
 * pack (and after the one a background merge is writing), for the rule to weigh and merge; and groups that
 * start only on stored versions in packs above the lowest tier, so that a file's appends do not chain one on
 * another (each would add a read) but each starts on the version the last merge left.
 */
export function packOfItsOwn(target: Pick<BatchTarget, 'packs' | 'settings' | 'reservedPackIds'>): Pick<WritePlan, 'firstPackId' | 'baseTier'> {
  if (!target.settings.autoPack) return {}
  return { firstPackId: nextPackId(target.packs, target.reservedPackIds), baseTier: { minTier: 1, tierOf: tiersOf(target, policyOf(target)) } }
}

/** The merge the rule calls for now: the packs, and the tiers its groups may start on; undefined for none. */
function mergeDue(target: BatchTarget): { packIds: number[]; baseTier: NonNullable<WritePlan['baseTier']> } | undefined {
  const policy = policyOf(target)
  const weighed = weighedPacks(target.packs)
  const packIds = packsToMerge(weighed, policy)
  if (packIds.length < 2) return undefined
  // The merged pack's texts start on stored versions only in packs above its own tier: chains run down
  // the tiers.
  const weight = weighed.filter(pack => packIds.includes(pack.packId)).reduce((sum, pack) => sum + (pack.rawByteLength as number), 0)
  return { packIds, baseTier: { minTier: tierOf(weight, policy) + 1, tierOf: tiersOf(target, policy) } }
}

/** What automatic packing did, for a write's summary: the merge, or why it failed (the write is committed either way). */
export interface AutoPackReport {
  readonly packed?: PackSummary
  readonly packProblem?: string
}

/** Two reports as one: the merges' sums, the packs before the first and after the second; the last problem. */
function joined(first: AutoPackReport, second: AutoPackReport): AutoPackReport {
  const [a, b] = [first.packed, second.packed]
  const packed = a === undefined || b === undefined ? a ?? b : {
    textCount: a.textCount + b.textCount, rawByteLength: a.rawByteLength + b.rawByteLength, oldGroupCount: a.oldGroupCount, groupCount: b.groupCount,
    oldPackByteLength: a.oldPackByteLength, packByteLength: b.packByteLength, writtenByteLength: a.writtenByteLength + b.writtenByteLength,
  }
  const packProblem = second.packProblem ?? first.packProblem
  return { ...(packed === undefined ? {} : { packed }), ...(packProblem === undefined ? {} : { packProblem }) }
}

function problemOf(error: unknown): AutoPackReport {
  if (!(error instanceof VstoreError)) throw error
  return { packProblem: `${error.code}: ${error.message} (${error.where})` }
}

/**
 * A writer's automatic packing. After each insert or fetch the rule is weighed. A merge of packs of the
 * lowest tier only (most merges: 171 of the 191 of jq replayed a commit at a time) runs in the background
 * (StoreOptions.autoPackInBackground, the default) while the writer goes on: the insert that called for it
 * has returned, and later inserts commit beside it, their commits taking turns with its one commit
 * (BatchTarget.commits). Its pack's id is reserved; the packs it rewrites are busy: no insert starts a group
 * on a text in them or stores a text once with one in them. A merge that takes higher tiers holds the
 * versions later inserts start their groups on, so it runs in the insert that calls for it, after any
 * background merge ends. One merge runs at a time; the rule is weighed again after the next write, or when
 * a background merge ends and no write runs. What a background merge did is told once, by the summary of
 * the next write after it ends, or by `settle`. A merge that fails (damage in a pack it reads, a full disk)
 * leaves the store as the inserts left it, and is told as `packProblem`; a bug in one is thrown by the next
 * write, `settle` or `close`.
 */
export class AutoPacker {
  /** The packs the running merge rewrites. */
  readonly busyPackIds = new Set<number>()
  /** The id the running merge's pack takes, which no insert's pack may take. */
  readonly reservedPackIds = new Set<number>()
  private running: Promise<void> | undefined
  private untold: AutoPackReport = {}
  /** What a merge threw that is not a VstoreError (a bug). */
  private failure: { error: unknown } | undefined

  /**
   * `idle`: whether a merge may start when one ends (no write runs and the store is open: a write decides
   * at its start which packs are busy); `closing`: whether the store is closing (no merge starts then).
   */
  constructor(private readonly idle: () => boolean, private readonly closing: () => boolean) {}

  /** Whether a merge runs in the background now. */
  get merging(): boolean {
    return this.running !== undefined
  }

  /**
   * After a committed insert or fetch: the summary with what background merges did since the last write's,
   * and the merge the rule calls for now: started in the background, or run here (told in the summary).
   */
  async after<S extends InsertSummary>(summary: S, target: BatchTarget, options: PackOptions = {}): Promise<S> {
    if (!target.settings.autoPack) return summary
    const background = target.settings.autoPackInBackground
    let due = this.closing() ? undefined : mergeDue(target)
    if (due !== undefined && background && lowestTierOnly(due.packIds, target)) {
      if (this.running === undefined) this.start(target, due)
      return { ...summary, ...this.take() }
    }
    if (due !== undefined && this.running !== undefined) {
      // Merges take turns: the one running first, then the rule again (the packs may have changed).
      await this.wait()
      due = mergeDue(target)
    }
    let report = this.take()
    if (due !== undefined) {
      try {
        report = joined(report, { packed: await packNewest(due.packIds, options.onProgress === undefined ? {} : { onProgress: options.onProgress }, target, due.baseTier) })
      } catch (error) {
        report = joined(report, problemOf(error))
      }
    }
    return { ...summary, ...report }
  }

  private start(target: BatchTarget, due: NonNullable<ReturnType<typeof mergeDue>>): void {
    const firstPackId = nextPackId(target.packs, this.reservedPackIds)
    for (const packId of due.packIds) this.busyPackIds.add(packId)
    this.reservedPackIds.add(firstPackId)
    this.running = packNewest(due.packIds, {}, target, due.baseTier, firstPackId)
      .then(packed => ({ packed }), error => problemOf(error))
      .then(report => {
        this.untold = joined(this.untold, report)
        return report.packed !== undefined
      }, error => {
        this.failure ??= { error }
        return false
      })
      .then(merged => {
        this.busyPackIds.clear()
        this.reservedPackIds.clear()
        this.running = undefined
        // Inserts that came while it ran may call for the next one, and no write may come (the last of a
        // history): it starts now, whatever its tiers (no insert runs beside it unless one comes). Not after
        // a merge that failed: the same packs would fail again.
        const next = merged && this.idle() && !this.closing() ? mergeDue(target) : undefined
        if (next !== undefined) this.start(target, next)
      })
  }

  /** What no summary has told yet, once. */
  private take(): AutoPackReport {
    const told = this.untold
    this.untold = {}
    return told
  }

  /** Throws, once, what a background merge threw that is not a VstoreError (a bug). */
  rethrow(): void {
    if (this.failure === undefined) return
    const { error } = this.failure
    this.failure = undefined
    throw error
  }

  /** Waits for the merges running in the background, if any, the ones they lead to included (what they did stays to be told). */
  async wait(): Promise<void> {
    while (this.running !== undefined) await this.running
  }

  /** Waits as `wait` does, and tells what merges did since the last write's summary. @throws a bug in one (`rethrow`). */
  async settle(): Promise<AutoPackReport> {
    await this.wait()
    this.rethrow()
    return this.take()
  }
}

/** Whether every pack of a merge is of the lowest tier (no later insert starts a group on what it holds). */
function lowestTierOnly(packIds: readonly number[], target: BatchTarget): boolean {
  const tierOfPack = tiersOf(target, policyOf(target))
  return packIds.every(packId => tierOfPack(packId) === 0)
}
