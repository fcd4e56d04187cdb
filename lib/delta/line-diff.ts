/**
 * Line diffs for people (`vstore diff`), over diff-match-patch's line mode; this file is the package's one
 * adapter. Texts are compared as bytes: each byte is one character of a "binary string" (latin1), so any
 * bytes, UTF-8 or not, diff and come back unchanged, and a line is everything up to and including a `\n`.
 */
import { createRequire } from 'node:module'
import type DiffMatchPatch from 'diff-match-patch'
import { latin1 } from '../bytes/index.js'

// CommonJS; loaded on first use, so that commands other than diff never load it.
const require = createRequire(import.meta.url)

/** How long diff-match-patch may search for a minimal diff before it settles for a coarser one (still exact). */
const DIFF_TIMEOUT_SECONDS = 5

export interface LineChange {
  readonly kind: 'equal' | 'delete' | 'insert'
  /** Whole lines as binary strings, each ending with `\n` except a text's last line when the text does not. */
  readonly lines: readonly string[]
}

/** Git's rule: a text with a NUL byte in its first 8,000 bytes is binary. */
export function isBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 8000).includes(0)
}

/** A text's lines, each with its `\n` (a last line without one as it is): the one line splitter. */
export function splitLines(text: string): string[] {
  const lines: string[] = []
  let start = 0
  while (start < text.length) {
    const end = text.indexOf('\n', start)
    const next = end < 0 ? text.length : end + 1
    lines.push(text.slice(start, next))
    start = next
  }
  return lines
}

function newDiffMatchPatch(): DiffMatchPatch {
  const DiffMatchPatchClass = require('diff-match-patch') as typeof DiffMatchPatch
  const dmp = new DiffMatchPatchClass()
  dmp.Diff_Timeout = DIFF_TIMEOUT_SECONDS
  return dmp
}

/** The lines that stay, go and come between `a` and `b`, in order. */
export function diffLines(a: Uint8Array, b: Uint8Array): LineChange[] {
  const dmp = newDiffMatchPatch()
  const { chars1, chars2, lineArray } = dmp.diff_linesToChars_(latin1(a), latin1(b))
  const diffs = dmp.diff_main(chars1, chars2, false)
  dmp.diff_charsToLines_(diffs, lineArray)
  const changes: LineChange[] = []
  for (const [operation, text] of diffs) {
    const kind = operation === 0 ? 'equal' : operation < 0 ? 'delete' : 'insert'
    // Past diff-match-patch's 65,535 distinct lines the rest of a text is one "line": split it again.
    const lines = splitLines(text)
    const last = changes.at(-1)
    if (last !== undefined && last.kind === kind) changes[changes.length - 1] = { kind, lines: [...last.lines, ...lines] }
    else if (lines.length > 0) changes.push({ kind, lines })
  }
  return changes
}

/** A run of a line diff: `lineCount` lines both texts keep, or that `a` loses, or that `b` gains. */
export interface LineRun {
  readonly kind: LineChange['kind']
  readonly lineCount: number
}

/** How many leading bytes `a` and `b` share (a binary search of native compares). */
function commonPrefixByteLength(a: Buffer, b: Buffer): number {
  let low = 0
  let high = Math.min(a.length, b.length)
  while (low < high) {
    const middle = Math.ceil((low + high) / 2)
    if (a.compare(b, low, middle, low, middle) === 0) low = middle
    else high = middle - 1
  }
  return low
}

/** How many trailing bytes, at most `limit`, `a` and `b` share. */
function commonSuffixByteLength(a: Buffer, b: Buffer, limit: number): number {
  let low = 0
  let high = limit
  while (low < high) {
    const middle = Math.ceil((low + high) / 2)
    if (a.compare(b, b.length - middle, b.length - low, a.length - middle, a.length - low) === 0) low = middle
    else high = middle - 1
  }
  return low
}

function countLines(bytes: Buffer, start: number, end: number): number {
  let count = 0
  for (let at = bytes.indexOf(0x0a, start); at >= 0 && at < end; at = bytes.indexOf(0x0a, at + 1)) count++
  return count
}

/**
 * A line diff as runs of line counts, for callers that only follow line numbers (annotate): it keeps as
 * many lines as diffLines (a fast-check test holds it to that), though where an edit can sit in two
 * places among equal lines it may pick the other one. The lines both texts begin and end with are found
 * with native byte compares and only the middles go to diff-match-patch: re-coding whole texts line by
 * line for every pair was 80 % of annotate's time on jq's longest history.
 */
