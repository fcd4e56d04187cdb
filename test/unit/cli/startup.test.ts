/**
 * What `vstore extract` loads before it runs: main's and extract's static imports, followed through the
 * compiled modules (dynamic `import()` loads later, and only when run). Start-up time counts for extract,
 * so none of the importers, the progress line, the help or another command's module may be among them.
 */
import test from 'ava'
import { readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const DIST_LIB = fileURLToPath(new URL('../../../lib/', import.meta.url))

/** The modules of dist/lib that `path` imports statically (`import … from`, `export … from`, `import '…'`). */
function staticImports(path: string): string[] {
  const text = readFileSync(path, 'utf8')
  const pattern = /^\s*(?:import|export)\s(?:[^'";()=]*?\sfrom\s)?\s*['"]([^'"]+)['"]/gm
  return [...text.matchAll(pattern)].map(match => match[1] as string).filter(specifier => specifier.startsWith('.')).map(specifier => resolve(dirname(path), specifier))
}

/** Every module `entries` load before their code runs, as paths relative to dist/lib. */
function loadedBy(entries: readonly string[]): Set<string> {
  const seen = new Set<string>()
  const queue = entries.map(entry => join(DIST_LIB, entry))
  for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
    const name = relative(DIST_LIB, path)
    if (seen.has(name)) continue
    seen.add(name)
    queue.push(...staticImports(path))
  }
  return seen
}

test('vstore extract loads none of the importers, nor another command\'s module, before it runs', t => {
  const loaded = loadedBy(['cli/main.js', 'cli/commands/extract.js'])
  // The scan follows imports: extract reads through the store.
  for (const name of ['vstore.js', 'store/store.js', 'cli/commands/index.js', 'cli/keys.js']) t.true(loaded.has(name), name)
  for (const name of loaded) {
    t.false(name.startsWith('import/'), `extract loads the importer ${name}`)
    t.false(name.startsWith('cli/commands/') && !['cli/commands/index.js', 'cli/commands/extract.js'].includes(name), `extract loads ${name}`)
    t.false(['cli/progress.js', 'cli/help.js', 'cli/write.js', 'cli/import-report.js', 'cli/args.js'].includes(name), `extract loads ${name}`)
  }
})

test('the scan finds static imports and not dynamic ones', t => {
  // The table names every command through import(), which loads nothing up front.
  t.deepEqual([...loadedBy(['cli/commands/index.js'])], ['cli/commands/index.js'])
  t.true(loadedBy(['cli/commands/import-git.js']).has('cli/write.js'))
})
