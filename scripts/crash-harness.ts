/**
 * The crash test harness: real imports in child processes, killed with SIGKILL at random moments,
 * and a power-cut simulation (scripts/power-cut.ts).
 *
 *   node dist/scripts/crash-harness.js [--kills N] [--power-cuts N] [--seed S] [--mode api|replay|cli|both]
 *     [--checkpoint BYTES] [--kills-per-epoch K] [--cli-check-every K] [--history script|ci] [--files N] [--versions N]
 *     [--work DIR] [--keep] [--json-report FILE]
 *
 * The history is a synthetic git repository (test/helpers/crash.ts, made with one `git fast-import`) whose
 * every text is known. Imports run as children in their own process group:
 * - `cli`: `node bin/vstore --store DIR import-git REPO --json`, the real CLI. It commits once at the end
 *   (its checkpoint is 256 MiB and it has no option to change that), so a kill leaves nothing or everything.
 * - `api`: `node dist/test/helpers/import-child.js DIR REPO OPTIONS` inserts `importGit(REPO)` through the
 *   public API with a small `checkpointByteLength` (default 32 KiB: a commit at nearly every file boundary),
 *   a small pack cap (new pack files during the import) and a small group cap (several groups a commit), so
 *   that kills land between and during commits.
 * - `replay`: the same child with `perCommit`: one insert per commit, as a VCS writes, with automatic packing
 *   merging every two packs of a tier, so that kills land inside the merges (a rewrite of the newest packs).
 * `both` (the default) runs an `api` and a `replay` epoch for each `cli` one: a CLI import of a small history writes its
 * one group at its very end, so few of its kills can land mid-write.
 *
 * The kill points. First, two unkilled imports per kind into empty stores measure how long one takes (D) and
 * when the pack files first grow (W). Then the work is cut into epochs: an epoch starts with no store, and
 * each of its kill points starts the import again and sends SIGKILL to its process group after a delay drawn
 * uniformly from [0, 1.05 S), where S = W + (D − W) × (fraction of keys still missing) is the expected length
 * of that run (a rerun writes only what is missing; scaled by how much slower than those the runs timed
 * whole since then were, as other processes load the machine), so kills fall on start-up, reading, group writing,
 * commits, the index compaction and the exit alike. After `--kills-per-epoch` kill points, or as soon as the
 * store holds every key, the import is run to completion, checked, and the next epoch starts afresh. An import
 * that ends before its kill is acknowledged (exit 0, the summary printed) and must have stored every key.
 *
 * After every kill, with no repair step (opening the store is all the recovery there is): the store opens,
 * `verify` finds nothing, every key of the index is one of the history's with its parents and extracts
 * byte-identical, and every key present before the killed run is still there. These checks use the public API
 * in this process (Store.open, verify, dumpIndex, getMany: what `vstore verify`, `dump-index` and `extract`
 * run) because three CLI processes per kill would triple the time; every `--cli-check-every`-th kill the
 * store is checked through the CLI as well (`vstore verify` exit 0, `dump-index --json`, `extract --batch`).
 * After a completed import: every key, no content stored twice, no group that no key names, no pack tail.
 *
 * A kill "landed mid-write" when the pack files changed between the spawn and the kill (their names and
 * byte lengths, looked at just before the signal): the import was appending groups, committing or past that.
 * Failures (any problem above) are printed, the store of the first few is kept, and the exit status is 1.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  BIN, IMPORT_CHILD, buildSyntheticHistory, checkStoreWithApi, checkStoreWithCli, completeProblemsWithApi, completeProblemsWithCli, describeRun,
  packFileBytes, packByteLengths, runKillable, type SyntheticHistory, type SyntheticHistoryOptions,
} from '../test/helpers/crash.js'
import { VstoreError, type StoreOptions } from '../lib/vstore.js'
import { simulatePowerCuts, type PowerCutReport } from './power-cut.js'
import { percentile, seededRandom } from './stats.js'

/** The script's history: 288 texts (24 files × 12 commits, 2 files copies of others), 1.9 MB. */
export const SCRIPT_HISTORY: SyntheticHistoryOptions = { fileCount: 24, copyCount: 2, versionCount: 12, minTextByteLength: 3000, maxTextByteLength: 9000, seed: 1 }
/** The CI test's history (`--history ci`): 200 texts (20 files × 10 commits), 0.7 MB, so that an import takes about 0.4 s. */
export const CI_HISTORY: SyntheticHistoryOptions = { fileCount: 20, copyCount: 2, versionCount: 10, minTextByteLength: 2000, maxTextByteLength: 5000, seed: 1 }

