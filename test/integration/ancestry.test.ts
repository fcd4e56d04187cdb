/**
 * What a VCS plugin asks of a file's history without reading texts: sizes, the ancestry graph, heads and
 * common ancestors. The common ancestors are checked against `git merge-base --all` on a real repository
 * with criss-cross merges in which every commit changes the one file (so its graph is the commit graph).
 */
import test from 'ava'
import { Store, VstoreError, importGit } from '../../lib/vstore.js'
import { branch, commit, git, gitBytes, makeGitRepo, merge, switchTo, writeFile } from '../helpers/git.js'
import { seededRandom } from '../helpers/random.js'
import { openStore } from '../helpers/store.js'
import { makeTempDir } from '../helpers/tmp.js'

test('common ancestors agree with git merge-base --all for every pair of commits, across criss-cross merges', async t => {
  const repo = await makeGitRepo(t)
  const version = (lines: string[]) => `${lines.join('\n')}\n`
  writeFile(repo, 'f.txt', version(['base', 'middle', 'end']))
  const c0 = commit(repo, 'c0')
  branch(repo, 'side')
  writeFile(repo, 'f.txt', version(['base', 'middle', 'end', 'side 1']))
  const a1 = commit(repo, 'a1')
  switchTo(repo, 'main')
  writeFile(repo, 'f.txt', version(['main 1', 'base', 'middle', 'end']))
  const b1 = commit(repo, 'b1')
  // Criss-cross: each branch merges the other's first commit.
  const m1 = merge(repo, a1, 'm1')
  switchTo(repo, 'side')
  const m2 = merge(repo, b1, 'm2', { 'f.txt': version(['main 1', 'base', 'middle', 'end', 'side 1', 'side merge']) })
  writeFile(repo, 'f.txt', version(['main 1', 'base', 'middle', 'end', 'side 1', 'side merge', 'side 2']))
  const a2 = commit(repo, 'a2')
  switchTo(repo, 'main')
  writeFile(repo, 'f.txt', version(['main 1', 'main 2', 'base', 'middle', 'end', 'side 1']))
  const b2 = commit(repo, 'b2')
  const m3 = merge(repo, 'side', 'm3', { 'f.txt': version(['main 1', 'main 2', 'base', 'middle', 'end', 'side 1', 'side merge', 'side 2', 'm3']) })
  const commits = { c0, a1, b1, m1, m2, a2, b2, m3 }

  const store = await openStore(t, await makeTempDir(t), { create: true })
  await store.insert(importGit(repo.dir, { all: true }))
  const revisions = await store.revisions('f.txt')
  t.deepEqual([...revisions].sort(), Object.values(commits).sort(), 'every commit made a version of f.txt')
  const names = new Map(Object.entries(commits).map(([name, id]) => [id, name]))
  const named = (ids: readonly string[]) => ids.map(id => names.get(id) ?? id).sort()
  let pairs = 0
  for (const x of Object.values(commits)) {
    for (const y of Object.values(commits)) {
      const expected = git(repo.dir, 'merge-base', '--all', x, y).split('\n').filter(line => line !== '')
      t.deepEqual(named(await store.commonAncestors('f.txt', x, y)), named(expected), `${names.get(x)} and ${names.get(y)}`)
      pairs++
    }
  }
  t.is(pairs, 64)
  t.deepEqual(named(await store.commonAncestors('f.txt', m1, m2)), ['a1', 'b1'], 'the criss-cross has two bases')

  // The graph: an edge from each parent to its child; the sink is the head.
  const graph = await store.ancestry('f.txt')
  t.is(graph.nodeCount(), 8)
  t.deepEqual(named(graph.predecessors(m3) ?? []), ['a2', 'b2'])
  t.deepEqual(named(graph.sinks()), ['m3'])
  t.deepEqual(await store.heads('f.txt'), [m3])
  t.is((await store.ancestry('no such file')).nodeCount(), 0)
})

test('size comes from the index alone; unknown keys are VSTORE_NOT_FOUND', async t => {
  const dir = await makeTempDir(t)
  const store = await openStore(t, dir, { create: true })
  const text = new TextEncoder().encode('twelve bytes')
  await store.insert([{ file: 'a', rev: 'r1', parents: [], text }, { file: 'a', rev: 'r2', parents: ['r1'], text: new Uint8Array(0) }])
  const before = store.readCounter.readByteLength
  t.is(await store.size('a', 'r1'), 12)
  t.is(await store.size('a', 'r2'), 0)
  t.is(store.readCounter.readByteLength, before, 'no pack bytes read')
  for (const call of [() => store.size('a', 'r3'), () => store.commonAncestors('a', 'r1', 'r3')]) {
    const error = await t.throwsAsync(call)
    t.true(error instanceof VstoreError && error.code === 'VSTORE_NOT_FOUND')
  }
  t.deepEqual(await store.commonAncestors('a', 'r2', 'r1'), ['r1'])
  await store.insert([{ file: 'a', rev: 'other root', parents: [], text }])
  t.deepEqual(await store.commonAncestors('a', 'r2', 'other root'), [], 'unrelated lines have none')
  t.true(store instanceof Store)
})

