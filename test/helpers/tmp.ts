import type { ExecutionContext } from 'ava'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A new empty directory under the system temp dir, removed when the test ends (pass or fail).
 * Teardowns run last-registered first, so a store opened after this call (and closed in its own
 * teardown) is closed before its directory goes.
 */
export async function makeTempDir(t: ExecutionContext, prefix = 'vstore-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}
