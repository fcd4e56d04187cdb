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
import type { KeyedEntry } from './locations.js'
import type { InsertSummary, PackSummary, PackOptions, TextKey } from './types.js'

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
 * How a text committed beside a background merge refers to a stored text that merge is moving: its group
 * starts on it (`base`: the entry carries the chain's costs from the base's place), or it is the same
 * content (`same`: the entry is the other text's place).
 */
export interface BusyRef {
  readonly kind: 'base' | 'same'
  readonly key: TextKey
}

/**
 * Texts committed beside a background merge that refer to texts it moves (BusyRef): the merge's commit
 * brings their entries up to date from those texts' new places (BatchTarget.busyRefs).
 */
export class BusyRefs {
  private rows: { row: KeyedEntry; ref: BusyRef }[] = []

  add(row: KeyedEntry, ref: BusyRef): void {
    this.rows.push({ row, ref })
  }

  /** Every row added since the last take (the running merge's commit takes them). */
  take(): { row: KeyedEntry; ref: BusyRef }[] {
    const rows = this.rows
    this.rows = []
    return rows
  }
}

/**
 * A writer's automatic packing. After each insert or fetch the rule is weighed; a merge it calls for runs
 * in the background (StoreOptions.autoPackInBackground, the default) while the writer goes on: the insert
 * that called for it has returned, and later inserts commit beside it. Its pack's id is reserved; the packs
 * it rewrites are busy: an insert may start a group on a text in them or store a text once with one in
 * them, and such texts' entries are brought up to date by whichever commit comes second, the insert's or
 * the merge's (BusyRefs); commits take turns (BatchTarget.commits). One merge runs at a time; the rule is
 * weighed again after the next write, or when a merge ends and no write runs. What a merge did is told
 * once, by the summary of the next write after it ends, or by `settle`. A merge that fails (damage in a
 * pack it reads, a full disk) leaves the store as the inserts left it.
 */
export class AutoPacker {
  /** The packs the running merge rewrites. */
  readonly busyPackIds = new Set<number>()
  /** The id the running merge's pack takes, which no insert's pack may take. */
  readonly reservedPackIds = new Set<number>()
  /** Texts committed beside the running merge that refer to texts it moves. */
  readonly busyRefs = new BusyRefs()
  private running: Promise<void> | undefined
  private untold: AutoPackReport = {}
  /** What a merge threw that is not a VstoreError (a bug): thrown by the next write or settle. */
  private failure: { error: unknown } | undefined

  /**
   * `mayStart`: whether a merge may start now, when one ends (no write runs, the store is open). A merge
   * starts between writes only: a write decides at its start which packs are busy.
   */
  constructor(private readonly mayStart: () => boolean = () => false) {}

  /** Whether a merge runs in the background now. */
  get merging(): boolean {
    return this.running !== undefined
  }

  /**
   * After a committed insert or fetch: in the foreground, the merge the rule calls for, told in the
   * summary; in the background, the summary tells what a merge did since the last write, and the next
   * merge starts (unless one still runs).
   */
  async after<S extends InsertSummary>(summary: S, target: BatchTarget, options: PackOptions = {}): Promise<S> {
    if (!target.settings.autoPack) return summary
    if (!target.settings.autoPackInBackground) {
      const due = mergeDue(target)
      if (due === undefined) return summary
      try {
        return { ...summary, packed: await packNewest(due.packIds, options.onProgress === undefined ? {} : { onProgress: options.onProgress }, target, due.baseTier) }
      } catch (error) {
        return { ...summary, ...problemOf(error) }
      }
    }
    const told = this.take()
    if (this.running === undefined) this.start(target)
    return { ...summary, ...told }
  }

  private start(target: BatchTarget): void {
    this.busyRefs.take()
    const due = mergeDue(target)
    if (due === undefined) return
    const firstPackId = nextPackId(target.packs, this.reservedPackIds)
    for (const packId of due.packIds) this.busyPackIds.add(packId)
    this.reservedPackIds.add(firstPackId)
    this.running = packNewest(due.packIds, {}, target, due.baseTier, firstPackId)
      .then(packed => ({ packed }), error => problemOf(error))
      .then(report => {
        this.untold = joined(this.untold, report)
      }, error => {
        this.failure = { error }
      })
      .finally(() => {
        // A merge that failed moved nothing: the entries of texts referring to its packs stand as they are.
        this.busyRefs.take()
        this.busyPackIds.clear()
        this.reservedPackIds.clear()
        this.running = undefined
        // Inserts that came while it ran may call for the next one; no write may come (the last of a
        // history): it starts now, not at the next write's end.
        if (this.failure === undefined && this.mayStart()) this.start(target)
      })
  }

  /** What no summary has told yet, once. @throws what a merge threw that was not a VstoreError. */
  private take(): AutoPackReport {
    if (this.failure !== undefined) {
      const { error } = this.failure
      this.failure = undefined
      throw error
    }
    const told = this.untold
    this.untold = {}
    return told
  }

  /** Waits for the merges running in the background, if any, the ones they lead to included (what they did stays to be told). */
  async wait(): Promise<void> {
    while (this.running !== undefined) await this.running
  }

  /** Waits as `wait` does, and tells what merges did since the last write's summary. */
  async settle(): Promise<AutoPackReport> {
    await this.wait()
    return this.take()
  }
}
