/**
 * Annotate (blame): for each line of one version, the revision of its file that introduced it, following
 * the file's own graph through merges as `git blame` follows commits. Lines are handed from a revision to
 * its parents, in parent order, wherever a line diff shows them unchanged; a line no parent has was
 * introduced by the revision itself. Revisions are visited children first, so each text is read and each
 * diff made once, and the walk stops as soon as every line has its origin.
 */
import { bytesEqual } from '../bytes/index.js'
import { lineRuns, splitLines } from '../delta/line-diff.js'
import { hashesMatch, isWholeHash } from './text-hash.js'

export interface AnnotatedLine {
  /** The revision that introduced the line. */
  readonly rev: string
  /** Its line number (from 1) in that revision's text. */
  readonly lineNumber: number
  /** The line's bytes, with its `\n` (none on a last line without one). */
  readonly text: Uint8Array
}

/** What annotate reads of one file's history. */
export interface AnnotateSource {
  /**
   * The revision's parents, its content hash (equal texts are handed on whole, without a diff) and its
   * length (what reading ahead holds in memory).
   */
  entry(rev: string): { readonly parents: readonly string[]; readonly hash: Uint8Array; readonly textByteLength: number }
  /** The texts of several revisions (a store reads each group they share once). */
  texts(revs: readonly string[]): Promise<ReadonlyMap<string, Uint8Array>>
}

/**
 * Texts read ahead, in visiting order, when one is missing: a file's versions mostly share a few groups,
 * and one read of many rebuilds each group's chains of deltas once (express's package.json, 247 versions:
 * 64 at a time decoded its group four times). Bounded by bytes too, for files of megabytes.
 */
const READ_AHEAD_TEXT_COUNT = 1024
const READ_AHEAD_BYTE_LENGTH = 32 * 1024 * 1024

/** Revisions `target` descends from (itself included), each after all its children among them. */
function childrenFirst(target: string, source: AnnotateSource): string[] {
  const reachable = new Set<string>([target])
  const stack = [target]
  for (let rev = stack.pop(); rev !== undefined; rev = stack.pop()) {
    for (const parent of source.entry(rev).parents) {
      if (!reachable.has(parent)) {
        reachable.add(parent)
        stack.push(parent)
      }
    }
  }
  const waiting = new Map<string, number>()
  for (const rev of reachable) for (const parent of new Set(source.entry(rev).parents)) waiting.set(parent, (waiting.get(parent) ?? 0) + 1)
  const order: string[] = []
  const ready = [target]
  for (let rev = ready.pop(); rev !== undefined; rev = ready.pop()) {
    order.push(rev)
    for (const parent of new Set(source.entry(rev).parents)) {
      const left = (waiting.get(parent) as number) - 1
      waiting.set(parent, left)
      if (left === 0) ready.push(parent)
    }
  }
  return order
}

/** The lines of one revision still to be given an origin: line index → the target lines it stands for. */
interface Pending {
  /** Several target lines when paths through merges bring two of them back to one line of an ancestor. */
  readonly targets: (number[] | undefined)[]
  count: number
}

function handTo(to: Pending, line: number, targets: number[]): void {
  const known = to.targets[line]
  if (known === undefined) {
    to.targets[line] = targets
    to.count++
  } else known.push(...targets)
}

export async function annotate(target: string, source: AnnotateSource): Promise<AnnotatedLine[]> {
  const order = childrenFirst(target, source)
  const position = new Map(order.map((rev, i) => [rev, i]))
  const texts = new Map<string, Uint8Array>()
  const textOf = async (rev: string): Promise<Uint8Array> => {
    const known = texts.get(rev)
    if (known !== undefined) return known
    // This one and the next ones to be visited that are not loaded yet (none of them visited already).
    const wanted = [rev]
    let byteLength = source.entry(rev).textByteLength
    for (let i = (position.get(rev) as number) + 1; i < order.length && wanted.length < READ_AHEAD_TEXT_COUNT; i++) {
      const next = order[i] as string
      if (texts.has(next)) continue
      byteLength += source.entry(next).textByteLength
      if (byteLength > READ_AHEAD_BYTE_LENGTH) break
      wanted.push(next)
    }
    for (const [read, text] of await source.texts(wanted)) texts.set(read, text)
    return texts.get(rev) as Uint8Array
  }
  const targetLines = splitLines(Buffer.from(await textOf(target)).toString('latin1'))
  const origins: { rev: string; lineNumber: number }[] = new Array(targetLines.length)
  const pending = new Map<string, Pending>([[target, { targets: targetLines.map((_, i) => [i]), count: targetLines.length }]])
  let unassigned = targetLines.length
  for (const rev of order) {
    if (unassigned === 0) break
    const lines = pending.get(rev)
    pending.delete(rev)
    if (lines === undefined || lines.count === 0) {
      texts.delete(rev)
      continue
    }
    const { parents, hash, textByteLength } = source.entry(rev)
    // Whether a parent holds the same text: hashes name texts of 16 KiB and more; a shorter text's stored
    // hash is only a check, so its bytes are compared.
    const sameText = async (parent: string): Promise<boolean> => {
      const other = source.entry(parent)
      if (other.textByteLength !== textByteLength || !hashesMatch(other.hash, hash)) return false
      return (isWholeHash(other.hash) && isWholeHash(hash)) || bytesEqual(await textOf(parent), await textOf(rev))
    }
    for (const parent of new Set(parents)) {
      if (lines.count === 0) break
      const handed = pending.get(parent)
      if (await sameText(parent)) {
        // The same text: every line goes to the parent, at the same index.
        if (handed === undefined) pending.set(parent, { targets: [...lines.targets], count: lines.count })
        else lines.targets.forEach((targets, line) => { if (targets !== undefined) handTo(handed, line, targets) })
        lines.targets.fill(undefined)
        lines.count = 0
        break
      }
      const runs = lineRuns(await textOf(parent), await textOf(rev))
      const to = handed ?? { targets: [], count: 0 }
      if (handed === undefined) pending.set(parent, to)
      let parentLine = 0
      let line = 0
      for (const { kind, lineCount } of runs) {
        if (kind === 'equal') {
          for (let k = 0; k < lineCount; k++) {
            const targets = lines.targets[line + k]
            if (targets === undefined) continue
            handTo(to, parentLine + k, targets)
            lines.targets[line + k] = undefined
            lines.count--
          }
        }
        if (kind !== 'insert') parentLine += lineCount
        if (kind !== 'delete') line += lineCount
      }
    }
    lines.targets.forEach((targets, line) => {
      if (targets === undefined) return
      for (const targetLine of targets) origins[targetLine] = { rev, lineNumber: line + 1 }
      unassigned -= targets.length
    })
    // Every child has been visited: no one needs this text again.
    texts.delete(rev)
  }
  return targetLines.map((line, i) => ({ ...(origins[i] as { rev: string; lineNumber: number }), text: Buffer.from(line, 'latin1') }))
}
