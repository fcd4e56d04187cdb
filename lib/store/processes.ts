/** Who holds a store for writing: the owner file a writer leaves, and whether the process it names is still that process. */
import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { ownerPath } from './layout.js'

/** Whether a process of this host with this id is alive (one we may not signal counts as alive). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM'
  }
}

/**
 * When the process started, in clock ticks since boot (Linux: field 22 of /proc/PID/stat), or undefined
 * where that cannot be read: with its pid it names one process, where a pid alone may have been reused.
 */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/** The writer that holds a store, as its owner file says (written after it took the lock). */
export interface Owner {
  readonly pid: number
  /** When it took the store, in milliseconds since the epoch. */
  readonly since: number
  readonly command: string
}

/** Writes the owner file of the process that has just taken the store's lock. */
export async function writeOwner(dir: string, now: number): Promise<void> {
  const owner = { pid: process.pid, host: hostname(), start: processStartTime(process.pid), since: new Date(now).toISOString(), command: process.argv.slice(1).join(' ') }
  await writeFile(ownerPath(dir), `${JSON.stringify(owner)}\n`)
}

/**
 * The live process that holds the store, from its owner file; undefined when the file names none that
 * still runs on this host (a writer killed before it could remove the file leaves it until the next writer
 * replaces it, and its pid may since have gone to another process: the start time tells them apart) or
 * cannot be read.
 */
export async function liveOwner(dir: string): Promise<Owner | undefined> {
  let owner: { pid?: unknown; host?: unknown; start?: unknown; since?: unknown; command?: unknown }
  try {
    owner = JSON.parse(await readFile(ownerPath(dir), 'utf8')) as typeof owner
  } catch {
    return undefined
  }
  const pid = typeof owner.pid === 'number' ? owner.pid : undefined
  if (pid === undefined || owner.host !== hostname() || !processAlive(pid)) return undefined
  if (typeof owner.start === 'string' && processStartTime(pid) !== owner.start) return undefined
  const since = typeof owner.since === 'string' ? Date.parse(owner.since) : Number.NaN
  return { pid, since, command: String(owner.command) }
}

/** A duration in words: `45 s`, `3 min 20 s`, `2 h 5 min`. */
export function describeDuration(milliseconds: number): string {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000))
  if (seconds < 60) return `${seconds} s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`
}

/** Who holds the store, in words, for a lock error. `now` is the clock, in milliseconds. */
export function describeOwner(owner: Owner | undefined, now: number): string {
  if (owner === undefined) return 'which process is not recorded'
  const held = Number.isNaN(owner.since) ? '' : `, for ${describeDuration(now - owner.since)}`
  return `pid ${owner.pid}${held}: ${owner.command}`
}
