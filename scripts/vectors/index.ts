/** The index vectors (formats/vectors/index/): LevelDB records of the index, each in a small container. */
import { toHex } from '../../lib/bytes/index.js'
import {
  encodeHashKey, encodeLocationValue, encodeMetaKey, encodePackKey, encodePackValue, encodeTextKey, encodeTextValue,
  encodeTotalsValue, entryHashByteLength,
} from '../../lib/index/records.js'
import { REVISION_CHUNK_LENGTH } from '../../lib/index/runs.js'
import { RUN_STORE_FORMAT } from '../../lib/store/run-index.js'
import { READABLE_STORE_FORMATS, STORE_FORMAT_VERSION } from '../../lib/store/store.js'
import { hashText } from '../../lib/store/text-hash.js'
import { runVectors } from './index-runs.js'
import type { PackBuild } from './pack.js'
import { Folder, concat, encodeIndexVector, flip, locationJson, sealedValue, utf8, varint, type TextEntry, type VectorFiles } from './common.js'

/** `T` entries are read in store formats 1 to 3 only: their vectors are entries as format 3 wrote them (or 2, where named). */
const TEXT_ENTRY_FORMAT = RUN_STORE_FORMAT - 1

const README = `
An index vector is one LevelDB record in a small container (not a vstore format): \`Key_Byte_Length\`
(varint), the key, then the value to the end of the file. Keys and values are in formats/index.md. A test
decodes the key by its tag byte (\`F\`, \`N\`, \`Q\`, \`T\`, \`H\`, \`P\`, \`M\`) and the value for that key. A
good vector's \`.json\` gives \`kind\`, \`keyHex\`, \`valueHex\`, the decoded \`key\` and the decoded \`value\`
(a hash as \`hashHex\`), field names as the code spells them.

Store format ${STORE_FORMAT_VERSION} keeps texts in three kinds of record:

- \`run\` (\`F\`): text entries from one file and revision number on. The key decodes to \`file\` and
  \`firstRev\` (a revision number); the value to \`sections\`, one a file (the key's first, then files after
  it in key order), each a \`file\` and its \`entries\`, each entry with its revision number \`rev\`, its
  location (the fields of a \`T\` entry's, with a 4-byte \`hashHex\`), \`parents\` as revision numbers and,
  when it has one, an \`origin\` of \`file\` and revision number \`rev\`. The \`.json\` gives the value's
  \`valueVersion\`: 3 as store format 6 writes it (several files a run), 2 as store format 5 wrote it (one
  file; bad run vectors named \`*-v2-*\`), both without a decoded length (a reader gives the record's end as
  \`decodedByteLength\`), or 1 as store format 4 wrote it (vectors named \`*-version-1\`, and the bad run
  vectors whose name has no \`v2\` or \`v3\`).
- \`revisions\` (\`N\`): the key decodes to \`chunk\`, the value to \`revs\`, the revision ids numbered
  \`chunk\` × ${REVISION_CHUNK_LENGTH} and on; \`valueVersion\` as for runs (the bad chunk vectors whose name has
  no \`v2\` are of version 1).
- \`bucket\` (\`Q\`): the key decodes to \`bucketHex\`, the first byte of the SHA-256 of its ids' UTF-8; the
  value to \`members\`, each a revision number \`rev\` and \`tagHex\`, bytes 1 and 2 of that SHA-256.

\`good-run-files\`, \`good-revisions\` and the \`good-bucket-XX\` vectors named by a byte are the records a
writer of store format ${STORE_FORMAT_VERSION} writes for the three texts of pack vector \`good-two-groups\`,
inserted in one batch: looking each text up through them (bucket, chunk, the last run at or before its file
and number) finds its location. \`good-run\` and \`good-run-one-entry\` are the same entries as store format 5
wrote them, a run a file. Other run, chunk and bucket vectors are made up, and say so. A bad run, chunk or bucket vector
changes one field of those records and seals the value again, so its checksum is right unless its row says
otherwise.

The locations point into pack vector \`good-two-groups\` as pack 1, with each text's real hash (or, in a
\`T\` entry of a text under 16 KiB and in every run entry, its first 4 bytes), unless a row says otherwise.
\`T\` entries are read in store formats 1 to ${TEXT_ENTRY_FORMAT} only; a \`T\` vector's \`.json\` gives the
\`storeFormat\` whose entries it is: ${TEXT_ENTRY_FORMAT}, or 2 for a vector named \`*-format-2\`, which the test
decodes as format 2 (a whole hash in every entry). Two checks live outside lib/index/: the \`M format\`
check in \`LevelDbStoreIndex.open\` (lib/store/leveldb-index.ts), and the \`Q\` key's length (2 bytes) in verify's
reading of the index (lib/store/run-index.ts, \`RunIndex.check\`); the test checks both as those do.`

