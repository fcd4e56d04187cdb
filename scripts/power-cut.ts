/**
 * A power-cut simulation, in process: what the disk may hold after the power fails at any moment of an import,
 * built from a trace of the store's own writes, then opened and checked. Run by scripts/crash-harness.ts
 * (`--power-cuts N`) and test/integration/crash-harness.test.ts.
 *
 * How. A store is created, then inserts of a synthetic git history are traced: the first half in one insert
 * with a small checkpoint so that it commits often (a small group cap so that a commit writes several
 * groups, and a small pack cap so that new pack files are made while old ones are appended to), then the rest
 * one insert per commit with automatic packing merging every two packs of a tier (merges rewrite the newest
 * packs and remove their files). The trace comes from the outside of the store, as
 * SQLite's crash tests use a fault-injecting file system: `node:fs/promises` `open`, `rm` and `rename` are
 * wrapped (and `module.syncBuiltinESMExports()` makes the store's named imports see the wrappers), every
 * file handle under the store records its writes (with their bytes), truncations and fsyncs, a handle on a
 * directory records a directory fsync, and `ClassicLevel.prototype.batch` records when each index batch was
 * called and when it returned, and which keys it named. At each batch call and return the index directory
 * is copied.
 *
 * A cut at position p (after the first p events) is rebuilt as a directory, one random variant per cut:
 * - Pack files: the content as of each file's last fsync, plus any subset of the 4 KiB pages written since
 *   (each page holds the new bytes or the old ones; past the old end, zeros), with a length anywhere from the
 *   fsynced one to the written one: a torn tail, a zero-filled tail (the size reached the disk, the data did
 *   not), holes. One cut in four keeps nothing unsynced, one in four keeps everything.
 * - Directory entries: a pack file created (or removed) since the last fsync of packs/ may be absent (or
 *   still there, with its last fsynced bytes).
 * - The index: every batch that returned is there; a batch that was called and had not returned is there
 *   whole or not at all (LevelDB checksums each log record and drops a torn one, so a batch is atomic).
 * - Leftovers of the dead writer: a spill file in tmp/ and an owner.json naming a dead process.
 *
 * Each rebuilt state must open with no repair step, `verify()` must find nothing, every key its index names
 * must be one of the history's and extract byte-identical, every key of a batch that returned before the cut
 * must be there (acknowledged at a checkpoint), and a batch in flight must be there whole or not at all. Every
 * `reimportEvery`-th state is then imported into to completion (the whole history) and must end complete:
 * all keys, verify clean, no group that no key names, no pack tail.
 *
 * Not simulated: LevelDB's own files under a power cut (its log, tables and MANIFEST are trusted to LevelDB:
 * a batch written with `sync: true` is durable when it returns); metadata outside packs/ (the store
 * directory's own entry in its parent, the rename that puts a new store's index in place, tmp/): the trace
 * starts after the store exists; a disk that drops writes it acknowledged as flushed, or damages bytes that
 * were flushed (the corruption tests' subject); a cut while a recovering open truncates a tail (that
 * truncation is not fsynced, and a cut there only brings back a tail the next open truncates again).
 */
import { cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import fsPromises from 'node:fs/promises'
import { syncBuiltinESMExports } from 'node:module'
import { dirname, join, resolve, sep } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { Store, importGit, type StoreOptions, type TextRecord } from '../lib/vstore.js'
import { TAG_TEXT, decodeTextKey } from '../lib/index/records.js'
import { revisionIdsOf, runTextKeys } from '../lib/store/run-index.js'
import { checkStoreWithApi, completeProblemsWithApi, describeThrown, type SyntheticHistory } from '../test/helpers/crash.js'
import { seededRandom } from './stats.js'

const PAGE_BYTE_LENGTH = 4096

// ---------------------------------------------------------------------------------------------------------
// The trace

export type TraceEvent =
  | { readonly kind: 'create'; readonly path: string }
  | { readonly kind: 'write'; readonly path: string; readonly offset: number; readonly bytes: Buffer }
  | { readonly kind: 'truncate'; readonly path: string; readonly byteLength: number }
  | { readonly kind: 'sync'; readonly path: string }
  | { readonly kind: 'dir-sync'; readonly path: string }
  | { readonly kind: 'remove'; readonly path: string }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string }
  /** An index batch was called: its keys (`file@rev` of its T records), and the index copied just before. */
  | { readonly kind: 'batch-start'; readonly batch: number; readonly keys: readonly string[]; readonly snapshot: string }
  /** The batch returned (its sync done), and the index copied just after. */
  | { readonly kind: 'batch-end'; readonly batch: number; readonly snapshot: string }

