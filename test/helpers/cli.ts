/**
 * Running the real CLI (`node bin/vstore ...`) in a child process, for the tests that check it end to end.
 */
import type { ExecutionContext } from 'ava'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root: the tests run from dist/test/<folder>/. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const BIN = join(ROOT, 'bin', 'vstore')
/** A single process that runs longer than this fails its test rather than hanging the run. */
export const PROCESS_TIMEOUT_MILLISECONDS = 60_000

/** The environment without the caller's git settings, so repositories made in a test behave the same everywhere. */
export const CLI_ENVIRONMENT: NodeJS.ProcessEnv = (() => {
  const environment: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CEILING_DIRECTORIES: tmpdir(),
    GIT_TERMINAL_PROMPT: '0',
  }
  for (const name of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR']) delete environment[name]
  return environment
})()

export interface Run {
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: Buffer
  readonly stderr: string
}

export interface RunOptions {
  readonly cwd?: string
  readonly input?: string | Uint8Array
  readonly env?: NodeJS.ProcessEnv
}

/** Runs `command ...args` to its end. */
export function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Run {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? CLI_ENVIRONMENT,
    input: options.input ?? '',
    maxBuffer: 256 * 1024 * 1024,
    timeout: PROCESS_TIMEOUT_MILLISECONDS,
  })
  if (result.error !== undefined) throw result.error
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr.toString('utf8') }
}

/** Runs `node bin/vstore ...args` to its end. */
export function runVstore(args: readonly string[], options: RunOptions = {}): Run {
  return runProcess(process.execPath, [BIN, ...args], options)
}

export function describeRun(run: Run): string {
  return `exit ${run.status}${run.signal === null ? '' : ` (signal ${run.signal})`}\nstdout: ${run.stdout.toString('utf8').slice(0, 1000)}\nstderr: ${run.stderr.slice(0, 2000)}`
}

/** Exit 0 with nothing on stderr; returns stdout as text. */
export function succeeds(t: ExecutionContext, run: Run): string {
  t.is(run.status, 0, describeRun(run))
  t.is(run.stderr, '', describeRun(run))
  return run.stdout.toString('utf8')
}

/** Exit `status`, nothing on stdout, exactly one stderr line starting `vstore: CODE (`; returns that line. */
export function failsWith(t: ExecutionContext, run: Run, status: number, code: string): string {
  t.is(run.status, status, describeRun(run))
  t.is(run.stdout.length, 0, describeRun(run))
  t.true(run.stderr.startsWith(`vstore: ${code} (`), describeRun(run))
  t.true(run.stderr.endsWith('\n') && run.stderr.indexOf('\n') === run.stderr.length - 1, `one stderr line: ${JSON.stringify(run.stderr)}`)
  return run.stderr
}
