/**
 * Opening a store's parts: a writer takes the lock (LevelDB's, with the owner file naming who holds it),
 * finishes an interrupted index swap, refuses a damaged index, and clears what a dead writer left; a reader
 * opens a private copy of the index and changes nothing. Also creating a store, and what can be done before
 * a store opens (rebuilding a damaged index, naming what an unopenable index still holds).
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { VstoreError, messageOf } from '../errors.js'
import { IndexCheck } from '../index/index-check.js'
import { openLevelDb, type KeyValueStore } from '../index/leveldb.js'
import { findIndexDamage, type IndexDamage } from '../index/leveldb-files.js'
import { encodeMetaKey } from '../index/records.js'
import { exists, syncDirectory } from './files.js'
import { finishIndexSwap, readableIndexPath, repairIndex, type IndexRepairSummary } from './index-repair.js'
import { indexPath, ownerPath, packsPath, tmpPath } from './layout.js'
import { LevelDbStoreIndex, readingIndex, salvageTextKeys } from './leveldb-index.js'
import { LocalPackSet } from './local-packs.js'
import type { PackSet } from './pack-set.js'
import { describeOwner, liveOwner, processAlive, writeOwner } from './processes.js'
import type { StoreSettings } from './settings.js'
import { copyIndexSnapshot } from './snapshot.js'
import { STORE_FORMAT_VERSION, type StoreIndex } from './store-index.js'
import type { VerifyProblem, VerifyReport } from './types.js'

/** Index copies a read-only open makes before it reports a pack gone (openReader). */
const SNAPSHOT_ATTEMPTS = 3

/** A store's parts, open: its index and packs, and how to close them. */
export interface OpenedStore {
  readonly index: StoreIndex
  readonly packs: PackSet
  readonly readOnly: boolean
  close(): Promise<void>
}

/** The error of a writer that finds its index damaged: it must not write on it (DESIGN.md, Invariants). */
function damagedIndexError(dir: string, damage: readonly IndexDamage[]): VstoreError {
  const [first] = damage
  const more = damage.length > 1 ? ` and ${damage.length - 1} more` : ''
  return new VstoreError('VSTORE_CORRUPT', `the index is damaged (index/${first?.file}: ${first?.message}${more}); \`vstore verify\` names the keys it affects`, `${dir}/index`)
}

async function lockedError(dir: string, cause?: unknown): Promise<VstoreError> {
  return new VstoreError('VSTORE_LOCKED', `store is open for writing in another process (${describeOwner(await liveOwner(dir), Date.now())})`, dir, cause === undefined ? undefined : { cause })
}

/**
 * Opens the store in `dir` for writing, creating it when `create` is set.
 * @throws VSTORE_NOT_FOUND when there is no store and `create` is not set; VSTORE_LOCKED when another
 * process has it open for writing; VSTORE_CORRUPT for a damaged index; VSTORE_UNSUPPORTED for another format.
 */
export async function openWriter(dir: string, settings: StoreSettings, create: boolean): Promise<OpenedStore> {
  // An index repair killed part-way is finished (or undone) before anything reads the index.
  await readingIndex(dir, () => finishIndexSwap(dir))
  if (!(await exists(indexPath(dir)))) {
    if (!create) throw new VstoreError('VSTORE_NOT_FOUND', 'no store here (create one with `vstore init`)', dir)
    await createIndex(dir)
  }
  await mkdir(packsPath(dir), { recursive: true })
  // Before LevelDB opens: it would read a damaged block unchecked, and a compaction could write what it
  // read into new tables with good checksums, hiding the damage for good.
  const damage = await readingIndex(dir, () => findIndexDamage(indexPath(dir)))
  if (damage.length > 0) {
    if ((await liveOwner(dir)) !== undefined) throw await lockedError(dir)
    throw damagedIndexError(dir, damage)
  }
  let db: KeyValueStore
  try {
    db = await openLevelDb(indexPath(dir), `${dir}/index`, { create: false, blockByteLength: settings.indexBlockByteLength })
  } catch (error) {
    if (error instanceof VstoreError && error.code === 'VSTORE_LOCKED') throw await lockedError(dir, error)
    throw error
  }
  // LevelDB's lock is the lock (the kernel drops it when its process dies, so a dead owner never
  // blocks anyone); this file only says who holds it, for the next process's error message.
  await writeOwner(dir, Date.now())
  const closeIndex = async () => {
    // The owner file names this process only while it holds the lock (taken away before the lock goes).
    await rm(ownerPath(dir), { force: true }).catch(() => undefined)
    await db.close()
  }
  try {
    const index = await LevelDbStoreIndex.open(db, { dir, files: indexPath(dir) })
    await clearLeftovers(dir)
    const packs = await LocalPackSet.open(dir, await index.packStates(), { writable: true, maxPackByteLength: settings.maxPackByteLength })
    return { index, packs, readOnly: false, close: async () => { await packs.close(); await closeIndex() } }
  } catch (error) {
    await closeIndex()
    throw error
  }
}

