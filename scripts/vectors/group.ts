/** The group vectors (formats/vectors/group/). */
import { crc32, toHex, varintByteLength } from '../../lib/bytes/index.js'
import { encodeDelta } from '../../lib/delta/group-delta.js'
import { parseCodecSetting } from '../../lib/entropy/index.js'
import { GroupBuilder } from '../../lib/group/builder.js'
import { frameGroup, GROUP_MAGIC, GROUP_VERSION } from '../../lib/group/frame.js'
import { encodeBaseRecord, encodeRecordHeader, RECORD_BASE, RECORD_DELTA, RECORD_DELTA_PREVIOUS, RECORD_FULLTEXT } from '../../lib/group/records.js'
import { GroupWriter, type SealedGroup } from '../../lib/group/writer.js'
import { PACK_MAGIC } from '../../lib/pack/pack-file.js'
import { hashText } from '../../lib/store/text-hash.js'
import { PANGRAMS_1, PANGRAMS_2, Folder, concat, flip, groupJson, pseudoText, recordsJson, uint32, utf8, varint, type GroupJson, type RecordJson, type VectorFiles } from './common.js'

interface BuiltGroup {
  readonly bytes: Uint8Array
  readonly content: Uint8Array
  readonly json: GroupJson
  readonly reads: { recordIndex: number; readByteLength: number; decodedByteLength: number }[]
}

/** Texts through GroupWriter (one group; reads measured in `readChunkByteLength` steps). */
async function writeGroup(texts: readonly Uint8Array[], codecSetting: string, readChunkByteLength: number, file?: string): Promise<BuiltGroup> {
  const sealed: SealedGroup<number>[] = []
  const writer = new GroupWriter<number>({
    maxContentByteLength: 1024 * 1024,
    maxReadByteLength: 1024 * 1024,
    readChunkByteLength,
    codec: parseCodecSetting(codecSetting),
  }, async group => { sealed.push(group) })
  for (const [i, text] of texts.entries()) await writer.add(i, text, file)
  await writer.flush()
  const [group] = sealed
  if (group === undefined || sealed.length !== 1) throw new Error(`vstore bug: expected one group, got ${sealed.length}`)
  const builder = new GroupBuilder({ maxContentByteLength: 1024 * 1024 })
  for (const text of texts) builder.tryAdd(text, file)
  const content = builder.content().slice()
  const records = recordsJson(content, group.records.map(record => ({ ...record, text: texts[record.id] as Uint8Array })))
  return {
    bytes: group.bytes,
    content,
    json: groupJson(group.bytes, codecSetting, content, records),
    reads: group.records.map((record, recordIndex) => ({ recordIndex, readByteLength: record.readByteLength, decodedByteLength: record.decodedByteLength })),
  }
}

interface RawGroupParts {
  readonly magic?: Uint8Array
  readonly version?: number
  readonly codecId?: number
  readonly contentByteLength?: Uint8Array
  readonly storedByteLength?: Uint8Array
  readonly checksum?: number
  readonly stored: Uint8Array
  readonly content?: Uint8Array
}

/** A group framed by hand, so that any one field can be wrong; the checksum is right unless given. */
function rawGroup(parts: RawGroupParts): Uint8Array {
  const content = parts.content ?? parts.stored
  const head = concat(
    parts.magic ?? GROUP_MAGIC,
    Uint8Array.of(parts.version ?? GROUP_VERSION, parts.codecId ?? 0),
    parts.contentByteLength ?? varint(content.length),
    parts.storedByteLength ?? varint(parts.stored.length),
  )
  return concat(head, uint32(parts.checksum ?? crc32(parts.stored, crc32(head))), parts.stored)
}

const README = `
Each \`.bin\` is one whole framed group (formats/group.md). A test decodes it whole: header, checksum, stored
content through its codec, then every record, rebuilding every text. A good vector's \`.json\` gives the
header fields (\`checksum\` as the 32-bit number in hex) and each record's \`kind\`, \`recordStart\`,
\`recordEnd\`, \`textHex\` and, for a delta, its \`instructions\`. \`encoder.codecSetting\` is the setting
that re-encodes the content to the same bytes. \`reads\`, when present, gives for a record the bytes from
the group's start a reader fetches (\`readByteLength\`) and what their prefix decode yields
(\`decodedByteLength\`), as an index entry records them.`

