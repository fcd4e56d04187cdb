/**
 * Real git repositories for tests, made deterministic: fixed author and committer (via `-c`), dates that
 * advance one minute per commit from a fixed start, no global or system git config, branch `main`.
 */
import type { ExecutionContext } from 'ava'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { makeTempDir } from './tmp.js'

export interface GitRepo {
  /** The work tree (the repository is `<dir>/.git`). */
  readonly dir: string
  /** Commits made through `commit`/`merge`; each gets a date one minute after the previous one. */
  commitCount: number
}

const START_SECONDS = Date.UTC(2024, 0, 1) / 1000
const MAX_OUTPUT_BYTE_LENGTH = 256 * 1024 * 1024

function environmentAt(seconds: number): NodeJS.ProcessEnv {
  const date = `@${seconds} +0000`
  const environment: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
  }
  // Inside a git hook these would point git at another repository.
  for (const name of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR']) delete environment[name]
  return environment
}

const IDENTITY = ['-c', 'user.name=Vstore Test', '-c', 'user.email=test@vstore.invalid', '-c', 'commit.gpgsign=false', '-c', 'core.autocrlf=false']

/** Runs git in `cwd` and returns its stdout as bytes. @throws the child_process error (with stderr) when git fails. */
export function gitBytes(cwd: string, args: readonly string[], options: { input?: string | Uint8Array; seconds?: number } = {}): Buffer {
  return execFileSync('git', [...IDENTITY, ...args], {
    cwd,
    env: environmentAt(options.seconds ?? START_SECONDS),
    maxBuffer: MAX_OUTPUT_BYTE_LENGTH,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.input === undefined ? {} : { input: options.input }),
  })
}

/** Runs git in `cwd` and returns its stdout as text, trailing white space removed. */
export function git(cwd: string, ...args: string[]): string {
  return gitBytes(cwd, args).toString('utf8').trimEnd()
}

/** A new repository (`git init -b main`) in a temp dir the test removes when it ends. */
export async function makeGitRepo(t: ExecutionContext): Promise<GitRepo> {
  const dir = await makeTempDir(t, 'vstore-git-')
  git(dir, 'init', '-q', '-b', 'main')
  return { dir, commitCount: 0 }
}

/** Writes a file of the work tree (parent folders made as needed); `executable` sets mode 755. */
export function writeFile(repo: GitRepo, path: string, content: string | Uint8Array, options: { executable?: boolean } = {}): void {
  const full = join(repo.dir, path)
  mkdirSync(dirname(full), { recursive: true })
  writeFileSync(full, content)
  if (options.executable !== undefined) chmodSync(full, options.executable ? 0o755 : 0o644)
}

/** Sets or clears the executable bits of a file, leaving its bytes alone (a mode-only change). */
export function setExecutable(repo: GitRepo, path: string, executable: boolean): void {
  chmodSync(join(repo.dir, path), executable ? 0o755 : 0o644)
}

export function writeSymlink(repo: GitRepo, path: string, target: string): void {
  const full = join(repo.dir, path)
  mkdirSync(dirname(full), { recursive: true })
  symlinkSync(target, full)
}

export function deleteFile(repo: GitRepo, path: string): void {
  rmSync(join(repo.dir, path))
}

function nextSeconds(repo: GitRepo): number {
  repo.commitCount++
  return START_SECONDS + 60 * repo.commitCount
}

/** Stages everything (`add -A`) and commits; returns the new commit's full id. */
export function commit(repo: GitRepo, message: string): string {
  const seconds = nextSeconds(repo)
  gitBytes(repo.dir, ['add', '-A'], { seconds })
  gitBytes(repo.dir, ['commit', '-q', '--allow-empty', '-m', message], { seconds })
  return headOf(repo)
}

export function headOf(repo: GitRepo): string {
  return git(repo.dir, 'rev-parse', 'HEAD')
}

/** Creates branch `name` at the current commit (or `from`) and switches to it. */
export function branch(repo: GitRepo, name: string, from?: string): void {
  git(repo.dir, 'switch', '-q', '-c', name, ...(from === undefined ? [] : [from]))
}

export function switchTo(repo: GitRepo, name: string): void {
  git(repo.dir, 'switch', '-q', name)
}

/**
 * Merges `from` into the current branch with `--no-ff`, so there is always a merge commit. When git stops on
 * conflicts, `resolutions` gives each conflicted path's final content (null deletes it); any other conflict
 * fails the test's setup. Returns the merge commit's full id.
 */
export function merge(repo: GitRepo, from: string, message: string, resolutions: Readonly<Record<string, string | Uint8Array | null>> = {}): string {
  const seconds = nextSeconds(repo)
  try {
    gitBytes(repo.dir, ['merge', '-q', '--no-ff', '--no-edit', '-m', message, from], { seconds })
  } catch (error) {
    const conflicted = git(repo.dir, 'diff', '--name-only', '--diff-filter=U').split('\n').filter(line => line !== '')
    if (conflicted.length === 0) throw error
    for (const path of conflicted) {
      if (!(path in resolutions)) throw new Error(`merge of ${from}: no resolution given for conflicted ${path}`, { cause: error })
      const content = resolutions[path]
      if (content === null || content === undefined) deleteFile(repo, path)
      else writeFile(repo, path, content)
    }
    gitBytes(repo.dir, ['add', '-A'], { seconds })
    gitBytes(repo.dir, ['commit', '-q', '--no-edit', '-m', message], { seconds })
  }
  return headOf(repo)
}

