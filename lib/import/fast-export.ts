/**
 * Turns a `git fast-export` stream (the interchange format git, Breezy and Mercurial exporters write) into
 * per-file text records, with the graph rule of `importGit` (lib/import/git.ts): the same history gives the
 * same records whichever of the two reads it.
 *
 * A stream names parents before their children, but it never says how many children a commit will have: any
 * later `from`/`merge` may name any earlier commit by its mark, its `original-oid` or a branch. So the
 * path→version map of every commit that can still be named (it has a mark or an original-oid, or a branch
 * points at it) is kept for the whole import. The maps are persistent balanced trees that share structure:
 * a commit costs O(changed paths × log files) nodes, not a copy of the map, so their total is bounded by
 * the history's changes, not by commits × files. That is the trade-off against `importGit`, which counts
 * children first and keeps only the maps of commits with unvisited children.
 *
 * Blobs: `git fast-export` writes each blob once, just before the first commit that uses it, and later
 * commits name it by mark (a revert, a copy, another branch). Every blob's bytes are kept by content hash,
 * the most recently used in memory up to `blobMemoryByteLength` (default 64 MiB) and the others in one
 * temporary file, removed when the import ends. Memory is that budget, one `data` block, the maps above, and
 * per mark or original-oid a small entry.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeUtf8Strictly, isHexId, latin1 } from '../bytes/index.js'
import { VstoreError, messageOf } from '../errors.js'
import type { TextKey, TextRecord } from '../store/types.js'
import { ByteStreamReader, concatenate } from './byte-stream.js'
import { checkMaxTextByteLength, checkTextByteLength, type TextLimitOptions } from './text-limit.js'

/**
 * `maxTextByteLength` is checked against the length on each `data` line of a file's bytes (a `blob`, or
 * inline data of a regular file) before they are read; `data <<delimiter` is read no further than the first
 * line past it. Its error names `path@rev` for inline data, or `<where>@<offset>` of the `data` line for a
 * blob (which no path names yet). Other data (messages, tags, notes) are not texts: they, like every `data`
 * block, are bounded only by the reader's own limit of 1 GiB.
 */
export interface FastExportImportOptions extends TextLimitOptions {
  /** Names the stream in errors, as `<where>@<byte offset>`; default `fast-export`. */
  readonly where?: string
  /** Blob bytes kept in memory before the least recently used go to a temporary file; default 64 MiB. */
  readonly blobMemoryByteLength?: number
  /** Where that temporary file goes; default the system's temporary folder. */
  readonly temporaryDirectory?: string
  /**
   * Told of each symlink (mode 120000) a commit writes, copies or renames, which is skipped (the store keeps
   * no file modes): the key it would have had, `(path, the commit's rev)`.
   */
  readonly onSymlink?: (key: TextKey) => void
  /**
   * Told, with `<where>@<offset>`, when the stream ends without having declared `feature done`: an exporter
   * that failed part-way (git fast-export on a signed tag, without `--signed-tags`) ends its stream at a
   * command boundary, so such an end cannot be told from a complete stream. Not told after a `done`.
   */
  readonly onUncheckedEnd?: (where: string) => void
}

/**
 * Yields one record per new version of a regular file in a fast-export stream, every record after its
 * parents, commits in stream order.
 *
 * `file` is the path; `rev` is the commit's `original-oid` (as `git fast-export --show-original-ids` writes:
 * the git commit id, so the records equal `importGit`'s), else its mark as `:N` (stream-local: two streams'
 * `:1` are different commits but the same rev); `parents` is the path's version along each of the commit's
 * parents (`from`, then each `merge`, duplicates dropped). A commit without `from` on a branch that already
 * has a commit in the stream descends from that branch's tip, as in `git fast-import`.
 *
 * A commit makes a new version of each path that differs from its first parent: regular files only (modes
 * 100644, 100755, 644, 755; symlinks 120000, told to `onSymlink`, and submodules 160000 are not files); a
 * mode-only change is no new version; a path holding the same bytes as another parent takes that parent's
 * version; a path deleted and added again starts afresh. `M`, `D`, `C`, `R` and `deleteall` are applied as
 * `git fast-import` does, folders included (but a `D` spares what the same commit wrote under the path: see
 * `WorkTree.remove`), and only the commit's resulting tree counts. `N` (notes), `tag`, `progress`,
 * `checkpoint`, `option` are read and ignored; `feature done` makes a missing `done` an error (git
 * fast-export `--use-done-feature` writes both), and without it `onUncheckedEnd` is told the end is unchecked.
 *
 * @throws VstoreError `VSTORE_IMPORT` (where = `<where>@<offset>`) for a truncated stream, a malformed
 *   command, a mark, commit or blob that the stream did not define, a path that is not UTF-8 or not a
 *   relative path; `VSTORE_UNSUPPORTED` for `ls`, `cat-blob`, `get-mark`, `import-marks`, an unknown
 *   `feature`, or a tree (040000) in `M`; `VSTORE_LIMIT` for a file's `data` over `maxTextByteLength` (see
 *   `FastExportImportOptions` for its where), or any `data` block over 1 GiB; `VSTORE_IO` when the
 *   temporary blob file fails.
 * @throws VstoreError `VSTORE_USAGE` when the stream gives strings instead of bytes, or for a `maxTextByteLength`
 *   that is not a whole number ≥ 0.
 */