/**
 * Store options for the `api` children: packs of 48 KiB (the history makes several) and groups of 16 KiB of
 * content (several a commit), so that a small history writes often.
 */
export const SMALL_STORE_OPTIONS = { maxPackByteLength: 48 * 1024, maxContentByteLength: 16 * 1024 } as const

/**
 * The power-cut simulation's settings: a commit every file or two, with groups of 8 KiB of content, so that
 * several group writes wait for each fsync (on the CI history: 12 batches, 41 pack writes).
 */
export const POWER_CUT_CHECKPOINT_BYTE_LENGTH = 48 * 1024
export const POWER_CUT_STORE_OPTIONS = { maxPackByteLength: 48 * 1024, maxContentByteLength: 8 * 1024 } as const

/**
 * Store options for the `replay` children: the `api` ones, with automatic packing merging every 2 packs of
 * a tier, so that nearly every commit's insert is followed by a merge and kills land inside merges.
 */
export const REPLAY_STORE_OPTIONS = { ...SMALL_STORE_OPTIONS, autoPack: true, autoPackFactor: 2 } as const

export type ChildKind = 'api' | 'cli' | 'replay'

export interface KillHarnessOptions {
  /** A directory of its own for the stores (the history may live elsewhere). */
  readonly work: string
  readonly history: SyntheticHistory
  readonly killCount: number
  readonly seed: number
  readonly mode: ChildKind | 'both'
  /** For `api` children: commit after this many bytes of new text, at a file boundary. */
  readonly checkpointByteLength: number
  /** For `api` children: store options (a small pack cap makes new pack files; a small group cap, more groups). */
  readonly storeOptions: Pick<StoreOptions, 'maxPackByteLength' | 'maxContentByteLength'>
  /** Kill points per epoch before the import is run to completion. */
  readonly killsPerEpoch: number
  /** Check through the CLI too after every this-many-th kill (0: never). */
  readonly cliCheckEvery: number
  readonly timeoutMilliseconds: number
  readonly log: (line: string) => void
}

/** The faster of two unkilled imports into an empty store. */
export interface UnkilledTiming {
  /** From the spawn to the end. */
  readonly milliseconds: number
  /** From the spawn to the first growth of the pack files (polled every 2 ms). */
  readonly firstWriteMilliseconds: number
}

export interface KillRecord {
  readonly kill: number
  readonly kind: ChildKind
  /** The kill was drawn uniformly from [0, 1.05 × span): the expected length of this run. */
  readonly delayMilliseconds: number
  readonly spanMilliseconds: number
  /** `killed`: SIGKILL came first; `finished`: the import ended (exit 0) before its kill point. */
  readonly outcome: 'killed' | 'finished'
  /** The pack files changed between the spawn and the kill. */
  readonly midWrite: boolean
  readonly keysBefore: number
  /** Keys the store holds after the kill: what was committed when it landed. */
  readonly keysAfter: number
  readonly problems: readonly string[]
}