/** `git blame --porcelain` of `file` at `rev`: per line of that version, the commit and its line number there. */
function gitBlame(repo: string, rev: string, file: string): { rev: string; lineNumber: number }[] {
  const origins: { rev: string; lineNumber: number }[] = []
  for (const line of gitBytes(repo, ['blame', '--porcelain', rev, '--', file]).toString('latin1').split('\n')) {
    const match = /^([0-9a-f]{40}) (\d+) (\d+)/.exec(line)
    if (match !== null) origins[Number(match[3]) - 1] = { rev: match[1] as string, lineNumber: Number(match[2]) }
  }
  return origins
}

test('annotate agrees with git blame on every line of every version, through branches, merges and an evil merge', async t => {
  const repo = await makeGitRepo(t)
  const random = seededRandom(11)
  let serial = 0
  // Every line is unique, so that no diff can align a line with a copy of it elsewhere.
  const newLines = (count: number) => Array.from({ length: count }, () => `line ${++serial}: ${Math.floor(random() * 1e9).toString(36)}`)
  const edit = (lines: string[]): string[] => {
    const next = [...lines]
    for (let k = 0; k < 3; k++) {
      const at = Math.floor(random() * (next.length + 1))
      const what = random()
      if (what < 0.4) next.splice(at, 0, ...newLines(1 + Math.floor(random() * 3)))
      else if (what < 0.7 && next.length > 4) next.splice(Math.min(at, next.length - 1), 1 + Math.floor(random() * 2))
      else if (next.length > 0) next[Math.min(at, next.length - 1)] = newLines(1)[0] as string
    }
    return next
  }
  const save = (lines: readonly string[]) => writeFile(repo, 'f.txt', lines.length === 0 ? '' : `${lines.join('\n')}\n`)
  let main = newLines(30)
  save(main)
  commit(repo, 'root')
  for (let i = 0; i < 4; i++) {
    main = edit(main)
    save(main)
    commit(repo, `main ${i}`)
  }
  branch(repo, 'side')
  // The side branch edits only the top of the file and main only the bottom, so that git merges cleanly.
  let side = main
  for (let i = 0; i < 3; i++) {
    side = [...newLines(1), ...side.slice(1)]
    side.splice(2, 0, ...newLines(2))
    save(side)
    commit(repo, `side ${i}`)
  }
  switchTo(repo, 'main')
  for (let i = 0; i < 3; i++) {
    main = [...main.slice(0, -2), ...newLines(3)]
    save(main)
    commit(repo, `main after the fork ${i}`)
  }
  merge(repo, 'side', 'merge side')
  // An evil merge: the merge commit amended with a line no parent has.
  const merged = git(repo.dir, 'show', 'HEAD:f.txt').split('\n').filter(line => line !== '')
  save([...merged.slice(0, 10), 'evil line', ...merged.slice(10)])
  git(repo.dir, 'commit', '-q', '--amend', '--no-edit', '-a')
  main = edit([...merged.slice(0, 10), 'evil line', ...merged.slice(10)])
  save(main)
  commit(repo, 'after the merge')

  const store = await openStore(t, await makeTempDir(t), { create: true })
  await store.insert(importGit(repo.dir, { all: true }))
  const revisions = await store.revisions('f.txt')
  t.is(revisions.length, 13, 'the root, 10 edits, the merge and the edit after it')
  let lines = 0
  for (const rev of revisions) {
    const ours = await store.annotate('f.txt', rev)
    const theirs = gitBlame(repo.dir, rev, 'f.txt')
    t.deepEqual(ours.map(line => ({ rev: line.rev, lineNumber: line.lineNumber })), theirs, `f.txt@${rev}`)
    t.deepEqual(Buffer.concat(ours.map(line => line.text)), await store.get('f.txt', rev).then(text => Buffer.from(text)))
    lines += ours.length
  }
  t.log(`${revisions.length} versions, ${lines} lines annotated, all as git blame has them`)
  const evil = (await store.annotate('f.txt', revisions.at(-1) as string)).find(line => Buffer.from(line.text).toString() === 'evil line\n')
  t.truthy(evil)
  t.is((await store.parents('f.txt', evil?.rev as string)).length, 2, 'the evil line comes from the merge itself')
})
