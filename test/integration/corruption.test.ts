import test, { type ExecutionContext } from 'ava'
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { Store, VstoreError } from '../../lib/vstore.js'
import { makeTempDir } from '../helpers/tmp.js'
import { runVstore } from '../helpers/cli.js'

const encoder = new TextEncoder()

/** Flips every bit of the byte at `offset` of `path`; returns a function that puts it back. */
async function flipByte(path: string, offset: number): Promise<() => Promise<void>> {
  const handle = await open(path, 'r+')
  const byte = new Uint8Array(1)
  await handle.read(byte, 0, 1, offset)
  await handle.write(Uint8Array.of((byte[0] as number) ^ 0xff), 0, 1, offset)
  await handle.close()
  return async () => {
    const again = await open(path, 'r+')
    await again.write(byte, 0, 1, offset)
    await again.close()
  }
}

test('every single-byte corruption of a pack file is found by verify, naming exactly the keys a get fails on', async t => {
  const dir = await makeTempDir(t, 'vstore-corrupt-')
  const store = await Store.open(dir, { create: true, maxContentByteLength: 4096, maxReadByteLength: 2048, readChunkByteLength: 256 })
  let text = 'line one\nline two\nline three\n'
  const records = []
  // Enough history for several groups of a few KiB: lines that differ, so the deltas have literals.
  for (let v = 1; v <= 12; v++) {
    for (const file of ['a.txt', 'b/c.md', 'd e.bin']) records.push({ file, rev: `r${v}`, parents: v === 1 ? [] : [`r${v - 1}`], text: encoder.encode(`${file}\n${text}`) })
    text += `line ${v + 3}: ${(v * 2654435761 % 4294967296).toString(36)} ${(v * 40503 % 65536).toString(16)}\n`
  }
  // Two inserts, so the pack holds at least two groups.
  await store.insert(records.slice(0, 18))
  await store.insert(records.slice(18))
  t.true((await store.stats()).groupCount >= 2)
  t.deepEqual((await store.verify()).problems, [])
  await store.close()

  const pack = join(dir, 'packs', '000001.vpk')
  const { size } = statSync(pack)
  let headerReported = 0
  let namedKeys = 0
  let keysStillRead = 0
  let versionRefused = 0
  for (let offset = 0; offset < size; offset++) {
    const restore = await flipByte(pack, offset)
    try {
      // A damaged pack no longer keeps the store from opening: its intact groups are still read. A pack
      // version this build does not know is not damage, though: the store refuses to open.
      if (offset === 4) {
        await t.throwsAsync(Store.open(dir), { code: 'VSTORE_UNSUPPORTED' })
        versionRefused++
        continue
      }
      const reopened = await Store.open(dir)
      const report = await reopened.verify()
      t.true(report.problems.length > 0, `a flipped byte at offset ${offset} of ${size} went unnoticed`)
      // Every get gives the right text or VSTORE_CORRUPT, and verify names exactly the keys that fail.
      const failed: string[] = []
      for (const record of records) {
        try {
          t.deepEqual(await reopened.get(record.file, record.rev), record.text, `offset ${offset}: ${record.file}@${record.rev}`)
        } catch (error) {
          // A group header's version byte changed reads as a version this build does not know, a length as one
          // past the limits: the codes of damaged data (exit 4) all the same.
          t.true(error instanceof VstoreError && ['VSTORE_CORRUPT', 'VSTORE_UNSUPPORTED', 'VSTORE_LIMIT'].includes(error.code), `offset ${offset}: ${String(error)}`)
          failed.push(`${record.file}@${record.rev}`)
        }
      }
      const named = report.problems.flatMap(problem => problem.keys.map(key => `${key.file}@${key.rev}`))
      t.deepEqual([...new Set(named)].sort(), failed.sort(), `offset ${offset}`)
      if (offset < 8) {
        // The pack header: reported on the pack, and every text still reads back.
        if (report.problems.every(problem => problem.where === 'packs/000001.vpk') && failed.length === 0) headerReported++
      } else if (failed.length > 0) namedKeys++
      else keysStillRead++
      await reopened.close()
    } finally {
      await restore()
    }
  }
  t.log(`${size} offsets: ${headerReported} in the pack header reported on the pack, ${namedKeys} reported by verify with the keys a get fails on, `
    + `${keysStillRead} reported with every text still read back, ${versionRefused} (the pack version) refused at open`)
  t.is(headerReported, 7)
  t.is(versionRefused, 1)
  t.true(namedKeys > size / 2)
  t.is(headerReported + versionRefused + namedKeys + keysStillRead, size, 'every corruption is reported')
})

