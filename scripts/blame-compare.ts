/**
 * `vstore annotate` next to `git blame` on the same file, for the figures in DESIGN.md:
 *
 *   node dist/scripts/blame-compare.js STORE GIT_REPO FILE [REV]
 *
 * STORE holds an `import-git` of GIT_REPO; REV (default: the file's newest head in the store) is a full
 * commit id. Runs both as a user would (`bin/vstore annotate --json`, `git blame --porcelain`), timing each,
 * and prints one JSON object: lines, how many lines both give the same commit and line number, how many of
 * the others vstore puts on the file's first version (where git blame follows a rename the file id does
 * not), and the two times.
 */
import { execFileSync } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = join(ROOT, 'bin', 'vstore')
const [store, repo, file, given] = process.argv.slice(2)
if (store === undefined || repo === undefined || file === undefined) throw new Error('usage: blame-compare STORE GIT_REPO FILE [REV]')

const run = (command: string, args: readonly string[]): string => execFileSync(command, args, { maxBuffer: 1 << 30 }).toString('latin1')
// `vstore log` prints "REV PARENT..." per revision, newest first; roots have no parents.
const log = run(BIN, ['--store', store, 'log', file]).trim().split('\n').map(line => line.trim().split(' '))
const rev = given ?? (log[0]?.[0] as string)
const roots = new Set(log.filter(fields => fields.length === 1).map(fields => fields[0] as string))

let started = performance.now()
const ours = JSON.parse(run(BIN, ['--store', store, 'annotate', `${file}@${rev}`, '--json'])) as { rev: string; lineNumber: number }[]
const vstoreMs = performance.now() - started
started = performance.now()
const porcelain = run('git', ['-C', repo, 'blame', '--porcelain', rev, '--', file])
const gitMs = performance.now() - started

const theirs: { rev: string; lineNumber: number }[] = []
for (const line of porcelain.split('\n')) {
  const match = /^([0-9a-f]{40}) (\d+) (\d+)/.exec(line)
  if (match !== null) theirs[Number(match[3]) - 1] = { rev: match[1] as string, lineNumber: Number(match[2]) }
}
let same = 0
let othersAtRoot = 0
ours.forEach((line, i) => {
  if (line.rev === theirs[i]?.rev && line.lineNumber === theirs[i]?.lineNumber) same++
  else if (roots.has(line.rev)) othersAtRoot++
})
const comparable = ours.length - othersAtRoot
process.stdout.write(`${JSON.stringify({
  file, rev, versions: log.length, lines: ours.length, gitLines: theirs.length, same, othersAtRoot,
  sameOfComparable: comparable === 0 ? 1 : same / comparable, vstoreMs: Math.round(vstoreMs), gitMs: Math.round(gitMs),
})}\n`)
