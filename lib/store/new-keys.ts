/**
 * The checks a key passes before a batch takes it, alike for insert and fetch: a well-formed record, a
 * text within the store's limit, a key stored already only with the same content and parents, and every
 * parent stored or earlier in the batch.
 */
import { VstoreError } from '../errors.js'
import { MAX_PARENTS, describeKey } from '../index/records.js'
import { hashesMatch, isWholeHash } from './text-hash.js'
import type { TextKey, TextRecord } from './types.js'

/** What a key is known with: its content hash, parents and origin. */
export interface KnownKey {
  readonly hash: Uint8Array
  /** The text's length, where known: texts of other lengths differ whatever their short checks say. */
  readonly textByteLength?: number
  readonly parents: readonly string[]
  readonly origin?: TextKey | undefined
}

/** How insert and fetch word the refusals (fetch speaks of its source). */
export interface NewKeyWords {
  readonly otherContent: string
  readonly otherParents: string
  readonly missingParent: (parent: string) => string
  readonly missingOrigin: (origin: TextKey) => string
}

export const INSERT_WORDS: NewKeyWords = {
  otherContent: 'this key is already stored with other content',
  otherParents: 'this key is already stored with parents',
  missingParent: parent => `parent ${parent} is neither stored nor earlier in this batch`,
  missingOrigin: origin => `origin ${describeKey(origin)} is neither stored nor earlier in this batch`,
}

export const FETCH_WORDS: NewKeyWords = {
  otherContent: 'this key is stored here with other content than in the source',
  otherParents: 'this key is stored here with parents',
  missingParent: parent => `parent ${parent} is neither in the source nor here`,
  missingOrigin: origin => `origin ${describeKey(origin)} is neither fetched nor here (fetch its file too)`,
}

function sameParents(stored: readonly string[], given: readonly string[]): boolean {
  const unique = [...new Set(given)]
  return unique.length === stored.length && unique.every((parent, i) => parent === stored[i])
}

/**
 * Whether `key` is new (`true`) or stored already with the same content and parents (`false`; the origin
 * it was stored with stays, whatever `given` names).
 * Where a stored hash is short (a text under 16 KiB: a check, not a name), `sameContent`, when given,
 * compares the texts themselves. A new key's origin is checked with `originKnown` when it is given (fetch
 * checks origins once it knows every key it takes).
 * @throws VSTORE_EXISTS when it is stored with other content or parents; VSTORE_MISSING_PARENT when
 * a new key's parent (`parentKnown`) or origin is not known.
 */
export async function isNewKey(
  key: TextKey, given: KnownKey, known: KnownKey | undefined, parentKnown: (rev: string) => Promise<boolean>, words: NewKeyWords,
  sameContent?: () => Promise<boolean>, originKnown?: (origin: TextKey) => Promise<boolean>,
): Promise<boolean> {
  if (known !== undefined) {
    const sameLength = known.textByteLength === undefined || given.textByteLength === undefined || known.textByteLength === given.textByteLength
    const same = sameLength && hashesMatch(known.hash, given.hash)
      && (isWholeHash(known.hash) && isWholeHash(given.hash) || sameContent === undefined || (await sameContent()))
    if (!same) throw new VstoreError('VSTORE_EXISTS', words.otherContent, describeKey(key))
    if (!sameParents(known.parents, given.parents)) throw new VstoreError('VSTORE_EXISTS', `${words.otherParents} [${known.parents.join(', ')}]`, describeKey(key))
    // An origin is a finding of rename detection, which may differ from run to run: the stored one stays.
    return false
  }
  for (const parent of given.parents) {
    if (!(await parentKnown(parent))) throw new VstoreError('VSTORE_MISSING_PARENT', words.missingParent(parent), describeKey(key))
  }
  if (given.origin !== undefined && originKnown !== undefined && !(await originKnown(given.origin))) {
    throw new VstoreError('VSTORE_MISSING_PARENT', words.missingOrigin(given.origin), describeKey(key))
  }
  return true
}

/** @throws VSTORE_LIMIT when a text of `byteLength` bytes is longer than the store takes (StoreOptions.maxTextByteLength). */
export function checkTextByteLength(byteLength: number, key: TextKey, maxTextByteLength: number): void {
  if (byteLength > maxTextByteLength) {
    throw new VstoreError('VSTORE_LIMIT', `${byteLength} bytes, over the limit of ${maxTextByteLength} bytes for one text (maxTextByteLength, --max-text-size)`, describeKey(key))
  }
}

function usage(message: string): VstoreError {
  return new VstoreError('VSTORE_USAGE', message, 'insert')
}

/** @throws VSTORE_USAGE for a record that is not { file, rev, parents, text } with non-empty ids; VSTORE_LIMIT for too many parents. */
export function checkRecord(record: TextRecord): void {
  if (typeof record !== 'object' || record === null) throw usage('a record must be an object { file, rev, parents, text }')
  if (typeof record.file !== 'string' || record.file.length === 0) throw usage('record.file must be a non-empty string')
  if (typeof record.rev !== 'string' || record.rev.length === 0) throw usage(`record.rev must be a non-empty string (${record.file})`)
  if (!Array.isArray(record.parents) || record.parents.some(p => typeof p !== 'string' || p.length === 0)) {
    throw usage(`record.parents must be an array of revision ids (${record.file}@${record.rev})`)
  }
  if (!(record.text instanceof Uint8Array)) throw usage(`record.text must be a Uint8Array (${record.file}@${record.rev})`)
  if (record.parents.includes(record.rev)) throw usage(`a text cannot be its own parent (${record.file}@${record.rev})`)
  if (record.origin !== undefined) {
    const { origin } = record
    if (typeof origin !== 'object' || origin === null || typeof origin.file !== 'string' || origin.file.length === 0 || typeof origin.rev !== 'string' || origin.rev.length === 0) {
      throw usage(`record.origin must be { file, rev } with non-empty ids (${record.file}@${record.rev})`)
    }
    if (origin.file === record.file) throw usage(`an origin is a version of another file; a version of the same file is a parent (${record.file}@${record.rev})`)
  }
  if (record.parents.length > MAX_PARENTS) {
    throw new VstoreError('VSTORE_LIMIT', `${record.parents.length} parents, at most ${MAX_PARENTS}`, describeKey(record))
  }
}
