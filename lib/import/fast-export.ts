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
import { tmpdir } from 'node:os'
import { isHexId } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import type { TextKey, TextRecord } from '../store/types.js'
import { BlobStore } from './blob-store.js'
import { ByteStreamReader } from './byte-stream.js'
import { CommandReader, MARK, parseMark, parsePath } from './fast-export-syntax.js'
import { SUBMODULE, SYMLINK, WorkTree, decideVersions, type CommitState, type NewText } from './fast-export-tree.js'
import { checkMaxTextByteLength, type TextLimitOptions } from './text-limit.js'

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

const REGULAR_FILE_MODES: ReadonlySet<string> = new Set(['100644', '644', '100755', '755'])
const NULL_OBJECT_ID = /^0+$/

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