const PACK_ID = 1

export async function indexVectors(files: VectorFiles, pack: PackBuild): Promise<void> {
  const folder = new Folder('index', files)
  const entries = textEntries(pack)
  goodIndexVectors(folder, pack, entries)
  const fixture = badFixture(pack, entries)
  badValueVectors(folder, fixture, entries)
  badKeyVectors(folder, fixture)
  otherVersionVectors(folder, fixture)
  await runVectors(folder, pack, entries)
  folder.readme('Index vectors', README)
}

/** The index entries of the pack's texts, as pack 1. */
function textEntries(pack: PackBuild): TextEntry[] {
  return pack.texts.map((item, id) => {
    const placed = pack.groups.find(({ group }) => group.records.some(record => record.id === id))
    const record = placed?.group.records.find(r => r.id === id)
    if (placed === undefined || record === undefined) throw new Error(`vstore bug: text ${id} is in no group`)
    return {
      packId: PACK_ID,
      groupOffset: placed.groupOffset,
      readByteLength: record.readByteLength,
      recordStart: record.recordStart,
      recordEnd: record.recordEnd,
      decodedByteLength: record.decodedByteLength,
      textByteLength: record.textByteLength,
      hash: hashText(item.text),
      baseDepth: record.baseDepth,
      baseReadByteLength: record.baseReadByteLength,
      baseDecodedByteLength: record.baseDecodedByteLength,
      parents: item.parents,
    }
  })
}

