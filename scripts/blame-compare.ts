/**
 * `vstore annotate` next to `git blame` on the same file, for the figures in DESIGN.md:
 *
 *   node dist/scripts/blame-compare.js STORE GIT_REPO FILE [REV]
 *
 * STORE holds an `import-git` of GIT_REPO; REV (default: the file's newest head in the store) is a full
 * commit id. When GIT_REPO does not exist, it is made from the store: one commit per revision of FILE, with
 * the parents of the file's own graph and the revision id as its message (`git fast-import`), so that
 * histories without a git repository (release tarballs, the synthetic corpus) compare too; git's commit
 * ids are then mapped back to revisions.
 *
 * Runs both as a user would (`bin/vstore annotate --json`, `git blame --porcelain`), timing each, and
 * prints one JSON object: lines, how many lines both give the same revision and line number, how many of
 * the others vstore puts on the file's first version (where git blame follows a rename the file id does
 * not), and the two times.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Store } from '../lib/vstore.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = join(ROOT, 'bin', 'vstore')
const [store, repo, file, given] = process.argv.slice(2)
if (store === undefined || repo === undefined || file === undefined) throw new Error('usage: blame-compare STORE GIT_REPO FILE [REV]')

const run = (command: string, args: readonly string[]): string => execFileSync(command, args, { maxBuffer: 1 << 30 }).toString('latin1')

/** Writes FILE's history in STORE into a new repository at `dir`; returns git's commit id → revision. */
async function makeRepository(dir: string): Promise<Map<string, string>> {
  run('git', ['init', '-q', '-b', 'main', dir])
  const marksFile = join(dir, '.git', 'vstore-marks')
  const child = spawn('git', ['-C', dir, 'fast-import', '--quiet', `--export-marks=${marksFile}`], { stdio: ['pipe', 'inherit', 'inherit'] })
  const exited = new Promise<number | null>(done => child.on('close', done))
  const write = async (bytes: Uint8Array | string) => {
    if (!child.stdin.write(bytes)) await new Promise(done => child.stdin.once('drain', done))
  }
  const source = await Store.open(store as string, { readOnly: true })
  const markOf = new Map<string, number>()
  const revOfMark = new Map<number, string>()
  try {
    const revs = await source.revisions(file as string)
    for (let start = 0; start < revs.length; start += 256) {
      const chunk = revs.slice(start, start + 256)
      const texts = new Map<string, Uint8Array>()
      for await (const { rev, text } of source.getMany(chunk.map(rev => ({ file: file as string, rev })))) texts.set(rev, text)
      for (const rev of chunk) {
        const mark = markOf.size + 1
        markOf.set(rev, mark)
        revOfMark.set(mark, rev)
        const parents = (await source.parents(file as string, rev)).map(parent => markOf.get(parent) as number)
        const message = Buffer.from(rev)
        const text = texts.get(rev) as Uint8Array
        // A root starts from nothing: without `from`, a commit's parent is the branch's tip.
        if (parents.length === 0) await write('reset refs/heads/main\n')
        await write(`commit refs/heads/main\nmark :${mark}\ncommitter vstore <vstore@example.org> ${1_000_000_000 + mark} +0000\ndata ${message.length}\n`)
        await write(message)
        await write('\n')
        for (const [i, parent] of parents.entries()) await write(`${i === 0 ? 'from' : 'merge'} :${parent}\n`)
        await write(`M 100644 inline ${file}\ndata ${text.length}\n`)
        await write(text)
        await write('\n')
      }
    }
  } finally {
    await source.close()
  }
  child.stdin.end()
  if ((await exited) !== 0) throw new Error('git fast-import failed')
  const revOfCommit = new Map<string, string>()
  for (const line of readFileSync(marksFile, 'latin1').trim().split('\n')) {
    const [mark, commit] = line.split(' ')
    revOfCommit.set(commit as string, revOfMark.get(Number((mark as string).slice(1))) as string)
  }
  return revOfCommit
}

/** A repository made earlier by this script: its commits' messages are the revisions. */
function readRepository(dir: string): Map<string, string> {
  const revOfCommit = new Map<string, string>()
  for (const line of run('git', ['-C', dir, 'log', '--all', '--format=%H %s']).trim().split('\n')) revOfCommit.set(line.slice(0, 40), line.slice(41))
  return revOfCommit
}

const made = !existsSync(repo) ? await makeRepository(repo) : existsSync(join(repo, '.git', 'vstore-marks')) ? readRepository(repo) : undefined
const commitOf = new Map([...(made ?? [])].map(([commit, rev]) => [rev, commit]))
// `vstore log` prints "REV PARENT..." per revision, newest first; roots have no parents.
const log = run(BIN, ['--store', store, 'log', file]).trim().split('\n').map(line => line.trim().split(' '))
const rev = given ?? (log[0]?.[0] as string)
const roots = new Set(log.filter(fields => fields.length === 1).map(fields => fields[0] as string))

let started = performance.now()
const ours = JSON.parse(run(BIN, ['--store', store, 'annotate', `${file}@${rev}`, '--json'])) as { rev: string; lineNumber: number }[]
const vstoreMs = performance.now() - started
started = performance.now()
const porcelain = run('git', ['-C', repo, 'blame', '--porcelain', commitOf.get(rev) ?? rev, '--', file])
const gitMs = performance.now() - started

const theirs: { rev: string; lineNumber: number }[] = []
for (const line of porcelain.split('\n')) {
  const match = /^([0-9a-f]{40}) (\d+) (\d+)/.exec(line)
  if (match !== null) theirs[Number(match[3]) - 1] = { rev: made?.get(match[1] as string) ?? (match[1] as string), lineNumber: Number(match[2]) }
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
