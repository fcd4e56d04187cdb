/** Errors as the CLI reports them: the exit status for each code, and the one line on stderr. */
import { VstoreError } from '../errors.js'

/** Exit status for an error: 2 usage, 3 not found, 4 damaged or unreadable data, 5 locked, 6 other codes, 1 a bug. */
export function exitStatusFor(error: unknown): number {
  if (!(error instanceof VstoreError)) return 1
  switch (error.code) {
    case 'VSTORE_USAGE': return 2
    case 'VSTORE_NOT_FOUND': return 3
    case 'VSTORE_CORRUPT':
    case 'VSTORE_UNSUPPORTED':
    case 'VSTORE_LIMIT': return 4
    case 'VSTORE_LOCKED': return 5
    default: return 6
  }
}

/** The one line the CLI prints on stderr for an error. */
export function describeError(error: unknown): string {
  if (error instanceof VstoreError) return `vstore: ${error.code} (${error.where}): ${error.message}`
  if (error instanceof Error) return `vstore: bug: ${error.stack ?? error.message}`
  return `vstore: bug: ${String(error)}`
}
