/** File helpers the store shares: whether a path exists, and syncing a directory's entries to disk. */
import { open, stat } from 'node:fs/promises'

/** Whether anything is at `path`. */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}

/** Makes a folder's entries (files created, renamed or removed in it) durable. */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
