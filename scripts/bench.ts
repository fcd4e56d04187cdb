/**
 * The benchmark: vstore and its peers on the same corpora, in one run, as one table of ratios.
 *
 *   npm run bench                              # sample + express-lodash
 *   npm run bench -- --corpus typescript       # the large one
 *   npm run bench -- --quick                   # the bundled sample only (CI)
 *   npm run bench -- --corpus jq --jq-repo /path/to/jq.git --systems vstore,xz
 *   npm run bench -- --corpus synthetic --systems vstore,baselines   # 100,000 small edits of one file
 *
 * Each system is a program that prints JSON (scripts/bench-vstore.ts, scripts/peers/*); a peer that
 * is not installed is reported as missing, never skipped silently. Results go to bench/results/ as
 * JSON and markdown, with the machine, the tool versions and the commit.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { arch, cpus, hostname, totalmem } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { corpusDir, exists } from './corpus.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const DIST_SCRIPTS = join(ROOT, 'dist', 'scripts')
const PEERS = join(ROOT, 'scripts', 'peers')

const { values } = parseArgs({
  options: {
    corpus: { type: 'string' },
    quick: { type: 'boolean' },
    systems: { type: 'string' },
    sample: { type: 'string' },
    'jq-repo': { type: 'string' },
    codec: { type: 'string' },
    out: { type: 'string' },
  },
})

interface CorpusSpec {
  readonly fetch: readonly string[]
}

const CORPORA: Record<string, CorpusSpec> = {
  sample: { fetch: ['fetch-git-corpus.js', 'sample', join(ROOT, 'corpus', 'cors.bundle')] },
  'express-lodash': { fetch: ['fetch-npm-corpus.js', 'express-lodash', 'express', 'lodash@4'] },
  typescript: { fetch: ['fetch-npm-corpus.js', 'typescript', 'typescript@every3'] },
  // The pin names jq's public repository; --jq-repo gives a local clone of it (pinned by commit either way).
  jq: { fetch: ['fetch-git-corpus.js', 'jq', ...(values['jq-repo'] === undefined ? [] : [values['jq-repo']])] },
  synthetic: { fetch: ['make-synthetic-corpus.js', 'synthetic'] },
}

interface SystemSpec {
  readonly name: string
  /** The command, given the corpus and work dirs; undefined when the program is absent. */
  readonly command: (corpus: string, work: string, sample: number) => readonly string[] | undefined
  /** The executable a peer needs, to report it missing. */
  readonly needs?: string
}

const peer = (file: string, interpreter: string) => (corpus: string, work: string, sample: number) =>
  existsSync(join(PEERS, file)) ? [interpreter, join(PEERS, file), corpus, work, '--sample', String(sample)] : undefined

/** As in bin/vstore's shebang. */
const CLI_MALLOC_SETTINGS = ['MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=1048576']
const CLI_NODE_OPTIONS = ['--max-semi-space-size=4']

const SYSTEMS: readonly SystemSpec[] = [
  {
    name: 'vstore',
    // With the glibc malloc tunables bin/vstore's shebang sets, so the figures are the CLI's.
    command: (corpus, work, sample) => ['env', ...CLI_MALLOC_SETTINGS, process.execPath, ...CLI_NODE_OPTIONS, join(DIST_SCRIPTS, 'bench-vstore.js'), corpus, work, '--sample', String(sample),
      ...(values.codec === undefined ? [] : ['--codec', values.codec])],
  },
  { name: 'baselines', command: peer('baselines.sh', 'bash'), needs: 'xz' },
  { name: 'breezy', command: peer('breezy-2a.py', 'python3'), needs: 'brz' },
  { name: 'git', command: peer('git-fast-import.sh', 'bash'), needs: 'git' },
  { name: 'mercurial', command: peer('mercurial-revlog.py', 'python3'), needs: 'hg' },
]

interface Result {
  readonly system: string
  readonly storedBytes?: number
  readonly error?: string
  readonly [field: string]: unknown
}

function have(executable: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${executable}`], { stdio: 'ignore' }).status === 0
}

function runSystem(spec: SystemSpec, corpus: string, work: string, sample: number): Result[] {
  const command = spec.command(corpus, work, sample)
  if (command === undefined) return [{ system: spec.name, error: 'missing: its measurement program is not in scripts/peers/' }]
  if (spec.needs !== undefined && !have(spec.needs)) return [{ system: spec.name, error: `missing: ${spec.needs} is not installed (scripts/install-peers.sh)` }]
  process.stderr.write(`  ${spec.name} ...`)
  const started = performance.now()
  const run = spawnSync(command[0] as string, command.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, cwd: ROOT })
  process.stderr.write(` ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
  const text = run.stdout.trim()
  try {
    const parsed = JSON.parse(text) as Result | Result[]
    const results = Array.isArray(parsed) ? parsed : [parsed]
    if (run.status !== 0) return results.map(r => ({ ...r, error: r.error ?? `exit ${run.status}: ${run.stderr.trim().split('\n').pop()}` }))
    return results
  } catch {
    return [{ system: spec.name, error: `exit ${run.status}: ${(run.stderr || text).trim().split('\n').slice(-3).join(' / ')}` }]
  }
}

