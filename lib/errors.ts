/**
 * The project's one error type. Codes are stable (tests and callers match on them); wording may change.
 * `where` names the file or key the error is about, e.g. `packs/000001.vpk@81920` or `index:README.md@r41`.
 */
export type VstoreCode =
  | 'VSTORE_NOT_FOUND'
  | 'VSTORE_EXISTS'
  | 'VSTORE_LOCKED'
  | 'VSTORE_IO'
  | 'VSTORE_IMPORT'
  | 'VSTORE_CORRUPT'
  | 'VSTORE_UNSUPPORTED'
  | 'VSTORE_LIMIT'
  | 'VSTORE_MISSING_PARENT'
  | 'VSTORE_USAGE'

export const VSTORE_CODES: readonly VstoreCode[] = [
  'VSTORE_NOT_FOUND', 'VSTORE_EXISTS', 'VSTORE_LOCKED', 'VSTORE_IO', 'VSTORE_IMPORT',
  'VSTORE_CORRUPT', 'VSTORE_UNSUPPORTED', 'VSTORE_LIMIT', 'VSTORE_MISSING_PARENT', 'VSTORE_USAGE',
]

export class VstoreError extends Error {
  override readonly name = 'VstoreError'
  constructor(readonly code: VstoreCode, message: string, readonly where: string, options?: ErrorOptions) {
    super(message, options)
  }
}

export function isVstoreError(error: unknown, code?: VstoreCode): error is VstoreError {
  return error instanceof VstoreError && (code === undefined || error.code === code)
}

/** The message of anything thrown: an Error's own, or the value as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
