import test from 'ava'
import { GroupBuilder } from '../../../lib/group/builder.js'
import { decodeRecord, dumpRecords } from '../../../lib/group/records.js'
import { applyEdit, randomBytes, randomLines, seededRandom } from '../../helpers/random.js'
import { VstoreError } from '../../../lib/errors.js'

const limits = { maxTextByteLength: 1 << 24 }
const utf8 = (text: string) => new TextEncoder().encode(text)

test('a text that would pass the cap is refused by a non-empty group', t => {
  const random = seededRandom(61)
  const builder = new GroupBuilder({ maxContentByteLength: 1000 })
  t.not(builder.tryAdd(randomBytes(random, 600)), undefined)
  const before = builder.content().slice()
  t.is(builder.tryAdd(randomBytes(random, 600)), undefined)
  t.is(dumpRecords(builder.content(), 'g', limits).length, 1)
  t.deepEqual(builder.content(), before)
})

test('a text over the cap is accepted by an empty group', t => {
  const builder = new GroupBuilder({ maxContentByteLength: 1000 })
  const text = randomBytes(seededRandom(62), 5000)
  const range = builder.tryAdd(text)
  t.deepEqual(range, { recordStart: 0, recordEnd: 5003, kind: 'fulltext', rebuildByteLength: 5000 })
  t.is(builder.contentByteLength, 5003)
  t.deepEqual(decodeRecord(builder.content(), 0, 5003, 'g', limits), text)
})

test('the cap counts the record header: a record ending exactly at the cap fits, one byte more does not', t => {
  const random = seededRandom(63)
  const first = randomBytes(random, 500)
  // 500-byte fulltext: kind, 2-byte varint, body → 503 bytes. 1000 - 503 = 497 = 1 + 2 + 494.
  const fits = new GroupBuilder({ maxContentByteLength: 1000 })
  fits.tryAdd(first)
  t.deepEqual(fits.tryAdd(randomBytes(random, 494)), { recordStart: 503, recordEnd: 1000, kind: 'fulltext', rebuildByteLength: 1024 })
  const overflows = new GroupBuilder({ maxContentByteLength: 1000 })
  overflows.tryAdd(first)
  t.is(overflows.tryAdd(randomBytes(random, 495)), undefined)
})

test('a refused text leaves the group as if it had never been offered', t => {
  const random = seededRandom(64)
  const base = randomLines(random, 40)
  const next = applyEdit(base, { position: 30, deleteByteLength: 4, insert: Uint8Array.of(65) })
  const refused = new GroupBuilder({ maxContentByteLength: 4096 })
  const untouched = new GroupBuilder({ maxContentByteLength: 4096 })
  refused.tryAdd(base)
  untouched.tryAdd(base)
  t.is(refused.tryAdd(randomBytes(random, 5000)), undefined)
  t.deepEqual(refused.tryAdd(next), untouched.tryAdd(next))
  t.deepEqual(refused.content(), untouched.content())
})

test('identical-ish texts become deltas much smaller than the text', t => {
  const random = seededRandom(65)
  const builder = new GroupBuilder({ maxContentByteLength: 1 << 20 })
  let text = randomLines(random, 200)
  const texts = [text]
  builder.tryAdd(text)
  for (let i = 0; i < 5; i++) {
    text = applyEdit(text, { position: 1000 + i * 700, deleteByteLength: 20, insert: new TextEncoder().encode(`edit ${i}\n`) })
    texts.push(text)
    const range = builder.tryAdd(text)
    t.is(range?.kind, 'delta')
    if (range) t.true(range.recordEnd - range.recordStart < text.length / 20, `record of ${range.recordEnd - range.recordStart} bytes for ${text.length}`)
  }
  const records = dumpRecords(builder.content(), 'g', limits)
  t.deepEqual(records.map(r => decodeRecord(builder.content(), r.recordStart, r.recordEnd, 'g', limits)), texts)
})

test('a text unlike anything in the group is a fulltext', t => {
  const random = seededRandom(66)
  const builder = new GroupBuilder({ maxContentByteLength: 1 << 20 })
  builder.tryAdd(randomBytes(random, 2000))
  t.is(builder.tryAdd(randomBytes(random, 2000))?.kind, 'fulltext')
})

test('an empty text is a two-byte fulltext record, first or later', t => {
  const builder = new GroupBuilder({ maxContentByteLength: 1000 })
  t.deepEqual(builder.tryAdd(new Uint8Array(0)), { recordStart: 0, recordEnd: 2, kind: 'fulltext', rebuildByteLength: 1024 })
  builder.tryAdd(randomBytes(seededRandom(67), 100))
  const range = builder.tryAdd(new Uint8Array(0))
  // 2 bytes, then 100 bytes behind a 1-byte kind and a 1-byte length.
  t.deepEqual(range, { recordStart: 104, recordEnd: 106, kind: 'fulltext', rebuildByteLength: 1024 })
  t.is(decodeRecord(builder.content(), 104, 106, 'g', limits).length, 0)
})

test('records are contiguous and the content ends at the last record', t => {
  const random = seededRandom(68)
  const builder = new GroupBuilder({ maxContentByteLength: 1 << 20 })
  let end = 0
  const base = randomLines(random, 50)
  for (let i = 0; i < 10; i++) {
    const range = builder.tryAdd(i % 3 === 0 ? randomBytes(random, 100 * i) : applyEdit(base, { position: i * 50, deleteByteLength: 3, insert: Uint8Array.of(i) }))
    t.is(range?.recordStart, end)
    end = range?.recordEnd ?? -1
  }
  t.is(builder.contentByteLength, end)
  t.is(dumpRecords(builder.content(), 'g', limits).length, 10)
})

