/** Store helpers shared by the tests that use the library directly. */
import type { ExecutionContext } from 'ava'
import { Store, type IndexDumpRow, type StoreOptions } from '../../lib/vstore.js'

/** Opens a store that the test closes when it ends (before its temp dir is removed). */
export async function openStore(t: ExecutionContext, dir: string, options: StoreOptions = {}): Promise<Store> {
  const store = await Store.open(dir, options)
  t.teardown(() => store.close())
  return store
}

/** Every index row, in index order. */
export async function dumpIndex(store: Store): Promise<IndexDumpRow[]> {
  const rows: IndexDumpRow[] = []
  for await (const row of store.dumpIndex()) rows.push(row)
  return rows
}
