/** What the commands that write texts share: their progress, their summary, and no empty store left by a failed first import. */
import { rm, stat } from 'node:fs/promises'
import { Store, VstoreError, type InsertOptions, type InsertProgress, type InsertSummary, type TextRecord } from '../vstore.js'
import type { ReleaseBoundary } from '../import/releases.js'
import type { Command } from './command-line.js'
import type { Output } from './command.js'
import type { ImportReport } from './import-report.js'
import type { ProgressView } from './progress.js'
import { renderImportSummary, renderJson } from './render.js'
import { checkStorePath, withStore } from './store-access.js'

/**
 * Imports commit at file boundaries every 256 MiB of new text: a killed import keeps what it
 * committed, and running it again adds only the rest.
 */
const IMPORT_CHECKPOINT_BYTE_LENGTH = 256 * 1024 * 1024

/** The progress a writing command shows on stderr: JSON lines (--json), none (--quiet), or a live line on a terminal. */
export async function startProgress(command: Command, output: Output): Promise<ProgressView | undefined> {
  return command.json ? await output.jsonProgress() : command.quiet ? undefined : await output.terminalProgress()
}

/** Insert, pack or repair options that report to `progress`, if any. */
export function progressOptions(progress: ProgressView | undefined): { onProgress?: (progress: InsertProgress) => void } {
  return progress === undefined ? {} : { onProgress: (p: InsertProgress) => progress.update(p) }
}

/** A writing command's result on stdout: JSON with its seconds (--json), the line `render` makes, or nothing (--quiet). */
export async function writeSummary(command: Command, output: Output, summary: object, started: number, render: (seconds: number) => string): Promise<void> {
  const seconds = (performance.now() - started) / 1000
  if (command.json) await output.write(renderJson({ ...summary, seconds }))
  else if (!command.quiet) await output.write(render(seconds))
}

/**
 * What a release import needs to know of the store: each file's latest version, and stored keys, with
 * whole content hashes (a release's unchanged files are found by them): an entry keeps only a short check
 * of a short text, whose whole hash is then taken from the text.
 */
export function releaseLookups(store: Store): { previous: (file: string) => Promise<{ rev: string; hash: Uint8Array } | undefined>; stored: (file: string, rev: string) => Promise<Uint8Array | undefined> } {
  return {
    previous: async file => {
      const [head] = await store.heads(file)
      return head === undefined ? undefined : { rev: head, hash: await store.contentHash(file, head) }
    },
    stored: async (file, rev) => ((await store.has(file, rev)) ? store.contentHash(file, rev) : undefined),
  }
}

/** What runImport and runWrite may be given beyond the records. */
export interface ImportExtras {
  /** A release import's boundary: see runImport. */
  readonly releases?: ReleaseBoundary
  /** What the importer told of what it skipped, for the summary. */
  readonly report?: ImportReport
}

/**
 * Runs an import: inserts `records` into the command's store (created if missing), with progress on
 * stderr and one summary line (or JSON) on stdout, which says what `report` gathered. With `releases` (a
 * release import), a release that fails while being listed ends the import after the releases before it,
 * which are committed; its error is then reported.
 */
export async function runImport(command: Command, output: Output, records: (store: Store) => AsyncIterable<TextRecord>, extras: ImportExtras = {}): Promise<number> {
  const { releases } = extras
  let sourceFailure: unknown
  async function* watched(source: AsyncIterable<TextRecord>): AsyncGenerator<TextRecord> {
    try {
      yield* source
    } catch (error) {
      sourceFailure = error
      throw error
    }
  }
  return runWrite(command, output, async (store, options) => {
    try {
      return await store.insert(watched(releases === undefined ? records(store) : releases.guard(records(store))), {
        checkpointByteLength: IMPORT_CHECKPOINT_BYTE_LENGTH,
        ...options,
      })
    } catch (error) {
      // insert reads all of its records before it writes any (its checkpoints come after): when they
      // fail, nothing of the import is stored, and the error says so.
      if (error === sourceFailure && error instanceof VstoreError) throw new VstoreError(error.code, `${error.message}; nothing was stored`, error.where, { cause: error })
      throw error
    }
  }, extras)
}

/** What a writing command did, as its summary tells it. */
type WriteSummary = InsertSummary & { reusedGroupCount?: number }

/** Runs a command that adds texts to its store (`write`: an insert, or a fetch), as runImport describes. */
export async function runWrite(command: Command, output: Output, write: (store: Store, options: InsertOptions) => Promise<WriteSummary>, extras: ImportExtras = {}): Promise<number> {
  const { releases, report } = extras
  const started = performance.now()
  // Before `existed`: a store path that is refused must not be removed as a failed first import's.
  await checkStorePath(command.store, '--store', true)
  const existed = await pathExists(command.store)
  const progress = await startProgress(command, output)
  let summary
  let storeTextCount = 0
  try {
    summary = await withStore(command, 'create', async store => {
      const result = await write(store, progressOptions(progress))
      const stats = await store.stats()
      storeTextCount = stats.textCount
      return { ...result, ...report?.summaryFields(), storeByteLength: stats.storeByteLength }
    })
    const failure = releases?.failure
    if (failure !== undefined) {
      const kept = summary.newTextCount > 0 ? `the releases before it are stored (${summary.newTextCount} new texts)` : 'nothing was stored'
      throw new VstoreError(failure.code, `${failure.message}; ${kept}`, failure.where, { cause: failure })
    }
  } catch (error) {
    // A failed first import leaves no empty store behind; one that existed, or that holds texts this
    // import committed at a checkpoint, is kept.
    if (!existed && (await committedTextCount(command.store)) === 0) await rm(command.store, { recursive: true, force: true })
    throw error
  } finally {
    progress?.stop()
  }
  if (!existed && storeTextCount === 0) {
    // Nor does a first import that found nothing to store (an empty repository, say): `init` makes empty stores.
    await rm(command.store, { recursive: true, force: true })
    summary = { ...summary, storeByteLength: 0 }
  }
  if (!command.quiet) {
    for (const warning of report?.warnings() ?? []) {
      output.error(command.json ? JSON.stringify({ event: 'warning', ...warning }) : `vstore: warning (${warning.where}): ${warning.message}`)
    }
  }
  const written = summary
  await writeSummary(command, output, written, started, seconds => renderImportSummary(written, seconds, report?.summaryText() ?? ''))
  return 0
}

/** Texts a store holds, or 0 when it cannot be opened. */
async function committedTextCount(dir: string): Promise<number> {
  try {
    const store = await Store.open(dir)
    try {
      return (await store.stats()).textCount
    } finally {
      await store.close()
    }
  } catch {
    return 0
  }
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}