function repoDir(repo: GitRepo | string): string {
  return typeof repo === 'string' ? repo : repo.dir
}

/** The bytes of `git show <rev>:<path>`. */
export function gitShow(repo: GitRepo | string, rev: string, path: string): Buffer {
  return gitBytes(repoDir(repo), ['show', `${rev}:${path}`])
}

/**
 * The bytes of many `<rev>:<path>` objects from one `git cat-file --batch` process, in the order asked.
 * @throws Error when an object is missing or the output is malformed.
 */
export function gitShowMany(repo: GitRepo | string, objects: readonly { rev: string; path: string }[]): Buffer[] {
  if (objects.length === 0) return []
  for (const { path } of objects) if (/[\n\r]/.test(path)) throw new RangeError(`cat-file --batch cannot name a path with a line break: ${JSON.stringify(path)}`)
  const input = objects.map(({ rev, path }) => `${rev}:${path}\n`).join('')
  const output = gitBytes(repoDir(repo), ['cat-file', '--batch'], { input })
  const blobs: Buffer[] = []
  let offset = 0
  for (const { rev, path } of objects) {
    const lineEnd = output.indexOf(0x0a, offset)
    if (lineEnd < 0) throw new Error(`git cat-file: output ended before ${rev}:${path}`)
    const header = output.subarray(offset, lineEnd).toString('utf8')
    const match = /^[0-9a-f]+ blob (\d+)$/.exec(header)
    if (match === null) throw new Error(`git cat-file: ${rev}:${path}: ${header}`)
    const byteLength = Number(match[1])
    const start = lineEnd + 1
    blobs.push(output.subarray(start, start + byteLength))
    offset = start + byteLength + 1
  }
  return blobs
}

// ---------------------------------------------------------------------------------------------------------
// An independent model of the importer's per-file graph, from whole trees (`git ls-tree`), not from diffs

interface TreeEntry {
  readonly mode: string
  readonly blobId: string
}

function treeOf(repo: GitRepo | string, commitId: string): Map<string, TreeEntry> {
  const tree = new Map<string, TreeEntry>()
  for (const entry of gitBytes(repoDir(repo), ['ls-tree', '-r', '-z', '--full-tree', commitId]).toString('utf8').split('\0')) {
    if (entry === '') continue
    const tab = entry.indexOf('\t')
    const [mode, type, blobId] = entry.slice(0, tab).split(' ')
    if (type === 'blob' && mode !== undefined && blobId !== undefined) tree.set(entry.slice(tab + 1), { mode, blobId })
  }
  return tree
}

function isRegularFile(entry: TreeEntry | undefined): entry is TreeEntry {
  return entry !== undefined && (entry.mode === '100644' || entry.mode === '100755')
}

/**
 * The texts `importGit` should yield for the history of `rev`, as `path@commit` → parents, worked out from
 * whole trees rather than git's diffs: a commit makes a text at a regular file (100644/100755) whose blob
 * differs from every parent's at that path; its parents are the path's version along each parent, in order,
 * without duplicates. A version is carried from the first parent when the blob is unchanged there (a
 * mode-only change included), else taken from the first other parent holding the same blob. One
 * `git ls-tree` per commit: fine for hundreds of commits.
 */
export function expectedFileVersions(repo: GitRepo | string, rev = 'HEAD'): Map<string, readonly string[]> {
  const parentsOf = new Map<string, string[]>()
  const order: string[] = []
  for (const line of git(repoDir(repo), 'rev-list', '--topo-order', '--reverse', '--parents', rev, '--').split('\n')) {
    const [id, ...parents] = line.split(' ')
    if (id === undefined) continue
    parentsOf.set(id, parents)
    order.push(id)
  }
  const trees = new Map(order.map(id => [id, treeOf(repo, id)]))
  const versions = new Map<string, Map<string, string>>()
  const texts = new Map<string, readonly string[]>()
  for (const id of order) {
    const tree = trees.get(id) as Map<string, TreeEntry>
    const parents = parentsOf.get(id) as string[]
    const mine = new Map<string, string>()
    for (const [path, entry] of tree) {
      if (!isRegularFile(entry)) continue
      const first = parents[0]
      if (first !== undefined && isRegularFile(trees.get(first)?.get(path)) && trees.get(first)?.get(path)?.blobId === entry.blobId) {
        mine.set(path, versions.get(first)?.get(path) as string)
        continue
      }
      const same = parents.slice(1).find(parent => trees.get(parent)?.get(path)?.blobId === entry.blobId && isRegularFile(trees.get(parent)?.get(path)))
      if (same !== undefined) {
        mine.set(path, versions.get(same)?.get(path) as string)
        continue
      }
      mine.set(path, id)
      const textParents = [...new Set(parents.map(parent => versions.get(parent)?.get(path)).filter((rev): rev is string => rev !== undefined))]
      texts.set(`${path}@${id}`, textParents)
    }
    versions.set(id, mine)
  }
  return texts
}