export async function groupVectors(files: VectorFiles): Promise<void> {
  const folder = new Folder('group', files)
  await writtenGroupVectors(folder)
  basedGroupVectors(folder)
  await previousTextVectors(folder)
  await badGroupVectors(folder)
  folder.readme('Group vectors', README)
}

/** Good groups through GroupWriter, and one of records written by hand. */
async function writtenGroupVectors(folder: Folder): Promise<void> {
  const pangrams = await writeGroup([utf8(PANGRAMS_1), utf8(PANGRAMS_2)], 'none', 4096)
  folder.good('none-two-texts', 'codec none: a fulltext, then a delta against it (the delta vector `good-edit`, offsets moved by the 2-byte record header)',
    pangrams.bytes, { ...pangrams.json, encoder: { codecSetting: 'none' } })

  const first = pseudoText(7, 700)
  const texts = [first, `${first.slice(0, 300)}INSERTED LINE\n${first.slice(300)}`, pseudoText(8, 700)].map(utf8)
  const brotli = await writeGroup(texts, 'brotli:9:24', 64)
  folder.good('brotli-three-texts', 'codec brotli (quality 9, the window fitted to its 1,481 bytes): fulltext, delta, fulltext; `reads` gives each record\'s prefix read in 64-byte steps',
    brotli.bytes, { ...brotli.json, reads: brotli.reads, encoder: { codecSetting: 'brotli:9:24', readChunkByteLength: 64 } })

  // Records written by hand: an empty text, and a delta that copies record headers (which vstore's
  // matcher never does, but a decoder must allow: the source is all content before the record).
  const abc = utf8('abc')
  const edgeDelta = encodeDelta(7, [{ kind: 'copy', offset: 0, byteLength: 7 }])
  const edgeContent = concat(
    encodeRecordHeader(RECORD_FULLTEXT, 0),
    encodeRecordHeader(RECORD_FULLTEXT, abc.length), abc,
    encodeRecordHeader(RECORD_DELTA, edgeDelta.length), edgeDelta,
  )
  const edgeBytes = frameGroup(0, edgeContent.length, edgeContent)
  const edgeRecords = recordsJson(edgeContent, [
    { recordStart: 0, recordEnd: 2, kind: 'fulltext', text: new Uint8Array(0) },
    { recordStart: 2, recordEnd: 7, kind: 'fulltext', text: abc },
    { recordStart: 7, recordEnd: edgeContent.length, kind: 'delta', text: edgeContent.subarray(0, 7) },
  ])
  folder.good('none-edge-records', 'codec none, records by hand: an empty text, "abc", and a delta copying the 7 bytes of the two records before it, headers included',
    edgeBytes, { ...groupJson(edgeBytes, 'none', edgeContent, edgeRecords), encoder: { codecSetting: 'none' } })

}