function goodIndexVectors(folder: Folder, pack: PackBuild, entries: readonly TextEntry[]): void {
  const goodText = (name: string, what: string, i: number, change: Partial<TextEntry> & { origin?: { file: string; rev: string } } = {}, storeFormat = TEXT_ENTRY_FORMAT): void => {
    const item = pack.texts[i]!
    const entry = { ...entries[i]!, ...change }
    const key = encodeTextKey(item)
    const value = encodeTextValue(key, entry, storeFormat)
    folder.good(name, what, encodeIndexVector(key, value), {
      kind: 'text', storeFormat, keyHex: toHex(key), valueHex: toHex(value),
      key: { file: item.file, rev: item.rev },
      value: { ...locationJson(entry, entryHashByteLength(entry.textByteLength, storeFormat)), parents: [...entry.parents], ...(entry.origin === undefined ? {} : { origin: entry.origin }) },
    })
  }
  goodText('text', '`T` entry of pangrams.txt@r2 (a text revision id, one parent): its delta record in pack vector `good-two-groups`, with the first 4 bytes of its hash', 1)
  goodText('text-sha1', '`T` entry whose revision id is a SHA-1 hex id, stored as 20 bytes', 2)
  goodText('text-based', '`T` entry (`Value_Version` 2) of a text whose group has a base two hops deep: the chain\'s read and decoded bytes follow the hash', 1,
    { baseDepth: 2, baseReadByteLength: 300_000, baseDecodedByteLength: 2_100_000 })
  goodText('text-large', '`T` entry of a text of 16,384 bytes (a made-up location in a pack 7): a text that large keeps its whole hash', 1,
    { packId: 7, groupOffset: 5_000, readByteLength: 60_000, recordStart: 100_000, recordEnd: 100_900, decodedByteLength: 120_000, textByteLength: 16_384 })
  goodText('text-origin', '`T` entry of pangrams.txt@r2 naming an origin, old/pangrams.txt@r1: the version of another file it was moved from', 1,
    { origin: { file: 'old/pangrams.txt', rev: 'r1' } })
  goodText('text-format-2', '`T` entry of pangrams.txt@r2 as store format 2 wrote it, with its whole hash: still read', 1, {}, 2)
  const hashEntry = entries[0]!
  const hashKey = encodeHashKey(hashEntry.hash)
  const hashValue = encodeLocationValue(hashKey, hashEntry)
  folder.good('hash', '`H` entry: the first 8 bytes of pangrams.txt@r1\'s content hash → its location', encodeIndexVector(hashKey, hashValue), {
    kind: 'hash', keyHex: toHex(hashKey), valueHex: toHex(hashValue), key: { hashPrefixHex: toHex(hashKey.subarray(1)) }, value: locationJson(hashEntry),
  })
  const packKey = encodePackKey(PACK_ID)
  const packRawByteLength = pack.groups.flatMap(({ group }) => group.records).reduce((sum, record) => sum + record.textByteLength, 0)
  const packState = { committedByteLength: pack.bytes.length, groupCount: pack.groups.length, rawByteLength: packRawByteLength }
  const packValue = encodePackValue(packKey, packState)
  folder.good('pack', '`P` entry (`Value_Version` 2) of pack 1 (packs/000001.vpk): committed length, group count and text bytes of pack vector `good-two-groups`', encodeIndexVector(packKey, packValue), {
    kind: 'pack', keyHex: toHex(packKey), valueHex: toHex(packValue), key: { packId: PACK_ID }, value: packState,
  })
  const oldPackState = { committedByteLength: pack.bytes.length, groupCount: pack.groups.length }
  const oldPackValue = encodePackValue(packKey, oldPackState)
  folder.good('pack-version-1', '`P` entry (`Value_Version` 1, no text bytes) as stores wrote it before automatic packing: still read', encodeIndexVector(packKey, oldPackValue), {
    kind: 'pack', keyHex: toHex(packKey), valueHex: toHex(oldPackValue), key: { packId: PACK_ID }, value: oldPackState,
  })
  const bigPackKey = encodePackKey(300)
  const bigPackState = { committedByteLength: 1024 * 1024 * 1024, groupCount: 600, rawByteLength: 20 * 1024 * 1024 * 1024 }
  const bigPackValue = encodePackValue(bigPackKey, bigPackState)
  folder.good('pack-300', '`P` entry of pack 300: multi-byte varints in key and value', encodeIndexVector(bigPackKey, bigPackValue), {
    kind: 'pack', keyHex: toHex(bigPackKey), valueHex: toHex(bigPackValue), key: { packId: 300 }, value: bigPackState,
  })
  const formatKey = encodeMetaKey('format')
  const formatValue = Uint8Array.of(STORE_FORMAT_VERSION)
  folder.good('meta-format', `\`M format\`: the store format, one byte ${toHex(formatValue).toUpperCase()} (no version byte, no checksum)`, encodeIndexVector(formatKey, formatValue), {
    kind: 'format', keyHex: toHex(formatKey), valueHex: toHex(formatValue), key: { name: 'format' }, value: { storeFormat: STORE_FORMAT_VERSION },
  })
  folder.good('meta-format-3', '`M format` 03: a store whose texts have a `T` entry each, still read (and upgraded by its first write)', encodeIndexVector(formatKey, Uint8Array.of(3)), {
    kind: 'format', keyHex: toHex(formatKey), valueHex: '03', key: { name: 'format' }, value: { storeFormat: 3 },
  })
  folder.good('meta-format-1', '`M format` 01: a store written before groups of version 2, still read (and upgraded by its first write)', encodeIndexVector(formatKey, Uint8Array.of(1)), {
    kind: 'format', keyHex: toHex(formatKey), valueHex: '01', key: { name: 'format' }, value: { storeFormat: 1 },
  })
  folder.good('meta-format-2', '`M format` 02: a store whose text entries keep whole hashes, still read (and upgraded by its first write)', encodeIndexVector(formatKey, Uint8Array.of(2)), {
    kind: 'format', keyHex: toHex(formatKey), valueHex: '02', key: { name: 'format' }, value: { storeFormat: 2 },
  })
  const totalsKey = encodeMetaKey('totals')
  const totals = { textCount: pack.texts.length, rawByteLength: pack.texts.reduce((sum, t) => sum + t.text.length, 0), groupCount: pack.groups.length }
  const totalsValue = encodeTotalsValue(totalsKey, totals)
  folder.good('meta-totals', '`M totals` after storing the three texts of pack vector `good-two-groups`', encodeIndexVector(totalsKey, totalsValue), {
    kind: 'totals', keyHex: toHex(totalsKey), valueHex: toHex(totalsValue), key: { name: 'totals' }, value: totals,
  })
}