export async function* importFastExport(
  input: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
  options: FastExportImportOptions = {},
): AsyncGenerator<TextRecord> {
  checkMaxTextByteLength(options.maxTextByteLength)
  const stream = new CommandReader(new ByteStreamReader(input), options.where ?? 'fast-export', options.maxTextByteLength)
  const blobs = new BlobStore(options.blobMemoryByteLength ?? 64 * 1024 * 1024, options.temporaryDirectory ?? tmpdir())
  const state: ImportState = { marks: new Map(), originalIds: new Map(), refs: new Map(), markRevs: new Set() }
  let doneRequired = false
  let done = false
  try {
    for (;;) {
      const line = await stream.nextCommand()
      if (line === undefined) break
      const { text, at } = line
      if (text === 'blob') {
        await readBlob(stream, state, blobs)
      } else if (text.startsWith('commit ')) {
        const commit = await readCommit(stream, state, blobs, text.slice('commit '.length), at)
        for (const path of commit.symlinkPaths) options.onSymlink?.({ file: path, rev: commit.rev })
        for (const newText of commit.newTexts) {
          yield { file: newText.path, rev: commit.rev, parents: newText.parents, text: await blobs.get(newText.hash) }
        }
      } else if (text.startsWith('reset ')) {
        await readReset(stream, state, text.slice('reset '.length))
      } else if (text.startsWith('tag ')) {
        await readTag(stream, state)
      } else if (text === 'alias') {
        await readAlias(stream, state, at)
      } else if (text.startsWith('feature ')) {
        doneRequired = checkFeature(text.slice('feature '.length), at) || doneRequired
      } else if (text === 'done') {
        done = true
        break
      } else if (text.startsWith('progress ') || text === 'checkpoint' || text.startsWith('option ')) {
        continue
      } else if (/^(?:ls|cat-blob|get-mark)(?: |$)/.test(text)) {
        throw new VstoreError('VSTORE_UNSUPPORTED', `${text.split(' ')[0] ?? ''} needs answers from an importer; not supported`, at)
      } else {
        throw new VstoreError('VSTORE_IMPORT', `unknown command ${JSON.stringify(text.slice(0, 80))}`, at)
      }
    }
    if (doneRequired && !done) {
      throw new VstoreError('VSTORE_IMPORT', 'the stream declared feature done but ends without done: the exporter stopped early, or the stream was cut', stream.here())
    }
    if (!done) options.onUncheckedEnd?.(stream.here())
  } finally {
    await Promise.all([stream.close(), blobs.close()])
  }
}

// ---------------------------------------------------------------------------------------------------------
// Trees: persistent AVL trees keyed by path, sharing every unchanged node with the trees they came from

interface TreeNode<V> {
  readonly key: string
  readonly value: V
  readonly left: Tree<V>
  readonly right: Tree<V>
  readonly height: number
}

type Tree<V> = TreeNode<V> | undefined

function heightOf<V>(tree: Tree<V>): number {
  return tree === undefined ? 0 : tree.height
}

function makeNode<V>(key: string, value: V, left: Tree<V>, right: Tree<V>): TreeNode<V> {
  return { key, value, left, right, height: Math.max(heightOf(left), heightOf(right)) + 1 }
}

/** A node over `left` and `right` whose heights differ by at most 2, rotated back into AVL balance. */
function balancedNode<V>(key: string, value: V, left: Tree<V>, right: Tree<V>): TreeNode<V> {
  if (left !== undefined && left.height > heightOf(right) + 1) {
    const pivot = left.right
    if (pivot === undefined || heightOf(left.left) >= pivot.height) {
      return makeNode(left.key, left.value, left.left, makeNode(key, value, pivot, right))
    }
    return makeNode(pivot.key, pivot.value, makeNode(left.key, left.value, left.left, pivot.left), makeNode(key, value, pivot.right, right))
  }
  if (right !== undefined && right.height > heightOf(left) + 1) {
    const pivot = right.left
    if (pivot === undefined || heightOf(right.right) >= pivot.height) {
      return makeNode(right.key, right.value, makeNode(key, value, left, pivot), right.right)
    }
    return makeNode(pivot.key, pivot.value, makeNode(key, value, left, pivot.left), makeNode(right.key, right.value, pivot.right, right.right))
  }
  return makeNode(key, value, left, right)
}

function treeGet<V>(tree: Tree<V>, key: string): V | undefined {
  let node = tree
  while (node !== undefined) {
    if (key < node.key) node = node.left
    else if (key > node.key) node = node.right
    else return node.value
  }
  return undefined
}

function treeSet<V>(tree: Tree<V>, key: string, value: V): TreeNode<V> {
  if (tree === undefined) return makeNode(key, value, undefined, undefined)
  if (key < tree.key) return balancedNode(tree.key, tree.value, treeSet(tree.left, key, value), tree.right)
  if (key > tree.key) return balancedNode(tree.key, tree.value, tree.left, treeSet(tree.right, key, value))
  return tree.value === value ? tree : makeNode(key, value, tree.left, tree.right)
}

