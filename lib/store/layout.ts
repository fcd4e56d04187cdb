/** The names of things inside a store directory: the index, the packs, the owner file, temporary files. */
import { join } from 'node:path'

export function indexPath(dir: string): string {
  return join(dir, 'index')
}

export function packsPath(dir: string): string {
  return join(dir, 'packs')
}

/** Who has the store open (informational: LevelDB's lock on index/ is the lock). */
export function ownerPath(dir: string): string {
  return join(dir, 'owner.json')
}

/** Temporary files of the writer (insert spills); whatever is here when a store is opened is a dead writer's. */
export function tmpPath(dir: string): string {
  return join(dir, 'tmp')
}

export function packName(packId: number): string {
  return `packs/${String(packId).padStart(6, '0')}.vpk`
}

export function packPath(dir: string, packId: number): string {
  return join(dir, packName(packId))
}

/** The pack id of a file name in packs/, or undefined for anything else (including non-canonical names). */
export function parsePackFileName(name: string): number | undefined {
  const match = /^(\d{6,})\.vpk$/.exec(name)
  if (!match) return undefined
  const packId = Number(match[1])
  return `packs/${name}` === packName(packId) ? packId : undefined
}