/** What a FileHandle's methods look like to the wrappers. */
type HandleMethod = (...args: unknown[]) => Promise<unknown>

/**
 * Records, until `uninstall()`: the creations, writes (with their bytes), truncations, fsyncs and removals
 * of files in `<root>/packs/`, fsyncs of directories under `root`, renames under it, and the batches of
 * LevelDBs under it. Spill files (tmp/) are left out: the next open removes them whatever they hold.
 */
export class StoreTracer {
  readonly events: TraceEvent[] = []
  private batchCount = 0
  private readonly restores: (() => void)[] = []

  constructor(private readonly root: string, private readonly snapshotDir: string) {}

  private traced(path: string): boolean {
    return path.startsWith(this.root + sep)
  }

  private isPack(path: string): boolean {
    return dirname(path) === join(this.root, 'packs')
  }

  install(): void {
    const promises = fsPromises as unknown as Record<string, HandleMethod>
    const originalOpen = promises.open as HandleMethod
    const originalRm = promises.rm as HandleMethod
    const originalRename = promises.rename as HandleMethod
    promises.open = async (...args: unknown[]) => {
      const path = resolve(String(args[0]))
      if (!this.traced(path)) return originalOpen(...args)
      const existed = existsSync(path)
      const handle = (await originalOpen(...args)) as Record<string, HandleMethod>
      const flags = typeof args[1] === 'string' ? args[1] : 'r'
      const isDirectory = statSync(path).isDirectory()
      if (this.isPack(path) && !existed) this.events.push({ kind: 'create', path })
      else if (this.isPack(path) && flags.startsWith('w')) this.events.push({ kind: 'truncate', path, byteLength: 0 })
      this.wrapHandle(handle, path, isDirectory)
      return handle
    }
    promises.rm = async (...args: unknown[]) => {
      const path = resolve(String(args[0]))
      const existed = existsSync(path)
      const result = await originalRm(...args)
      if (this.isPack(path) && existed) this.events.push({ kind: 'remove', path })
      return result
    }
    promises.rename = async (...args: unknown[]) => {
      const result = await originalRename(...args)
      const [from, to] = [resolve(String(args[0])), resolve(String(args[1]))]
      if (this.traced(from) || this.traced(to)) this.events.push({ kind: 'rename', from, to })
      return result
    }
    syncBuiltinESMExports()
    this.restores.push(() => {
      promises.open = originalOpen
      promises.rm = originalRm
      promises.rename = originalRename
      syncBuiltinESMExports()
    })

    const prototype = ClassicLevel.prototype as unknown as Record<string, HandleMethod>
    const originalBatch = prototype.batch as HandleMethod
    const ownBatch = Object.prototype.hasOwnProperty.call(prototype, 'batch')
    // Revision ids by number, as the traced batches list them (a run names revisions by number).
    const revisionIds = new Map<number, string>()
    const traceBatch = async (db: { location: string }, args: unknown[], operations: readonly { type: string; key: Uint8Array; value?: Uint8Array }[]): Promise<unknown> => {
      const batchNumber = this.batchCount++
      const keys: string[] = []
      const puts = operations.filter(operation => operation.type === 'put').map(operation => ({ key: operation.key, value: operation.value as Uint8Array }))
      for (const [number, rev] of revisionIdsOf(puts)) revisionIds.set(number, rev)
      for (const { key, value } of puts) {
        // The keys of every run the batch writes (some were committed before: they stay acknowledged).
        for (const { file, rev } of runTextKeys(key, value, number => revisionIds.get(number))) keys.push(`${file}@${rev}`)
        if (key[0] === TAG_TEXT) {
          const { file, rev } = decodeTextKey(key)
          keys.push(`${file}@${rev}`)
        }
      }
      this.events.push({ kind: 'batch-start', batch: batchNumber, keys, snapshot: this.copyIndex(db.location, `${batchNumber}-before`) })
      const result = await originalBatch.apply(db, args)
      this.events.push({ kind: 'batch-end', batch: batchNumber, snapshot: this.copyIndex(db.location, `${batchNumber}-after`) })
      return result
    }
    const traced = (path: string): boolean => this.traced(path)
    // A plain function: batch() with no arguments returns a chained batch, not a promise.
    prototype.batch = function batch(this: { location: string }, ...args: unknown[]): unknown {
      const operations = args[0]
      if (!Array.isArray(operations) || !traced(resolve(this.location))) return originalBatch.apply(this, args)
      return traceBatch(this, args, operations as { type: string; key: Uint8Array; value?: Uint8Array }[])
    } as HandleMethod
    this.restores.push(() => {
      if (ownBatch) prototype.batch = originalBatch
      else delete prototype.batch
    })
  }