test('the matcher options reach the delta encoder', t => {
  const random = seededRandom(69)
  const text = randomBytes(random, 3000)
  const edited = applyEdit(text, { position: 1500, deleteByteLength: 1, insert: Uint8Array.of(1) })
  const strict = new GroupBuilder({ maxContentByteLength: 1 << 20, matcher: { minCopyByteLength: 5000 } })
  strict.tryAdd(text)
  t.is(strict.tryAdd(edited)?.kind, 'fulltext')
  const lenient = new GroupBuilder({ maxContentByteLength: 1 << 20, matcher: { minCopyByteLength: 32 } })
  lenient.tryAdd(text)
  t.is(lenient.tryAdd(edited)?.kind, 'delta')
})

test('a cap that is not positive is VSTORE_USAGE', t => {
  for (const maxContentByteLength of [0, -1, Number.NaN]) {
    t.throws(() => new GroupBuilder({ maxContentByteLength }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, String(maxContentByteLength))
  }
})

test('versions of a file larger than the cap share a group as deltas, up to largeTextFactor times its length; other files do not', t => {
  const big = Uint8Array.from({ length: 2000 }, (_, i) => (i * 7919) % 251)
  const older = big.slice()
  older[1000] = (older[1000]! + 1) % 256
  const builder = new GroupBuilder({ maxContentByteLength: 1000, largeTextFactor: 1.5 })
  t.truthy(builder.tryAdd(big, 'big.bin'))
  const second = builder.tryAdd(older, 'big.bin')
  t.is(second?.kind, 'delta-previous')
  t.is(builder.tryAdd(Uint8Array.of(1, 2, 3), 'other.txt'), undefined)
  const alone = new GroupBuilder({ maxContentByteLength: 1000 })
  t.truthy(alone.tryAdd(big, 'big.bin'))
  t.is(alone.tryAdd(older, 'big.bin'), undefined)
})

test('largeTextFactor never takes a group past what readers accept: a second version that would is refused', t => {
  const big = Uint8Array.from({ length: 2000 }, (_, i) => (i * 7919) % 251)
  const older = big.slice()
  older[1000] = (older[1000]! + 1) % 256
  // Readers here accept 2,010 bytes of content: the big text (2,003 with its header) fits alone, not with its neighbour's delta.
  const builder = new GroupBuilder({ maxContentByteLength: 1000, largeTextFactor: 1.5, maxGroupContentByteLength: 2010 })
  t.truthy(builder.tryAdd(big, 'big.bin'))
  t.is(builder.tryAdd(older, 'big.bin'), undefined)
  t.true(builder.contentByteLength <= 2010)
})

test('a text of another file larger than the cap does not join a group past the cap', t => {
  const builder = new GroupBuilder({ maxContentByteLength: 1000, largeTextFactor: 1.5 })
  t.truthy(builder.tryAdd(Uint8Array.from({ length: 600 }, (_, i) => i % 251), 'a.txt'))
  t.is(builder.tryAdd(Uint8Array.from({ length: 1200 }, (_, i) => (i * 13) % 241), 'b.bin'), undefined)
})

test('a version of a file already in the group deltas on it: fewer, longer copies than against the content alone', t => {
  const random = seededRandom(73)
  let text = randomLines(random, 400)
  const versions = [text]
  for (let i = 0; i < 8; i++) {
    text = applyEdit(text, { position: (i * 977) % (text.length - 50), deleteByteLength: 20, insert: utf8(`edit ${i}\n`) })
    versions.push(text)
  }
  const withPrevious = new GroupBuilder({ maxContentByteLength: 1 << 20 })
  const without = new GroupBuilder({ maxContentByteLength: 1 << 20, maxRebuildByteLength: 0 })
  const kinds = versions.map(version => withPrevious.tryAdd(version, 'f.txt')?.kind)
  for (const version of versions) without.tryAdd(version, 'f.txt')
  t.deepEqual(kinds, ['fulltext', ...versions.slice(1).map(() => 'delta-previous')])
  t.true(withPrevious.contentByteLength < without.contentByteLength, `${withPrevious.contentByteLength} vs ${without.contentByteLength}`)
  const content = withPrevious.content()
  const dumped = dumpRecords(content, 'g', limits)
  t.deepEqual(dumped.map(record => decodeRecord(content, record.recordStart, record.recordEnd, 'g', limits)), versions)
})

test('a text deltas on its previous version only while the rebuild stays within the bound', t => {
  const random = seededRandom(74)
  const base = randomLines(random, 300)
  // A bound of 5 texts, over the 4 × its own length a text may always rebuild.
  const builder = new GroupBuilder({ maxContentByteLength: 1 << 20, maxRebuildByteLength: 5 * base.length })
  const ranges = [0, 1, 2, 3, 4, 5, 6].map(i => builder.tryAdd(applyEdit(base, { position: 100 * i, deleteByteLength: 5, insert: utf8(`v${i}`) }), 'f.txt'))
  // Each rebuild counts its own text and its previous chain: the chain restarts once it would pass 5 texts.
  t.deepEqual(ranges.map(range => range?.kind), ['fulltext', 'delta-previous', 'delta-previous', 'delta-previous', 'delta-previous', 'delta', 'delta-previous'])
  for (const range of ranges) t.true((range?.rebuildByteLength ?? Infinity) <= 5 * base.length)
  t.is(builder.tryAdd(applyEdit(base, { position: 7, deleteByteLength: 1, insert: utf8('x') }), 'other.txt')?.kind, 'delta')
})
