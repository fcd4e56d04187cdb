/**
 * A child process for the crash tests, run as `node dist/test/helpers/import-child.js STORE REPO [OPTIONS_JSON]`:
 * opens (creating) the store through the public API, inserts `importGit(REPO)`, closes it, and prints the
 * insert's summary as JSON on stdout. That line is the acknowledgement: printed only after the insert
 * resolved and the store closed.
 *
 * OPTIONS_JSON is `{ "checkpointByteLength"?: number, "storeOptions"?: StoreOptions, "packCount"?: number, "perCommit"?: boolean }`;
 * with `packCount`, the insert is followed by that many `Store.pack()` calls (for readers beside a repack); with
 * `perCommit`, each commit's texts are one insert, as a VCS writes them (with the store's automatic packing,
 * if its options leave it on), and the summary printed adds them up. The CLI commits only
 * every 256 MiB of new text and has no option to change that; a small checkpoint here makes a small history
 * commit many times, so that kills land between and during commits.
 *
 * Importing this module runs it: only ever start it as a child.
 */
import { Store, importGit, type InsertOptions, type InsertSummary, type StoreOptions, type TextRecord } from '../../lib/vstore.js'

/** One insert per commit (importGit yields a commit's texts together), the summaries added up. */
async function insertPerCommit(store: Store, repo: string): Promise<InsertSummary> {
  const total = { textCount: 0, newTextCount: 0, duplicateTextCount: 0, rawByteLength: 0, newRawByteLength: 0, groupCount: 0, storedByteLength: 0 }
  let commit: TextRecord[] = []
  const flush = async () => {
    if (commit.length === 0) return
    const summary = await store.insert(commit)
    if (summary.packProblem !== undefined) throw new Error(`automatic packing failed: ${summary.packProblem}`)
    for (const name of Object.keys(total) as (keyof typeof total)[]) total[name] += summary[name]
    commit = []
  }
  for await (const record of importGit(repo)) {
    if (commit.length > 0 && commit[0]?.rev !== record.rev) await flush()
    commit.push(record)
  }
  await flush()
  return total
}

const [store, repo, optionsJson] = process.argv.slice(2)
if (store === undefined || repo === undefined) throw new Error('usage: import-child STORE REPO [OPTIONS_JSON]')
const options = JSON.parse(optionsJson ?? '{}') as { checkpointByteLength?: number; storeOptions?: Omit<StoreOptions, 'create'>; packCount?: number; perCommit?: boolean }
const opened = await Store.open(store, { ...options.storeOptions, create: true })
let summary
try {
  const insertOptions: InsertOptions = options.checkpointByteLength === undefined ? {} : { checkpointByteLength: options.checkpointByteLength }
  summary = options.perCommit === true ? await insertPerCommit(opened, repo) : await opened.insert(importGit(repo), insertOptions)
  for (let i = 0; i < (options.packCount ?? 0); i++) await opened.pack()
} finally {
  await opened.close()
}
process.stdout.write(`${JSON.stringify(summary)}\n`)