/** A group with a base, and bad base records. */
function basedGroupVectors(folder: Folder): void {
  // A group with a base: its first record names a text stored elsewhere (base-text.bin), whose bytes
  // come first in the delta source, so the next record's copies address base text and content alike.
  const baseText = utf8(PANGRAMS_1)
  folder.extra('base-text.bin', `the base text named by \`good-based\`: ${baseText.length} bytes (the delta vectors' source)`, baseText)
  const baseInfo = { file: 'pangrams.txt', rev: 'r1', textByteLength: baseText.length, hash: hashText(baseText) }
  const baseRecord = encodeBaseRecord(baseInfo)
  const basedDelta = encodeDelta(baseText.length - 4 + 3, [
    { kind: 'copy', offset: 0, byteLength: baseText.length - 4 },
    { kind: 'insert', bytes: utf8('!!\n') },
  ])
  // The second text: the base text's first 8 bytes, then the file id out of the base record's body
  // (kind, 1-byte body length, 1-byte string length, then 'pangrams.txt').
  const basedSecond = concat(baseText.subarray(0, 8), utf8('pangrams.txt'))
  const secondDelta = encodeDelta(basedSecond.length, [
    { kind: 'copy', offset: 0, byteLength: 8 },
    { kind: 'copy', offset: baseText.length + 3, byteLength: 12 },
  ])
  const basedContent = concat(
    baseRecord,
    encodeRecordHeader(RECORD_DELTA, basedDelta.length), basedDelta,
    encodeRecordHeader(RECORD_DELTA, secondDelta.length), secondDelta,
  )
  const basedBytes = frameGroup(0, basedContent.length, basedContent)
  const firstStart = baseRecord.length
  const secondStart = firstStart + 1 + varintByteLength(basedDelta.length) + basedDelta.length
  const firstText = concat(baseText.subarray(0, baseText.length - 4), utf8('!!\n'))
  const basedRecords: RecordJson[] = [
    {
      kind: 'base', recordStart: 0, recordEnd: baseRecord.length, textHex: toHex(baseText),
      base: { file: baseInfo.file, rev: baseInfo.rev, textByteLength: baseInfo.textByteLength, hashHex: toHex(baseInfo.hash) },
    },
    ...recordsJson(basedContent, [
      { recordStart: firstStart, recordEnd: secondStart, kind: 'delta', text: firstText },
      { recordStart: secondStart, recordEnd: basedContent.length, kind: 'delta', text: basedSecond },
    ]),
  ]
  folder.good('based', 'codec none, a base record naming pangrams.txt@r1 (base-text.bin), then a delta copying the base text, then one copying from the base text and from the base record (offsets past the base text\'s length)',
    basedBytes, { ...groupJson(basedBytes, 'none', basedContent, basedRecords), encoder: { codecSetting: 'none' } })
  folder.bad('base-not-first', 'a base record after a fulltext record', 'VSTORE_CORRUPT', rawGroup({ stored: concat(encodeRecordHeader(RECORD_FULLTEXT, 1), utf8('x'), baseRecord) }))
  folder.bad('base-truncated', 'a base record whose body ends inside its hash', 'VSTORE_CORRUPT',
    rawGroup({ stored: concat(encodeRecordHeader(RECORD_BASE, baseRecord.length - 3), baseRecord.subarray(2, baseRecord.length - 1)) }))
  folder.bad('copy-past-base-and-record', 'after a base of 4 bytes, a delta copying 1 byte at offset 4 + its record start', 'VSTORE_CORRUPT', (() => {
    const small = encodeBaseRecord({ file: 'f', rev: 'r', textByteLength: 4, hash: hashText(utf8('abcd')) })
    const bad = encodeDelta(1, [{ kind: 'copy', offset: 4 + small.length, byteLength: 1 }])
    return rawGroup({ stored: concat(small, encodeRecordHeader(RECORD_DELTA, bad.length), bad) })
  })())

}

