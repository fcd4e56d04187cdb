/**
 * Turns a git repository's history into per-file text records, parents first.
 *
 * Three git processes, each started once: `git rev-list --parents` counts every commit's children (so a
 * commit's path→version map is dropped after its last child), one `git log --raw -z` streams each commit's
 * changed paths, and one `git cat-file --batch` serves the blobs. Memory is bounded by the maps of commits
 * that still have unvisited children plus one commit's changes, not by history length or text bytes.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { decodeUtf8Strictly, isHexId, latin1 } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import type { TextKey, TextRecord } from '../store/types.js'
import { ByteStreamReader } from './byte-stream.js'
import { exitOf, firstStderrLine, keepStderr, type ChildExit } from './child-process.js'
import { checkMaxTextByteLength, checkTextByteLength, type TextLimitOptions } from './text-limit.js'

/** `maxTextByteLength` is checked against each blob's size in cat-file's header, before its bytes are read. */
export interface GitImportOptions extends TextLimitOptions {
  /**
   * Revisions whose history to import, as git spells them (`main`, `v1.2`, a commit id); default `['HEAD']`,
   * or none when `all` is set. Each names a tip: its whole ancestry is imported, because every version's
   * parents must be imported before it (so an exclusion such as `^v1` or `v1..main` does not cut history).
   */
  readonly refs?: readonly string[]
  /** Every ref and HEAD, as `git log --all`, plus any `refs`. */
  readonly all?: boolean
  /** Keep only the paths this matches; the others are not looked at. A `g` or `y` flag is ignored. */
  readonly pathFilter?: RegExp
  /** The git binary; default `'git'`. */
  readonly git?: string
  /**
   * Told of each symlink version skipped (the store keeps no file modes, so a symlink is not a text): the
   * key it would have had, `(path, commit that added or changed it)`. A merge that takes a symlink from its
   * second parent reports it again.
   */
  readonly onSymlink?: (key: TextKey) => void
  /**
   * Find moves with git's rename detection (`-M`, against each commit's first parent), and give a moved
   * path's first version the version it was moved from as its `origin` (default true). A path the filter
   * drops is no origin.
   */
  readonly renames?: boolean
}

/**
 * Yields one record per new version of a regular file in the history of `repoPath` (a bare repository or a
 * work tree), every record after its parents. `file` is the path as git spells it, `rev` the full id of the
 * commit that made the version, `text` the blob's bytes, and `parents` the path's version along each of the
 * commit's parents, in parent order, without duplicates.
 *
 * Commits are walked parents first. A commit makes a new version of each path that differs from its first
 * parent (regular files only, modes 100644/100755; symlinks, told to `onSymlink`, and submodules are not
 * files here), unless the path holds the same blob as in another parent, whose version it then takes; a
 * mode-only change is not a new version. The other paths keep the first parent's version. A root commit
 * makes a version of every file.
 *
 * With `renames` (the default), a path new in a commit that git's rename detection (`-M`, against the first
 * parent) finds moved from another path gets that path's version in the first parent as its `origin`.
 *
 * A repository without commits (just after `git init`) yields nothing when no `refs` are given, with or
 * without `all`; a ref given that names nothing is still an error.
 *
 * Stopping early (`break`, `return()`) kills the git processes before the generator finishes.
 *
 * @throws VstoreError `VSTORE_IMPORT` (where = `repoPath`) when git cannot run or fails, e.g. no repository
 *   at `repoPath` or an unknown ref (git's message names it); the message starts with git's first line of
 *   stderr. Also for a path that is not UTF-8.
 * @throws VstoreError `VSTORE_LIMIT` (where = `path@rev`) for a blob over `maxTextByteLength`, refused from its
 *   size before its bytes are read; the git processes are ended as on any other error.
 * @throws VstoreError `VSTORE_USAGE` when `refs` is empty and `all` is not set, or a ref is empty or holds a
 *   line break, or `maxTextByteLength` is not a whole number ≥ 0.
 */