function treeDelete<V>(tree: Tree<V>, key: string): Tree<V> {
  if (tree === undefined) return undefined
  if (key < tree.key) {
    const left = treeDelete(tree.left, key)
    return left === tree.left ? tree : balancedNode(tree.key, tree.value, left, tree.right)
  }
  if (key > tree.key) {
    const right = treeDelete(tree.right, key)
    return right === tree.right ? tree : balancedNode(tree.key, tree.value, tree.left, right)
  }
  if (tree.left === undefined) return tree.right
  if (tree.right === undefined) return tree.left
  let successor = tree.right
  while (successor.left !== undefined) successor = successor.left
  return balancedNode(successor.key, successor.value, tree.left, withoutLeftmost(tree.right))
}

function withoutLeftmost<V>(tree: TreeNode<V>): Tree<V> {
  if (tree.left === undefined) return tree.right
  return balancedNode(tree.key, tree.value, withoutLeftmost(tree.left), tree.right)
}

/** Entries with `start <= key < end` (no end: to the last), in key order. */
function* treeRange<V>(tree: Tree<V>, start: string, end?: string): Generator<readonly [string, V]> {
  const stack: TreeNode<V>[] = []
  let node = tree
  for (;;) {
    while (node !== undefined) {
      if (node.key < start) {
        node = node.right
      } else {
        stack.push(node)
        node = node.left
      }
    }
    const next = stack.pop()
    if (next === undefined || (end !== undefined && next.key >= end)) return
    yield [next.key, next.value]
    node = next.right
  }
}

/**
 * A tree equal to `next`, made by editing `base`: every entry whose value is the same object in both keeps
 * `base`'s nodes. O(size of both) time; memory only for the differences.
 */
