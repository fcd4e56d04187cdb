import test from 'ava'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

// Layers and what each may import (lowest first); third-party packages each have one adapter.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const LIB = join(ROOT, 'lib')

const MAY_IMPORT: Record<string, readonly string[]> = {
  errors: [],
  bytes: ['errors'],
  delta: ['bytes', 'errors'],
  entropy: ['errors'],
  group: ['delta', 'entropy', 'bytes', 'errors'],
  pack: ['bytes', 'errors'],
  index: ['bytes', 'errors'],
  order: ['errors'],
  store: ['group', 'delta', 'entropy', 'bytes', 'pack', 'index', 'order', 'errors'],
  import: ['bytes', 'errors', 'store'],
  cli: ['vstore', 'import', 'errors'],
  vstore: ['store', 'errors', 'import', 'delta'],
}

const ADAPTER_OF: Record<string, string> = {
  'diff-match-patch': 'lib/delta/line-diff.ts',
  'lzma-native': 'lib/entropy/lzma.ts',
  'classic-level': 'lib/index/leveldb.ts',
  level: 'lib/index/leveldb.ts',
  '@dagrejs/graphlib': 'lib/order/graph.ts',
  'cli-progress': 'lib/cli/progress.ts',
}

const PURE_LAYERS = ['bytes', 'delta', 'entropy', 'group', 'order']

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

function layerOf(path: string): string {
  const [first] = relative(LIB, path).split('/')
  return (first as string).replace(/\.[jt]s$/, '')
}

interface Import { file: string; layer: string; specifier: string }

function scanImports(): Import[] {
  const imports: Import[] = []
  for (const path of sourceFiles(LIB)) {
    const text = readFileSync(path, 'utf8')
    const file = relative(ROOT, path)
    const pattern = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|require\(['"]([^'"]+)['"]\)|import\(['"]([^'"]+)['"]\)/g
    for (const match of text.matchAll(pattern)) {
      imports.push({ file, layer: layerOf(path), specifier: (match[1] ?? match[2] ?? match[3]) as string })
    }
  }
  return imports
}

const imports = scanImports()

test('the scan finds the imports it checks', t => {
  t.true(imports.some(i => i.specifier === 'classic-level'))
  t.true(imports.some(i => i.specifier.startsWith('../errors')))
})

test('no layer imports one above it', t => {
  for (const { file, layer, specifier } of imports) {
    if (!specifier.startsWith('.')) continue
    const target = layerOf(resolve(ROOT, dirname(file), specifier))
    if (target === layer) continue
    t.true((MAY_IMPORT[layer] ?? []).includes(target), `${file} (${layer}) imports ${specifier} (${target})`)
  }
})

test('each third-party package is imported only by its adapter', t => {
  for (const { file, specifier } of imports) {
    if (specifier.startsWith('.') || specifier.startsWith('node:')) continue
    const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] as string)
    t.is(ADAPTER_OF[name], file, `${file} imports ${name}`)
  }
})

test('pure layers never touch the file system', t => {
  for (const { file, layer, specifier } of imports) {
    if (PURE_LAYERS.includes(layer)) t.false(/^(node:)?fs(\/promises)?$/.test(specifier), `${file} imports ${specifier}`)
  }
})

test('only vstore.ts is exported from the package', t => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string> }
  t.deepEqual(Object.values(manifest.exports), ['./dist/lib/vstore.js'])
})