/**
 * What a writer that died may have left: spill files and index staging folders (this process holds the
 * lock, so none of it belongs to a live writer). Pack files no index names, and pack tails, are LocalPackSet's.
 */
async function clearLeftovers(dir: string): Promise<void> {
  await rm(tmpPath(dir), { recursive: true, force: true })
  for (const name of await readdir(dir)) {
    const staging = /^index\.new-(\d+)-\d+$/.exec(name)
    if (staging && !processAlive(Number(staging[1]))) await rm(`${dir}/${name}`, { recursive: true, force: true })
  }
}

/**
 * Makes a new store's index whole before it exists under its name: a LevelDB with its format record
 * is built beside it, closed, renamed into place, and the directory synced. A creator killed half-way
 * leaves only a staging folder (removed by a later open), never an index without its format record.
 */
export async function createIndex(dir: string): Promise<void> {
  await mkdir(packsPath(dir), { recursive: true })
  const staging = `${indexPath(dir)}.new-${process.pid}-${Date.now()}`
  const db = await openLevelDb(staging, staging, { create: true })
  try {
    await db.write([{ key: encodeMetaKey('format'), value: Uint8Array.of(STORE_FORMAT_VERSION) }], { sync: true })
  } finally {
    await db.close()
  }
  try {
    await rename(staging, indexPath(dir))
  } catch (error) {
    await rm(staging, { recursive: true, force: true })
    // Another process created the store first: use its index.
    const code = (error as { code?: string }).code
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw new VstoreError('VSTORE_IO', `cannot create the index: ${messageOf(error)}`, dir, { cause: error })
  }
  await syncDirectory(packsPath(dir))
  await syncDirectory(dir)
  // The store directory's own entry (mkdir above may have made it) must survive a power cut too.
  await syncDirectory(dirname(resolve(dir)))
}

/**
 * Opens the store for reading only, from a private copy of the index (StoreOptions.readOnly). A pack the
 * copy names may be gone by the time it is opened, when a writer committed a repack in between (its new
 * packs outlive the next copy): then the index is copied again; every time, it is damage.
 */
export async function openReader(dir: string, settings: StoreSettings): Promise<OpenedStore> {
  for (let attempt = 1; ; attempt++) {
    const opened = await openReaderOnce(dir, settings)
    if (opened.packs.missingPackCount === 0 || attempt >= SNAPSHOT_ATTEMPTS) return opened
    await opened.close()
  }
}

async function openReaderOnce(dir: string, settings: StoreSettings): Promise<OpenedStore> {
  const source = await readableIndexPath(dir)
  if (!(await exists(source))) throw new VstoreError('VSTORE_NOT_FOUND', 'no store here (create one with `vstore init`)', dir)
  const copy = await copyIndexSnapshot(source, `${dir}/index`)
  let db: KeyValueStore
  let check: IndexCheck | undefined
  try {
    // A reader reads around damage: what a damaged part may hold is an error, the rest is served.
    check = await readingIndex(dir, () => IndexCheck.open(copy))
    db = await openLevelDb(copy, `${dir}/index`, { create: false, check })
  } catch (error) {
    await check?.close()
    await rm(copy, { recursive: true, force: true })
    throw error
  }
  const closeIndex = async () => {
    await db.close()
    await rm(copy, { recursive: true, force: true })
  }
  try {
    const index = await LevelDbStoreIndex.open(db, { dir, files: copy })
    // A reader beside a live writer: packs only grow past what this index vouches for; change nothing.
    const packs = await LocalPackSet.open(dir, await index.packStates(), { writable: false, maxPackByteLength: settings.maxPackByteLength })
    return { index, packs, readOnly: true, close: async () => { await packs.close(); await closeIndex() } }
  } catch (error) {
    await closeIndex()
    throw error
  }
}

/**
 * Rebuilds the damaged index of the store in `dir` from every entry that can still be read (the packs are
 * left as they are) and swaps it in, crash-safe (lib/store/index-repair.ts); nothing is written when the
 * index is whole.
 */
export async function repairStoreIndex(dir: string): Promise<IndexRepairSummary> {
  await readingIndex(dir, () => finishIndexSwap(dir))
  return readingIndex(dir, () => repairIndex(dir, `${dir}/index`, STORE_FORMAT_VERSION))
}

/**
 * What `verify` can say of a store whose index LevelDB refuses to open (`openError`): the keys its files
 * still hold, all of them unreadable now, and the damaged blocks or records with the keys found in them.
 */
export async function verifyUnopenable(dir: string, openError: VstoreError): Promise<VerifyReport> {
  const salvaged = await salvageTextKeys(indexPath(dir))
  const problems: VerifyProblem[] = [
    { code: openError.code, where: openError.where, message: `the index does not open: ${openError.message}`, keys: salvaged.keys },
    ...salvaged.damaged.map(part => ({ code: 'VSTORE_CORRUPT' as const, where: `index/${part.file}`, message: part.message, keys: part.keys })),
  ]
  return { textCount: salvaged.keys.length, groupCount: 0, full: false, problems }
}