/** What the bad vectors are made from: pangrams.txt@r2's key and value, a location body by hand, pack 1's key. */
interface BadFixture {
  readonly textKey: Uint8Array
  readonly textValue: Uint8Array
  readonly r1Value: Uint8Array
  readonly locationBody: (location: Partial<TextEntry>, parents?: Uint8Array) => Uint8Array
  readonly textVector: (value: Uint8Array, key?: Uint8Array) => Uint8Array
  readonly packKey: Uint8Array
  readonly packState: { readonly committedByteLength: number; readonly groupCount: number }
  readonly formatKey: Uint8Array
  readonly entries: readonly TextEntry[]
}

function badFixture(pack: PackBuild, entries: readonly TextEntry[]): BadFixture {
  const textKey = encodeTextKey(pack.texts[1]!)
  const textValue = encodeTextValue(textKey, entries[1]!, TEXT_ENTRY_FORMAT)
  const r1Key = encodeTextKey(pack.texts[0]!)
  const r1Value = encodeTextValue(r1Key, entries[0]!, TEXT_ENTRY_FORMAT)
  const locationBody = (location: Partial<TextEntry>, parents: Uint8Array = Uint8Array.of(0)): Uint8Array => {
    const l = { ...entries[1]!, ...location }
    return concat(varint(l.packId), varint(l.groupOffset), varint(l.readByteLength), varint(l.recordStart), varint(l.recordEnd - l.recordStart),
      varint(l.decodedByteLength), varint(l.textByteLength), l.hash.subarray(0, entryHashByteLength(l.textByteLength, TEXT_ENTRY_FORMAT)), parents)
  }
  const textVector = (value: Uint8Array, key = textKey): Uint8Array => encodeIndexVector(key, value)
  const packKey = encodePackKey(PACK_ID)
  const packState = { committedByteLength: pack.bytes.length, groupCount: pack.groups.length }
  return { textKey, textValue, r1Value, locationBody, textVector, packKey, packState, formatKey: encodeMetaKey('format'), entries }
}