function rebaseTree<V>(base: Tree<V>, next: Tree<V>): Tree<V> {
  let result = base
  const baseEntries = treeRange(base, '')
  const nextEntries = treeRange(next, '')
  let baseEntry = baseEntries.next()
  let nextEntry = nextEntries.next()
  for (;;) {
    if (baseEntry.done === true && nextEntry.done === true) return result
    if (nextEntry.done === true || (baseEntry.done !== true && baseEntry.value[0] < nextEntry.value[0])) {
      if (baseEntry.done !== true) result = treeDelete(result, baseEntry.value[0])
      baseEntry = baseEntries.next()
    } else if (baseEntry.done === true || nextEntry.value[0] < baseEntry.value[0]) {
      result = treeSet(result, nextEntry.value[0], nextEntry.value[1])
      nextEntry = nextEntries.next()
    } else {
      if (baseEntry.value[1] !== nextEntry.value[1]) result = treeSet(result, nextEntry.value[0], nextEntry.value[1])
      baseEntry = baseEntries.next()
      nextEntry = nextEntries.next()
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The per-file version graph

/** A regular file's version: its content hash and the commit that made the version. */
interface FileVersion {
  readonly kind: 'file'
  readonly hash: string
  readonly rev: string
}

/** A regular file written by the commit being read, whose version is decided when the commit ends. */
interface WrittenFile {
  readonly kind: 'written'
  readonly hash: string
}

/** A symlink or submodule: held by the tree (a copy or rename moves it) but never a version. */
interface NotAFile {
  readonly kind: 'other'
  readonly what: 'symlink' | 'submodule'
}

type PathState = FileVersion | WrittenFile | NotAFile

const SYMLINK: NotAFile = { kind: 'other', what: 'symlink' }
const SUBMODULE: NotAFile = { kind: 'other', what: 'submodule' }

/** A commit that a later command may name, with its path→state tree (only FileVersion and NotAFile). */
interface CommitState {
  readonly rev: string
  readonly tree: Tree<PathState>
}

type MarkTarget = { readonly kind: 'blob'; readonly hash: string } | { readonly kind: 'commit'; readonly commit: CommitState }

interface ImportState {
  readonly marks: Map<number, MarkTarget>
  /** `original-oid` → what it named. */
  readonly originalIds: Map<string, MarkTarget>
  /** Branch (or any ref) → the commit it points at. */
  readonly refs: Map<string, CommitState>
  /** Revs made from marks (`:N`), to refuse a mark that names two commits. */
  readonly markRevs: Set<string>
}

interface NewText {
  readonly path: string
  readonly hash: string
  readonly parents: readonly string[]
}

/** The tree of the commit being read, and every path its commands touched. */
class WorkTree {
  readonly touched = new Set<string>()
  /** Whether `deleteall` rebuilt the tree from nothing (so it shares no nodes with its parent's). */
  clearedAll = false
  /** Paths this commit's `M`, `C` and `R` wrote. */
  readonly #written = new Set<string>()

  constructor(public tree: Tree<PathState>) {}

  get(path: string): PathState | undefined {
    return treeGet(this.tree, path)
  }

  /** `M`: the path becomes `state`; a file at a parent folder's path and anything under the path go. */
  set(path: string, state: PathState): void {
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) this.#delete(path.slice(0, slash))
    this.removeAll(path)
    this.tree = treeSet(this.tree, path, state)
    this.touched.add(path)
    this.#written.add(path)
  }

  /**
   * `D`: the path and, if it is a folder, what is under it, except what this commit wrote there. git
   * fast-export sorts deeper paths first, so a file that becomes a folder comes out as `M x/y` then `D x`;
   * git fast-import would drop `x/y` (git 2.39 does), but the exporter's tree, and importGit, keep it.
   */
  remove(path: string): void {
    this.#delete(path)
    for (const [key] of [...treeRange(this.tree, `${path}/`, `${path}0`)]) if (!this.#written.has(key)) this.#delete(key)
  }

  /** The path and everything under it (a copy's or rename's destination and source). */
  removeAll(path: string): void {
    this.#delete(path)
    // '0' follows '/' in code-unit order: [path/, path0) holds exactly the keys under the folder.
    for (const [key] of [...treeRange(this.tree, `${path}/`, `${path}0`)]) this.#delete(key)
  }

  /** The path itself (suffix ``) and everything under it (suffix `/…`). */
  entriesAt(path: string): Array<readonly [suffix: string, state: PathState]> {
    const entries: Array<readonly [string, PathState]> = []
    const own = this.get(path)
    if (own !== undefined) entries.push(['', own])
    for (const [key, state] of treeRange(this.tree, `${path}/`, `${path}0`)) entries.push([key.slice(path.length), state])
    return entries
  }

  /** `deleteall`. */
  clear(): void {
    for (const [key] of treeRange(this.tree, '')) this.touched.add(key)
    this.tree = undefined
    this.#written.clear()
    this.clearedAll = true
  }

  #delete(path: string): void {
    const tree = treeDelete(this.tree, path)
    if (tree === this.tree) return
    this.tree = tree
    this.touched.add(path)
    this.#written.delete(path)
  }
}

function fileVersionAt(commit: CommitState, path: string): FileVersion | undefined {
  const state = treeGet(commit.tree, path)
  return state?.kind === 'file' ? state : undefined
}

/**
 * Applies importGit's rule to every path the commit touched, now that its tree is final: a regular file equal
 * to the first parent's keeps that version, one equal to another parent's takes it, and any other is a new
 * text on the path's version along each parent. Returns the commit's tree (only FileVersion and NotAFile),
 * its new texts, and the paths of the symlinks it wrote.
 */
function decideVersions(work: WorkTree, parents: readonly CommitState[], rev: string): { tree: Tree<PathState>; newTexts: NewText[]; symlinkPaths: string[] } {
  const [firstParent, ...otherParents] = parents
  const newTexts: NewText[] = []
  const symlinkPaths: string[] = []
  let tree = work.tree
  for (const path of [...work.touched].sort()) {
    const state = treeGet(tree, path)
    if (state === SYMLINK) symlinkPaths.push(path)
    if (state === undefined || state.kind === 'other') continue
    const firstVersion = firstParent === undefined ? undefined : fileVersionAt(firstParent, path)
    if (firstVersion?.hash === state.hash) {
      tree = treeSet(tree, path, firstVersion) // unchanged, or a mode-only change
      continue
    }
    const takenVersion = otherParents.map(parent => fileVersionAt(parent, path)).find(version => version?.hash === state.hash)
    if (takenVersion !== undefined) {
      tree = treeSet(tree, path, takenVersion)
      continue
    }
    const parentRevs = new Set<string>()
    for (const parent of parents) {
      const version = fileVersionAt(parent, path)
      if (version !== undefined) parentRevs.add(version.rev)
    }
    tree = treeSet(tree, path, { kind: 'file', hash: state.hash, rev })
    newTexts.push({ path, hash: state.hash, parents: [...parentRevs] })
  }
  // After a deleteall (git fast-export --full-tree writes one per commit), share the parent's nodes again,
  // or every commit would keep a whole tree of its own.
  if (work.clearedAll && firstParent !== undefined) tree = rebaseTree(firstParent.tree, tree)
  return { tree, newTexts, symlinkPaths }
}

// ---------------------------------------------------------------------------------------------------------
// Commands

const REGULAR_FILE_MODES: ReadonlySet<string> = new Set(['100644', '644', '100755', '755'])
const NULL_OBJECT_ID = /^0+$/
const MARK = /^:([1-9]\d{0,15})$/

/** `blob`, `mark`?, `original-oid`?, `data`. */
async function readBlob(stream: CommandReader, state: ImportState, blobs: BlobStore): Promise<void> {
  let mark: number | undefined
  let originalId: string | undefined
  for (;;) {
    const { text, at } = await stream.requireLine('a blob\'s data')
    if (text.startsWith('mark ')) {
      mark = parseMark(text.slice('mark '.length), at)
    } else if (text.startsWith('original-oid ')) {
      originalId = text.slice('original-oid '.length)
    } else if (text.startsWith('data ')) {
      // Which path will hold the blob is not known yet: the error names the data line.
      const bytes = await stream.readData(text, at, at)
      const hash = contentHash(bytes)
      await blobs.put(hash, bytes)
      if (mark !== undefined) state.marks.set(mark, { kind: 'blob', hash })
      if (originalId !== undefined) state.originalIds.set(originalId, { kind: 'blob', hash })
      return
    } else {
      throw new VstoreError('VSTORE_IMPORT', `blob: expected mark, original-oid or data, got ${JSON.stringify(text.slice(0, 80))}`, at)
    }
  }
}

/** `commit <ref>` and everything up to the command after it. */
async function readCommit(
  stream: CommandReader, state: ImportState, blobs: BlobStore, ref: string, commitAt: string,
): Promise<{ rev: string; newTexts: NewText[]; symlinkPaths: string[] }> {
  let mark: number | undefined
  let originalId: string | undefined
  for (;;) {
    const { text, at } = await stream.requireLine('a commit message')
    if (text.startsWith('mark ')) mark = parseMark(text.slice('mark '.length), at)
    else if (text.startsWith('original-oid ')) originalId = text.slice('original-oid '.length)
    else if (text.startsWith('gpgsig ')) await stream.readData((await stream.requireLine('a signature')).text, at)
    else if (text.startsWith('author ') || text.startsWith('committer ') || text.startsWith('encoding ')) continue
    else if (text.startsWith('data ')) {
      await stream.readData(text, at)
      break
    } else throw new VstoreError('VSTORE_IMPORT', `commit: unexpected ${JSON.stringify(text.slice(0, 80))} before the message`, at)
  }
  const rev = revisionOf(state, originalId, mark, commitAt)

  // from and merge come before the file commands.
  let firstParent = state.refs.get(ref)
  const mergeParents: CommitState[] = []
  let line = await stream.nextLine()
  if (line?.text.startsWith('from ') === true) {
    firstParent = resolveCommit(state, line.text.slice('from '.length), line.at)
    line = await stream.nextLine()
  }
  while (line?.text.startsWith('merge ') === true) {
    const parent = resolveCommit(state, line.text.slice('merge '.length), line.at)
    if (parent === undefined) throw new VstoreError('VSTORE_IMPORT', 'merge names no commit', line.at)
    mergeParents.push(parent)
    line = await stream.nextLine()
  }
  // Without a first parent the tree starts empty, as in git fast-import, and the merges are the parents.
  const parents = [...new Set([...(firstParent === undefined ? [] : [firstParent]), ...mergeParents])]

  const work = new WorkTree(firstParent?.tree)
  for (; line !== undefined; line = await stream.nextLine()) {
    const { text, at } = line
    if (text === '') break // the optional line feed that ends a commit
    if (text.startsWith('M ')) await applyModify(stream, state, blobs, work, rev, text, at)
    else if (text.startsWith('D ')) work.remove(parsePath(text, 2, at, true).path)
    else if (text.startsWith('C ') || text.startsWith('R ')) applyCopy(work, text, at)
    else if (text === 'deleteall') work.clear()
    else if (text.startsWith('N ')) await skipNote(stream, text, at)
    else if (text.startsWith('from ') || text.startsWith('merge ')) throw new VstoreError('VSTORE_IMPORT', `${text.split(' ')[0] ?? ''} after file commands`, at)
    else if (text.startsWith('ls ')) throw new VstoreError('VSTORE_UNSUPPORTED', 'ls needs answers from an importer; not supported', at)
    else {
      stream.unread(line) // the next command
      break
    }
  }

  const { tree, newTexts, symlinkPaths } = decideVersions(work, parents, rev)
  const commit: CommitState = { rev, tree }
  if (mark !== undefined) state.marks.set(mark, { kind: 'commit', commit })
  if (originalId !== undefined) state.originalIds.set(originalId, { kind: 'commit', commit })
  state.refs.set(ref, commit)
  return { rev, newTexts, symlinkPaths }
}

function revisionOf(state: ImportState, originalId: string | undefined, mark: number | undefined, at: string): string {
  if (originalId !== undefined) {
    if (originalId === '' || /\s/.test(originalId)) throw new VstoreError('VSTORE_IMPORT', `bad original-oid ${JSON.stringify(originalId)}`, at)
    if (state.originalIds.get(originalId)?.kind === 'commit') throw new VstoreError('VSTORE_IMPORT', `commit ${originalId} is given twice`, at)
    return originalId
  }
  if (mark === undefined) throw new VstoreError('VSTORE_IMPORT', 'a commit with neither original-oid nor mark has no revision id', at)
  const rev = `:${mark}`
  if (state.markRevs.has(rev)) throw new VstoreError('VSTORE_IMPORT', `mark ${rev} names a second commit, and marks are its only revision ids`, at)
  state.markRevs.add(rev)
  return rev
}

/** `M <mode> <dataref> <path>`, with inline data after it when dataref is `inline`. */
async function applyModify(stream: CommandReader, state: ImportState, blobs: BlobStore, work: WorkTree, rev: string, text: string, at: string): Promise<void> {
  const modeEnd = text.indexOf(' ', 2)
  const refEnd = modeEnd === -1 ? -1 : text.indexOf(' ', modeEnd + 1)
  if (refEnd === -1) throw new VstoreError('VSTORE_IMPORT', `bad M command ${JSON.stringify(text.slice(0, 80))}`, at)
  const mode = text.slice(2, modeEnd)
  const dataRef = text.slice(modeEnd + 1, refEnd)
  const { path } = parsePath(text, refEnd + 1, at, true)
  let inlineHash: string | undefined
  if (dataRef === 'inline') {
    // Only a regular file's bytes are a text; a symlink's target is not one.
    const textKey = REGULAR_FILE_MODES.has(mode) ? `${path}@${rev}` : undefined
    const bytes = await stream.readData((await stream.requireLine('inline data')).text, at, textKey)
    inlineHash = contentHash(bytes)
    await blobs.put(inlineHash, bytes)
  }
  switch (mode) {
    case '100644': case '644': case '100755': case '755': {
      const hash = inlineHash ?? resolveBlob(state, dataRef, at)
      work.set(path, { kind: 'written', hash })
      return
    }
    case '120000':
      work.set(path, SYMLINK)
      return
    case '160000':
      work.set(path, SUBMODULE)
      return
    case '040000':
      throw new VstoreError('VSTORE_UNSUPPORTED', 'M with a tree (mode 040000) is not supported', at)
    default:
      throw new VstoreError('VSTORE_IMPORT', `bad file mode ${JSON.stringify(mode)}`, at)
  }
}

/** `C <source> <destination>` and `R …`: a file or a whole folder. */
function applyCopy(work: WorkTree, text: string, at: string): void {
  const source = parsePath(text, 2, at, false)
  if (text[source.end] !== ' ') throw new VstoreError('VSTORE_IMPORT', `${text[0] ?? ''}: expected a space after the source path`, at)
  const destination = parsePath(text, source.end + 1, at, true).path
  const entries = work.entriesAt(source.path)
  if (entries.length === 0) throw new VstoreError('VSTORE_IMPORT', `${text[0] ?? ''}: no path ${JSON.stringify(source.path)} in the commit`, at)
  if (text[0] === 'R') work.removeAll(source.path)
  work.removeAll(destination)
  for (const [suffix, state] of entries) {
    work.set(destination + suffix, state.kind === 'other' ? state : { kind: 'written', hash: state.hash })
  }
}

/** `N <dataref> <commit-ish>`: notes are not files; inline data is read past. */
async function skipNote(stream: CommandReader, text: string, at: string): Promise<void> {
  if (text.startsWith('N inline ')) await stream.readData((await stream.requireLine('inline note data')).text, at)
}

/** `reset <ref>`, then an optional `from`: the branch points there, or (without from) at nothing. */
async function readReset(stream: CommandReader, state: ImportState, ref: string): Promise<void> {
  const line = await stream.nextLine()
  if (line?.text.startsWith('from ') === true) {
    const commit = resolveCommit(state, line.text.slice('from '.length), line.at)
    if (commit === undefined) state.refs.delete(ref)
    else state.refs.set(ref, commit)
    return
  }
  state.refs.delete(ref)
  if (line !== undefined && line.text !== '') stream.unread(line)
}

/** `tag <name>`, its header lines and message; only a mark on it is kept (naming the tagged commit). */
async function readTag(stream: CommandReader, state: ImportState): Promise<void> {
  let mark: number | undefined
  let target: CommitState | undefined
  for (;;) {
    const { text, at } = await stream.requireLine('a tag message')
    if (text.startsWith('mark ')) mark = parseMark(text.slice('mark '.length), at)
    else if (text.startsWith('from ')) target = tryResolveCommit(state, text.slice('from '.length))
    else if (text.startsWith('data ')) {
      await stream.readData(text, at)
      break
    }
  }
  if (mark !== undefined) {
    if (target === undefined) state.marks.delete(mark)
    else state.marks.set(mark, { kind: 'commit', commit: target })
  }
}

/** `alias`, `mark :N`, `to <commit-ish>`. */
async function readAlias(stream: CommandReader, state: ImportState, at: string): Promise<void> {
  const markLine = await stream.requireLine('an alias mark')
  const toLine = await stream.requireLine('an alias target')
  if (!markLine.text.startsWith('mark ') || !toLine.text.startsWith('to ')) throw new VstoreError('VSTORE_IMPORT', 'alias: expected mark and to', at)
  const mark = parseMark(markLine.text.slice('mark '.length), markLine.at)
  const commit = resolveCommit(state, toLine.text.slice('to '.length), toLine.at)
  if (commit === undefined) throw new VstoreError('VSTORE_IMPORT', 'alias names no commit', toLine.at)
  state.marks.set(mark, { kind: 'commit', commit })
}

const IGNORED_FEATURES = new Set(['date-format', 'export-marks', 'relative-marks', 'no-relative-marks', 'force', 'notes', 'get-mark', 'cat-blob', 'ls', 'alias', 'rewrite-submodules-from', 'rewrite-submodules-to'])

/** Returns whether the feature is `done`. */
function checkFeature(feature: string, at: string): boolean {
  const name = feature.split('=')[0] ?? ''
  if (name === 'done') return true
  if (name === 'import-marks' || name === 'import-marks-if-exists') {
    throw new VstoreError('VSTORE_UNSUPPORTED', 'import-marks: a stream that continues an earlier import is not supported', at)
  }
  if (!IGNORED_FEATURES.has(name)) throw new VstoreError('VSTORE_UNSUPPORTED', `unknown feature ${JSON.stringify(name)}`, at)
  return false
}

function parseMark(text: string, at: string): number {
  const match = MARK.exec(text)
  if (match === null) throw new VstoreError('VSTORE_IMPORT', `bad mark ${JSON.stringify(text)}`, at)
  return Number(match[1])
}

/** A commit-ish: `:mark`, an original-oid from this stream, the null id (no commit), or a ref (`^0` allowed). */
function resolveCommit(state: ImportState, text: string, at: string): CommitState | undefined {
  if (isHexId(text) && NULL_OBJECT_ID.test(text)) return undefined
  const commit = tryResolveCommit(state, text)
  if (commit === undefined) {
    throw new VstoreError('VSTORE_IMPORT', `${JSON.stringify(text)} names no commit of this stream (is it an export of part of a history?)`, at)
  }
  return commit
}

function tryResolveCommit(state: ImportState, text: string): CommitState | undefined {
  const mark = MARK.exec(text)
  const target = mark !== null ? state.marks.get(Number(mark[1])) : isHexId(text) ? state.originalIds.get(text) : undefined
  if (target?.kind === 'commit') return target.commit
  return state.refs.get(text.replace(/\^0$/, ''))
}

function resolveBlob(state: ImportState, dataRef: string, at: string): string {
  const mark = MARK.exec(dataRef)
  const target = mark !== null ? state.marks.get(Number(mark[1])) : isHexId(dataRef) ? state.originalIds.get(dataRef) : undefined
  if (target?.kind !== 'blob') throw new VstoreError('VSTORE_IMPORT', `${JSON.stringify(dataRef)} names no blob of this stream`, at)
  return target.hash
}

function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64')
}

// ---------------------------------------------------------------------------------------------------------
// Paths

const ESCAPES: Readonly<Record<string, number>> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '"': 0x22, '\\': 0x5c }

