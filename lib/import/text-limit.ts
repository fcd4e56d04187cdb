/**
 * The store refuses a text over its limit when `insert` receives it, but by then an importer has read the
 * whole text into memory. So each importer refuses it earlier, from the length its input declares before the
 * bytes (a tar header, a zip directory, git cat-file's header, a fast-export `data` line, a record frame),
 * with the same error the store gives.
 */
import { VstoreError } from '../errors.js'

/** The option every importer takes, with one meaning. */
export interface TextLimitOptions {
  /**
   * The longest text, in bytes, the import may yield; default: no limit. A text whose declared length is
   * over it is refused before its bytes are read (or inflated), so the import costs no memory for it.
   * The store's own limit (`--max-text-size`) is the value to pass.
   * @throws VstoreError `VSTORE_LIMIT`, where = the key the text would have had (`path@rev`) or, when no key
   *   is known yet, the place in the input (the path inside an archive, a stream offset).
   * @throws VstoreError `VSTORE_USAGE` (when the import starts) for a value that is not a whole number ≥ 0.
   */
  readonly maxTextByteLength?: number
}

/**
 * Checks an importer's `maxTextByteLength` option up front: NaN or a negative limit would silently let
 * everything through, or refuse everything.
 * @throws VstoreError `VSTORE_USAGE` when it is not `undefined` or a safe integer ≥ 0.
 */
export function checkMaxTextByteLength(maxTextByteLength: number | undefined): void {
  if (maxTextByteLength === undefined) return
  if (!Number.isSafeInteger(maxTextByteLength) || maxTextByteLength < 0) {
    throw new VstoreError('VSTORE_USAGE', `maxTextByteLength must be a whole number of bytes >= 0, got ${maxTextByteLength}`, 'import options')
  }
}

/**
 * Refuses a text of `byteLength` bytes (declared, or produced so far) when it is over `maxTextByteLength`;
 * `undefined` is no limit.
 * @throws VstoreError `VSTORE_LIMIT` naming `where`.
 */
export function checkTextByteLength(byteLength: number, maxTextByteLength: number | undefined, where: string): void {
  if (maxTextByteLength !== undefined && byteLength > maxTextByteLength) {
    throw new VstoreError('VSTORE_LIMIT', `${byteLength} bytes, over the limit of ${maxTextByteLength} bytes for one text (--max-text-size)`, where)
  }
}
