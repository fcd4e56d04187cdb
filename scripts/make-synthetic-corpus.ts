/**
 * Writes a synthetic benchmark corpus (`scripts/corpus.ts`), a long history of one file: one file, `src/growing.c`, and a
 * linear history of small edits, revision `r000002` the child of `r000001` and so on.
 *
 *   node dist/scripts/make-synthetic-corpus.js [NAME] [--edits N] [--seed S]     (default: synthetic, 100000, 1)
 *
 * `r000001` creates the file (about 400 bytes of C-like lines); each later revision is one edit of its
 * parent: 60% change 1–3 adjacent lines (one token, or the whole line), the rest insert 1–4 lines or delete
 * 1–8 at a random place. Whether an edit inserts or deletes leans towards keeping the file near a line that
 * grows 0.35 bytes per revision, so 100,000 revisions end near 35 kB and hold about 1.8 GB in all: big
 * enough to matter, small enough for the bench's import and `xz -9` of the whole history on two cores.
 * The same N and S give the same bytes (mulberry32, `scripts/stats.ts`); nothing is pinned, since nothing
 * is fetched. Every revision differs from its parent, and nearly all from every other (so about N blobs).
 */
import { VstoreError } from '../lib/errors.js'
import {
  checkCorpusName, corpusDir, CountingWriter, formatBytes, isMainModule, parseCommandLine, runMain, sha256Hex,
} from './corpus.js'
import { seededRandom } from './stats.js'

/** The one file of the history. */
export const SYNTHETIC_FILE = 'src/growing.c'

export interface SyntheticHistoryOptions {
  /** Revisions, the first of which creates the file; ≥ 1. */
  readonly editCount: number
  readonly seed: number
  /** How much the file should grow per revision, on average; default 0.35. */
  readonly growthBytesPerEdit?: number
}

export interface SyntheticVersion {
  readonly rev: string
  readonly parents: readonly string[]
  readonly text: Uint8Array
}

/** `r000001` for 1: six digits, more when needed, so ids sort in history order up to 999,999. */
export function syntheticRev(index: number): string {
  return `r${String(index).padStart(6, '0')}`
}

const TYPES = ['int', 'size_t', 'char *', 'struct node *', 'uint32_t', 'bool', 'double', 'const char *']
const NAMES = [
  'buf', 'count', 'node', 'next', 'prev', 'head', 'tail', 'key', 'value', 'index', 'offset', 'flags', 'state', 'ctx', 'item',
  'total', 'limit', 'cursor', 'entry', 'table', 'result', 'error', 'path', 'name', 'line', 'width', 'depth', 'seen', 'tmp', 'rc',
]
const CALLS = ['lookup', 'insert', 'grow', 'hash', 'parse_line', 'emit', 'free_node', 'check', 'read_block', 'flush', 'compare', 'strlen']
const WORDS = [
  'the', 'a', 'we', 'keep', 'this', 'when', 'is', 'not', 'every', 'table', 'grows', 'before', 'after', 'free', 'caller', 'owns',
  'buffer', 'must', 'be', 'at', 'least', 'one', 'entry', 'fix', 'later', 'see', 'above', 'why', 'only', 'if', 'slow', 'path',
]
const OPERATORS = ['<', '>', '==', '!=', '<=', '>=']

type Random = () => number

const HEADER = ['#include <stdlib.h>', '#include "growing.h"', '', 'int grow(struct node *head)', '{']

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T
}

/** An integer in [start, end). */
function between(random: Random, start: number, end: number): number {
  return start + Math.floor(random() * (end - start))
}

/** A count from `weights` (weights[k] for k + 1). */
function weightedCount(random: Random, weights: readonly number[]): number {
  let rest = random() * weights.reduce((sum, weight) => sum + weight, 0)
  for (const [k, weight] of weights.entries()) {
    rest -= weight
    if (rest < 0) return k + 1
  }
  return weights.length
}

function expression(random: Random): string {
  const roll = random()
  if (roll < 0.35) return pick(random, NAMES)
  if (roll < 0.55) return String(between(random, 0, 4096))
  if (roll < 0.8) return `${pick(random, CALLS)}(${pick(random, NAMES)}, ${pick(random, NAMES)})`
  return `${pick(random, NAMES)} + ${between(random, 1, 64)}`
}