/**
 * A path starting at `start` of a command line (held as latin1, one code unit per byte): C-style quoted, or
 * bare up to the end of the line (`toEnd`) or the next space. Returns the path and where it ends.
 */
function parsePath(line: string, start: number, at: string, toEnd: boolean): { path: string; end: number } {
  let bytes: Uint8Array
  let end: number
  if (line[start] === '"') {
    const collected: number[] = []
    let index = start + 1
    for (;;) {
      const char = line[index]
      if (char === undefined) throw new VstoreError('VSTORE_IMPORT', 'quoted path without its closing quote', at)
      if (char === '"') break
      if (char !== '\\') {
        collected.push(char.charCodeAt(0))
        index += 1
        continue
      }
      const escaped = line[index + 1] ?? ''
      const octal = /^[0-3][0-7]{2}/.exec(line.slice(index + 1, index + 4))
      if (octal !== null) {
        collected.push(Number.parseInt(octal[0], 8))
        index += 4
      } else if (ESCAPES[escaped] !== undefined) {
        collected.push(ESCAPES[escaped])
        index += 2
      } else {
        throw new VstoreError('VSTORE_IMPORT', `bad escape \\${escaped} in a quoted path`, at)
      }
    }
    bytes = Uint8Array.from(collected)
    end = index + 1
    if (toEnd && end !== line.length) throw new VstoreError('VSTORE_IMPORT', 'text after a quoted path', at)
  } else {
    const space = toEnd ? -1 : line.indexOf(' ', start)
    end = space === -1 ? line.length : space
    bytes = Buffer.from(line.slice(start, end), 'latin1')
  }
  const path = decodeUtf8Strictly(bytes)
  if (path === undefined) throw new VstoreError('VSTORE_IMPORT', `path is not UTF-8: ${latin1(bytes)}`, at)
  if (path === '' || path.startsWith('/') || path.endsWith('/') || path.split('/').some(segment => segment === '' || segment === '.' || segment === '..') || path.includes('\0')) {
    throw new VstoreError('VSTORE_IMPORT', `not a relative path: ${JSON.stringify(path)}`, at)
  }
  return { path, end }
}