function badValueVectors(folder: Folder, fixture: BadFixture, entries: readonly TextEntry[]): void {
  const { textKey, textValue, r1Value, locationBody, textVector } = fixture
  folder.bad('value-checksum', '`T` value with one bit of its byte 7 flipped: checksum mismatch', 'VSTORE_CORRUPT', textVector(flip(textValue, 7)))
  folder.bad('value-under-other-key', 'pangrams.txt@r1\'s value under the key of r2: the checksum covers the key', 'VSTORE_CORRUPT', textVector(r1Value))
  folder.bad('value-empty', '`T` key with an empty value', 'VSTORE_CORRUPT', textVector(new Uint8Array(0)))
  folder.bad('value-too-short', '`T` value 01 00 00 00: version and 3 bytes, shorter than version plus checksum', 'VSTORE_CORRUPT', textVector(Uint8Array.of(1, 0, 0, 0)))
  folder.bad('value-truncated', '`T` value cut inside its hash (checksum right for what is there)', 'VSTORE_CORRUPT',
    textVector(sealedValue(textKey, locationBody({}).subarray(0, 10))))
  folder.bad('value-trailing', '`T` value with a byte 00 after the last parent (checksum right)', 'VSTORE_CORRUPT',
    textVector(sealedValue(textKey, concat(locationBody({}, Uint8Array.of(2, 0, 2, 0x72, 0x31)), Uint8Array.of(0)))))
  folder.bad('empty-record-range', '`T` value with `Record_Byte_Length` 0', 'VSTORE_CORRUPT',
    textVector(sealedValue(textKey, locationBody({ recordEnd: entries[1]!.recordStart }))))
  folder.bad('decoded-short', '`T` value whose `Decoded_Byte_Length` ends before the record', 'VSTORE_CORRUPT',
    textVector(sealedValue(textKey, locationBody({ decodedByteLength: entries[1]!.recordEnd - 1 }))))
  folder.bad('too-many-parents', '`T` value with `Parent_Count` 1025 (`Parents` 2050; rejected before reading parents)', 'VSTORE_LIMIT',
    textVector(sealedValue(textKey, locationBody({}, varint(2050)))))
  folder.bad('parent-rev-kind', '`T` value whose parent has `Rev_Kind` 03', 'VSTORE_CORRUPT',
    textVector(sealedValue(textKey, locationBody({}, Uint8Array.of(2, 3, 2, 0x72, 0x31)))))
  folder.bad('parent-empty', '`T` value whose text parent id has 0 bytes', 'VSTORE_CORRUPT',
    textVector(sealedValue(textKey, locationBody({}, Uint8Array.of(2, 0, 0)))))
  folder.bad('origin-empty-file', '`T` value whose origin has an empty file id (`Parents` 01: no parent, an origin)', 'VSTORE_CORRUPT',
    textVector(sealedValue(textKey, locationBody({}, Uint8Array.of(1, 0, 0, 2, 0x72, 0x31)))))
  folder.bad('origin-cut', '`T` value that says an origin follows, and ends after the parents (checksum right)', 'VSTORE_CORRUPT',
    textVector(sealedValue(textKey, locationBody({}, Uint8Array.of(3, 0, 2, 0x72, 0x31)))))
  folder.bad('value-nonminimal-varint', '`T` value with `Pack_Id` 1 written 81 00 (checksum right)', 'VSTORE_CORRUPT',
    textVector(sealedValue(textKey, concat(Uint8Array.of(0x81, 0x00), locationBody({}).subarray(1)))))
}