  uninstall(): void {
    for (const restore of this.restores.splice(0).reverse()) restore()
  }

  /** Copies a LevelDB directory that is open in this process (no write of ours is under way). */
  copyIndex(location: string, name: string): string {
    const target = join(this.snapshotDir, name)
    cpSync(location, target, { recursive: true })
    return target
  }

  private wrapHandle(handle: Record<string, HandleMethod>, path: string, isDirectory: boolean): void {
    const original = { write: handle.write as HandleMethod, truncate: handle.truncate as HandleMethod, sync: handle.sync as HandleMethod, datasync: handle.datasync as HandleMethod }
    const pack = this.isPack(path)
    handle.write = async (...args: unknown[]) => {
      const result = (await original.write.apply(handle, args)) as { bytesWritten: number }
      const [buffer, offset, , position] = args
      if (!pack) return result
      if (!(buffer instanceof Uint8Array) || typeof position !== 'number') throw new Error(`power-cut trace: a write to ${path} without a buffer and a position is not modelled`)
      const start = typeof offset === 'number' ? offset : 0
      this.events.push({ kind: 'write', path, offset: position, bytes: Buffer.from(buffer.subarray(start, start + result.bytesWritten)) })
      return result
    }
    handle.truncate = async (...args: unknown[]) => {
      const result = await original.truncate.apply(handle, args)
      if (pack) this.events.push({ kind: 'truncate', path, byteLength: typeof args[0] === 'number' ? args[0] : 0 })
      return result
    }
    const sync = async (method: HandleMethod, args: unknown[]): Promise<unknown> => {
      const result = await method.apply(handle, args)
      if (isDirectory) this.events.push({ kind: 'dir-sync', path })
      else if (pack) this.events.push({ kind: 'sync', path })
      return result
    }
    handle.sync = async (...args: unknown[]) => sync(original.sync, args)
    handle.datasync = async (...args: unknown[]) => sync(original.datasync, args)
  }
}

// ---------------------------------------------------------------------------------------------------------
// The state of the disk at a cut

/** One file of packs/ as the trace has it so far. */
interface FileModel {
  /** Bytes written so far (what a reader sees); undefined once removed. */
  current: Buffer | undefined
  /** Bytes as of the last fsync; undefined when it was never fsynced. */
  durable: Buffer | undefined
  /** Whether the directory entry is durable: set by a fsync of its directory after it was made. */
  entryDurable: boolean
  /** Pages written (or cut by a truncation) since the last fsync. */
  dirtyPages: Set<number>
}

function markDirty(model: FileModel, start: number, end: number): void {
  for (let page = Math.floor(start / PAGE_BYTE_LENGTH); page * PAGE_BYTE_LENGTH < end; page++) model.dirtyPages.add(page)
}

