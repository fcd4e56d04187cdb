/**
 * Writes a git history into a benchmark corpus (`scripts/corpus.ts`) with `importGit`: one text per new
 * version of a file (file = path, rev = commit id, parents = the path's versions along the commit's parents).
 *
 *   node dist/scripts/fetch-git-corpus.js NAME [REPO] [--ref REF] [--commit SHA] [--update] [--pins DIR]
 *
 * REPO is a repository (bare or with a work tree) or a `.bundle` file, which is cloned bare into a temp
 * folder first. The first run resolves REF (default HEAD) and writes the pin file `scripts/corpora/NAME.json`
 * with the tip commit (and the bundle's sha256); later runs import the pinned commit wherever REF has moved
 * since, and check the bundle's sha256. `--commit` states the tip: the run fails if REF resolves elsewhere.
 * `--update` re-resolves REF. REPO may be left out when the pin file names it.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { isHexId } from '../lib/bytes/index.js'
import { VstoreError } from '../lib/errors.js'
import { importGit } from '../lib/import/git.js'
import {
  CountingWriter, describeSummary, isMainModule, isRecord, parseCommandLine, runCommand, runMain, startFetch, writeJson, type CorpusSummary,
  type FetchOptions,
} from './corpus.js'

export interface GitPin {
  readonly kind: 'git'
  readonly name: string
  /** As given on the first run (relative to where it ran). */
  readonly repo: string
  readonly ref: string
  readonly commit: string
  /** Of the bundle file, hex, when REPO is a bundle. */
  readonly bundleSha256?: string
  readonly commitCount: number
  readonly resolvedAt: string
}

/** Narrows a parsed pin file. @throws VstoreError `VSTORE_CORRUPT` (where = `where`) when it is not one. */
export function decodeGitPin(value: unknown, where: string): GitPin {
  const bad = (what: string): never => {
    throw new VstoreError('VSTORE_CORRUPT', `not a git pin file: ${what}`, where)
  }
  if (!isRecord(value)) return bad('not an object')
  const { kind, name, repo, ref, commit, bundleSha256, commitCount, resolvedAt } = value
  if (kind !== 'git') return bad(`kind is ${JSON.stringify(kind)}`)
  if (typeof name !== 'string' || typeof repo !== 'string' || typeof ref !== 'string' || typeof resolvedAt !== 'string') return bad('name, repo, ref or resolvedAt')
  if (typeof commit !== 'string' || !isHexId(commit)) return bad('commit')
  if (typeof commitCount !== 'number') return bad('commitCount')
  if (bundleSha256 !== undefined && (typeof bundleSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(bundleSha256))) return bad('bundleSha256')
  return { kind, name, repo, ref, commit, commitCount, resolvedAt, ...(bundleSha256 === undefined ? {} : { bundleSha256 }) }
}

