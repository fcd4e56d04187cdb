import test from 'ava'
import fc from 'fast-check'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { diffLines, diffStat, isBinary, lineRuns, unifiedDiff } from '../../../lib/delta/line-diff.js'
import { makeTempDir } from '../../helpers/tmp.js'

const bytes = (text: string) => Buffer.from(text, 'latin1')
const labels = { oldLabel: 'a/f.txt', newLabel: 'b/f.txt' }

test('a one-line change gives the hunk GNU diff gives, with three lines of context', t => {
  const a = bytes('1\n2\n3\n4\n5\n6\n7\n8\n9\n')
  const b = bytes('1\n2\n3\n4\nfive\n6\n7\n8\n9\n')
  t.is(Buffer.from(unifiedDiff(a, b, { ...labels, oldNote: 'r1', newNote: 'r2' }) as Uint8Array).toString('latin1'),
    '--- a/f.txt\tr1\n+++ b/f.txt\tr2\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n')
})

test('texts without a final newline are marked as diff marks them; an empty side counts from line 0', t => {
  t.is(Buffer.from(unifiedDiff(bytes('x'), bytes('x\n'), labels) as Uint8Array).toString('latin1'),
    '--- a/f.txt\n+++ b/f.txt\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+x\n')
  t.is(Buffer.from(unifiedDiff(bytes(''), bytes('a\nb\n'), labels) as Uint8Array).toString('latin1'),
    '--- a/f.txt\n+++ b/f.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n')
})

test('equal texts give no diff; binary texts one line; diffStat counts lines', t => {
  t.is(unifiedDiff(bytes('same\n'), bytes('same\n'), labels), undefined)
  t.true(isBinary(bytes('a\u0000b')))
  t.false(isBinary(bytes('a\u00ffb\n')))
  t.is(Buffer.from(unifiedDiff(bytes('a\u0000'), bytes('b\u0000'), labels) as Uint8Array).toString('latin1'), 'Binary files a/f.txt and b/f.txt differ\n')
  t.deepEqual(diffStat(bytes('a\nb\nc\n'), bytes('a\nc\nd\ne\n')), { insertions: 2, deletions: 1, binary: false })
  t.deepEqual(diffStat(bytes('a\u0000'), bytes('a\u0000')), { insertions: 0, deletions: 0, binary: false })
})

test('far apart changes make separate hunks, close ones share one', t => {
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i}\n`)
  const changed = lines.map((line, i) => (i === 5 || i === 30 || i === 34 ? `changed ${i}\n` : line))
  const text = Buffer.from(unifiedDiff(bytes(lines.join('')), bytes(changed.join('')), labels) as Uint8Array).toString('latin1')
  t.deepEqual(text.split('\n').filter(line => line.startsWith('@@')), ['@@ -3,7 +3,7 @@', '@@ -28,11 +28,11 @@'])
})

// Texts drawn from a few lines (so that the two sides share some), with CRLF, bytes that are not UTF-8, lines
// without a final newline and empty texts among them.
const LINES = ['alpha\n', 'beta\n', 'gamma\n', '\n', 'crlf\r\n', 'caf\u00e9 \u00ff\u0080\n', '  indented\n', '}\n', 'x'.repeat(200) + '\n']
const textArbitrary = fc.tuple(fc.array(fc.constantFrom(...LINES), { maxLength: 60 }), fc.constantFrom('', 'tail', 'alpha'))
  .map(([lines, tail]) => bytes(lines.join('') + tail))

test('patch applies every diff to the first text and gives the second, byte for byte (fast-check, real patch)', async t => {
  const dir = await makeTempDir(t)
  const source = join(dir, 'a.txt')
  const output = join(dir, 'out.txt')
  let runs = 0
  fc.assert(fc.property(textArbitrary, textArbitrary, (a, b) => {
    runs++
    const diff = unifiedDiff(a, b, labels)
    if (diff === undefined) return Buffer.compare(a, b) === 0
    writeFileSync(source, a)
    const run = spawnSync('patch', ['--quiet', '--force', '-o', output, source], { input: diff })
    if (run.status !== 0) throw new Error(`patch exited ${run.status}: ${run.stdout}${run.stderr}\n${Buffer.from(diff).toString('latin1')}`)
    return Buffer.compare(readFileSync(output), Buffer.from(b)) === 0
  }), { seed: 7, numRuns: 150 })
  t.is(runs, 150)
})

test('diffLines keeps every line of both texts, in order, past diff-match-patch\'s 65,535 distinct lines', t => {
  const a = bytes(Array.from({ length: 70_000 }, (_, i) => `${i}\n`).join(''))
  const b = bytes(Array.from({ length: 70_000 }, (_, i) => (i === 69_990 ? 'changed\n' : `${i}\n`)).join(''))
  const changes = diffLines(a, b)
  const side = (kinds: readonly string[]) => changes.filter(c => kinds.includes(c.kind)).flatMap(c => c.lines).join('')
  t.is(side(['equal', 'delete']), Buffer.from(a).toString('latin1'))
  t.is(side(['equal', 'insert']), Buffer.from(b).toString('latin1'))
})

const splitLines = (text: Uint8Array) => Buffer.from(text).toString('latin1').split(/(?<=\n)/).filter(line => line !== '')

test('lineRuns aligns the texts as diffLines does: the lines it keeps are equal and every line is counted once (fast-check)', t => {
  // Lines shared at both ends (what lineRuns finds with byte compares) around a changed middle.
  const historyArbitrary = fc.tuple(textArbitrary, textArbitrary, textArbitrary, fc.array(fc.constantFrom(...LINES), { maxLength: 20 }))
    .map(([middleA, middleB, start, end]) => {
      const suffix = end.join('')
      return [bytes(`${Buffer.from(start).toString('latin1')}\n${Buffer.from(middleA).toString('latin1')}\n${suffix}`),
        bytes(`${Buffer.from(start).toString('latin1')}\n${Buffer.from(middleB).toString('latin1')}\n${suffix}`)] as const
    })
  let runs = 0
  fc.assert(fc.property(fc.oneof(fc.tuple(textArbitrary, textArbitrary), historyArbitrary), ([a, b]) => {
    runs++
    const linesA = splitLines(a)
    const linesB = splitLines(b)
    let lineA = 0
    let lineB = 0
    let kept = 0
    for (const { kind, lineCount } of lineRuns(a, b)) {
      if (lineCount <= 0) return false
      if (kind === 'equal') {
        for (let k = 0; k < lineCount; k++) if (linesA[lineA + k] !== linesB[lineB + k]) return false
        kept += lineCount
      }
      if (kind !== 'insert') lineA += lineCount
      if (kind !== 'delete') lineB += lineCount
    }
    const keptByDiffLines = diffLines(a, b).filter(change => change.kind === 'equal').reduce((sum, change) => sum + change.lines.length, 0)
    return lineA === linesA.length && lineB === linesB.length && kept === keptByDiffLines
  }), { seed: 7, numRuns: 500 })
  t.is(runs, 500)
})