// ---------------------------------------------------------------------------------------------------------
// Reading the stream

const LINE_FEED = 0x0a
const MAX_LINE_BYTE_LENGTH = 1024 * 1024
/** The reader's own bound on any `data` block, text or not, whatever `maxTextByteLength`. */
const MAX_DATA_BYTE_LENGTH = 2 ** 30

interface Line {
  /** The line without its line feed, one code unit per byte (latin1). */
  readonly text: string
  /** `<where>@<offset of the line>`. */
  readonly at: string
}

/** Lines and data blocks of the stream, with one line of look-ahead. */
class CommandReader {
  #pending: Line | undefined

  constructor(readonly reader: ByteStreamReader, readonly where: string, readonly maxTextByteLength: number | undefined) {}

  here(): string {
    return `${this.where}@${this.reader.offset}`
  }

  /** The next line; `undefined` at the end of the stream. */
  async nextLine(): Promise<Line | undefined> {
    if (this.#pending !== undefined) {
      const line = this.#pending
      this.#pending = undefined
      return line
    }
    const at = this.here()
    const result = await this.reader.readUntil(LINE_FEED, MAX_LINE_BYTE_LENGTH)
    if (result === undefined) return undefined
    if (!result.complete) {
      throw new VstoreError('VSTORE_IMPORT', result.bytes.length > MAX_LINE_BYTE_LENGTH ? 'a line longer than 1 MiB' : 'the stream ends inside a line (truncated?)', at)
    }
    return { text: latin1(result.bytes), at }
  }

