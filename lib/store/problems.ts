/** Verify's problems: one made from an error, naming the keys it affects. */
import { VstoreError } from '../errors.js'
import { plainKey } from './locations.js'
import type { TextKey, VerifyProblem } from './types.js'

/** A VstoreError as a problem (its own `where`, else `where`); any other error is a bug and is thrown. */
export function problemOf(error: unknown, where: string, keys: readonly TextKey[]): VerifyProblem {
  if (error instanceof VstoreError) return { code: error.code, where: error.where || where, message: error.message, keys: keys.map(plainKey) }
  throw error
}
