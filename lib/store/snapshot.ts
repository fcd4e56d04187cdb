/** A reader's private copy of the index, taken beside a live writer: the tables its manifest names hard-linked, its logs copied. */
import { copyFile, link, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VstoreError, messageOf } from '../errors.js'
import { versionFileNames } from '../index/leveldb-files.js'
import { parseManifest, type ManifestVersion } from '../index/leveldb-format.js'
import { processAlive } from './processes.js'

/** The folder of every reader's index copy, in the system's temp folder; each copy is named `PID-…`. */
function snapshotsPath(): string {
  return join(tmpdir(), 'vstore-snapshots')
}

const SNAPSHOT_NAME = /^(\d+)-/

/**
 * Removes the copies that readers killed before they could close left behind (a copy whose process is
 * gone). Best effort: a copy that cannot be removed is left.
 */
async function removeDeadSnapshots(): Promise<void> {
  let names: string[]
  try {
    names = await readdir(snapshotsPath())
  } catch {
    return
  }
  for (const name of names) {
    const pid = Number(SNAPSHOT_NAME.exec(name)?.[1] ?? Number.NaN)
    if (Number.isSafeInteger(pid) && pid !== process.pid && !processAlive(pid)) {
      await rm(join(snapshotsPath(), name), { recursive: true, force: true }).catch(() => undefined)
    }
  }
}

/**
 * A table of the copied version: a hard link where the file system allows one (tables are immutable, and
 * LevelDB only ever deletes them, so the link shares the writer's bytes without copying them), a copy
 * elsewhere (another file system).
 */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to)
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') throw error
    await copyFile(from, to)
  }
}

function again(reason: string): Error {
  return Object.assign(new Error(reason), { code: 'EAGAIN' })
}

/**
 * A private copy of a LevelDB directory that another process may be writing, for a reader that must not
 * take the writer's lock nor change any file of the store. LevelDB's files are immutable tables, logs
 * and a manifest that are only appended to, and `CURRENT` naming the manifest. The copy takes the manifest
 * `CURRENT` names, then the tables that manifest's version holds (hard-linked) and its logs (copied),
 * then writes its own `CURRENT` with what was read. The manifest copied is a version the writer had (it
 * only appends whole edits); that version is whole when its own log (its log number) and its tables are
 * all still there, and `CURRENT` still names the manifest at the end: a memtable flush meanwhile writes a
 * table this version does not name and deletes the log it replaces, a compaction deletes tables, a new
 * writer starts a new manifest; each makes the copy try again. Only the tables the copied manifest names are linked: LevelDB opening the copy writes
 * new files from the manifest's next file number on, which no linked table has, so nothing it writes can
 * reach a file of the store. LevelDB replays the copied logs (a torn last record is dropped, a batch is all
 * or nothing), so the copy holds the writer's state at some commit. Returns the copy's path; the caller
 * removes it.
 */
export async function copyIndexSnapshot(indexDir: string, where: string, attempts = 20): Promise<string> {
  await removeDeadSnapshots()
  await mkdir(snapshotsPath(), { recursive: true })
  let lastError: unknown
  for (let attempt = 0; attempt < attempts; attempt++) {
    const copy = await mkdtemp(join(snapshotsPath(), `${process.pid}-`))
    try {
      const current = await readFile(join(indexDir, 'CURRENT'), 'utf8')
      const manifest = current.trim()
      if (!/^MANIFEST-\d+$/.test(manifest)) throw new VstoreError('VSTORE_CORRUPT', `index CURRENT names ${JSON.stringify(manifest)}`, where)
      try {
        await copyFile(join(indexDir, manifest), join(copy, manifest))
      } catch (error) {
        // A manifest that stays missing while CURRENT names it is damage, not a writer moving on.
        const moved = await readFile(join(indexDir, 'CURRENT'), 'utf8').then(now => now !== current, () => true)
        if ((error as { code?: string }).code === 'ENOENT' && !moved) throw new VstoreError('VSTORE_CORRUPT', `CURRENT names ${manifest}, which is missing`, where, { cause: error })
        throw error
      }
      let version: ManifestVersion | undefined
      try {
        version = parseManifest(new Uint8Array(await readFile(join(copy, manifest))))
      } catch {
        // A manifest that does not parse is damage: the copy's LevelDB, and the damage check, say so.
      }
      const names = new Set(await readdir(indexDir))
      // The version's own log holds every batch after its tables; gone, the writer has flushed it into a
      // table this manifest does not name yet.
      const ownLog = version === undefined || version.logNumber === 0 ? undefined : `${String(version.logNumber).padStart(6, '0')}.log`
      if (ownLog !== undefined && !names.has(ownLog)) throw again('the log moved on')
      const files = version === undefined ? { tables: [], logs: [] } : versionFileNames(version, names)
      for (const table of files.tables) await linkOrCopy(join(indexDir, table.name), join(copy, table.name))
      for (const log of files.logs) await copyFile(join(indexDir, log), join(copy, log))
      if ((await readFile(join(indexDir, 'CURRENT'), 'utf8')) !== current) throw again('CURRENT moved on')
      await writeFile(join(copy, 'CURRENT'), current)
      return copy
    } catch (error) {
      await rm(copy, { recursive: true, force: true })
      if (error instanceof VstoreError) throw error
      const code = (error as { code?: string }).code
      if (code !== 'ENOENT' && code !== 'EAGAIN') throw new VstoreError('VSTORE_IO', `cannot copy the index: ${messageOf(error)}`, where, { cause: error })
      lastError = error
    }
  }
  throw new VstoreError('VSTORE_LOCKED', `the writer kept changing the index while it was copied (${attempts} tries)`, where, { cause: lastError })
}