export async function* importGit(repoPath: string, options: GitImportOptions = {}): AsyncGenerator<TextRecord> {
  checkMaxTextByteLength(options.maxTextByteLength)
  const revisionArguments = revisionArgumentsFor(options)
  const keepPath = pathTesterFor(options.pathFilter)
  const gitBinary = options.git ?? 'git'

  let remainingChildren: Map<string, number>
  try {
    remainingChildren = await countChildren(gitBinary, repoPath, revisionArguments)
  } catch (error) {
    // Just after `git init`, HEAD names a branch with no commit: the default history is empty, not an error.
    if (options.refs === undefined && options.all !== true && await hasNoCommits(gitBinary, repoPath)) return
    throw error
  }
  const tipIds = [...remainingChildren].filter(([, childCount]) => childCount === 0).map(([commitId]) => commitId)
  if (tipIds.length === 0) return

  const log = new GitProcess(gitBinary, repoPath, [
    'log', '--stdin', '--reverse', '--topo-order', '-z', '--raw', '-r', '--root', options.renames === false ? '--no-renames' : '-M', '--no-abbrev',
    '--diff-merges=first-parent', '--format=commit %H %P', '--no-color', '--no-show-signature', '--no-relative',
    '--no-ext-diff', '--no-textconv',
  ])
  const catFile = new GitProcess(gitBinary, repoPath, ['cat-file', '--batch'])
  try {
    log.writeInput(`${tipIds.join('\n')}\n`)
    log.endInput()
    const walk: HistoryWalk = { versionsByCommit: new Map(), remainingChildren, keepPath, where: repoPath, onSymlink: options.onSymlink ?? (() => {}) }
    for await (const commit of readCommits(log, repoPath)) {
      const newTexts = visitCommit(walk, commit)
      if (newTexts.length === 0) continue
      // Ask for all of the commit's blobs at once, so cat-file works while the consumer handles each text.
      catFile.writeInput(newTexts.map(newText => `${newText.blobId}\n`).join(''))
      for (const newText of newTexts) {
        const text = await readBlob(catFile, newText.blobId, repoPath, options.maxTextByteLength, `${newText.path}@${commit.id}`)
        yield { file: newText.path, rev: commit.id, parents: newText.parents, text, ...(newText.origin === undefined ? {} : { origin: newText.origin }) }
      }
    }
    await log.finish()
    catFile.endInput()
  } finally {
    await Promise.all([log.stop(), catFile.stop()])
  }
}

// ---------------------------------------------------------------------------------------------------------
// The per-file version graph

/** One entry of `git log --raw` for a commit: what the commit holds at `path` (mode 0 when deleted). */
interface GitChange {
  readonly path: string
  readonly mode: number
  readonly blobId: string
  /** The path it was moved from (a rename), which the commit no longer holds. */
  readonly from?: string
}

interface GitCommit {
  readonly id: string
  readonly parentIds: readonly string[]
  readonly changes: readonly GitChange[]
}

/** The version a commit holds at a path: its blob, and the commit that made that version. */
interface PathVersion {
  readonly blobId: string
  readonly rev: string
}

type PathVersions = Map<string, PathVersion>

interface NewText {
  readonly path: string
  readonly blobId: string
  readonly parents: readonly string[]
  readonly origin?: TextKey
}

interface HistoryWalk {
  /** Path→version for each visited commit that still has unvisited children. */
  readonly versionsByCommit: Map<string, PathVersions>
  /** Unvisited children of each commit the rev-list pass walked; a commit absent here is kept for good. */
  readonly remainingChildren: Map<string, number>
  readonly keepPath: (path: string) => boolean
  readonly where: string
  readonly onSymlink: (key: TextKey) => void
}

const EMPTY_VERSIONS: ReadonlyMap<string, PathVersion> = new Map()

/**
 * Applies the graph rule to one commit, whose parents have all been visited: records its path→version map
 * (if it has children), frees parents' maps after their last child, and returns the new texts it makes.
 */
