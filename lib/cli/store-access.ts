/** Opens the command's store: its path checked first, read-only for a reader, locked for a writer. */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_STORE_OPTIONS, Store, VstoreError, type StoreOptions } from '../vstore.js'
import type { Command } from './command-line.js'

/**
 * How a command uses its store: `read` never takes the writer's lock and changes no file of the store (it
 * reads a private copy of the index as of the last commit, Store.open's `readOnly`, so a writer may start
 * or go on beside it); `write` takes the lock on a store that must exist; `create` also makes a missing one.
 */
export type StoreAccess = 'read' | 'write' | 'create'

function storeOptions(command: Command, create: boolean): StoreOptions {
  return {
    create,
    ...(command.codec === undefined ? {} : { codec: command.codec }),
    ...(command.maxTextByteLength === undefined ? {} : { maxTextByteLength: command.maxTextByteLength }),
    ...(command.noAutoPack ? { autoPack: false } : {}),
  }
}

/**
 * Refuses a store path that cannot be a store, before Store.open sees it (which would fail half-way with
 * a bare ENOTDIR, or add packs/ and index/ to someone's folder): a file, or a path through a file, for
 * every command; and, for a command that creates its store (`create`), a folder that holds other things.
 * A store is a folder with an index/ folder in it (lib/store/layout.ts); a folder holding only packs/ and
 * index.new-* staging folders is a store whose creation was cut short, which creating it again finishes.
 * `role` names the path as the command line does (`--store`, `SRC-STORE`).
 * @returns whether a store is there already (false also when the path cannot be read: Store.open says why).
 * @throws VSTORE_USAGE
 */
export async function checkStorePath(path: string, role: string, create: boolean): Promise<boolean> {
  let names: string[]
  try {
    names = await readdir(path)
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOTDIR') return false
    const found = await stat(path).catch(() => undefined)
    const what = found === undefined ? 'goes through a file' : found.isFile() ? 'is a file' : 'is not a directory'
    throw new VstoreError('VSTORE_USAGE', `${role} ${path} ${what}, not a store directory`, path)
  }
  const index = await stat(join(path, 'index')).catch(() => undefined)
  if (index?.isDirectory() === true) return true
  if (create && !names.every(name => name === 'packs' || name.startsWith('index.new-'))) {
    throw new VstoreError('VSTORE_USAGE', `${path} is not empty and not a vstore (it has no index/ folder): give ${role} an empty or new folder`, path)
  }
  return false
}

/** Opens the command's store (`--store`) as `access` says. */
export async function openStore(command: Command, access: StoreAccess): Promise<Store> {
  await checkStorePath(command.store, '--store', access === 'create')
  const options = access === 'read' ? { readOnly: true } : storeOptions(command, access === 'create')
  return Store.open(command.store, options)
}


/** Runs `body` on the command's store, opened as `access` says, and closes it. */
export async function withStore<T>(command: Command, access: StoreAccess, body: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(command, access)
  try {
    return await body(store)
  } finally {
    await store.close()
  }
}

/**
 * The longest text the command's store takes (--max-text-size, or the store's default): the importers refuse
 * a longer one from its declared size, before reading its bytes, as the store would refuse it after.
 */
export function textLimit(command: Command): number {
  return command.maxTextByteLength ?? DEFAULT_STORE_OPTIONS.maxTextByteLength
}
