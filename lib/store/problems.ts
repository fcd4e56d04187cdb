/** Errors and verify's problems, named by the keys they affect. */
import { VstoreError } from '../errors.js'
import { describeKey } from '../index/records.js'
import { plainKey } from './locations.js'
import type { TextKey, VerifyProblem } from './types.js'

/** A VstoreError as a problem (its own `where`, else `where`); any other error is a bug and is thrown. */
export function problemOf(error: unknown, where: string, keys: readonly TextKey[]): VerifyProblem {
  if (error instanceof VstoreError) return { code: error.code, where: error.where || where, message: error.message, keys: keys.map(plainKey) }
  throw error
}

/** Re-labels an error with the key it affects (its own `where` goes into the message); any other error is returned as it is. */
export function naming(error: unknown, key: TextKey): unknown {
  if (!(error instanceof VstoreError)) return error
  return new VstoreError(error.code, `${error.where}: ${error.message}`, describeKey(key), { cause: error })
}