/**
 * The index is LevelDB's files (tables, log, manifest). LevelDB checks its own block checksums only when
 * asked, and classic-level does not ask: so verify checks them itself (lib/index/leveldb-files.ts), besides
 * vstore's own guards (a CRC-32 over each value and its key, and the totals, which count every committed
 * text). Every 7th byte of every index file is flipped in turn: the store must then refuse to open with a
 * VstoreError, or verify must report a problem; where it does not, every key must read back the same bytes
 * (and the test then fails: nothing may go unnoticed).
 */
test('a flipped byte in any index file is refused at open or reported by verify: never a lost key or wrong bytes', async t => {
  const dir = await makeTempDir(t, 'vstore-index-corrupt-')
  // LevelDB's smallest blocks (1 KiB; the store writes 16 KiB ones): a table of several blocks from a small
  // index, so that a damaged one leaves runs in others.
  const store = await Store.open(dir, { create: true, indexBlockByteLength: 1024 })
  const records = []
  // Enough entries for the index table to hold several data blocks, so that a damaged one leaves others:
  // files of many versions (a run each) and files of a few (which share one).
  for (let v = 1; v <= 40; v++) {
    for (let f = 0; f < 8; f++) {
      if (f >= 4 && v > 4) continue
      records.push({ file: `src/file-${f}.txt`, rev: `r${v}`, parents: v === 1 ? [] : [`r${v - 1}`], text: encoder.encode(`file ${f} version ${v}\n`.repeat(5 + f)) })
    }
  }
  await store.insert(records)
  await store.close()
  const indexDir = join(dir, 'index')
  const pristine = join(dir, 'index.pristine')
  cpSync(indexDir, pristine, { recursive: true })
  // LOCK is empty and LOG is LevelDB's diagnostic log: neither holds data.
  const files = readdirSync(pristine).filter(name => name !== 'LOCK' && !name.startsWith('LOG'))
  t.true(files.some(name => name.endsWith('.ldb')), `tables: ${files.join(', ')}`)
  const counts = { refusedAtOpen: 0, keysNamedWhenRefused: 0, reportedByVerify: 0, harmless: 0, flips: 0 }
  for (const name of files) {
    const byteLength = readFileSync(join(pristine, name)).length
    for (let offset = 0; offset < byteLength; offset += 7) {
      rmSync(indexDir, { recursive: true, force: true })
      cpSync(pristine, indexDir, { recursive: true })
      const path = join(indexDir, name)
      const bytes = readFileSync(path)
      bytes[offset] = (bytes[offset] as number) ^ 0xff
      writeFileSync(path, bytes)
      counts.flips++
      let reopened: Store
      try {
        reopened = await Store.open(dir)
      } catch (error) {
        t.true(error instanceof VstoreError, `${name}@${offset}: ${String(error)}`)
        // What verify says then: the keys the index files still name, none of them readable now (a key
        // past the damage inside a table block cannot be named).
        const report = await Store.verifyUnopenable(dir, error as VstoreError)
        const named = report.problems[0]?.keys.length ?? 0
        t.true(named > 0, `${name}@${offset}: some key named`)
        counts.keysNamedWhenRefused += named
        counts.refusedAtOpen++
        continue
      }
      try {
        let problemCount: number
        try {
          problemCount = (await reopened.verify({ full: false })).problems.length
        } catch (error) {
          // A decoder that refuses on the way is a detection too, as long as it is typed.
          t.true(error instanceof VstoreError, `${name}@${offset}: ${String(error)}`)
          problemCount = 1
        }
        if (problemCount > 0) {
          counts.reportedByVerify++
          continue
        }
        // verify found nothing: then every key must be there, with its bytes (a NOT_FOUND here fails).
        for (const record of records) {
          const text = await reopened.tryGet(record.file, record.rev)
          t.deepEqual(text, record.text, `${name}@${offset}: ${record.file}@${record.rev} after a clean verify`)
        }
        counts.harmless++
      } finally {
        await reopened.close()
      }
    }
  }
  t.log(`index flips: ${JSON.stringify(counts)}`)
  t.true(counts.flips > 100)
  // verify checks LevelDB's own checksums too: no flip goes unnoticed.
  t.is(counts.harmless, 0)
})