function visitCommit(walk: HistoryWalk, commit: GitCommit): NewText[] {
  const parentIds = [...new Set(commit.parentIds)]
  const parentVersions = parentIds.map(parentId => {
    const versions = walk.versionsByCommit.get(parentId)
    if (versions === undefined) {
      throw new VstoreError('VSTORE_IMPORT', `commit ${commit.id} came before its parent ${parentId}`, walk.where)
    }
    return versions
  })
  const firstVersions: ReadonlyMap<string, PathVersion> = parentVersions[0] ?? EMPTY_VERSIONS
  const otherVersions = parentVersions.slice(1)

  // Decide every path against the parents' maps before any map changes.
  const newTexts: NewText[] = []
  const updates: Array<readonly [path: string, version: PathVersion | undefined]> = []
  for (const change of commit.changes) {
    if (!walk.keepPath(change.path)) continue
    if (!isRegularFileMode(change.mode)) {
      if (isSymlinkMode(change.mode)) walk.onSymlink({ file: change.path, rev: commit.id })
      updates.push([change.path, undefined])
      continue
    }
    if (firstVersions.get(change.path)?.blobId === change.blobId) continue // a mode-only change
    const takenVersion = otherVersions
      .map(versions => versions.get(change.path))
      .find(version => version?.blobId === change.blobId)
    if (takenVersion !== undefined) {
      updates.push([change.path, takenVersion])
      continue
    }
    const parents = new Set<string>()
    for (const versions of parentVersions) {
      const version = versions.get(change.path)
      if (version !== undefined) parents.add(version.rev)
    }
    updates.push([change.path, { blobId: change.blobId, rev: commit.id }])
    // A path new here, moved from one the first parent holds: that version is its origin.
    const movedFrom = change.from !== undefined && parents.size === 0 && walk.keepPath(change.from) ? firstVersions.get(change.from) : undefined
    newTexts.push({ path: change.path, blobId: change.blobId, parents: [...parents], ...(movedFrom === undefined ? {} : { origin: { file: change.from as string, rev: movedFrom.rev } }) })
  }

  const childCount = walk.remainingChildren.get(commit.id)
  if (childCount !== 0) {
    // When this is the first parent's last child, its map is about to be freed: take it over instead of copying.
    const firstParentId = parentIds[0]
    const ownsFirstVersions = firstParentId !== undefined && walk.remainingChildren.get(firstParentId) === 1
    const versions = ownsFirstVersions && parentVersions[0] !== undefined ? parentVersions[0] : new Map(firstVersions)
    for (const [path, version] of updates) {
      if (version === undefined) versions.delete(path)
      else versions.set(path, version)
    }
    walk.versionsByCommit.set(commit.id, versions)
  } else {
    walk.remainingChildren.delete(commit.id)
  }
  for (const parentId of parentIds) {
    const parentChildCount = walk.remainingChildren.get(parentId)
    if (parentChildCount === undefined) continue
    if (parentChildCount > 1) {
      walk.remainingChildren.set(parentId, parentChildCount - 1)
    } else {
      walk.remainingChildren.delete(parentId)
      walk.versionsByCommit.delete(parentId)
    }
  }
  return newTexts
}

/** 100644 and 100755 (and the legacy 100664): any mode of type "regular file". */
function isRegularFileMode(mode: number): boolean {
  return (mode & 0o170000) === 0o100000
}

/** 120000: the blob holds the link's target. */
function isSymlinkMode(mode: number): boolean {
  return (mode & 0o170000) === 0o120000
}

function revisionArgumentsFor(options: GitImportOptions): string[] {
  const refs = options.refs ?? (options.all === true ? [] : ['HEAD'])
  if (refs.length === 0 && options.all !== true) throw new VstoreError('VSTORE_USAGE', 'refs must name a revision, or all must be set', 'import options')
  for (const ref of refs) {
    if (ref === '' || /[\n\r\0]/.test(ref)) throw new VstoreError('VSTORE_USAGE', `refs: not a revision: ${JSON.stringify(ref)}`, 'import options')
  }
  // --end-of-options: a ref starting with '-' is a ref, not an option; '--': never a path.
  return [...(options.all === true ? ['--all'] : []), '--end-of-options', ...refs, '--']
}

function pathTesterFor(pathFilter: RegExp | undefined): (path: string) => boolean {
  if (pathFilter === undefined) return () => true
  // RegExp.test with a g or y flag moves lastIndex, so the same path would alternate between kept and not.
  const pattern = new RegExp(pathFilter.source, pathFilter.flags.replace(/[gy]/g, ''))
  return path => pattern.test(path)
}

// ---------------------------------------------------------------------------------------------------------
// Reading git's output

const NUL = 0x00
const LINE_FEED = 0x0a

/** Every commit `revisionArguments` reach, with its number of children among them (tips have 0). */
async function countChildren(gitBinary: string, repoPath: string, revisionArguments: readonly string[]): Promise<Map<string, number>> {
  const revList = new GitProcess(gitBinary, repoPath, ['rev-list', '--parents', ...revisionArguments])
  try {
    revList.endInput()
    const childCounts = new Map<string, number>()
    const walkedIds = new Set<string>()
    for (;;) {
      const line = (await revList.stdout.readUntil(LINE_FEED))?.bytes
      if (line === undefined) break
      const ids = parseObjectIds(line, 'rev-list', repoPath)
      const [commitId, ...parentIds] = ids
      if (commitId === undefined) continue
      walkedIds.add(commitId)
      if (!childCounts.has(commitId)) childCounts.set(commitId, 0)
      for (const parentId of new Set(parentIds)) childCounts.set(parentId, (childCounts.get(parentId) ?? 0) + 1)
    }
    await revList.finish()
    // A parent outside the walk (cut off by an exclusion) has an unknown number of children: forget its count,
    // so its map is kept rather than freed too early.
    for (const commitId of childCounts.keys()) if (!walkedIds.has(commitId)) childCounts.delete(commitId)
    return childCounts
  } finally {
    await revList.stop()
  }
}

