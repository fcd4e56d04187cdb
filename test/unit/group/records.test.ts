import test from 'ava'
import { ByteWriter } from '../../../lib/bytes/writer.js'
import { encodeDelta } from '../../../lib/delta/group-delta.js'
import { VstoreError } from '../../../lib/errors.js'
import { GroupBuilder } from '../../../lib/group/builder.js'
import { decodeRecord, dumpRecords, encodeRecordHeader, MAX_CHAIN_RECORD_COUNT, MIN_CHAIN_TEXT_CHARGE, RECORD_DELTA, RECORD_DELTA_PREVIOUS, RECORD_FULLTEXT } from '../../../lib/group/records.js'
import { applyEdit, concatBytes, randomLines, seededRandom } from '../../helpers/random.js'

const limits = { maxTextByteLength: 1 << 20 }
const CORRUPT = { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' } as const
const utf8 = (text: string) => new TextEncoder().encode(text)

function record(kind: number, body: Uint8Array): Uint8Array {
  return concatBytes(encodeRecordHeader(kind, body.length), body)
}

const hello = record(RECORD_FULLTEXT, utf8('hello, world'))
// "world, hello": copy "world" (offset 7 + header 2), insert ", ", copy "hello" (offset 2).
const swapped = record(RECORD_DELTA, encodeDelta(12, [
  { kind: 'copy', offset: 9, byteLength: 5 },
  { kind: 'insert', bytes: utf8(', ') },
  { kind: 'copy', offset: 2, byteLength: 5 },
]))
const content = concatBytes(hello, swapped)

test('a record header is the kind byte then the body length as a varint', t => {
  t.deepEqual([...encodeRecordHeader(RECORD_FULLTEXT, 5)], [0x01, 5])
  t.deepEqual([...encodeRecordHeader(RECORD_DELTA, 300)], [0x02, 0xac, 0x02])
})

test('a fulltext record decodes to its body', t => {
  t.deepEqual(decodeRecord(content, 0, hello.length, 'g', limits), utf8('hello, world'))
})

test('a delta record copies from the content before it', t => {
  t.deepEqual(decodeRecord(content, hello.length, content.length, 'g', limits), utf8('world, hello'))
})

test('decodeRecord needs only the content up to the record end', t => {
  const withTail = concatBytes(content, Uint8Array.of(0xff, 0xff, 0xff))
  t.deepEqual(decodeRecord(withTail.subarray(0, hello.length), 0, hello.length, 'g', limits), utf8('hello, world'))
  t.deepEqual(decodeRecord(withTail, hello.length, content.length, 'g', limits), utf8('world, hello'))
})

test('an unknown record kind is VSTORE_CORRUPT', t => {
  for (const kind of [0x00, 0x03, 0xff]) {
    const bad = record(kind, utf8('abc'))
    t.throws(() => decodeRecord(bad, 0, bad.length, 'g', limits), CORRUPT, String(kind))
    t.throws(() => dumpRecords(bad, 'g', limits), CORRUPT, String(kind))
  }
})

test('a record range outside the content is VSTORE_CORRUPT', t => {
  for (const [start, end] of [[0, content.length + 1], [-1, 5], [5, 5], [6, 5], [content.length, content.length + 2]] as const) {
    t.throws(() => decodeRecord(content, start, end, 'g', limits), CORRUPT, `${start}..${end}`)
  }
})

test('a body length that disagrees with the range is VSTORE_CORRUPT', t => {
  t.throws(() => decodeRecord(content, 0, hello.length - 1, 'g', limits), CORRUPT)
  t.throws(() => decodeRecord(content, 0, hello.length + 1, 'g', limits), CORRUPT)
})

test('a delta copying from its own record is VSTORE_CORRUPT', t => {
  const selfCopy = concatBytes(hello, record(RECORD_DELTA, encodeDelta(3, [{ kind: 'copy', offset: hello.length - 1, byteLength: 3 }])))
  t.throws(() => decodeRecord(selfCopy, hello.length, selfCopy.length, 'g', limits), CORRUPT)
  t.throws(() => dumpRecords(selfCopy, 'g', limits), CORRUPT)
  const lastByte = concatBytes(hello, record(RECORD_DELTA, encodeDelta(1, [{ kind: 'copy', offset: hello.length - 1, byteLength: 1 }])))
  t.deepEqual(decodeRecord(lastByte, hello.length, lastByte.length, 'g', limits), utf8('d'))
})

test('a text over maxTextByteLength is VSTORE_LIMIT, fulltext or delta', t => {
  const small = { maxTextByteLength: 11 }
  t.throws(() => decodeRecord(content, 0, hello.length, 'g', small), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
  t.throws(() => decodeRecord(content, hello.length, content.length, 'g', small), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
  t.throws(() => dumpRecords(content, 'g', small), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
})

test('dumpRecords lists each record with its range, kind and lengths', t => {
  t.deepEqual(dumpRecords(content, 'g', limits), [
    { recordStart: 0, recordEnd: hello.length, kind: 'fulltext', bodyByteLength: 12, textByteLength: 12 },
    { recordStart: hello.length, recordEnd: content.length, kind: 'delta', bodyByteLength: swapped.length - 2, textByteLength: 12 },
  ])
})

test('dumpRecords adds delta instructions only when asked', t => {
  const [, delta] = dumpRecords(content, 'g', limits, true)
  t.deepEqual(delta?.instructions, [
    { kind: 'copy', offset: 9, byteLength: 5 },
    { kind: 'insert', byteLength: 2 },
    { kind: 'copy', offset: 2, byteLength: 5 },
  ])
  t.false('instructions' in (dumpRecords(content, 'g', limits)[1] ?? {}))
})

test('dumpRecords of empty content is no records', t => {
  t.deepEqual(dumpRecords(new Uint8Array(0), 'g', limits), [])
})

test('a record running past the content end is VSTORE_CORRUPT in dumpRecords', t => {
  t.throws(() => dumpRecords(content.subarray(0, content.length - 1), 'g', limits), CORRUPT)
  t.throws(() => dumpRecords(Uint8Array.of(RECORD_FULLTEXT), 'g', limits), CORRUPT)
  const writer = new ByteWriter()
  writer.byte(RECORD_FULLTEXT)
  writer.varint(1000)
  writer.bytes(utf8('short'))
  t.throws(() => dumpRecords(writer.finish(), 'g', limits), CORRUPT)
})

test('dumpRecords finds exactly the records a builder made, and each decodes', t => {
  const random = seededRandom(71)
  const builder = new GroupBuilder({ maxContentByteLength: 1 << 20 })
  let text = randomLines(random, 80)
  const ranges = []
  const texts = []
  for (let i = 0; i < 6; i++) {
    ranges.push(builder.tryAdd(text))
    texts.push(text)
    text = applyEdit(text, { position: i * 300, deleteByteLength: 10, insert: utf8(`v${i}`) })
  }
  const dumped = dumpRecords(builder.content(), 'g', limits)
  t.deepEqual(dumped.map(r => ({ recordStart: r.recordStart, recordEnd: r.recordEnd, kind: r.kind })), ranges.map(range => range && { recordStart: range.recordStart, recordEnd: range.recordEnd, kind: range.kind }))
  t.deepEqual(dumped.map(r => r.textByteLength), texts.map(x => x.length))
  t.deepEqual(dumped.map(r => decodeRecord(builder.content(), r.recordStart, r.recordEnd, 'g', limits)), texts)
})

test('a chain of deltas on previous texts rebuilds once into the cache, and past maxRebuildByteLength is VSTORE_LIMIT', t => {
  const random = seededRandom(75)
  const builder = new GroupBuilder({ maxContentByteLength: 1 << 20 })
  let text = randomLines(random, 60)
  const texts: Uint8Array[] = []
  const ranges = []
  for (let i = 0; i < 5; i++) {
    texts.push(text)
    ranges.push(builder.tryAdd(text, 'f'))
    text = applyEdit(text, { position: i * 100, deleteByteLength: 3, insert: utf8(`r${i}`) })
  }
  t.deepEqual(ranges.map(range => range?.kind), ['fulltext', 'delta-previous', 'delta-previous', 'delta-previous', 'delta-previous'])
  const content = builder.content()
  const last = ranges[4] as { recordStart: number; recordEnd: number }
  const rebuilt = new Map<number, Uint8Array>()
  t.deepEqual(decodeRecord(content, last.recordStart, last.recordEnd, 'g', limits, undefined, rebuilt), texts[4])
  t.deepEqual([...rebuilt.keys()].sort((a, b) => a - b), ranges.map(range => range?.recordStart))
  t.deepEqual(rebuilt.get(ranges[2]?.recordStart as number), texts[2])
  // The chain behind the last record counts all five texts, each at least MIN_CHAIN_TEXT_CHARGE.
  const chain = texts.reduce((sum, x) => sum + Math.max(x.length, MIN_CHAIN_TEXT_CHARGE), 0)
  t.true(texts.some(x => x.length > MIN_CHAIN_TEXT_CHARGE))
  t.deepEqual(decodeRecord(content, last.recordStart, last.recordEnd, 'g', { ...limits, maxRebuildByteLength: chain }), texts[4])
  t.throws(() => decodeRecord(content, last.recordStart, last.recordEnd, 'g', { ...limits, maxRebuildByteLength: chain - 1 }), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
})

test('a chain of more than MAX_CHAIN_RECORD_COUNT records is VSTORE_LIMIT before anything is rebuilt, however short its texts', t => {
  // A fulltext "x" (3 bytes), then links `04 02 04 00` (the first `04 02 03 00`): each a delta on the
  // record before it with an empty target.
  const link = (distance: number) => Uint8Array.of(RECORD_DELTA_PREVIOUS, 0x02, distance, 0x00)
  const build = (links: number) => concatBytes(encodeRecordHeader(RECORD_FULLTEXT, 1), utf8('x'), ...Array.from({ length: links }, (_, i) => link(i === 0 ? 3 : 4)))
  const atLimit = build(MAX_CHAIN_RECORD_COUNT - 1)
  t.is(decodeRecord(atLimit, atLimit.length - 4, atLimit.length, 'g', limits).length, 0)
  const past = build(MAX_CHAIN_RECORD_COUNT)
  const rebuilt = new Map<number, Uint8Array>()
  t.throws(() => decodeRecord(past, past.length - 4, past.length, 'g', limits, undefined, rebuilt), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
  t.is(rebuilt.size, 0)
})