function badKeyVectors(folder: Folder, fixture: BadFixture): void {
  const { packKey, packState, entries } = fixture
  const fileKey = (fileBytes: Uint8Array, rest: Uint8Array): Uint8Array => concat(Uint8Array.of(0x54), varint(fileBytes.length), fileBytes, rest)
  const withValue = (key: Uint8Array): Uint8Array => encodeIndexVector(key, encodeTextValue(key, entries[1]!, TEXT_ENTRY_FORMAT))
  folder.bad('key-nonminimal-varint', '`T` key whose `File_Byte_Length` 12 is written 8C 00', 'VSTORE_CORRUPT',
    withValue(concat(Uint8Array.of(0x54, 0x8c, 0x00), utf8('pangrams.txt'), Uint8Array.of(0), utf8('r2'))))
  folder.bad('key-file-not-utf8', '`T` key whose file id is the byte FF (not UTF-8)', 'VSTORE_CORRUPT', withValue(fileKey(Uint8Array.of(0xff), concat(Uint8Array.of(0), utf8('r2')))))
  folder.bad('key-empty-file', '`T` key with an empty file id', 'VSTORE_CORRUPT', withValue(fileKey(new Uint8Array(0), concat(Uint8Array.of(0), utf8('r2')))))
  folder.bad('key-empty-rev', '`T` key whose text revision id has 0 bytes', 'VSTORE_CORRUPT', withValue(fileKey(utf8('pangrams.txt'), Uint8Array.of(0))))
  folder.bad('key-rev-kind', '`T` key with `Rev_Kind` 03', 'VSTORE_CORRUPT', withValue(fileKey(utf8('pangrams.txt'), concat(Uint8Array.of(3), utf8('r2')))))
  folder.bad('key-sha1-short', '`T` key with `Rev_Kind` 01 and 19 bytes of id', 'VSTORE_CORRUPT', withValue(fileKey(utf8('hello.txt'), concat(Uint8Array.of(1), new Uint8Array(19)))))
  folder.bad('key-sha1-long', '`T` key with `Rev_Kind` 01 and 21 bytes of id', 'VSTORE_CORRUPT', withValue(fileKey(utf8('hello.txt'), concat(Uint8Array.of(1), new Uint8Array(21)))))
  folder.bad('key-file-past-limit', '`T` key with `File_Byte_Length` 4097', 'VSTORE_LIMIT', withValue(fileKey(utf8('a'.repeat(4097)), concat(Uint8Array.of(0), utf8('r2')))))
  folder.bad('pack-key-trailing', '`P` key 50 01 00: a byte after the pack id', 'VSTORE_CORRUPT',
    encodeIndexVector(Uint8Array.of(0x50, 0x01, 0x00), encodePackValue(Uint8Array.of(0x50, 0x01, 0x00), packState)))
  folder.bad('pack-value-varint-too-long', '`P` value whose `Committed_Byte_Length` is 8 bytes long (checksum right)', 'VSTORE_CORRUPT',
    encodeIndexVector(packKey, sealedValue(packKey, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02))))
  folder.bad('pack-value-short-commit', '`P` value whose `Committed_Byte_Length` is 7, shorter than a pack header (checksum right)', 'VSTORE_CORRUPT',
    encodeIndexVector(packKey, sealedValue(packKey, Uint8Array.of(0x07, 0x01))))
  folder.bad('key-hex-rev-as-text', '`T` key holding a 40-digit lowercase hex revision id as text (`Rev_Kind` 00): it has a binary form, so no lookup could find it', 'VSTORE_CORRUPT',
    withValue(fileKey(utf8('hello.txt'), concat(Uint8Array.of(0), utf8('0123456789abcdef0123456789abcdef01234567')))))
}

/** Values of versions other than their key's, and a store format this build does not read. */
function otherVersionVectors(folder: Folder, fixture: BadFixture): void {
  const { textKey, locationBody, textVector, packKey, formatKey } = fixture
  folder.unsupported('value-version', '`T` value with `Value_Version` 3 (checksum right)', textVector(sealedValue(textKey, locationBody({}), 3)))
  folder.unsupported('pack-value-version-3', '`P` value with `Value_Version` 3 (checksum right)', encodeIndexVector(packKey, sealedValue(packKey, Uint8Array.of(0x07, 0x01, 0x05), 3)))
  folder.bad('based-depth-zero', '`T` value with `Value_Version` 2 and `Base_Depth` 0', 'VSTORE_CORRUPT',
    textVector(sealedValue(textKey, concat(locationBody({}, new Uint8Array(0)), Uint8Array.of(0, 0, 0, 0)), 2)))
  folder.bad('based-depth-past-limit', '`T` value with `Value_Version` 2 and `Base_Depth` 17', 'VSTORE_CORRUPT',
    textVector(sealedValue(textKey, concat(locationBody({}, new Uint8Array(0)), Uint8Array.of(17, 0, 0, 0)), 2)))
  const unknownFormat = Math.max(...READABLE_STORE_FORMATS) + 1
  folder.bad('meta-format-long', `\`M format\` value ${toHex(Uint8Array.of(STORE_FORMAT_VERSION, 0)).toUpperCase().replace(/(..)(?=.)/, '$1 ')}: not the one byte of a store format`, 'VSTORE_CORRUPT',
    encodeIndexVector(formatKey, Uint8Array.of(STORE_FORMAT_VERSION, 0)))
  folder.unsupported('store-format', `\`M format\` value ${toHex(Uint8Array.of(unknownFormat)).toUpperCase()}: a store format this build does not read`, encodeIndexVector(formatKey, Uint8Array.of(unknownFormat)))

}