/**
 * Whether the repository has no commit to import: HEAD does not resolve (exit 1 of `rev-parse --verify`, so
 * it is a repository) and no ref exists. Asked only after `rev-list` failed, so a good import pays nothing.
 */
async function hasNoCommits(gitBinary: string, repoPath: string): Promise<boolean> {
  const head = new GitProcess(gitBinary, repoPath, ['rev-parse', '--verify', '--quiet', 'HEAD'])
  const refs = new GitProcess(gitBinary, repoPath, ['for-each-ref', '--count=1', '--format=%(refname)'])
  try {
    head.endInput()
    refs.endInput()
    const firstRef = await refs.stdout.read(1)
    const [headExit, refsExit] = await Promise.all([head.exit(), refs.exit()])
    return headExit.code === 1 && refsExit.code === 0 && firstRef.length === 0
  } finally {
    await Promise.all([head.stop(), refs.stop()])
  }
}

/**
 * Parses `git log -z --raw --format='commit %H %P'`: a header token per commit, then per changed path a
 * `:srcmode dstmode srcid dstid status` token and a path token. The first entry after a header starts with
 * a line feed; paths are taken verbatim, so a path may hold any byte but NUL.
 */
async function* readCommits(log: GitProcess, where: string): AsyncGenerator<GitCommit> {
  let commit: { id: string; parentIds: string[]; changes: GitChange[] } | undefined
  for (;;) {
    const token = (await log.stdout.readUntil(NUL))?.bytes
    if (token === undefined) break
    const text = latin1(token).replace(/^\n+/, '')
    if (text === '') continue
    if (text.startsWith('commit ')) {
      if (commit !== undefined) yield commit
      const [id, ...parentIds] = text.slice('commit '.length).split(' ').filter(field => field !== '')
      if (id === undefined || !isHexId(id) || !parentIds.every(parentId => isHexId(parentId))) {
        throw new VstoreError('VSTORE_IMPORT', `git log: bad commit line ${JSON.stringify(text)}`, where)
      }
      commit = { id, parentIds, changes: [] }
    } else if (text.startsWith(':') && commit !== undefined) {
      const fields = text.slice(1).split(' ')
      const [, dstModeText, , blobId, status] = fields
      // A rename (R, with its score) names two paths: where from, then where to.
      const renamed = status?.startsWith('R') === true
      const pathTokens = [(await log.stdout.readUntil(NUL))?.bytes, ...(renamed ? [(await log.stdout.readUntil(NUL))?.bytes] : [])]
      if (fields.length !== 5 || dstModeText === undefined || !/^[0-7]{6}$/.test(dstModeText) ||
        blobId === undefined || !isHexId(blobId) || pathTokens.some(token => token === undefined)) {
        throw new VstoreError('VSTORE_IMPORT', `git log: bad change line ${JSON.stringify(text)} in commit ${commit.id}`, where)
      }
      const [path, from] = pathTokens.map(token => {
        const decoded = decodeUtf8Strictly(token as Uint8Array)
        if (decoded === undefined) throw new VstoreError('VSTORE_IMPORT', `commit ${commit?.id}: path is not UTF-8: ${latin1(token as Uint8Array)}`, where)
        return decoded
      }).reverse() as [string, string | undefined]
      if (from !== undefined) commit.changes.push({ path: from, mode: 0, blobId: '0'.repeat(blobId.length) })
      commit.changes.push({ path, mode: Number.parseInt(dstModeText, 8), blobId, ...(from === undefined ? {} : { from }) })
    } else {
      throw new VstoreError('VSTORE_IMPORT', `git log: unexpected output ${JSON.stringify(text.slice(0, 100))}`, where)
    }
  }
  if (commit !== undefined) yield commit
}

function parseObjectIds(line: Uint8Array, command: string, where: string): string[] {
  const ids = latin1(line).split(' ').filter(field => field !== '')
  if (!ids.every(id => isHexId(id))) {
    throw new VstoreError('VSTORE_IMPORT', `git ${command}: bad line ${JSON.stringify(latin1(line))}`, where)
  }
  return ids
}

/**
 * Reads the answer to one `<blobId>\n` request: `<id> blob <byteLength>\n<bytes>\n`. A blob over
 * `maxTextByteLength` is refused from the header, its bytes left unread: the import then ends, and stopping
 * cat-file (as on any error) discards them.
 */