/** Deltas on a previous text: good chains, bad distances, and a group of version 1. */
async function previousTextVectors(folder: Folder): Promise<void> {
  // Deltas on a previous text: versions of one file through GroupWriter (each later version's copies
  // address the version before it first), and a chain written by hand whose copy spans the end of the
  // previous text and the start of the content.
  const versions = [pseudoText(9, 900)]
  versions.push(`${(versions[0] as string).slice(0, 400)}A NEW LINE IN THE MIDDLE\n${(versions[0] as string).slice(400)}`)
  versions.push(`${(versions[1] as string).slice(0, 150)}${(versions[1] as string).slice(220)}and one more line at the end\n`)
  const previousGroup = await writeGroup(versions.map(utf8), 'none', 4096, 'notes.txt')
  if (!previousGroup.json.records.some(record => record.kind === 'delta-previous')) throw new Error('vstore bug: no delta on a previous text in good-previous-versions')
  folder.good('previous-versions', 'codec none, three versions of one file: a fulltext, then deltas on the previous text (copies below the previous text\'s length address it, the rest the content after it)',
    previousGroup.bytes, { ...previousGroup.json, encoder: { codecSetting: 'none' } })
  const chainFirst = utf8('abcdefgh')
  const chainSecondDelta = encodeDelta(10, [{ kind: 'copy', offset: 0, byteLength: 8 }, { kind: 'insert', bytes: utf8('XY') }])
  const chainSecond = concat(varint(10), chainSecondDelta)
  // Third: copies 6 bytes at 6 of [second text (10 bytes), content]: "ghXY" from the second text, then the
  // first record's header bytes 01 08 from the content.
  const chainThirdDelta = encodeDelta(6, [{ kind: 'copy', offset: 6, byteLength: 6 }])
  const chainSecondRecord = concat(encodeRecordHeader(RECORD_DELTA_PREVIOUS, chainSecond.length), chainSecond)
  const chainThird = concat(varint(chainSecondRecord.length), chainThirdDelta)
  const chainContent = concat(encodeRecordHeader(RECORD_FULLTEXT, chainFirst.length), chainFirst, chainSecondRecord, encodeRecordHeader(RECORD_DELTA_PREVIOUS, chainThird.length), chainThird)
  const chainBytes = frameGroup(0, chainContent.length, chainContent)
  const chainRecords = recordsJson(chainContent, [
    { recordStart: 0, recordEnd: 10, kind: 'fulltext', text: chainFirst },
    { recordStart: 10, recordEnd: 10 + chainSecondRecord.length, kind: 'delta-previous', text: utf8('abcdefghXY') },
    { recordStart: 10 + chainSecondRecord.length, recordEnd: chainContent.length, kind: 'delta-previous', text: concat(utf8('ghXY'), Uint8Array.of(0x01, 0x08)) },
  ])
  folder.good('previous-chain', 'codec none, records by hand: "abcdefgh"; a delta on it adding "XY"; a delta on that one copying 6 bytes across the end of its previous text into the content',
    chainBytes, { ...groupJson(chainBytes, 'none', chainContent, chainRecords), encoder: { codecSetting: 'none' } })
  const helloRecord = concat(encodeRecordHeader(RECORD_FULLTEXT, 12), utf8('hello world\n'))
  const onHello = (distance: number, delta: Uint8Array) => {
    const body = concat(varint(distance), delta)
    return rawGroup({ stored: concat(helloRecord, encodeRecordHeader(RECORD_DELTA_PREVIOUS, body.length), body) })
  }
  const copyAll = encodeDelta(12, [{ kind: 'copy', offset: 0, byteLength: 12 }])
  folder.bad('previous-distance-zero', 'a delta on a previous text with `Previous_Distance` 0', 'VSTORE_CORRUPT', onHello(0, copyAll))
  folder.bad('previous-before-content', 'a delta on a previous text whose `Previous_Distance` (15) points before the content\'s start', 'VSTORE_CORRUPT', onHello(15, copyAll))
  folder.bad('previous-not-a-record', 'a delta on a previous text whose `Previous_Distance` (7) points inside the fulltext record\'s body', 'VSTORE_CORRUPT', onHello(7, copyAll))
  folder.bad('previous-copy-past-source', 'a delta on "hello world\\n" copying 1 byte at 12 + 14: past its previous text and the content before the record', 'VSTORE_CORRUPT',
    onHello(14, encodeDelta(1, [{ kind: 'copy', offset: 26, byteLength: 1 }])))
  folder.good('version-1', '`Version` 1 (written before records on a previous text existed), one fulltext "hello world\\n": still read',
    rawGroup({ version: 1, stored: helloRecord }), {
      ...groupJson(rawGroup({ version: 1, stored: helloRecord }), 'none', helloRecord, recordsJson(helloRecord, [{ recordStart: 0, recordEnd: 14, kind: 'fulltext', text: utf8('hello world\n') }])),
      encoder: { codecSetting: 'none' },
    })

}

