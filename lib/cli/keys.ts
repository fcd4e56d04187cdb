/** File ids and keys as typed on the command line (`FILE`, `FILE@REV`, `--file F`), checked and found in a store. */
import { VstoreError, idProblem, type Store } from '../vstore.js'

/** Revision prefixes shorter than this are taken only as whole revision ids. */
export const MIN_REVISION_PREFIX = 7

/**
 * Splits `FILE@REV` at its last `@` (file ids may contain `@`).
 * @throws VSTORE_USAGE when there is no `@`, or the file or revision is empty.
 */
export function parseKeySpec(spec: string): { file: string; rev: string } {
  const at = spec.lastIndexOf('@')
  if (at <= 0 || at === spec.length - 1) {
    throw new VstoreError('VSTORE_USAGE', 'expected FILE@REV (the last @ separates the revision)', JSON.stringify(spec))
  }
  return { file: spec.slice(0, at), rev: spec.slice(at + 1) }
}


/** An id typed on the command line, checked before the store sees it. @throws VSTORE_USAGE for an id no key can have. */
export function checkId(id: string, what: string, where: string): string {
  const problem = idProblem(id)
  if (problem !== undefined) throw new VstoreError('VSTORE_USAGE', `${what} ${problem}`, where.length > 200 ? `${where.slice(0, 200)}…` : where)
  return id
}

/**
 * The key `FILE@REV` names: the split at the last `@`, unless an exact key splits at an earlier one, since
 * revision ids may hold `@` too (`express@4.18.2`, or `v1@` with nothing after it); failing that, a
 * revision prefix after the last `@`.
 * @throws VSTORE_USAGE when no exact key matches and the last `@` leaves an empty side; VSTORE_NOT_FOUND.
 */
export async function resolveKey(store: Store, spec: string): Promise<{ file: string; rev: string }> {
  // Every split with a non-empty file and revision, last `@` first: the first exact key wins.
  for (let at = spec.lastIndexOf('@'); at > 0; at = spec.lastIndexOf('@', at - 1)) {
    if (at === spec.length - 1) continue
    const candidate = { file: spec.slice(0, at), rev: spec.slice(at + 1) }
    if (idProblem(candidate.file) === undefined && idProblem(candidate.rev) === undefined && await store.has(candidate.file, candidate.rev)) return candidate
  }
  const { file, rev } = parseKeySpec(spec)
  checkId(file, 'file id', spec)
  checkId(rev, 'revision', spec)
  if (rev.length < MIN_REVISION_PREFIX) {
    throw new VstoreError('VSTORE_NOT_FOUND', `no such revision (a prefix needs at least ${MIN_REVISION_PREFIX} characters)`, spec)
  }
  return { file, rev: await store.resolveRevision(file, rev) }
}

/**
 * The `--file` ids given (undefined: none, so all files), each checked to have a text in `store`.
 * @throws VSTORE_USAGE for an id no key can have; VSTORE_NOT_FOUND (with `missing`) for a file without texts.
 */
export async function givenFiles(files: readonly string[], store: Store, missing: string): Promise<string[] | undefined> {
  if (files.length === 0) return undefined
  const checked = files.map(file => checkId(file, 'file id', file))
  for (const file of checked) if ((await store.revisions(file)).length === 0) throw new VstoreError('VSTORE_NOT_FOUND', missing, file)
  return checked
}