async function readBlob(catFile: GitProcess, blobId: string, where: string, maxTextByteLength: number | undefined, key: string): Promise<Uint8Array> {
  const header = (await catFile.stdout.readUntil(LINE_FEED))?.bytes
  if (header === undefined) throw await catFile.failure(`git cat-file ended before blob ${blobId}`)
  const headerText = latin1(header)
  const [id, type, byteLengthText] = headerText.split(' ')
  if (id !== blobId || type !== 'blob' || byteLengthText === undefined || !/^\d{1,15}$/.test(byteLengthText)) {
    throw new VstoreError('VSTORE_IMPORT', `git cat-file: expected blob ${blobId}, got ${JSON.stringify(headerText)}`, where)
  }
  const byteLength = Number(byteLengthText)
  checkTextByteLength(byteLength, maxTextByteLength, key)
  const text = await catFile.stdout.read(byteLength)
  const terminator = await catFile.stdout.read(1)
  if (text.length !== byteLength || terminator.length !== 1) throw await catFile.failure(`git cat-file ended inside blob ${blobId}`)
  if (terminator[0] !== LINE_FEED) throw new VstoreError('VSTORE_IMPORT', `git cat-file: no line feed after blob ${blobId}`, where)
  return text
}

// ---------------------------------------------------------------------------------------------------------
// Running git

/** Variables that would make git use another repository than `-C repoPath` names (set inside git hooks). */
const REPOSITORY_VARIABLES = [
  'GIT_DIR', 'GIT_WORK_TREE', 'GIT_IMPLICIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_COMMON_DIR', 'GIT_PREFIX', 'GIT_INTERNAL_SUPER_PREFIX',
  'GIT_GRAFT_FILE', 'GIT_SHALLOW_FILE', 'GIT_NAMESPACE',
]
const KILL_GRACE_MILLISECONDS = 2000

/** One git child process: stdout as a ByteStreamReader, stderr kept for error messages. */
class GitProcess {
  readonly stdout: ByteStreamReader
  readonly #child: ChildProcessWithoutNullStreams
  readonly #command: string
  readonly #where: string
  readonly #exit: Promise<ChildExit>
  #exited = false
  readonly #stderr: () => string

  constructor(gitBinary: string, repoPath: string, args: readonly string[]) {
    this.#command = `git ${args[0] ?? ''}`
    this.#where = repoPath
    const environment: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' }
    for (const name of REPOSITORY_VARIABLES) delete environment[name]
    this.#child = spawn(gitBinary, ['-C', repoPath, ...args], { env: environment, stdio: 'pipe', windowsHide: true })
    this.#exit = exitOf(this.#child).finally(() => { this.#exited = true })
    // EPIPE when git has exited: its exit status or stderr says why.
    this.#child.stdin.on('error', () => {})
    this.#stderr = keepStderr(this.#child.stderr)
    this.stdout = new ByteStreamReader(this.#child.stdout)
  }

  writeInput(text: string): void {
    this.#child.stdin.write(text)
  }

  endInput(): void {
    this.#child.stdin.end()
  }

  /** Waits for git to exit, after its output was read. @throws VstoreError VSTORE_IMPORT unless it exited 0. */
  async finish(): Promise<void> {
    const exit = await this.#exit
    if (exit.error !== undefined || exit.code !== 0) throw this.#errorFor(exit, undefined)
  }

  /** Waits for git to exit, after its output was read, and tells how it exited. */
  exit(): Promise<ChildExit> {
    return this.#exit
  }

  /** The error to throw when git's output stopped early: waits for git, then says why. */
  async failure(reason: string): Promise<VstoreError> {
    return this.#errorFor(await this.#exit, reason)
  }

  /** Ends git if it still runs (SIGTERM, then SIGKILL after a grace period) and waits until it is gone. */
  async stop(): Promise<void> {
    if (!this.#exited) {
      this.#child.kill('SIGTERM')
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), KILL_GRACE_MILLISECONDS)
      timer.unref()
      void this.#exit.finally(() => clearTimeout(timer))
    }
    this.#child.stdin.destroy()
    this.#child.stdout.destroy()
    await this.#exit
  }

  #errorFor(exit: ChildExit, reason: string | undefined): VstoreError {
    const stderrLine = firstStderrLine(this.#stderr())
    const status = exit.error !== undefined
      ? `cannot run ${this.#command}: ${exit.error.message}`
      : `${this.#command} exited with ${exit.code ?? exit.signal ?? 'unknown status'}`
    const details = [reason, status].filter(part => part !== undefined).join('; ')
    const message = stderrLine === undefined ? details : `${stderrLine} (${details})`
    return new VstoreError('VSTORE_IMPORT', message, this.#where, exit.error === undefined ? undefined : { cause: exit.error })
  }
}