/** Bad and unsupported groups, each one small valid group with one defect. */
async function badGroupVectors(folder: Folder): Promise<void> {
  // Bad and unsupported groups start from one small valid group.
  const hello = concat(encodeRecordHeader(RECORD_FULLTEXT, 12), utf8('hello world\n'))
  const base = rawGroup({ stored: hello })
  const headerByteLength = base.length - hello.length
  folder.bad('magic', 'a pack\'s magic F6 76 70 00 where a group\'s F6 76 67 00 should be', 'VSTORE_CORRUPT', rawGroup({ magic: PACK_MAGIC, stored: hello }))
  folder.bad('empty', 'no bytes at all', 'VSTORE_CORRUPT', new Uint8Array(0))
  folder.bad('truncated-header', 'the first 8 bytes of a group: the header cut before `Checksum`', 'VSTORE_CORRUPT', base.subarray(0, 8))
  folder.bad('truncated-content', '`Stored_Content` one byte short of `Stored_Byte_Length`', 'VSTORE_CORRUPT', base.subarray(0, base.length - 1))
  folder.bad('trailing-bytes', 'a valid group followed by one byte 00', 'VSTORE_CORRUPT', concat(base, Uint8Array.of(0)))
  folder.bad('checksum', 'one bit of `Stored_Content` flipped: checksum mismatch', 'VSTORE_CORRUPT', flip(base, headerByteLength + 3))
  folder.bad('checksum-covers-header', 'one bit of `Content_Byte_Length` flipped (14 → 15): the checksum covers the header too', 'VSTORE_CORRUPT', flip(base, 6))
  folder.bad('nonminimal-varint', '`Content_Byte_Length` 14 written 8E 00', 'VSTORE_CORRUPT', rawGroup({ contentByteLength: Uint8Array.of(0x8e, 0x00), stored: hello }))
  folder.bad('varint-too-long', '`Stored_Byte_Length` of 8 bytes (FF×7 01)', 'VSTORE_CORRUPT',
    rawGroup({ storedByteLength: Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), stored: hello }))
  folder.bad('content-past-limit', '`Content_Byte_Length` 2^31, past the 1 GiB content limit', 'VSTORE_LIMIT', rawGroup({ contentByteLength: varint(2 ** 31), stored: hello }))
  folder.bad('stored-past-limit', '`Stored_Byte_Length` 2^31, past the 1 GiB stored limit (rejected before reading on)', 'VSTORE_LIMIT', rawGroup({ storedByteLength: varint(2 ** 31), stored: hello }))
  folder.bad('content-length-mismatch', 'codec none, `Content_Byte_Length` 15 for 14 stored bytes (checksum right): content shorter than declared', 'VSTORE_CORRUPT',
    rawGroup({ contentByteLength: varint(hello.length + 1), stored: hello }))
  folder.bad('record-kind', 'content starts with record kind 03', 'VSTORE_CORRUPT', rawGroup({ stored: flip(hello, 0, 0x02) }))
  folder.bad('record-past-content', 'a fulltext record whose `Body_Byte_Length` (16) runs 4 bytes past the content', 'VSTORE_CORRUPT',
    rawGroup({ stored: concat(encodeRecordHeader(RECORD_FULLTEXT, 16), utf8('hello world\n')) }))
  const pastRecord = encodeDelta(15, [{ kind: 'copy', offset: 0, byteLength: 15 }])
  folder.bad('copy-past-record', 'a delta record copying 15 bytes at 0 when the record starts at 14: copies reach only the content before the record', 'VSTORE_CORRUPT',
    rawGroup({ stored: concat(hello, encodeRecordHeader(RECORD_DELTA, pastRecord.length), pastRecord) }))
  const shortDelta = concat(varint(13), varint(12 * 2 + 1), varint(2))
  folder.bad('delta-length-mismatch', 'a delta record whose instructions produce 12 bytes for `Target_Byte_Length` 13', 'VSTORE_CORRUPT',
    rawGroup({ stored: concat(hello, encodeRecordHeader(RECORD_DELTA, shortDelta.length), shortDelta) }))

  const brotliCodec = parseCodecSetting('brotli:9:24')
  const helloBrotli = await brotliCodec.encode(hello)
  folder.bad('brotli-stream', 'codec brotli, `Stored_Content` FF FF FF FF (checksum right): not a brotli stream', 'VSTORE_CORRUPT',
    rawGroup({ codecId: brotliCodec.id, contentByteLength: varint(hello.length), stored: Uint8Array.of(0xff, 0xff, 0xff, 0xff) }))
  folder.bad('brotli-longer-than-declared', 'codec brotli, a stream of 14 bytes under `Content_Byte_Length` 13: decoding stops one byte past the declared length', 'VSTORE_CORRUPT',
    rawGroup({ codecId: brotliCodec.id, contentByteLength: varint(hello.length - 1), stored: helloBrotli }))
  folder.bad('brotli-truncated-stream', 'codec brotli, the stream without its last 2 bytes (lengths and checksum agree with that): decodes to 13 of the 14 bytes declared', 'VSTORE_CORRUPT',
    rawGroup({ codecId: brotliCodec.id, contentByteLength: varint(hello.length), stored: helloBrotli.subarray(0, helloBrotli.length - 2) }))
  folder.bad('brotli-trailing-after-stream', 'codec brotli, a complete stream followed by FF FF (lengths and checksum agree): a whole-group decode ends exactly at the stream end', 'VSTORE_CORRUPT',
    rawGroup({ codecId: brotliCodec.id, contentByteLength: varint(hello.length), stored: concat(helloBrotli, Uint8Array.of(0xff, 0xff)) }))
  folder.bad('none-stored-longer', 'codec none, `Content_Byte_Length` 14 over 15 stored bytes (checksum right)', 'VSTORE_CORRUPT',
    rawGroup({ contentByteLength: varint(hello.length), stored: concat(hello, Uint8Array.of(0)) }))
  folder.unsupported('version', '`Version` 3 (1 and 2 are defined)', rawGroup({ version: 3, stored: hello }))
  folder.unsupported('codec', '`Codec` 4 (0–3 are defined)', rawGroup({ codecId: 4, stored: hello }))

}
