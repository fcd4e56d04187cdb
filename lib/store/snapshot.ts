import { copyFile, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VstoreError } from '../errors.js'

/**
 * A private copy of a LevelDB directory that another process is writing, for a reader that must not wait
 * for it. LevelDB's files are immutable tables (`*.ldb`, `*.sst`), append-only logs and manifests, and
 * `CURRENT` naming the manifest: so the copy takes `CURRENT`, then the manifest it names, then the tables
 * and logs present after that. A file that a compaction deletes meanwhile, or a `CURRENT` that moves on,
 * means another try; LevelDB opening the copy replays the logs (a torn last record is dropped, a batch is
 * all or nothing), so the copy holds the writer's state at some commit. Returns the copy's path; the caller
 * removes it.
 */
export async function copyIndexSnapshot(indexDir: string, where: string, attempts = 20): Promise<string> {
  let lastError: unknown
  for (let attempt = 0; attempt < attempts; attempt++) {
    const copy = await mkdtemp(join(tmpdir(), 'vstore-snapshot-'))
    try {
      const current = await readFile(join(indexDir, 'CURRENT'), 'utf8')
      const manifest = current.trim()
      if (!/^MANIFEST-\d+$/.test(manifest)) throw new VstoreError('VSTORE_CORRUPT', `index CURRENT names ${JSON.stringify(manifest)}`, where)
      await mkdir(copy, { recursive: true })
      await copyFile(join(indexDir, manifest), join(copy, manifest))
      for (const name of await readdir(indexDir)) {
        if (/\.(ldb|sst|log)$/.test(name)) await copyFile(join(indexDir, name), join(copy, name))
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
