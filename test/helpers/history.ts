/** Small histories of several files for the store tests that use the library directly (pack, fetch). */
import type { ExecutionContext } from 'ava'
import type { Store, TextRecord } from '../../lib/vstore.js'
import { applyEdit, randomLines, seededRandom } from './random.js'

/** `versionCount` versions of each of `fileCount` files of about 20 KB of lines, each version one small edit of the last. */
export function history(fileCount: number, versionCount: number, seed: number): TextRecord[][] {
  const random = seededRandom(seed)
  const texts = Array.from({ length: fileCount }, () => randomLines(random, 600))
  const commits: TextRecord[][] = []
  for (let v = 1; v <= versionCount; v++) {
    const commit: TextRecord[] = []
    for (let f = 0; f < fileCount; f++) {
      if (v > 1 && random() < 0.3) continue // not every file changes in every commit
      const before = texts[f] as Uint8Array
      const text = v === 1 ? before : applyEdit(before, { position: Math.floor(random() * before.length), deleteByteLength: 20, insert: randomLines(random, 2) })
      texts[f] = text
      commit.push({ file: `src/file${f}.c`, rev: `c${v}`, parents: [], text })
    }
    commits.push(commit)
  }
  // Parents: the last commit before this one that changed the file.
  const last = new Map<string, string>()
  return commits.map(commit => commit.map(record => {
    const parent = last.get(record.file)
    last.set(record.file, record.rev)
    return { ...record, parents: parent === undefined ? [] : [parent] }
  }))
}

export async function insertCommits(store: Store, commits: readonly TextRecord[][]): Promise<number> {
  let appended = 0
  for (const commit of commits) appended += (await store.insert(commit)).storedByteLength
  return appended
}

export async function expectTexts(t: ExecutionContext, store: Store, commits: readonly TextRecord[][]): Promise<void> {
  for (const record of commits.flat()) t.deepEqual(await store.get(record.file, record.rev), record.text, `${record.file}@${record.rev}`)
}