export interface KillHarnessReport {
  readonly killsTried: number
  /** Kill points that reached a running import. */
  readonly killsLanded: number
  readonly killsMidWrite: number
  /** Kills after which the store held some keys of the history but not all. */
  readonly killsLeavingPartialStore: number
  /** Kills that landed after the killed import had committed at a checkpoint (more keys than before, not all). */
  readonly killsAfterCheckpoint: number
  /** Kill points that came after the import had ended (acknowledged runs, checked complete). */
  readonly importsFinishedFirst: number
  /** Imports run to completion after the kills of an epoch. */
  readonly completions: number
  readonly cliChecks: number
  /** Measured timing of an unkilled import into an empty store, per kind. */
  readonly unkilled: Readonly<Partial<Record<ChildKind, UnkilledTiming>>>
  readonly kills: readonly KillRecord[]
  readonly failures: readonly string[]
  readonly milliseconds: number
}

function childArgs(kind: ChildKind, store: string, options: Pick<KillHarnessOptions, 'history' | 'checkpointByteLength' | 'storeOptions'>): string[] {
  if (kind === 'cli') return [BIN, '--store', store, 'import-git', options.history.repo, '--json']
  if (kind === 'replay') return [IMPORT_CHILD, store, options.history.repo, JSON.stringify({ perCommit: true, storeOptions: REPLAY_STORE_OPTIONS })]
  return [IMPORT_CHILD, store, options.history.repo, JSON.stringify({ checkpointByteLength: options.checkpointByteLength, storeOptions: options.storeOptions })]
}

function sameByteLengths(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  return a.size === b.size && [...a].every(([name, size]) => b.get(name) === size)
}

/** Problems with an acknowledged run: exit 0 and a summary that counts every text, `newTextCount` of them new. */
function summaryProblems(run: { code: number | null; signal: string | null; stdout: Buffer; stderr: string }, history: SyntheticHistory, newTextCount: number): string[] {
  if (run.code !== 0) return [`the import failed: ${describeRun(run)}`]
  try {
    const summary = JSON.parse(run.stdout.toString('utf8')) as { textCount?: unknown; newTextCount?: unknown }
    const problems: string[] = []
    if (summary.textCount !== history.texts.size) problems.push(`the summary counts ${String(summary.textCount)} texts, the history has ${history.texts.size}`)
    if (summary.newTextCount !== newTextCount) problems.push(`the summary counts ${String(summary.newTextCount)} new texts, ${newTextCount} were missing`)
    return problems
  } catch {
    return [`the import printed no JSON summary: ${describeRun(run)}`]
  }
}

/**
 * Runs `killCount` kill points (see the module comment) and returns what happened at each. Never throws for
 * a problem of the store: problems are failures in the report.
 */
export async function runKillHarness(options: KillHarnessOptions): Promise<KillHarnessReport> {
  const harness = new KillHarness(options)
  await harness.timeUnkilled()
  for (let kill = 0; kill < options.killCount; kill++) await harness.killPoint(kill)
  return harness.report()
}

/** The state of one kill harness run: the store of the current epoch, the timings, and what was found. */
class KillHarness {
  readonly #started = performance.now()
  readonly #random: () => number
  readonly #kinds: readonly ChildKind[]
  readonly #failures: string[] = []
  readonly #kills: KillRecord[] = []
  #storeNumber = 0
  #cliChecks = 0
  /** How long an unkilled import into an empty store takes, per kind, and when it starts to write packs. */
  readonly #unkilled: Partial<Record<ChildKind, UnkilledTiming>> = {}
  /**
   * How much slower runs are now than the unkilled ones (other processes come and go): each run that is
   * timed whole (one that finished before its kill, and each epoch's completion) updates it.
   */
  #loadFactor = 1
  #epoch = 0
  #killsInEpoch = 0
  /** The current epoch's store (set once the unkilled imports are timed). */
  #store = ''
  #present = new Set<string>()
  #completions = 0

  constructor(readonly options: KillHarnessOptions) {
    this.#random = seededRandom(options.seed)
    this.#kinds = options.mode === 'both' ? ['api', 'replay', 'cli'] : [options.mode]
  }

