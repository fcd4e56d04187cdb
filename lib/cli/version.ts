/** The line `vstore --version` prints: this build's version and the store format it writes. */
import { readFile } from 'node:fs/promises'
import { STORE_FORMAT_VERSION } from '../vstore.js'

/**
 * `vstore 0.1.0 (store format 2)`: the package's version and the store format this build writes. package.json
 * is read here, for this option only, so that no command's start-up pays for it; the compiled module is
 * dist/lib/cli/version.js, three folders below it.
 */
export async function versionLine(): Promise<string> {
  const manifest: unknown = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8'))
  const version = typeof manifest === 'object' && manifest !== null && 'version' in manifest ? manifest.version : undefined
  if (typeof version !== 'string') throw new Error('vstore bug: package.json has no version')
  return `vstore ${version} (store format ${STORE_FORMAT_VERSION})\n`
}
