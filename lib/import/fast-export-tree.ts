/**
 * A fast-export commit's tree as its file commands build it (`M`, `D`, `C`, `R`, `deleteall`, as git
 * fast-import applies them), and importGit's graph rule applied to it once the commit ends: which paths are
 * new versions of a file, and which parents each has.
 */
import { rebaseTree, treeDelete, treeGet, treeRange, treeSet, type Tree } from './persistent-tree.js'

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

export type PathState = FileVersion | WrittenFile | NotAFile

export const SYMLINK: NotAFile = { kind: 'other', what: 'symlink' }
export const SUBMODULE: NotAFile = { kind: 'other', what: 'submodule' }

/** A commit that a later command may name, with its path→state tree (only FileVersion and NotAFile). */
export interface CommitState {
  readonly rev: string
  readonly tree: Tree<PathState>
}

export interface NewText {
  readonly path: string
  readonly hash: string
  readonly parents: readonly string[]
}

/** The tree of the commit being read, and every path its commands touched. */
export class WorkTree {
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
export function decideVersions(work: WorkTree, parents: readonly CommitState[], rev: string): { tree: Tree<PathState>; newTexts: NewText[]; symlinkPaths: string[] } {
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
