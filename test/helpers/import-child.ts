/**
 * A child process for the crash tests, run as `node dist/test/helpers/import-child.js STORE REPO [OPTIONS_JSON]`:
 * opens (creating) the store through the public API, inserts `importGit(REPO)`, closes it, and prints the
 * insert's summary as JSON on stdout. That line is the acknowledgement: printed only after the insert
 * resolved and the store closed.
 *
 * OPTIONS_JSON is `{ "checkpointByteLength"?: number, "storeOptions"?: StoreOptions, "packCount"?: number }`; with
 * `packCount`, the insert is followed by that many `Store.pack()` calls (for readers beside a repack). The CLI commits only
 * every 256 MiB of new text and has no option to change that; a small checkpoint here makes a small history
 * commit many times, so that kills land between and during commits.
 *
 * Importing this module runs it: only ever start it as a child.
 */
import { Store, importGit, type InsertOptions, type StoreOptions } from '../../lib/vstore.js'

const [store, repo, optionsJson] = process.argv.slice(2)
if (store === undefined || repo === undefined) throw new Error('usage: import-child STORE REPO [OPTIONS_JSON]')
const options = JSON.parse(optionsJson ?? '{}') as { checkpointByteLength?: number; storeOptions?: Omit<StoreOptions, 'create'>; packCount?: number }
const opened = await Store.open(store, { ...options.storeOptions, create: true })
let summary
try {
  const insertOptions: InsertOptions = options.checkpointByteLength === undefined ? {} : { checkpointByteLength: options.checkpointByteLength }
  summary = await opened.insert(importGit(repo), insertOptions)
  for (let i = 0; i < (options.packCount ?? 0); i++) await opened.pack()
} finally {
  await opened.close()
}
process.stdout.write(`${JSON.stringify(summary)}\n`)
