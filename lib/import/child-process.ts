/**
 * What the importers share about the child processes they run (git, a decompressor, npm): how one exited,
 * and what is kept of its stderr for error messages (its first 64 KiB, and the first line that says something).
 */
import type { ChildProcess } from 'node:child_process'
import type { Readable } from 'node:stream'

/** How a child ended: its exit code or signal, or the error that kept it from running. */
export interface ChildExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly error?: Error
}

/** Resolves once `child` has ended and its output streams are closed (never rejects). */
export function exitOf(child: ChildProcess): Promise<ChildExit> {
  return new Promise(resolve => {
    child.on('error', error => resolve({ code: null, signal: null, error }))
    child.on('close', (code, signal) => resolve({ code, signal }))
  })
}

const STDERR_KEPT_BYTE_LENGTH = 64 * 1024

/** Starts collecting `stderr` (as UTF-8, up to 64 KiB); the function returns what came so far. */
export function keepStderr(stderr: Readable): () => string {
  let kept = ''
  stderr.on('error', () => {})
  stderr.on('data', (chunk: Buffer) => {
    if (kept.length < STDERR_KEPT_BYTE_LENGTH) kept += chunk.toString('utf8')
  })
  return () => kept
}

/** The first line of `stderr` that is not blank (trimmed), skipping lines `skip` matches; or undefined. */
export function firstStderrLine(stderr: string, skip?: RegExp): string | undefined {
  return stderr.split('\n').map(line => line.trim()).find(line => line !== '' && skip?.test(line) !== true)
}