  #newStore(): string {
    const store = join(this.options.work, `store-${this.#storeNumber++}`)
    rmSync(store, { recursive: true, force: true })
    return store
  }

  #fail(label: string, store: string, problems: readonly string[]): void {
    if (problems.length === 0) return
    const failures = this.#failures
    const kept = `${store}-failed-${failures.length + 1}`
    if (failures.length < 5 && existsSync(store)) cpSync(store, kept, { recursive: true })
    failures.push(`${label}: ${problems.join('; ')}${failures.length < 5 ? ` (store kept in ${kept})` : ''}`)
    this.options.log(`FAIL ${failures.at(-1) as string}`)
  }

  /** Checks a store an import has completed: every key, verify clean, nothing stored twice or unnamed. */
  async #checkComplete(store: string, withCli: boolean): Promise<string[]> {
    const { history, timeoutMilliseconds } = this.options
    if (withCli) this.#cliChecks++
    const check = withCli ? checkStoreWithCli(store, history.texts, timeoutMilliseconds) : await checkStoreWithApi(store, history.texts)
    return [
      ...check.problems,
      ...(withCli ? completeProblemsWithCli(store, history, check.rows, timeoutMilliseconds) : await completeProblemsWithApi(store, history, check.rows)),
    ]
  }

  /**
   * Runs an import to completion into `store`, which holds `present` keys, and checks the result. Returns how
   * long it took, and when the pack files first grew (from the spawn; the whole run if they never did).
   */
  async #complete(kind: ChildKind, store: string, present: number, label: string, withCli: boolean): Promise<{ milliseconds: number; firstWriteMilliseconds: number }> {
    const { history, timeoutMilliseconds } = this.options
    const spawned = performance.now()
    const startByteLength = packFileBytes(store)
    let firstWriteMilliseconds: number | undefined
    const run = await runKillable(childArgs(kind, store, this.options), {
      timeoutMilliseconds,
      pollMilliseconds: 2,
      moment: () => {
        if (firstWriteMilliseconds === undefined && packFileBytes(store) !== startByteLength) firstWriteMilliseconds = performance.now() - spawned
        return false
      },
    })
    const problems = run.timedOut ? [`did not finish in ${timeoutMilliseconds} ms`] : summaryProblems(run, history, history.texts.size - present)
    problems.push(...(await this.#checkComplete(store, withCli)))
    this.#fail(label, store, problems)
    return { milliseconds: run.milliseconds, firstWriteMilliseconds: firstWriteMilliseconds ?? run.milliseconds }
  }

  /** Times two unkilled imports into an empty store per kind; the faster counts (load only ever slows a run). */
  async timeUnkilled(): Promise<void> {
    for (const kind of new Set(this.#kinds)) {
      const runs: { milliseconds: number; firstWriteMilliseconds: number }[] = []
      for (let i = 0; i < 2; i++) runs.push(await this.#complete(kind, this.#newStore(), 0, `unkilled ${kind} import ${i + 1}`, i === 0))
      this.#unkilled[kind] = runs.reduce((fastest, run) => (run.milliseconds < fastest.milliseconds ? run : fastest))
      this.options.log(`unkilled ${kind} import: ${runs.map(run => `${Math.round(run.milliseconds)} ms (packs first grew at ${Math.round(run.firstWriteMilliseconds)} ms)`).join(', ')}`)
    }
    this.#store = this.#newStore()
  }

  #timed(actual: number, expected: number): void {
    if (expected > 0 && actual > 0) this.#loadFactor = Math.min(4, Math.max(0.5, Math.sqrt(this.#loadFactor * (actual / expected))))
  }

  /** The expected length of a run: the part before writing, plus the writing scaled to what is missing. */
  #expectedSpan(kind: ChildKind, presentCount: number): number {
    const timing = this.#unkilled[kind] as UnkilledTiming
    const missingFraction = 1 - presentCount / this.options.history.texts.size
    return timing.firstWriteMilliseconds + (timing.milliseconds - timing.firstWriteMilliseconds) * missingFraction
  }

  /** One kill point: an import into the epoch's store killed at a random moment, then the store checked. */
  async killPoint(kill: number): Promise<void> {
    const { options } = this
    const { history } = options
    const store = this.#store
    const kind = this.#kinds[this.#epoch % this.#kinds.length] as ChildKind
    // The expected length of this run, times how much slower runs are now.
    const unscaledSpan = this.#expectedSpan(kind, this.#present.size)
    const spanMilliseconds = unscaledSpan * this.#loadFactor
    const delayMilliseconds = this.#random() * 1.05 * spanMilliseconds
    const before = packByteLengths(store)
    const run = await runKillable(childArgs(kind, store, options), {
      killAfterMilliseconds: delayMilliseconds, beforeKill: () => packByteLengths(store), timeoutMilliseconds: options.timeoutMilliseconds,
    })
    const outcome = run.outcome === 'killed' && !run.timedOut ? 'killed' : 'finished'
    if (outcome === 'finished' && !run.timedOut) this.#timed(run.milliseconds, unscaledSpan)
    const midWrite = outcome === 'killed' && !sameByteLengths(before, run.atKill as Map<string, number>)
    const withCli = options.cliCheckEvery > 0 && kill % options.cliCheckEvery === options.cliCheckEvery - 1
    if (withCli) this.#cliChecks++
    const check = withCli ? checkStoreWithCli(store, history.texts, options.timeoutMilliseconds) : await checkStoreWithApi(store, history.texts)
    const problems = [...check.problems]
    if (run.timedOut) problems.push(`the import did not end in ${options.timeoutMilliseconds} ms`)
    else if (outcome === 'finished') problems.push(...summaryProblems(run, history, history.texts.size - this.#present.size))
    const after = new Set(check.keys)
    const lost = [...this.#present].filter(key => !after.has(key))
    if (lost.length > 0) problems.push(`${lost.length} keys committed before this run are gone, e.g. ${lost.slice(0, 3).join(', ')}`)
    if (outcome === 'finished' && after.size !== history.texts.size) problems.push(`an acknowledged import left ${after.size} of ${history.texts.size} keys`)
    const label = `kill ${kill} (${kind}, epoch ${this.#epoch}, at ${Math.round(delayMilliseconds)} of ${Math.round(spanMilliseconds)} ms, ${outcome}${midWrite ? ' mid-write' : ''})`
    this.#fail(label, store, problems)
    this.#kills.push({ kill, kind, delayMilliseconds, spanMilliseconds, outcome, midWrite, keysBefore: this.#present.size, keysAfter: after.size, problems })
    this.#present = after
    this.#killsInEpoch++
    if (this.#killsInEpoch >= options.killsPerEpoch || after.size === history.texts.size || kill === options.killCount - 1) {
      await this.#endEpoch(kill, kind, outcome, withCli)
    }
    if ((kill + 1) % 50 === 0) {
      const landed = this.#kills.filter(k => k.outcome === 'killed')
      options.log(`${kill + 1} kill points: ${landed.length} landed, ${landed.filter(k => k.midWrite).length} mid-write, ${this.#failures.length} failures, ${((performance.now() - this.#started) / 1000).toFixed(0)} s`)
    }
  }

  /** Ends an epoch: an acknowledged import has just been checked; any other store is imported into to completion. */
  async #endEpoch(kill: number, kind: ChildKind, outcome: 'killed' | 'finished', withCli: boolean): Promise<void> {
    const store = this.#store
    if (outcome === 'finished') this.#fail(`epoch ${this.#epoch} (${kind}), completed by kill ${kill}'s import`, store, await this.#checkComplete(store, withCli))
    else {
      const expected = this.#expectedSpan(kind, this.#present.size)
      this.#timed((await this.#complete(kind, store, this.#present.size, `completion of epoch ${this.#epoch} (${kind})`, withCli)).milliseconds, expected)
    }
    this.#completions++
    rmSync(store, { recursive: true, force: true })
    this.#store = this.#newStore()
    this.#present = new Set()
    this.#epoch++
    this.#killsInEpoch = 0
  }

  report(): KillHarnessReport {
    rmSync(this.#store, { recursive: true, force: true })
    const kills = this.#kills
    const total = this.options.history.texts.size
    const landed = kills.filter(k => k.outcome === 'killed')
    return {
      killsTried: kills.length,
      killsLanded: landed.length,
      killsMidWrite: landed.filter(k => k.midWrite).length,
      killsLeavingPartialStore: landed.filter(k => k.keysAfter > 0 && k.keysAfter < total).length,
      killsAfterCheckpoint: landed.filter(k => k.keysAfter > k.keysBefore && k.keysAfter < total).length,
      importsFinishedFirst: kills.length - landed.length,
      completions: this.#completions,
      cliChecks: this.#cliChecks,
      unkilled: this.#unkilled,
      kills,
      failures: this.#failures,
      milliseconds: performance.now() - this.#started,
    }
  }
}

/** One line for a kill harness report. */
export function summarizeKills(report: KillHarnessReport, keyCount: number): string {
  const partial = report.kills.filter(k => k.outcome === 'killed').map(k => k.keysAfter)
  const byKind = (kind: ChildKind): string => {
    const landed = report.kills.filter(k => k.kind === kind && k.outcome === 'killed')
    return `${kind}: ${landed.length} landed, ${landed.filter(k => k.midWrite).length} mid-write`
  }
  const kinds = Object.keys(report.unkilled) as ChildKind[]
  return `kill harness: ${report.killsTried} kill points tried, ${report.killsLanded} landed (${kinds.map(byKind).join('; ')}), `
    + `${report.killsMidWrite} mid-write in all, ${report.killsAfterCheckpoint} after the killed import committed at a checkpoint, `
    + `${report.killsLeavingPartialStore} left a partial store, ${report.importsFinishedFirst} came after the import ended; `
    + `keys committed at a landed kill: median ${percentile(partial, 0.5)}, p90 ${percentile(partial, 0.9)} of ${keyCount}; `
    + `${report.completions} completions, ${report.cliChecks} CLI checks; failures ${report.failures.length}; ${(report.milliseconds / 1000).toFixed(1)} s`
}

/** Landed kills by the share of the history's keys the store held after them: none, quarters, all. */
export function keysAtKillHistogram(report: KillHarnessReport, keyCount: number): string {
  const buckets = new Map<string, number>([['none', 0], ['1–25 %', 0], ['26–50 %', 0], ['51–75 %', 0], ['76–99 %', 0], ['all', 0]])
  for (const kill of report.kills) {
    if (kill.outcome !== 'killed') continue
    const share = kill.keysAfter / keyCount
    const bucket = kill.keysAfter === 0 ? 'none' : kill.keysAfter === keyCount ? 'all' : share <= 0.25 ? '1–25 %' : share <= 0.5 ? '26–50 %' : share <= 0.75 ? '51–75 %' : '76–99 %'
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1)
  }
  return `keys committed at a landed kill (of ${keyCount}): ${[...buckets].map(([bucket, count]) => `${bucket}: ${count}`).join(', ')}`
}

/** One line for a power-cut report. */
export function summarizePowerCuts(report: PowerCutReport): string {
  return `power cut: ${report.statesChecked} states checked from ${Object.values(report.events).reduce((sum, n) => sum + n, 0)} traced events (${report.batchCount} index batches, `
    + `${report.events.write} pack writes, ${report.events.sync} file fsyncs, ${report.events['dir-sync']} directory fsyncs); `
    + `${report.statesWithLostWrites} lost unsynced pack bytes, ${report.statesWithMissingPack} lost a pack file, ${report.statesWithBatchLost} lost the batch in flight; `
    + `${report.reimports} imports run again to completion; failures ${report.failures.length}; ${(report.milliseconds / 1000).toFixed(1)} s`
}

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      kills: { type: 'string', default: '1000' },
      'power-cuts': { type: 'string', default: 'all' },
      seed: { type: 'string', default: '1' },
      mode: { type: 'string', default: 'both' },
      checkpoint: { type: 'string', default: String(32 * 1024) },
      'kills-per-epoch': { type: 'string', default: '4' },
      'cli-check-every': { type: 'string', default: '10' },
      history: { type: 'string', default: 'script' },
      files: { type: 'string' },
      versions: { type: 'string' },
      work: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'json-report': { type: 'string' },
    },
  })
  const number = (name: string, value: string): number => {
    const parsed = Number(value)
    if (!Number.isSafeInteger(parsed) || parsed < 0) throw new VstoreError('VSTORE_USAGE', `--${name} must be a whole number, got ${value}`, 'command line')
    return parsed
  }
  const mode = values.mode
  if (mode !== 'api' && mode !== 'replay' && mode !== 'cli' && mode !== 'both') throw new VstoreError('VSTORE_USAGE', `--mode must be api, replay, cli or both, got ${mode}`, 'command line')
  const seed = number('seed', values.seed)
  const work = values.work === undefined ? mkdtempSync(join(tmpdir(), 'vstore-crash-')) : resolve(values.work)
  mkdirSync(work, { recursive: true })
  const log = (line: string): void => { process.stdout.write(`${line}\n`) }
  if (values.history !== 'script' && values.history !== 'ci') throw new VstoreError('VSTORE_USAGE', `--history must be script or ci, got ${values.history}`, 'command line')
  const base = values.history === 'ci' ? CI_HISTORY : SCRIPT_HISTORY
  const historyOptions = {
    ...base,
    fileCount: values.files === undefined ? base.fileCount : number('files', values.files),
    versionCount: values.versions === undefined ? base.versionCount : number('versions', values.versions),
    seed,
  }
  rmSync(join(work, 'repo'), { recursive: true, force: true })
  const history = buildSyntheticHistory(join(work, 'repo'), historyOptions)
  log(`history: ${history.texts.size} texts, ${(history.rawByteLength / 1e6).toFixed(2)} MB; work in ${work}; node ${process.version}; seed ${seed}`)
  let failureCount = 0
  const killCount = number('kills', values.kills)
  if (killCount > 0) {
    const report = await runKillHarness({
      work: join(work, 'kill'), history, killCount, seed, mode,
      checkpointByteLength: number('checkpoint', values.checkpoint), storeOptions: SMALL_STORE_OPTIONS,
      killsPerEpoch: Math.max(1, number('kills-per-epoch', values['kills-per-epoch'])), cliCheckEvery: number('cli-check-every', values['cli-check-every']),
      timeoutMilliseconds: 120_000, log,
    })
    log(keysAtKillHistogram(report, history.texts.size))
    log(summarizeKills(report, history.texts.size))
    if (values['json-report'] !== undefined) writeFileSync(values['json-report'], `${JSON.stringify(report, null, 2)}\n`)
    failureCount += report.failures.length
  }
  const cutCount = values['power-cuts'] === 'all' ? Infinity : number('power-cuts', values['power-cuts'])
  if (cutCount > 0) {
    const report = await simulatePowerCuts({
      work: join(work, 'power'), history, seed, cutCount, reimportEvery: 8,
      checkpointByteLength: POWER_CUT_CHECKPOINT_BYTE_LENGTH, storeOptions: POWER_CUT_STORE_OPTIONS, log,
    })
    log(summarizePowerCuts(report))
    failureCount += report.failures.length
  }
  if (failureCount === 0 && !values.keep) rmSync(work, { recursive: true, force: true })
  log(failureCount === 0 ? 'crash harness: ok, 0 failures' : `crash harness: ${failureCount} FAILURES (kept ${work})`)
  return failureCount === 0 ? 0 : 1
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2))
