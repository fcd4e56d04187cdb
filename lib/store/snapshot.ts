import { copyFile, link, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VstoreError } from '../errors.js'
import { processAlive } from './processes.js'

/** Snapshot folders in the system's temp folder are named `vstore-snapshot-PID-…`, so a dead reader's can be told apart. */
const SNAPSHOT_PREFIX = 'vstore-snapshot-'

/**
 * Removes the snapshot folders that readers killed before they could close left behind (a folder whose
 * process is gone). Best effort: a folder that cannot be removed is left.
 */
async function removeDeadSnapshots(): Promise<void> {
  let names: string[]
  try {
    names = await readdir(tmpdir())
  } catch {
    return
  }
  for (const name of names) {
    const match = new RegExp(`^${SNAPSHOT_PREFIX}(\\d+)-`).exec(name)
    if (match && Number(match[1]) !== process.pid && !processAlive(Number(match[1]))) {
      await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined)
    }
  }
}

/**
 * A table file in the copy: a hard link where the file system allows one (tables are immutable, and
 * LevelDB only ever deletes them, so the link shares the writer's bytes without copying them), a copy
 * elsewhere (another file system).
 */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'ENOENT') throw error
    await copyFile(from, to)
  }
}

/**
 * A private copy of a LevelDB directory that another process may be writing, for a reader that must not
 * take the writer's lock nor change any file of the store. LevelDB's files are immutable tables (`*.ldb`,
 * `*.sst`), append-only logs and manifests, and `CURRENT` naming the manifest: so the copy takes
 * `CURRENT`, then the manifest it names, then the tables (linked) and logs (copied) present after that. A
 * file that a compaction deletes meanwhile, or a `CURRENT` that moves on, means another try; LevelDB
 * opening the copy replays the logs (a torn last record is dropped, a batch is all or nothing), so the
 * copy holds the writer's state at some commit. Returns the copy's path; the caller removes it.
 */
export async function copyIndexSnapshot(indexDir: string, where: string, attempts = 20): Promise<string> {
  await removeDeadSnapshots()
  let lastError: unknown
  for (let attempt = 0; attempt < attempts; attempt++) {
    const copy = await mkdtemp(join(tmpdir(), `${SNAPSHOT_PREFIX}${process.pid}-`))
    try {
      const current = await readFile(join(indexDir, 'CURRENT'), 'utf8')
      const manifest = current.trim()
      if (!/^MANIFEST-\d+$/.test(manifest)) throw new VstoreError('VSTORE_CORRUPT', `index CURRENT names ${JSON.stringify(manifest)}`, where)
      await mkdir(copy, { recursive: true })
      try {
        await copyFile(join(indexDir, manifest), join(copy, manifest))
      } catch (error) {
        // A manifest that stays missing while CURRENT names it is damage, not a writer moving on.
        const moved = await readFile(join(indexDir, 'CURRENT'), 'utf8').then(now => now !== current, () => true)
        if ((error as { code?: string }).code === 'ENOENT' && !moved) throw new VstoreError('VSTORE_CORRUPT', `CURRENT names ${manifest}, which is missing`, where, { cause: error })
        throw error
      }
      for (const name of await readdir(indexDir)) {
        if (/\.(ldb|sst)$/.test(name)) await linkOrCopy(join(indexDir, name), join(copy, name))
        else if (/\.log$/.test(name)) await copyFile(join(indexDir, name), join(copy, name))
      }
      if ((await readFile(join(indexDir, 'CURRENT'), 'utf8')) !== current) throw Object.assign(new Error('CURRENT moved on'), { code: 'EAGAIN' })
      await copyFile(join(indexDir, 'CURRENT'), join(copy, 'CURRENT'))
      return copy
    } catch (error) {
      await rm(copy, { recursive: true, force: true })
      if (error instanceof VstoreError) throw error
      const code = (error as { code?: string }).code
      if (code !== 'ENOENT' && code !== 'EAGAIN') throw new VstoreError('VSTORE_IO', `cannot copy the index: ${(error as Error).message}`, where, { cause: error })
      lastError = error
    }
  }
  throw new VstoreError('VSTORE_LOCKED', `the writer kept changing the index while it was copied (${attempts} tries)`, where, { cause: lastError })
}
