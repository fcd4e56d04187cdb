/**
 * The library stays in reviewable pieces: every file under lib/ opens with a comment that says its one job,
 * none is over 600 lines, and no function in them is over 80 lines (the matcher's hot loop excepted).
 */
import test from 'ava'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const LIB = join(ROOT, 'lib')
const MAX_FILE_LINES = 600
const MAX_FUNCTION_LINES = 80
/** The one exception: the matcher's scan over a text (DeltaSource.encode), whose comment says why it is one loop. */
const LONGER_ALLOWED = new Set(['lib/delta/matcher.ts: encode'])

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

/** Every function in `source` (declarations, methods, arrows, expressions) with its length in lines. */
function functionLengths(source: ts.SourceFile): { name: string; lines: number }[] {
  const found: { name: string; lines: number }[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line
      const name = 'name' in node && node.name !== undefined ? node.name.getText(source) : `(anonymous, line ${first + 1})`
      found.push({ name, lines: last - first + 1 })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

const files = sourceFiles(LIB)

test('the scan finds the command modules and their functions', t => {
  t.true(files.some(path => path.endsWith(join('cli', 'commands', 'extract.ts'))))
  t.true(files.some(path => path.endsWith(join('store', 'batch-writer.ts'))))
  const main = ts.createSourceFile('main.ts', readFileSync(join(LIB, 'cli', 'main.ts'), 'utf8'), ts.ScriptTarget.ES2022, true)
  t.true(functionLengths(main).some(f => f.name === 'run' && f.lines > 5))
})

test(`every file under lib opens with a comment of its job, has at most ${MAX_FILE_LINES} lines, and no function of over ${MAX_FUNCTION_LINES}`, t => {
  for (const path of files) {
    const name = relative(ROOT, path)
    const text = readFileSync(path, 'utf8')
    t.regex(text, /^\/\*\*? ?\S/, `${name} opens with a comment`)
    const lineCount = text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
    t.true(lineCount <= MAX_FILE_LINES, `${name} has ${lineCount} lines`)
    const source = ts.createSourceFile(name, text, ts.ScriptTarget.ES2022, true)
    for (const { name: fn, lines } of functionLengths(source)) {
      if (!LONGER_ALLOWED.has(`${name}: ${fn}`)) t.true(lines <= MAX_FUNCTION_LINES, `${name}: ${fn} has ${lines} lines`)
    }
  }
})
