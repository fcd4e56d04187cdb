/**
 * A benchmark corpus on disk, so that every system measured reads the same bytes:
 *
 *   .corpora/<name>/manifest.jsonl   one line per file version, parents before children:
 *                                    {"file","rev","parents":[...],"sha256","byteLength"}
 *   .corpora/<name>/blobs/<sha256>   each distinct content once
 *   .corpora/<name>/source.json      where it came from (free-form, written by the fetcher)
 *
 * Order in the manifest is history order (the order the fetcher produced the versions: releases in
 * version order, or commits parents-first), the order `xz -9` of "the whole history" uses.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { access, mkdir, readFile, rename, writeFile, appendFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

export interface CorpusEntry {
  readonly file: string
  readonly rev: string
  readonly parents: readonly string[]
  readonly sha256: string
  readonly byteLength: number
}

/** The repository root (scripts run from dist/scripts/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** Where corpora live: `.corpora/` at the repository root (git-ignored), or $VSTORE_CORPORA. */
export function corporaRoot(): string {
  return resolve(process.env.VSTORE_CORPORA ?? join(REPO_ROOT, '.corpora'))
}

export function corpusDir(name: string): string {
  return join(corporaRoot(), name)
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

/** Reads a corpus manifest. */
export async function readManifest(dir: string): Promise<CorpusEntry[]> {
  const entries: CorpusEntry[] = []
  const lines = createInterface({ input: createReadStream(join(dir, 'manifest.jsonl')), crlfDelay: Infinity })
  for await (const line of lines) if (line.trim() !== '') entries.push(JSON.parse(line) as CorpusEntry)
  return entries
}

export async function readBlob(dir: string, sha256: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(join(dir, 'blobs', sha256)))
}

/** Every version with its text, in manifest order. */
export async function* readCorpus(dir: string): AsyncGenerator<CorpusEntry & { text: Uint8Array }> {
  for (const entry of await readManifest(dir)) yield { ...entry, text: await readBlob(dir, entry.sha256) }
}

/**
 * Writes a corpus: blobs as they come, the manifest at the end (renamed into place, so a corpus
 * with a manifest is whole).
 */
export class CorpusWriter {
  private readonly lines: string[] = []
  private readonly written = new Set<string>()

  constructor(readonly dir: string) {}

  async add(entry: { file: string; rev: string; parents: readonly string[]; text: Uint8Array }): Promise<void> {
    const sha256 = createHash('sha256').update(entry.text).digest('hex')
    if (!this.written.has(sha256)) {
      await mkdir(join(this.dir, 'blobs'), { recursive: true })
      const path = join(this.dir, 'blobs', sha256)
      if (!(await exists(path))) {
        await writeFile(`${path}.tmp`, entry.text)
        await rename(`${path}.tmp`, path)
      }
      this.written.add(sha256)
    }
    this.lines.push(JSON.stringify({ file: entry.file, rev: entry.rev, parents: entry.parents, sha256, byteLength: entry.text.length }))
  }

  async finish(source: unknown): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    await writeFile(join(this.dir, 'source.json'), `${JSON.stringify(source, null, 2)}\n`)
    const tmp = join(this.dir, 'manifest.jsonl.tmp')
    await writeFile(tmp, '')
    for (let i = 0; i < this.lines.length; i += 1000) await appendFile(tmp, `${this.lines.slice(i, i + 1000).join('\n')}\n`)
    await rename(tmp, join(this.dir, 'manifest.jsonl'))
  }
}
