/**
 * Writes the test vectors of formats/vectors/<format>/ (delta, group, pack, index): `good-*.bin` with the
 * decoded value in `good-*.json`, `bad-*.bin` (one defect each), `unsupported-*.bin`, and a README.md
 * table per folder (`file | what it is | expected code`), which test/vectors.test.ts parses.
 *
 * `npm run vectors` (from the repo root) writes them under `process.cwd()`; `buildVectors()` returns the
 * same files without writing, so the test can check the files on disk are current. Everything here is
 * deterministic: fixed texts, fixed codec settings (brotli output is fixed for a given input, quality and
 * window; the test re-encodes every good group to check that on the running Node).
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { VECTOR_FOLDERS, type VectorFiles } from './vectors/common.js'
import { deltaVectors } from './vectors/delta.js'
import { groupVectors } from './vectors/group.js'
import { indexVectors } from './vectors/index.js'
import { buildPack, packVectors } from './vectors/pack.js'
import { recordStreamVectors } from './vectors/record-stream.js'

/** Every vector file, by path relative to formats/vectors/. Pure: writes nothing. */
export async function buildVectors(): Promise<VectorFiles> {
  const files: VectorFiles = new Map()
  await deltaVectors(files)
  await groupVectors(files)
  const pack = await buildPack()
  await packVectors(files, pack)
  await indexVectors(files, pack)
  await recordStreamVectors(files)
  return files
}

/** Writes `files` under `root`, deleting files in the vector folders that are no longer generated. */
export async function writeVectors(root: string, files: VectorFiles): Promise<void> {
  for (const folder of VECTOR_FOLDERS) {
    const dir = path.join(root, folder)
    await mkdir(dir, { recursive: true })
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isFile() && !files.has(`${folder}/${entry.name}`)) await rm(path.join(dir, entry.name))
    }
  }
  for (const [name, content] of files) await writeFile(path.join(root, name), content)
}

const invokedAs = process.argv[1]
if (invokedAs !== undefined && path.resolve(invokedAs) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.cwd(), 'formats/vectors')
  const files = await buildVectors()
  await writeVectors(root, files)
  console.log(`wrote ${files.size} files under ${path.relative(process.cwd(), root)}/`)
}