export function lineRuns(a: Uint8Array, b: Uint8Array): LineRun[] {
  const bytesA = Buffer.from(a.buffer, a.byteOffset, a.byteLength)
  const bytesB = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  // Whole lines only: back to just after the last `\n` in the common bytes.
  const prefixByteLength = commonPrefixByteLength(bytesA, bytesB)
  const prefixEnd = prefixByteLength === 0 ? 0 : bytesA.lastIndexOf(0x0a, prefixByteLength - 1) + 1
  const suffixByteLength = commonSuffixByteLength(bytesA, bytesB, Math.min(a.length, b.length) - prefixEnd)
  let suffixStartA = a.length - suffixByteLength
  const suffixStartB = b.length - suffixByteLength
  const lineStartA = suffixStartA === prefixEnd || a[suffixStartA - 1] === 0x0a
  const lineStartB = suffixStartB === prefixEnd || b[suffixStartB - 1] === 0x0a
  // The shared bytes start inside a line of either text: they hold whole lines from just after their first `\n`.
  if (!lineStartA || !lineStartB) {
    const newline = bytesA.indexOf(0x0a, suffixStartA)
    suffixStartA = newline < 0 ? a.length : newline + 1
  }
  const suffixLines = countLines(bytesA, suffixStartA, a.length) + (suffixStartA < a.length && a[a.length - 1] !== 0x0a ? 1 : 0)
  const runs: LineRun[] = []
  const push = (kind: LineChange['kind'], lineCount: number) => {
    const last = runs.at(-1)
    if (last !== undefined && last.kind === kind) runs[runs.length - 1] = { kind, lineCount: last.lineCount + lineCount }
    else if (lineCount > 0) runs.push({ kind, lineCount })
  }
  push('equal', countLines(bytesA, 0, prefixEnd))
  const middleA = a.subarray(prefixEnd, suffixStartA)
  const middleB = b.subarray(prefixEnd, b.length - (a.length - suffixStartA))
  for (const change of diffLines(middleA, middleB)) push(change.kind, change.lines.length)
  push('equal', suffixLines)
  return runs
}

export interface UnifiedDiffOptions {
  /** What the `---` and `+++` lines name, e.g. `a/src/main.c` and `b/src/main.c`. */
  readonly oldLabel: string
  readonly newLabel: string
  /** Appended after a tab (where GNU diff puts a time; `patch` ignores it), e.g. the revisions. */
  readonly oldNote?: string
  readonly newNote?: string
  /** Unchanged lines around each change (default 3). */
  readonly context?: number
}

const NO_NEWLINE = '\\ No newline at end of file\n'

/**
 * A unified diff from `a` to `b` that `patch` applies to `a` to give `b` exactly (also for texts that do
 * not end with a newline, and for any bytes), or undefined when they are equal. Binary texts (isBinary)
 * give one `Binary files … differ` line.
 */
export function unifiedDiff(a: Uint8Array, b: Uint8Array, options: UnifiedDiffOptions): Uint8Array | undefined {
  const header = `--- ${options.oldLabel}${options.oldNote === undefined ? '' : `\t${options.oldNote}`}\n`
    + `+++ ${options.newLabel}${options.newNote === undefined ? '' : `\t${options.newNote}`}\n`
  if (Buffer.compare(a, b) === 0) return undefined
  if (isBinary(a) || isBinary(b)) return Buffer.from(`Binary files ${options.oldLabel} and ${options.newLabel} differ\n`, 'latin1')
  const context = options.context ?? 3
  const flat: { mark: ' ' | '-' | '+'; line: string }[] = []
  for (const change of diffLines(a, b)) {
    const mark = change.kind === 'equal' ? ' ' : change.kind === 'delete' ? '-' : '+'
    for (const line of change.lines) flat.push({ mark, line })
  }
  // Lines of each side before each position of `flat`.
  const oldBefore: number[] = [0]
  const newBefore: number[] = [0]
  for (const { mark } of flat) {
    oldBefore.push((oldBefore.at(-1) as number) + (mark === '+' ? 0 : 1))
    newBefore.push((newBefore.at(-1) as number) + (mark === '-' ? 0 : 1))
  }
  const parts: string[] = [header]
  let position = 0
  while (position < flat.length) {
    while (position < flat.length && flat[position]?.mark === ' ') position++
    if (position >= flat.length) break
    // Hunks further apart than twice the context never overlap, so this starts after the last one.
    const start = Math.max(0, position - context)
    let end = position
    for (;;) {
      while (end < flat.length && flat[end]?.mark !== ' ') end++
      let next = end
      while (next < flat.length && flat[next]?.mark === ' ') next++
      // Changes closer than twice the context share a hunk.
      if (next < flat.length && next - end <= 2 * context) {
        end = next
        continue
      }
      end = Math.min(flat.length, end + context)
      break
    }
    const oldCount = (oldBefore[end] as number) - (oldBefore[start] as number)
    const newCount = (newBefore[end] as number) - (newBefore[start] as number)
    // GNU style: a side with no lines names the line before the hunk; a count of 1 is left out.
    const range = (before: number, count: number) => `${count === 0 ? before : before + 1}${count === 1 ? '' : `,${count}`}`
    parts.push(`@@ -${range(oldBefore[start] as number, oldCount)} +${range(newBefore[start] as number, newCount)} @@\n`)
    for (let i = start; i < end; i++) {
      const { mark, line } = flat[i] as { mark: string; line: string }
      parts.push(mark, line)
      if (!line.endsWith('\n')) parts.push('\n', NO_NEWLINE)
    }
    position = end
  }
  return Buffer.from(parts.join(''), 'latin1')
}

export interface DiffStat {
  readonly insertions: number
  readonly deletions: number
  readonly binary: boolean
}

/** Lines inserted and deleted from `a` to `b` (0 and 0 for binary texts, which are flagged instead). */
export function diffStat(a: Uint8Array, b: Uint8Array): DiffStat {
  if (isBinary(a) || isBinary(b)) return { insertions: 0, deletions: 0, binary: Buffer.compare(a, b) !== 0 }
  let insertions = 0
  let deletions = 0
  for (const change of diffLines(a, b)) {
    if (change.kind === 'insert') insertions += change.lines.length
    else if (change.kind === 'delete') deletions += change.lines.length
  }
  return { insertions, deletions, binary: false }
}