/**
 * Reads every file's history and every key's text from `reader`: each whole, or VSTORE_CORRUPT (counted).
 * Returns the keys refused.
 */
async function readEverything(
  t: ExecutionContext, reader: Store, histories: ReadonlyMap<string, string[]>, records: readonly { file: string; rev: string; text: Uint8Array }[], label: string,
  counts: { historiesWhole: number; historiesRefused: number; keysRead: number; keysRefused: number },
): Promise<Set<string>> {
  for (const [file, revisions] of histories) {
    try {
      t.deepEqual(await reader.revisions(file), revisions, `${label}: ${file}'s history is shorter`)
      counts.historiesWhole++
    } catch (error) {
      t.true(error instanceof VstoreError && error.code === 'VSTORE_CORRUPT', `${label}, ${file}: ${String(error)}`)
      counts.historiesRefused++
    }
  }
  const refusedKeys = new Set<string>()
  for (const { file, rev, text } of records) {
    try {
      t.deepEqual(await reader.get(file, rev), text, `${label}: ${file}@${rev}`)
      counts.keysRead++
    } catch (error) {
      t.true(error instanceof VstoreError && error.code === 'VSTORE_CORRUPT', `${label}, ${file}@${rev}: ${String(error)}`)
      refusedKeys.add(`${file}@${rev}`)
    }
  }
  counts.keysRefused += refusedKeys.size
  return refusedKeys
}

/**
 * LevelDB reads a damaged table block unchecked (classic-level never asks it to verify checksums): a get
 * misses, an iteration ends early, and the answer is silently shorter. A store opened for reading checks
 * every block of the index first and refuses whatever a damaged block may hold: each byte flipped in a
 * data block (one at a time, over the whole table) must leave every file's history whole or an error, every
 * key's text right or an error, never a shorter answer; a writer must refuse the damaged index; verify must
 * name the keys of the damaged block.
 */