async function runGit(args: readonly string[], where: string): Promise<string> {
  return (await runCommand('git', args, where)).trim()
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** The commit `revision` names in `repoDir`. @throws VstoreError `VSTORE_NOT_FOUND` when it names none. */
export async function resolveCommit(repoDir: string, revision: string): Promise<string> {
  if (revision === '' || revision.startsWith('-') || /\s/.test(revision)) throw new VstoreError('VSTORE_USAGE', `not a revision: ${JSON.stringify(revision)}`, repoDir)
  try {
    return await runGit(['-C', repoDir, 'rev-parse', '--verify', '--quiet', `${revision}^{commit}`], repoDir)
  } catch (error) {
    throw new VstoreError('VSTORE_NOT_FOUND', `${revision} names no commit`, repoDir, { cause: error })
  }
}

/**
 * A bundle made as `git bundle create x.bundle main` holds no HEAD, so its clone's HEAD names the local
 * default branch, which may not exist. When HEAD names no commit and there is one branch, HEAD becomes it.
 */
async function pointHeadAtOnlyBranch(repoDir: string): Promise<void> {
  try {
    await runGit(['-C', repoDir, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], repoDir)
    return
  } catch {
    // HEAD is unborn: look at the branches
  }
  const branches = (await runGit(['-C', repoDir, 'for-each-ref', '--format=%(refname)', 'refs/heads/'], repoDir)).split('\n').filter(line => line !== '')
  if (branches.length === 1 && branches[0] !== undefined) await runGit(['-C', repoDir, 'symbolic-ref', 'HEAD', branches[0]], repoDir)
}

export interface GitFetchOptions extends FetchOptions {
  /** A repository or a `.bundle` file; default: the pin's. */
  readonly repo?: string
  /** Default: the pin's, else HEAD. */
  readonly ref?: string
  /** The tip REF must resolve to (a full or abbreviated id). */
  readonly commit?: string
}

/**
 * Resolves (or reads) the pinned tip and writes its whole history as a corpus.
 * @throws VstoreError `VSTORE_USAGE` for a bad name, no REPO, or a REF or commit that differs from the pin's
 *   without `update`; `VSTORE_CORRUPT` when the bundle's sha256 differs from the pin's; `VSTORE_IMPORT` when
 *   REF resolves elsewhere than `commit`, or git fails; `VSTORE_NOT_FOUND` when REF or the pinned commit is
 *   not in the repository.
 */
export async function fetchGitCorpus(options: GitFetchOptions): Promise<CorpusSummary> {
  const start = await startFetch(options, decodeGitPin)
  const { pin, pinPath, log } = start
  const usePin = pin !== undefined && options.update !== true
  const repo = options.repo ?? pin?.repo
  if (repo === undefined) throw new VstoreError('VSTORE_USAGE', 'no REPO given and no pin file names one', pinPath)
  const ref = options.ref ?? pin?.ref ?? 'HEAD'
  if (usePin && options.ref !== undefined && options.ref !== pin.ref) {
    throw new VstoreError('VSTORE_USAGE', `pinned for ref ${pin.ref}, asked for ${options.ref}; pass --update to re-resolve`, pinPath)
  }

  let repoStat
  try {
    repoStat = await stat(repo)
  } catch (error) {
    throw new VstoreError('VSTORE_NOT_FOUND', 'no such repository or bundle', repo, { cause: error })
  }
  const isBundle = repoStat.isFile()
  const bundleSha256 = isBundle ? await sha256OfFile(repo) : undefined
  if (usePin && pin.bundleSha256 !== undefined && bundleSha256 !== pin.bundleSha256) {
    throw new VstoreError('VSTORE_CORRUPT', `bundle sha256 is ${bundleSha256 ?? '(not a bundle)'}, pinned ${pin.bundleSha256}`, repo)
  }

  const tempDir = isBundle ? await mkdtemp(join(tmpdir(), 'vstore-fetch-git-')) : undefined
  try {
    let repoDir = repo
    if (tempDir !== undefined) {
      repoDir = join(tempDir, 'repo.git')
      log(`${options.name}: cloning bundle ${repo}`)
      await runGit(['clone', '--bare', '--quiet', '--', repo, repoDir], repo)
      await pointHeadAtOnlyBranch(repoDir)
    }

    const tip = await tipCommit(repoDir, repo, ref, options, usePin ? pin : undefined, pinPath, log)

    const commitCount = Number(await runGit(['-C', repoDir, 'rev-list', '--count', tip], repoDir))
    const mergeCount = Number(await runGit(['-C', repoDir, 'rev-list', '--count', '--merges', tip], repoDir))
    log(`${options.name}: ${ref} at ${tip}, ${commitCount} commits (${mergeCount} merges)`)

    const writer = await CountingWriter.create(start.dir)
    for await (const record of importGit(repoDir, { refs: [tip] })) {
      await writer.add(record)
      if (writer.fileVersionCount % 5000 === 0) log(`${options.name}: ${writer.fileVersionCount} file versions`)
    }
    const fetchedAt = start.now().toISOString()
    await writer.finish({
      kind: 'git',
      name: options.name,
      repo,
      ref,
      commit: tip,
      ...(bundleSha256 === undefined ? {} : { bundleSha256 }),
      pinFile: relative(process.cwd(), pinPath),
      fetchedAt,
      commitCount,
      mergeCount,
      fileVersionCount: writer.fileVersionCount,
      fileCount: writer.fileCount,
      rawByteLength: writer.rawByteLength,
      blobCount: writer.blobCount,
    })
    if (!usePin) {
      const newPin: GitPin = { kind: 'git', name: options.name, repo, ref, commit: tip, ...(bundleSha256 === undefined ? {} : { bundleSha256 }), commitCount, resolvedAt: fetchedAt }
      await writeJson(pinPath, newPin)
    }
    return writer.summary(start, options.name, { revisionCount: commitCount, sourceByteLength: 0, downloadedCount: 0 })
  } finally {
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true })
  }
}

/**
 * The commit to import: what `ref` resolves to, which a stated `--commit` must equal; or with a pin (and no
 * `--commit`), the pinned commit, wherever `ref` has moved since.
 */
async function tipCommit(
  repoDir: string, repo: string, ref: string, options: GitFetchOptions, pin: GitPin | undefined, pinPath: string, log: (line: string) => void,
): Promise<string> {
  const refCommit = await resolveCommit(repoDir, ref)
  if (options.commit !== undefined) {
    const stated = await resolveCommit(repoDir, options.commit)
    if (stated !== refCommit) throw new VstoreError('VSTORE_IMPORT', `${ref} resolves to ${refCommit}, not the stated --commit ${stated}`, repo)
    if (pin !== undefined && stated !== pin.commit) throw new VstoreError('VSTORE_USAGE', `pinned commit is ${pin.commit}, --commit says ${stated}; pass --update to move`, pinPath)
    return stated
  }
  if (pin === undefined) return refCommit
  const tip = await resolveCommit(repoDir, pin.commit)
  if (refCommit !== tip) log(`${options.name}: ${ref} is now ${refCommit}; using the pinned ${tip} (--update moves the pin)`)
  return tip
}

const USAGE = 'usage: fetch-git-corpus NAME [REPO] [--ref REF] [--commit SHA] [--update] [--pins DIR]   (REPO: a repository or a .bundle file)'

async function main(argv: readonly string[]): Promise<void> {
  const parsed = parseCommandLine(argv, { ref: { type: 'string' }, commit: { type: 'string' }, update: { type: 'boolean' }, pins: { type: 'string' } }, USAGE)
  if (parsed === undefined) return
  const { values, positionals } = parsed
  const [name, repo, ...rest] = positionals
  if (name === undefined || rest.length > 0) throw new VstoreError('VSTORE_USAGE', USAGE, 'arguments')
  const summary = await fetchGitCorpus({
    name,
    update: values.update === true,
    ...(repo === undefined ? {} : { repo }),
    ...(values.ref === undefined ? {} : { ref: values.ref }),
    ...(values.commit === undefined ? {} : { commit: values.commit }),
    ...(values.pins === undefined ? {} : { pinDir: values.pins }),
  })
  process.stdout.write(`${describeSummary(summary, 'commits')}\n`)
}

if (isMainModule(import.meta.url)) await runMain('fetch-git-corpus', () => main(process.argv.slice(2)))