  async requireLine(what: string): Promise<Line> {
    const line = await this.nextLine()
    if (line === undefined) throw new VstoreError('VSTORE_IMPORT', `the stream ends before ${what} (truncated?)`, this.here())
    return line
  }

  /** The next command: blank lines and `#` comments are skipped. */
  async nextCommand(): Promise<Line | undefined> {
    for (;;) {
      const line = await this.nextLine()
      if (line === undefined || (line.text !== '' && !line.text.startsWith('#'))) return line
    }
  }

  unread(line: Line): void {
    if (this.#pending !== undefined) throw new Error('vstore bug: two lines unread')
    this.#pending = line
  }

  /**
   * The bytes of `data <count>` (then an optional line feed) or `data <<<delimiter>`. With `textWhere`, they
   * are a file's, refused over `maxTextByteLength` (naming `textWhere`) before they are read; the delimited
   * form, whose length is known only as it is read, is read no further than the first line past the limit.
   */
  async readData(command: string, at: string, textWhere?: string): Promise<Uint8Array> {
    const checkByteLength = (byteLength: number): void => {
      if (textWhere !== undefined) checkTextByteLength(byteLength, this.maxTextByteLength, textWhere)
      if (byteLength > MAX_DATA_BYTE_LENGTH) throw new VstoreError('VSTORE_LIMIT', `data of ${byteLength} bytes, limit ${MAX_DATA_BYTE_LENGTH}`, at)
    }
    const counted = /^data (\d{1,16})$/.exec(command)
    if (counted !== null) {
      const byteLength = Number(counted[1])
      checkByteLength(byteLength)
      const bytes = await this.reader.read(byteLength)
      if (bytes.length < byteLength) throw new VstoreError('VSTORE_IMPORT', `the stream ends inside data (${bytes.length} of ${byteLength} bytes; truncated?)`, at)
      if (this.#pending === undefined && (await this.reader.peek()) === LINE_FEED) await this.reader.skip(1)
      return bytes
    }
    const delimited = /^data <<(.+)$/.exec(command)
    if (delimited === null) throw new VstoreError('VSTORE_IMPORT', `expected data, got ${JSON.stringify(command.slice(0, 80))}`, at)
    const delimiter = delimited[1]
    const lines: Uint8Array[] = []
    let byteLength = 0
    for (;;) {
      const line = await this.nextLine()
      if (line === undefined) throw new VstoreError('VSTORE_IMPORT', `the stream ends before the data delimiter ${JSON.stringify(delimiter)}`, at)
      if (line.text === delimiter) break
      const bytes = Buffer.from(`${line.text}\n`, 'latin1')
      byteLength += bytes.length
      checkByteLength(byteLength)
      lines.push(bytes)
    }
    return concatenate(lines, byteLength)
  }

  async close(): Promise<void> {
    await this.reader.close()
  }
}

// ---------------------------------------------------------------------------------------------------------
// Blob bytes by content hash: in memory up to a budget, the least recently used in a temporary file

class BlobStore {
  readonly #memory = new Map<string, Uint8Array>()
  #memoryByteLength = 0
  readonly #spilled = new Map<string, { readonly position: number; readonly byteLength: number }>()
  #spill: { readonly directory: string; readonly file: FileHandle; byteLength: number } | undefined

  constructor(readonly maxMemoryByteLength: number, readonly temporaryDirectory: string) {}

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    if (this.#memory.has(hash) || this.#spilled.has(hash)) return
    this.#memory.set(hash, bytes)
    this.#memoryByteLength += bytes.length
    for (const [oldHash, oldBytes] of this.#memory) {
      if (this.#memoryByteLength <= this.maxMemoryByteLength) break
      await this.#write(oldHash, oldBytes)
      this.#memory.delete(oldHash)
      this.#memoryByteLength -= oldBytes.length
    }
  }

  async get(hash: string): Promise<Uint8Array> {
    const bytes = this.#memory.get(hash)
    if (bytes !== undefined) {
      this.#memory.delete(hash) // most recently used goes last
      this.#memory.set(hash, bytes)
      return bytes
    }
    const location = this.#spilled.get(hash)
    if (location === undefined || this.#spill === undefined) throw new Error(`vstore bug: blob ${hash} was never stored`)
    const spilledBytes = new Uint8Array(location.byteLength)
    try {
      let filled = 0
      while (filled < location.byteLength) {
        const { bytesRead } = await this.#spill.file.read(spilledBytes, filled, location.byteLength - filled, location.position + filled)
        if (bytesRead === 0) throw new Error('the file is shorter than written')
        filled += bytesRead
      }
    } catch (cause) {
      throw new VstoreError('VSTORE_IO', `cannot read back a blob: ${messageOf(cause)}`, this.#spill.directory, { cause })
    }
    return spilledBytes
  }

  async #write(hash: string, bytes: Uint8Array): Promise<void> {
    try {
      if (this.#spill === undefined) {
        const directory = await mkdtemp(join(this.temporaryDirectory, 'vstore-fast-export-'))
        this.#spill = { directory, file: await open(join(directory, 'blobs'), 'w+'), byteLength: 0 }
      }
      const spill = this.#spill
      let written = 0
      while (written < bytes.length) {
        const { bytesWritten } = await spill.file.write(bytes, written, bytes.length - written, spill.byteLength + written)
        written += bytesWritten
      }
      this.#spilled.set(hash, { position: spill.byteLength, byteLength: bytes.length })
      spill.byteLength += bytes.length
    } catch (cause) {
      throw new VstoreError('VSTORE_IO', `cannot write a blob to the temporary file: ${messageOf(cause)}`, this.temporaryDirectory, { cause })
    }
  }

  async close(): Promise<void> {
    const spill = this.#spill
    this.#spill = undefined
    this.#memory.clear()
    this.#spilled.clear()
    if (spill === undefined) return
    await spill.file.close()
    await rm(spill.directory, { recursive: true, force: true })
  }
}