test('a damaged index block is an error wherever it is read, never a shorter answer', async t => {
  const dir = await makeTempDir(t, 'vstore-index-block-')
  // LevelDB's own 4 KiB blocks (the store writes 16 KiB ones).
  const store = await Store.open(dir, { create: true, indexBlockByteLength: 4096 })
  const records: { file: string; rev: string; parents: string[]; text: Uint8Array }[] = []
  // About 600 keys with git-like 40-hex revisions: an index table of many 4 KiB blocks.
  const revOf = (f: number, v: number) => (BigInt(f * 1000 + v) * 0x9e3779b97f4a7c15n).toString(16).padStart(40, '0').slice(-40)
  for (let f = 0; f < 40; f++) {
    for (let v = 0; v < 15; v++) records.push({ file: `dir${f % 5}/file-${f}.c`, rev: revOf(f, v), parents: v === 0 ? [] : [revOf(f, v - 1)], text: encoder.encode(`file ${f} version ${v}\n`.repeat(3 + v)) })
  }
  await store.insert(records)
  const histories = new Map<string, string[]>()
  for (const file of await store.files()) histories.set(file, await store.revisions(file))
  await store.close()
  const indexDir = join(dir, 'index')
  const table = readdirSync(indexDir).find(name => name.endsWith('.ldb')) as string
  const pristine = readFileSync(join(indexDir, table))
  t.true(pristine.length > 20_000, `a table of ${pristine.length} bytes`)
  let cliChecked = false
  const counts = { flips: 0, storeRefused: 0, historiesRefused: 0, historiesWhole: 0, keysRefused: 0, refusedKeysNamed: 0, keysRead: 0, wholeAnswers: 0 }
  // Data blocks come first in a table; its last 10 % holds the index block, filters and footer.
  for (let offset = 1000; offset < pristine.length * 0.9; offset += Math.floor(pristine.length / 12)) {
    const damaged = Buffer.from(pristine)
    damaged[offset] = (damaged[offset] as number) ^ 0x10
    writeFileSync(join(indexDir, table), damaged)
    counts.flips++
    const writer = await Store.open(dir).then(opened => opened.close().then(() => 'opened'), (error: unknown) => error)
    t.true(writer instanceof VstoreError && writer.code === 'VSTORE_CORRUPT', `a writer opened a damaged index (flip at ${offset}): ${String(writer)}`)
    let reader: Store
    try {
      reader = await Store.open(dir, { readOnly: true })
    } catch (error) {
      // The first block also holds the store's format and pack records: without them nothing can be read.
      t.true(error instanceof VstoreError && error.code === 'VSTORE_CORRUPT', `flip at ${offset}: ${String(error)}`)
      counts.storeRefused++
      continue
    }
    try {
      const refusedKeys = await readEverything(t, reader, histories, records, `flip at ${offset}`, counts)
      t.true(refusedKeys.size < records.length, `flip at ${offset}: ${refusedKeys.size} keys refused`)
      if (refusedKeys.size === 0) {
        // A block of revision ids or buckets that no read needed (the ids came with the runs' own reads, and
        // an open store keeps them): every answer was whole, and verify still names the damaged block.
        const report = await reader.verify({ full: false })
        t.true(report.problems.some(problem => problem.where === `index/${table}`), `flip at ${offset}: ${JSON.stringify(report.problems).slice(0, 300)}`)
        counts.wholeAnswers++
        continue
      }
      await t.throwsAsync(reader.stats(), { code: 'VSTORE_CORRUPT' })
      // verify names the damaged block and the keys it holds, as far as its entries parse (a flipped byte
      // may change a key itself, or cut a compressed block short: those cannot be named).
      const report = await reader.verify({ full: false })
      t.true(report.problems.some(problem => problem.where === `index/${table}`), `flip at ${offset}: ${JSON.stringify(report.problems).slice(0, 300)}`)
      const named = new Set(report.problems.flatMap(problem => problem.keys.map(key => `${key.file}@${key.rev}`)))
      const namedRefused = [...refusedKeys].filter(key => named.has(key)).length
      t.true(namedRefused > 0, `flip at ${offset}: verify names ${named.size} keys, none of the ${refusedKeys.size} refused`)
      counts.refusedKeysNamed += namedRefused
      if (counts.historiesRefused > 0 && !cliChecked) {
        // The same through the command line: one line with the code, exit 4, never a shorter list.
        cliChecked = true
        const refusedFile = [...histories.keys()].find(file => [...refusedKeys].some(key => key.startsWith(`${file}@`))) as string
        for (const args of [['log', refusedFile], ['stats'], ['extract', [...refusedKeys][0] as string], ['verify']]) {
          const run = runVstore(['--store', dir, ...args])
          t.is(run.status, 4, `${args.join(' ')}: ${run.stderr}`)
          t.regex(args[0] === 'verify' ? run.stdout.toString('utf8') : run.stderr, args[0] === 'verify' ? /^\d+ problems? .*\nVSTORE_CORRUPT \(index\// : /^vstore: VSTORE_CORRUPT \(.*\n$/, args.join(' '))
        }
      }
    } finally {
      await reader.close()
    }
  }
  writeFileSync(join(indexDir, table), pristine)
  t.log(`index block flips: ${JSON.stringify(counts)}`)
  t.true(counts.historiesWhole > 0 && counts.historiesRefused > 0)
  t.true(cliChecked)
})

test('an index file that cannot be read (a folder in its place) is one VSTORE_IO line, exit 6, for a reader and a writer', async t => {
  const dir = await makeTempDir(t, 'vstore-index-unreadable-')
  const store = await Store.open(dir, { create: true })
  // 70 texts: an insert of 64 or more index operations is compacted into a table at once.
  await store.insert(Array.from({ length: 70 }, (_, i) => ({ file: `f${i}.txt`, rev: 'r1', parents: [], text: encoder.encode(`text ${i}\n`) })))
  await store.close()
  const table = readdirSync(join(dir, 'index')).find(name => name.endsWith('.ldb'))
  if (table === undefined) return t.fail('no table')
  rmSync(join(dir, 'index', table))
  mkdirSync(join(dir, 'index', table))
  for (const args of [['stats'], ['extract', 'f1.txt@r1'], ['import-stream', '--quiet']]) {
    const run = runVstore(['--store', dir, ...args])
    t.is(run.status, 6, `${args.join(' ')}: ${run.stderr}`)
    t.regex(run.stderr, /^vstore: VSTORE_IO \([^)]*\): .*\n$/, args.join(' '))
  }
})