async function ensureCorpus(name: string): Promise<string> {
  const dir = corpusDir(name)
  if (await exists(join(dir, 'manifest.jsonl'))) return dir
  const spec = CORPORA[name]
  if (spec === undefined) throw new Error(`unknown corpus ${name} (known: ${Object.keys(CORPORA).join(', ')})`)
  process.stderr.write(`fetching corpus ${name}\n`)
  const [script, ...args] = spec.fetch
  const run = spawnSync(process.execPath, [join(DIST_SCRIPTS, script as string), ...args], { stdio: ['ignore', 'inherit', 'inherit'], cwd: ROOT })
  if (run.status !== 0) throw new Error(`fetching corpus ${name} failed (exit ${run.status})`)
  return dir
}

function versionOf(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]?.trim() ?? '?'
  } catch {
    return 'missing'
  }
}

const mb = (bytes: unknown) => (typeof bytes === 'number' ? (bytes / 1e6).toFixed(3) : '–')
const ms = (value: unknown) => (typeof value === 'number' ? value.toFixed(2) : '–')
const kib = (value: unknown) => (typeof value === 'number' ? (value / 1024).toFixed(0) : '–')
const field = (object: unknown, key: string): unknown => (object !== null && typeof object === 'object' ? (object as Record<string, unknown>)[key] : undefined)

function table(corpus: string, results: readonly Result[]): string {
  const xz = results.find(r => r.system === 'xz -9')?.storedBytes
  const rows = [
    `### ${corpus}`,
    '',
    '| system | stored MB | × xz -9 | import s | import MB/s | peak RSS MB | extract p50 / p95 / max ms | read KiB p50 / max | decompressed KiB p50 / max | notes |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const r of results) {
    if (r.error !== undefined) {
      rows.push(`| ${r.system} | – | – | – | – | – | – | – | – | ${r.error} |`)
      continue
    }
    const ratio = typeof r.storedBytes === 'number' && typeof xz === 'number' ? (r.storedBytes / xz).toFixed(2) : '–'
    const importSeconds = r.importSeconds
    const raw = r.rawBytes
    const mbps = typeof importSeconds === 'number' && typeof raw === 'number' ? (raw / 1e6 / importSeconds).toFixed(1) : typeof r.importMBps === 'number' ? r.importMBps.toFixed(1) : '–'
    const extract = r.extract
    rows.push(`| ${r.system} | ${mb(r.storedBytes)} | ${ratio} | ${typeof importSeconds === 'number' ? importSeconds.toFixed(1) : '–'} | ${mbps} | ${mb(r.peakRssBytes)} | `
      + `${ms(field(extract, 'p50Ms'))} / ${ms(field(extract, 'p95Ms'))} / ${ms(field(extract, 'maxMs'))} | `
      + `${kib(field(r.readBytes, 'p50'))} / ${kib(field(r.readBytes, 'max'))} | ${kib(field(r.decompressedBytes, 'p50'))} / ${kib(field(r.decompressedBytes, 'max'))} | ${typeof r.notes === 'string' ? r.notes : ''} |`)
  }
  const vstore = results.find(r => r.system === 'vstore')
  const cli = vstore?.cli
  if (cli !== undefined) {
    rows.push('', `vstore extract end to end: p50 ${ms(field(cli, 'extractP50Ms'))} ms, against \`node -e ''\` ${ms(field(cli, 'nodeStartP50Ms'))} ms `
      + `(${((field(cli, 'extractP50Ms') as number) / (field(cli, 'nodeStartP50Ms') as number)).toFixed(2)}×).`)
  }
  return rows.join('\n')
}

const corpora = values.quick ? ['sample'] : (values.corpus ?? 'sample,express-lodash').split(',')
const sample = Number(values.sample ?? (values.quick ? 50 : 200))
const wanted = values.systems?.split(',')
const systems = SYSTEMS.filter(s => wanted === undefined || wanted.includes(s.name))
const started = new Date()
const machine = {
  host: hostname(),
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  arch: arch(),
  node: process.version,
  commit: versionOf('git', ['-C', ROOT, 'rev-parse', 'HEAD']),
  tools: {
    xz: versionOf('xz', ['--version']),
    zstd: versionOf('zstd', ['--version']),
    git: versionOf('git', ['--version']),
    brz: versionOf('brz', ['--version']),
    hg: versionOf('hg', ['--version']),
  },
}
const report: { started: string; machine: typeof machine; corpora: Record<string, Result[]> } = { started: started.toISOString(), machine, corpora: {} }
const sections: string[] = []
for (const name of corpora) {
  const dir = await ensureCorpus(name)
  process.stderr.write(`corpus ${name}\n`)
  const work = join(ROOT, 'bench', 'tmp', name)
  await rm(work, { recursive: true, force: true })
  const results: Result[] = []
  for (const spec of systems) results.push(...runSystem(spec, dir, join(work, spec.name), sample))
  await rm(work, { recursive: true, force: true })
  report.corpora[name] = results
  sections.push(table(name, results))
}
const outDir = resolve(values.out ?? join(ROOT, 'bench', 'results'))
await mkdir(outDir, { recursive: true })
const stamp = started.toISOString().replace(/[:.]/g, '-')
const markdown = [
  `# vstore benchmark ${started.toISOString()}`,
  '',
  `Machine: ${machine.cpus}, ${machine.memoryGiB} GiB, ${machine.arch}; Node ${machine.node}; commit ${machine.commit}.`,
  `Tools: ${Object.entries(machine.tools).map(([k, v]) => `${k} ${v}`).join('; ')}.`,
  '',
  ...sections.flatMap(s => [s, '']),
].join('\n')
await writeFile(join(outDir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`)
await writeFile(join(outDir, `${stamp}.md`), markdown)
process.stdout.write(markdown)
process.stderr.write(`results: ${join(outDir, `${stamp}.md`)}\n`)
