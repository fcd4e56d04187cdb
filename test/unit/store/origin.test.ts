/**
 * Origins: a text may name the version of another file it was copied or moved from (TextRecord.origin).
 * The store keeps it with the text's entry through every path that moves entries (pack, automatic
 * packing, fetch, repair), refuses what it cannot keep, and checks it as it checks parents.
 */
import test, { type ExecutionContext } from 'ava'
import { Store, type TextRecord } from '../../../lib/vstore.js'
import { dumpIndex, openStore } from '../../helpers/store.js'
import { makeTempDir } from '../../helpers/tmp.js'
import { runVstore } from '../../helpers/cli.js'

const encoder = new TextEncoder()

/** Lines that brotli alone does not shrink much (a number scrambled per line), a few changed in each version. */
function text(name: string, version: number, lineCount = 40): Uint8Array {
  const scrambled = (line: number) => ((line * 2654435761) >>> 0).toString(36)
  return encoder.encode(Array.from({ length: lineCount }, (_, line) => `${name} ${line} ${scrambled(line)} ${scrambled(line + 7919)}${line % 7 === version % 7 ? ` changed in ${version}` : ''}\n`).join(''))
}

/** `old.c` at r1..r3, moved to `new.c` at r4 (its first version names old.c@r3 as its origin), then edited. */
function movedHistory(): TextRecord[] {
  return [
    { file: 'old.c', rev: 'r1', parents: [], text: text('c', 1) },
    { file: 'old.c', rev: 'r2', parents: ['r1'], text: text('c', 2) },
    { file: 'old.c', rev: 'r3', parents: ['r2'], text: text('c', 3) },
    { file: 'new.c', rev: 'r4', parents: [], text: text('c', 4), origin: { file: 'old.c', rev: 'r3' } },
    { file: 'new.c', rev: 'r5', parents: ['r4'], text: text('c', 5) },
  ]
}

async function newStore(t: ExecutionContext, options = {}): Promise<{ dir: string; store: Store }> {
  const dir = await makeTempDir(t, 'vstore-origin-')
  return { dir, store: await openStore(t, dir, { create: true, ...options }) }
}

test('an origin is stored with its text and read back; texts without one have none', async t => {
  const { store } = await newStore(t)
  await store.insert(movedHistory())
  t.deepEqual((await store.getEntry('new.c', 'r4')).origin, { file: 'old.c', rev: 'r3' })
  t.false('origin' in (await store.getEntry('new.c', 'r5')))
  t.deepEqual((await dumpIndex(store)).filter(row => row.origin !== undefined).map(row => `${row.file}@${row.rev} ${row.origin}`), ['new.c@r4 old.c@r3'])
  for (const record of movedHistory()) t.deepEqual(await store.get(record.file, record.rev), record.text)
  t.deepEqual((await store.verify({ full: true })).problems, [])
})

test('an origin is checked as a parent is: known and in another file; a key inserted again keeps the origin it was stored with', async t => {
  const { store } = await newStore(t)
  const [first, , , moved] = movedHistory() as [TextRecord, TextRecord, TextRecord, TextRecord]
  await t.throwsAsync(store.insert([first, { ...moved, origin: { file: 'old.c', rev: 'r9' } }]), { code: 'VSTORE_MISSING_PARENT', message: /origin old\.c@r9/ })
  await t.throwsAsync(store.insert([first, { ...moved, origin: { file: 'new.c', rev: 'r1' } }]), { code: 'VSTORE_USAGE', message: /another file/ })
  await t.throwsAsync(store.insert([{ ...moved, origin: { file: '', rev: 'r1' } } as TextRecord]), { code: 'VSTORE_USAGE' })
  t.deepEqual(await store.files(), [], 'nothing stored by a refused insert')
  await store.insert(movedHistory())
  t.is((await store.insert(movedHistory())).newTextCount, 0, 'the same keys again: nothing new')
  t.is((await store.insert([{ ...moved, origin: { file: 'old.c', rev: 'r2' } }])).newTextCount, 0)
  const { origin: _origin, ...withoutOrigin } = moved
  t.is((await store.insert([withoutOrigin])).newTextCount, 0)
  t.deepEqual((await store.getEntry('new.c', 'r4')).origin, { file: 'old.c', rev: 'r3' })
})