/** One line of C-like text, indented, without its newline (ASCII: a character is a byte). */
export function syntheticLine(random: Random): string {
  const indent = '    '.repeat(between(random, 1, 4))
  const roll = random()
  if (roll < 0.25) return `${indent}${pick(random, TYPES)} ${pick(random, NAMES)} = ${expression(random)};`
  if (roll < 0.45) return `${indent}if (${pick(random, NAMES)} ${pick(random, OPERATORS)} ${expression(random)}) ${pick(random, NAMES)} = ${expression(random)};`
  if (roll < 0.6) return `${indent}${pick(random, NAMES)} = ${expression(random)};`
  if (roll < 0.7) return `${indent}return ${expression(random)};`
  if (roll < 0.8) return `${indent}for (int i = 0; i < ${pick(random, NAMES)}; i++) ${pick(random, NAMES)}[i] = ${expression(random)};`
  if (roll < 0.9) return `${indent}${pick(random, CALLS)}(${pick(random, NAMES)}, ${expression(random)});`
  const words = Array.from({ length: between(random, 3, 9) }, () => pick(random, WORDS))
  return `${indent}// ${words.join(' ')}`
}

const NAME_SET = new Set(NAMES)
const WORD_SET = new Set(WORDS)

/**
 * The line with one token changed: a name for a name or a number for a number in code, a word for a word in
 * a comment; a new line when it has no such token.
 */
function tweakLine(random: Random, line: string): string {
  const tokens = line.split(' ')
  const isComment = line.trimStart().startsWith('//')
  const candidates = tokens.flatMap((token, i) => {
    const bare = token.replace(/[;,)]$/, '')
    const fits = isComment ? WORD_SET.has(bare) : NAME_SET.has(bare) || /^[0-9]+$/.test(bare)
    return fits ? [i] : []
  })
  if (candidates.length === 0) return syntheticLine(random)
  const i = pick(random, candidates)
  const token = tokens[i] as string
  const bare = token.replace(/[;,)]$/, '')
  const replacement = isComment ? pick(random, WORDS) : NAME_SET.has(bare) ? pick(random, NAMES) : String(between(random, 0, 4096))
  tokens[i] = `${replacement}${token.slice(bare.length)}`
  return tokens.join(' ')
}

/**
 * The history, oldest first, one version at a time (only the current text is held): a pure function of
 * the options. @throws VstoreError `VSTORE_USAGE` for an editCount below 1 or a growth below 0.
 */
export function* syntheticHistory(options: SyntheticHistoryOptions): Generator<SyntheticVersion> {
  const { editCount, seed } = options
  const growthBytesPerEdit = options.growthBytesPerEdit ?? 0.35
  if (!Number.isSafeInteger(editCount) || editCount < 1) throw new VstoreError('VSTORE_USAGE', `editCount must be a whole number ≥ 1, got ${editCount}`, 'synthetic history')
  if (!(growthBytesPerEdit >= 0)) throw new VstoreError('VSTORE_USAGE', `growthBytesPerEdit must be ≥ 0, got ${growthBytesPerEdit}`, 'synthetic history')
  const random = seededRandom(seed)
  const lines: string[] = []
  /** Of the text: every line and its newline. */
  let byteLength = 0
  const replace = (start: number, deleteCount: number, inserted: readonly string[]): void => {
    for (const line of lines.splice(start, deleteCount, ...inserted)) byteLength -= line.length + 1
    for (const line of inserted) byteLength += line.length + 1
  }
  replace(0, 0, HEADER)
  while (byteLength < 360) replace(lines.length, 0, [syntheticLine(random)])
  replace(lines.length, 0, ['}'])
  const startByteLength = byteLength

  for (let index = 1; index <= editCount; index++) {
    if (index > 1) {
      // Edits stay in the body: after the header, before the closing brace.
      const bodyStart = HEADER.length
      const bodyEnd = lines.length - 1
      const targetByteLength = startByteLength + growthBytesPerEdit * index
      if (random() < 0.6 && bodyEnd > bodyStart) {
        const start = between(random, bodyStart, bodyEnd)
        const end = Math.min(bodyEnd, start + weightedCount(random, [70, 20, 10]))
        const before = lines.slice(start, end)
        let after = before
        // A token can be replaced by itself: draw again, so that every revision changes its parent.
        while (after.every((line, k) => line === before[k])) after = before.map(line => (random() < 0.6 ? tweakLine(random, line) : syntheticLine(random)))
        replace(start, end - start, after)
      } else {
        // Above the line, deletes win more often; 1 kB above, every time.
        const deleteShare = Math.min(0.95, Math.max(0.05, 0.45 + (byteLength - targetByteLength) / 2000))
        if (random() < deleteShare && bodyEnd - bodyStart > 4) {
          const start = between(random, bodyStart, bodyEnd)
          replace(start, Math.min(bodyEnd - start, weightedCount(random, [55, 20, 10, 5, 4, 3, 2, 1])), [])
        } else {
          replace(between(random, bodyStart, bodyEnd + 1), 0, Array.from({ length: weightedCount(random, [50, 25, 15, 10]) }, () => syntheticLine(random)))
        }
      }
    }
    const text = Buffer.from(`${lines.join('\n')}\n`, 'latin1')
    if (text.length !== byteLength) throw new Error(`vstore bug: synthetic text is ${text.length} bytes, counted ${byteLength}`)
    yield { rev: syntheticRev(index), parents: index === 1 ? [] : [syntheticRev(index - 1)], text }
  }
}