/** Replays one event on the pack models (packs only: other files are not rebuilt). */
function apply(models: Map<string, FileModel>, event: TraceEvent, packsDir: string): void {
  switch (event.kind) {
    case 'create': {
      if (dirname(event.path) !== packsDir) return
      if (models.has(event.path)) throw new Error(`power-cut trace: ${event.path} made again in one trace is not modelled`)
      models.set(event.path, { current: Buffer.alloc(0), durable: undefined, entryDurable: false, dirtyPages: new Set() })
      return
    }
    case 'write': {
      const model = models.get(event.path)
      if (model?.current === undefined) throw new Error(`power-cut trace: write to ${event.path}, which is not there`)
      const end = event.offset + event.bytes.length
      if (model.current.length < end) model.current = Buffer.concat([model.current, Buffer.alloc(end - model.current.length)])
      event.bytes.copy(model.current, event.offset)
      markDirty(model, event.offset, end)
      return
    }
    case 'truncate': {
      const model = models.get(event.path)
      if (model?.current === undefined) return
      const old = model.current.length
      model.current = event.byteLength <= old ? Buffer.from(model.current.subarray(0, event.byteLength)) : Buffer.concat([model.current, Buffer.alloc(event.byteLength - old)])
      markDirty(model, Math.min(old, event.byteLength), Math.max(old, event.byteLength))
      return
    }
    case 'sync': {
      const model = models.get(event.path)
      if (model?.current === undefined) return
      model.durable = Buffer.from(model.current)
      model.dirtyPages.clear()
      return
    }
    case 'dir-sync': {
      for (const [path, model] of models) {
        if (dirname(path) !== event.path) continue
        if (model.current === undefined) models.delete(path)
        else model.entryDurable = true
      }
      return
    }
    case 'remove': {
      const model = models.get(event.path)
      if (model !== undefined) model.current = undefined
      return
    }
    case 'rename':
      if (dirname(event.from) === packsDir || dirname(event.to) === packsDir) throw new Error(`power-cut trace: a rename in packs/ (${event.from} → ${event.to}) is not modelled`)
      return
    case 'batch-start':
    case 'batch-end':
      return
  }
}

/** How much of what was not fsynced a rebuilt file keeps. */
type TailMode = 'fsynced only' | 'everything written' | 'mixed'

/**
 * The bytes a file may hold after the cut: its fsynced bytes, with `mode` choosing which pages written since
 * reach the disk and how long the file is. Returns whether any written byte was lost.
 */
function rebuildFile(model: FileModel, mode: TailMode, random: () => number): { bytes: Buffer; lostWrites: boolean } {
  const durable = model.durable ?? Buffer.alloc(0)
  const current = model.current ?? durable
  if (model.dirtyPages.size === 0) return { bytes: Buffer.from(durable), lostWrites: false }
  const low = Math.min(durable.length, current.length)
  const high = Math.max(durable.length, current.length)
  const byteLength = mode === 'fsynced only' ? durable.length : mode === 'everything written' ? current.length : low + Math.floor(random() * (high - low + 1))
  const bytes = Buffer.alloc(byteLength)
  let lostWrites = byteLength < current.length
  for (let start = 0; start < byteLength; start += PAGE_BYTE_LENGTH) {
    const page = start / PAGE_BYTE_LENGTH
    const takeNew = !model.dirtyPages.has(page) || mode === 'everything written' || (mode === 'mixed' && random() < 0.5)
    const source = takeNew ? current : durable
    if (!takeNew && !current.subarray(start, start + PAGE_BYTE_LENGTH).equals(durable.subarray(start, start + PAGE_BYTE_LENGTH))) lostWrites = true
    if (start < source.length) source.copy(bytes, start, start, Math.min(source.length, start + PAGE_BYTE_LENGTH, byteLength))
  }
  return { bytes, lostWrites }
}