test('pack, automatic packing and repair keep origins', async t => {
  const { dir, store } = await newStore(t, { autoPackFactor: 2 })
  // A commit at a time, so that automatic packing merges the packs that hold them.
  for (const record of movedHistory()) await store.insert([record])
  t.true((await store.stats()).packCount < 5, 'packs were merged')
  t.deepEqual((await store.getEntry('new.c', 'r4')).origin, { file: 'old.c', rev: 'r3' })
  await store.pack()
  t.deepEqual((await store.getEntry('new.c', 'r4')).origin, { file: 'old.c', rev: 'r3' })
  t.like(await store.repair(), { repaired: false })
  await store.close()
  const reopened = await openStore(t, dir)
  t.deepEqual((await reopened.getEntry('new.c', 'r4')).origin, { file: 'old.c', rev: 'r3' })
})

test('fetch copies origins; fetching only the moved file without its origin is refused; export-stream leaves origins out, with a warning', async t => {
  const { dir, store } = await newStore(t)
  await store.insert(movedHistory())
  const target = await openStore(t, await makeTempDir(t, 'vstore-origin-target-'), { create: true })
  await t.throwsAsync(target.fetch(store, { files: ['new.c'] }), { code: 'VSTORE_MISSING_PARENT', message: /origin old\.c@r3/ })
  t.deepEqual(await target.files(), [])
  await target.fetch(store)
  t.deepEqual((await target.getEntry('new.c', 'r4')).origin, { file: 'old.c', rev: 'r3' })
  for (const record of movedHistory()) t.deepEqual(await target.get(record.file, record.rev), record.text)
  await store.close()
  t.is(runVstore(['--store', dir, 'log', 'new.c']).stdout.toString('utf8'), 'r5 r4\nr4 from old.c@r3\n')
  t.deepEqual(JSON.parse(runVstore(['--store', dir, 'log', 'new.c', '--json']).stdout.toString('utf8')), [{ rev: 'r5', parents: ['r4'] }, { rev: 'r4', parents: [], origin: 'old.c@r3' }])
  const exported = runVstore(['--store', dir, 'export-stream'])
  t.is(exported.status, 0, exported.stderr)
  t.is(exported.stderr, 'vstore: warning (export-stream): 1 origin left out (a record stream has no place for them; fetch keeps them)\n')
  const copy = await makeTempDir(t, 'vstore-origin-copy-')
  const imported = runVstore(['--store', copy, 'import-stream', '--quiet'], { input: exported.stdout })
  t.is(imported.status, 0, imported.stderr)
  const reopened = await openStore(t, copy)
  for (const record of movedHistory()) t.deepEqual(await reopened.get(record.file, record.rev), record.text)
  t.false('origin' in (await reopened.getEntry('new.c', 'r4')))
})

test('a moved file\'s first group starts on its origin\'s stored version: its texts are deltas, not a fulltext', async t => {
  const appendedFor = async (origin: boolean): Promise<{ storedByteLength: number; baseDepth: number }> => {
    const { store } = await newStore(t, { autoPack: false })
    const history = movedHistory().map(record => ({ ...record, text: text('c', Number(record.rev.slice(1)), 400) }))
    await store.insert(history.slice(0, 3))
    const moved = history.slice(3).map(record => {
      const { origin: _origin, ...rest } = record
      return origin || record.origin === undefined ? record : rest
    })
    const { storedByteLength } = await store.insert(moved)
    for (const record of history) t.deepEqual(await store.get(record.file, record.rev), record.text)
    t.deepEqual((await store.verify({ full: true })).problems, [])
    return { storedByteLength, baseDepth: (await store.getEntry('new.c', 'r4')).baseDepth }
  }
  const withOrigin = await appendedFor(true)
  const without = await appendedFor(false)
  t.is(withOrigin.baseDepth, 1, 'new.c@r4 is rebuilt on old.c\'s version')
  t.is(without.baseDepth, 0)
  t.true(withOrigin.storedByteLength * 2 < without.storedByteLength, `${withOrigin.storedByteLength} bytes with the origin, ${without.storedByteLength} without`)
})