export interface SyntheticCorpusOptions extends SyntheticHistoryOptions {
  readonly name: string
  /** Default `.corpora/<name>/`; replaced when the new corpus is whole. */
  readonly corpusDir?: string
  readonly now?: () => Date
  /** Progress, one line at a time; default stderr. */
  readonly log?: (line: string) => void
}

export interface SyntheticCorpusSummary {
  readonly name: string
  readonly dir: string
  readonly fileVersionCount: number
  /** All versions together. */
  readonly rawByteLength: number
  readonly firstByteLength: number
  readonly lastByteLength: number
  /** Of the last version, to compare runs. */
  readonly lastSha256: string
  readonly elapsedMilliseconds: number
}

/**
 * Generates the history and writes it as a corpus.
 * @throws VstoreError `VSTORE_USAGE` for a bad name, and as `syntheticHistory`.
 */
export async function makeSyntheticCorpus(options: SyntheticCorpusOptions): Promise<SyntheticCorpusSummary> {
  const started = Date.now()
  checkCorpusName(options.name)
  const dir = options.corpusDir ?? corpusDir(options.name)
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const now = options.now ?? (() => new Date())
  const writer = await CountingWriter.create(dir)
  let firstByteLength = 0
  let last: Uint8Array = new Uint8Array(0)
  for (const version of syntheticHistory(options)) {
    await writer.add({ file: SYNTHETIC_FILE, ...version })
    if (writer.fileVersionCount === 1) firstByteLength = version.text.length
    last = version.text
    if (writer.fileVersionCount % 10000 === 0) {
      log(`${options.name}: ${writer.fileVersionCount} revisions, now ${formatBytes(last.length)}, ${formatBytes(writer.rawByteLength)} in all`)
    }
  }
  const lastSha256 = sha256Hex(last)
  await writer.finish({
    kind: 'synthetic',
    name: options.name,
    generator: 'scripts/make-synthetic-corpus.ts',
    file: SYNTHETIC_FILE,
    editCount: options.editCount,
    seed: options.seed,
    growthBytesPerEdit: options.growthBytesPerEdit ?? 0.35,
    generatedAt: now().toISOString(),
    fileVersionCount: writer.fileVersionCount,
    rawByteLength: writer.rawByteLength,
    blobCount: writer.blobCount,
    lastByteLength: last.length,
    lastSha256,
  })
  return {
    name: options.name,
    dir,
    fileVersionCount: writer.fileVersionCount,
    rawByteLength: writer.rawByteLength,
    firstByteLength,
    lastByteLength: last.length,
    lastSha256,
    elapsedMilliseconds: Date.now() - started,
  }
}

const USAGE = 'usage: make-synthetic-corpus [NAME] [--edits N] [--seed S]   (default: synthetic, 100000 edits, seed 1)'

function wholeNumber(option: string, text: string | undefined, fallback: number, minimum: number): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < minimum) {
    throw new VstoreError('VSTORE_USAGE', `${option} wants a whole number ≥ ${minimum}, got ${text}`, 'arguments')
  }
  return value
}

async function main(argv: readonly string[]): Promise<void> {
  const parsed = parseCommandLine(argv, { edits: { type: 'string' }, seed: { type: 'string' } }, USAGE)
  if (parsed === undefined) return
  const { values, positionals } = parsed
  const [name = 'synthetic', ...rest] = positionals
  if (rest.length > 0) throw new VstoreError('VSTORE_USAGE', USAGE, 'arguments')
  const summary = await makeSyntheticCorpus({
    name,
    editCount: wholeNumber('--edits', values.edits, 100_000, 1),
    seed: wholeNumber('--seed', values.seed, 1, 0),
  })
  process.stdout.write(`${summary.name}: ${summary.fileVersionCount} revisions of ${SYNTHETIC_FILE}, ${formatBytes(summary.firstByteLength)} → `
    + `${formatBytes(summary.lastByteLength)} (${summary.lastByteLength} bytes, sha256 ${summary.lastSha256.slice(0, 16)}…), `
    + `${summary.rawByteLength} bytes in all (${formatBytes(summary.rawByteLength)}), ${(summary.elapsedMilliseconds / 1000).toFixed(1)} s → ${summary.dir}\n`)
}

if (isMainModule(import.meta.url)) await runMain('make-synthetic-corpus', () => main(process.argv.slice(2)))