interface CutState {
  /** The index directory to use. */
  readonly index: string
  /** Keys of every batch that returned before the cut. */
  readonly acknowledged: ReadonlySet<string>
  /** Keys of a batch called but not returned at the cut (there whole or not at all). */
  readonly inFlight: ReadonlySet<string>
  readonly inFlightKept: boolean
  readonly packs: ReadonlyMap<string, Buffer>
  readonly lostWrites: boolean
  readonly missingFiles: number
}

/**
 * Rebuilds the state at `cut` from models replayed up to it (the caller replays in order). `baselineIndex` is
 * the index before the first traced batch.
 */
function cutState(events: readonly TraceEvent[], cut: number, models: ReadonlyMap<string, FileModel>, baselineIndex: string, acknowledged: ReadonlySet<string>, random: () => number): CutState {
  let index = baselineIndex
  let inFlight: ReadonlySet<string> = new Set()
  let inFlightKept = false
  for (let i = cut - 1; i >= 0; i--) {
    const event = events[i] as TraceEvent
    if (event.kind === 'batch-end') {
      index = event.snapshot
      break
    }
    if (event.kind === 'batch-start') {
      inFlight = new Set(event.keys)
      inFlightKept = random() < 0.5
      const end = events.find(e => e.kind === 'batch-end' && e.batch === event.batch)
      if (inFlightKept && end?.kind === 'batch-end') index = end.snapshot
      else if (inFlightKept) throw new Error(`power-cut trace: batch ${event.batch} never returned`)
      else index = event.snapshot
      break
    }
  }
  const roll = random()
  const mode: TailMode = roll < 0.25 ? 'fsynced only' : roll < 0.5 ? 'everything written' : 'mixed'
  const packs = new Map<string, Buffer>()
  let lostWrites = false
  let missingFiles = 0
  for (const [path, model] of models) {
    const presentNow = model.current !== undefined
    // An entry made or removed since the last directory fsync may or may not have reached the disk.
    const present = presentNow === model.entryDurable ? presentNow : mode === 'everything written' ? presentNow : mode === 'fsynced only' ? model.entryDurable : random() < 0.5
    if (!present) {
      if (presentNow) missingFiles++
      continue
    }
    const rebuilt = rebuildFile(model, mode, random)
    lostWrites ||= rebuilt.lostWrites
    packs.set(path, rebuilt.bytes)
  }
  return { index, acknowledged, inFlight, inFlightKept, packs, lostWrites, missingFiles }
}

function writeState(state: CutState, root: string, dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(dir, 'packs'), { recursive: true })
  cpSync(state.index, join(dir, 'index'), { recursive: true })
  for (const [path, bytes] of state.packs) writeFileSync(join(dir, path.slice(root.length + 1)), bytes)
  mkdirSync(join(dir, 'tmp'))
  writeFileSync(join(dir, 'tmp', 'insert-999999-0.spill'), 'a spill file the dead writer left behind\n')
  writeFileSync(join(dir, 'owner.json'), `${JSON.stringify({ pid: 999_999, host: 'gone', since: '2026-01-01T00:00:00.000Z', command: 'dead writer' })}\n`)
}

// ---------------------------------------------------------------------------------------------------------
// The simulation

export interface PowerCutOptions {
  /** A directory of its own for the traced store, index copies and rebuilt states (emptied first). */
  readonly work: string
  readonly history: SyntheticHistory
  readonly seed: number
  /** States to check: cut positions drawn at random (Infinity: every position, from before the first event to after the last). */
  readonly cutCount: number
  /** Import to completion into every this-many-th state. */
  readonly reimportEvery: number
  readonly checkpointByteLength: number
  /** A small pack cap makes new pack files; a small group cap, several groups (pack writes) a commit. */
  readonly storeOptions: Pick<StoreOptions, 'maxPackByteLength' | 'maxContentByteLength'>
  readonly log: (line: string) => void
}

export interface PowerCutReport {
  /** Events in the trace, by kind. */
  readonly events: Readonly<Record<TraceEvent['kind'], number>>
  readonly batchCount: number
  readonly statesChecked: number
  /** States that lost written bytes of a pack, lost a pack file, or lost the batch in flight. */
  readonly statesWithLostWrites: number
  readonly statesWithMissingPack: number
  readonly statesWithBatchLost: number
  readonly reimports: number
  readonly failures: readonly string[]
  readonly milliseconds: number
}

/** `cutCount` positions to cut at, drawn without replacement from all of them (every one if that is fewer), sorted. */
function choosePositions(eventCount: number, cutCount: number, random: () => number): number[] {
  const all = Array.from({ length: eventCount + 1 }, (_, i) => i)
  if (cutCount >= all.length) return all
  const chosen: number[] = []
  while (chosen.length < cutCount) chosen.push(all.splice(Math.floor(random() * all.length), 1)[0] as number)
  return chosen.sort((a, b) => a - b)
}

/**
 * Creates the store at `root`, then traces two inserts into it (the history up to its middle commit, then
 * all of it). Returns the events and a copy of the index as created, before the first insert.
 */
async function traceImports(options: PowerCutOptions, root: string, snapshots: string): Promise<{ events: TraceEvent[]; baselineIndex: string }> {
  const { history, storeOptions } = options
  const created = await Store.open(root, { ...storeOptions, create: true })
  await created.close()
  const tracer = new StoreTracer(root, snapshots)
  const baselineIndex = tracer.copyIndex(join(root, 'index'), 'baseline')
  const middle = history.commits[Math.floor(history.commits.length / 2)] as string
  tracer.install()
  try {
    let store = await Store.open(root, storeOptions)
    try {
      await store.insert(importGit(history.repo, { refs: [middle] }), { checkpointByteLength: options.checkpointByteLength })
    } finally {
      await store.close()
    }
    // Then the rest a commit at a time, as a VCS writes, with automatic packing merging every two packs of
    // a tier: merges (a rewrite of the newest packs, their files removed after) are traced too.
    store = await Store.open(root, { ...storeOptions, autoPack: true, autoPackFactor: 2 })
    try {
      let commit: TextRecord[] = []
      for await (const record of importGit(history.repo, { refs: ['main'] })) {
        if (commit.length > 0 && commit[0]?.rev !== record.rev) {
          await store.insert(commit)
          commit = []
        }
        commit.push(record)
      }
      await store.insert(commit)
    } finally {
      await store.close()
    }
  } finally {
    tracer.uninstall()
  }
  return { events: tracer.events, baselineIndex }
}

/** How many events of each kind. @throws Error when the trace saw no index batch or no pack write. */
function countEvents(events: readonly TraceEvent[]): Record<TraceEvent['kind'], number> {
  const counts = { create: 0, write: 0, truncate: 0, sync: 0, 'dir-sync': 0, remove: 0, rename: 0, 'batch-start': 0, 'batch-end': 0 }
  for (const event of events) counts[event.kind]++
  // The trace sees the index through ClassicLevel's batch(): a store that wrote otherwise would pass untested.
  if (counts['batch-start'] === 0 || counts.write === 0) throw new Error(`power-cut trace: ${counts['batch-start']} index batches and ${counts.write} pack writes seen; the tracer no longer sees the store's writes`)
  return counts
}

/** What is wrong with the store a cut left (written to `stateDir`): lost, unexpected or half-returned batches. */
async function cutProblems(stateDir: string, state: CutState, history: PowerCutOptions['history']): Promise<string[]> {
  const check = await checkStoreWithApi(stateDir, history.texts)
  const problems = [...check.problems]
  const present = new Set(check.keys)
  const lost = [...state.acknowledged].filter(key => !present.has(key))
  if (lost.length > 0) problems.push(`${lost.length} keys of batches that returned are missing, e.g. ${lost.slice(0, 3).join(', ')}`)
  const unexpected = check.keys.filter(key => !state.acknowledged.has(key) && !state.inFlight.has(key))
  if (unexpected.length > 0) problems.push(`${unexpected.length} keys that no returned or in-flight batch named, e.g. ${unexpected.slice(0, 3).join(', ')}`)
  const inFlightPresent = [...state.inFlight].filter(key => present.has(key) && !state.acknowledged.has(key)).length
  const inFlightNew = [...state.inFlight].filter(key => !state.acknowledged.has(key)).length
  if (inFlightPresent !== 0 && inFlightPresent !== inFlightNew) problems.push(`${inFlightPresent} of the ${inFlightNew} keys of the batch in flight are there: a batch came back in part`)
  return problems
}

/** Runs the whole import again into the store a cut left, and says what is wrong after it. */
async function reimportProblems(stateDir: string, options: PowerCutOptions): Promise<string[]> {
  const { history } = options
  try {
    const store = await Store.open(stateDir, options.storeOptions)
    try {
      await store.insert(importGit(history.repo), { checkpointByteLength: options.checkpointByteLength })
    } finally {
      await store.close()
    }
    const after = await checkStoreWithApi(stateDir, history.texts)
    return [...after.problems, ...(await completeProblemsWithApi(stateDir, history, after.rows))].map(problem => `after the import ran again: ${problem}`)
  } catch (error) {
    return [`the import run again failed: ${describeThrown(error)}`]
  }
}

/** Runs the traced inserts and checks the rebuilt state at each chosen cut. */
export async function simulatePowerCuts(options: PowerCutOptions): Promise<PowerCutReport> {
  const started = performance.now()
  const { work, history } = options
  rmSync(work, { recursive: true, force: true })
  const root = resolve(work, 'store')
  const snapshots = join(work, 'index-copies')
  mkdirSync(snapshots, { recursive: true })
  const { events, baselineIndex } = await traceImports(options, root, snapshots)
  const counts = countEvents(events)
  options.log(`power cut: traced ${events.length} events (${Object.entries(counts).filter(([, n]) => n > 0).map(([kind, n]) => `${n} ${kind}`).join(', ')})`)

  const random = seededRandom(options.seed)
  const positions = choosePositions(events.length, options.cutCount, random)
  const packsDir = join(root, 'packs')
  const models = new Map<string, FileModel>()
  const acknowledged = new Set<string>()
  const failures: string[] = []
  let replayed = 0
  let statesWithLostWrites = 0
  let statesWithMissingPack = 0
  let statesWithBatchLost = 0
  let reimports = 0
  const stateDir = join(work, 'state')
  for (const [n, cut] of positions.entries()) {
    for (; replayed < cut; replayed++) {
      const event = events[replayed] as TraceEvent
      apply(models, event, packsDir)
      if (event.kind === 'batch-end') {
        const start = events.find(e => e.kind === 'batch-start' && e.batch === event.batch)
        if (start?.kind === 'batch-start') for (const key of start.keys) acknowledged.add(key)
      }
    }
    const state = cutState(events, cut, models, baselineIndex, new Set(acknowledged), random)
    if (state.lostWrites) statesWithLostWrites++
    if (state.missingFiles > 0) statesWithMissingPack++
    if (state.inFlight.size > 0 && !state.inFlightKept) statesWithBatchLost++
    writeState(state, root, stateDir)
    const label = `cut ${cut}/${events.length}${cut > 0 ? ` (after ${(events[cut - 1] as TraceEvent).kind})` : ''}`
    const problems = await cutProblems(stateDir, state, history)
    if (problems.length === 0 && n % options.reimportEvery === options.reimportEvery - 1) {
      reimports++
      problems.push(...(await reimportProblems(stateDir, options)))
    }
    if (problems.length > 0) {
      const kept = join(work, `failed-cut-${cut}`)
      if (failures.length < 5) cpSync(stateDir, kept, { recursive: true })
      failures.push(`${label}: ${problems.join('; ')}${failures.length < 5 ? ` (state kept in ${kept})` : ''}`)
      options.log(`power cut: FAIL ${failures.at(-1) as string}`)
    }
  }
  rmSync(stateDir, { recursive: true, force: true })
  return {
    events: counts,
    batchCount: counts['batch-start'],
    statesChecked: positions.length,
    statesWithLostWrites,
    statesWithMissingPack,
    statesWithBatchLost,
    reimports,
    failures,
    milliseconds: performance.now() - started,
  }
}
