import { HASH_BYTE_LENGTH, MAX_ID_BYTE_LENGTH } from '../../../lib/bytes/index.js'
import test, { type ExecutionContext } from 'ava'
import { ByteWriter } from '../../../lib/bytes/writer.js'
import { crc32 } from '../../../lib/bytes/crc32.js'
import { VstoreError } from '../../../lib/errors.js'
import {
  decodeLocationValue, decodePackKey, decodePackValue, decodeTextKey, decodeTextValue, decodeTotalsValue, encodeFilePrefix,
  encodeHashKey, encodeLocationValue, encodePackKey, encodePackValue, encodeRevisionPrefixes, encodeTextKey, encodeTextValue,
  encodeTotalsValue, entryHashByteLength, HASH_RECORD_MIN_TEXT_BYTE_LENGTH, INDEX_VALUE_VERSION, INDEX_VALUE_VERSION_BASED, STORE_FORMAT_VERSION, TAG_TEXT, TEXT_CHECK_BYTE_LENGTH,
} from '../../../lib/index/records.js'
import type { TextEntry, TextKey, TextLocation } from '../../../lib/index/types.js'
import { compareBytes, flipByte } from '../../helpers/random.js'

const CORRUPT = { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' } as const
const SHA1 = '0123456789abcdef0123456789abcdef01234567'
const SHA256 = 'fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210'

const location: TextLocation = {
  packId: 7,
  groupOffset: 81920,
  readByteLength: 4096,
  recordStart: 300,
  recordEnd: 2345,
  decodedByteLength: 2560,
  textByteLength: 99999,
  hash: Uint8Array.from({ length: HASH_BYTE_LENGTH }, (_, i) => i * 11),
  baseDepth: 0,
  baseReadByteLength: 0,
  baseDecodedByteLength: 0,
}
const entry: TextEntry = { ...location, parents: [SHA1, 'r41', SHA256, 'ünïcødé rev', SHA1.toUpperCase()] }

function expectCode(t: ExecutionContext, run: () => unknown, codes: readonly string[], label: string): void {
  try {
    run()
    t.fail(`${label}: decoded`)
  } catch (error) {
    t.true(error instanceof VstoreError && codes.includes(error.code), `${label}: ${String(error)}`)
  }
}

/** A value with the given body after the version byte, sealed with a correct checksum. */
function sealed(key: Uint8Array, write: (writer: ByteWriter) => void): Uint8Array {
  const writer = new ByteWriter()
  writer.byte(INDEX_VALUE_VERSION)
  write(writer)
  writer.uint32(crc32(writer.view(), crc32(key)))
  return writer.finish()
}

test('text keys round-trip for plain, SHA-1, SHA-256 and non-ASCII ids', t => {
  const keys: TextKey[] = [
    { file: 'README.md', rev: 'r41' },
    { file: 'src/a.ts', rev: SHA1 },
    { file: 'src/a.ts', rev: SHA256 },
    { file: 'ünï/cødé.txt', rev: '修订' },
    { file: 'x', rev: SHA1.toUpperCase() },
    { file: 'x', rev: SHA1.slice(0, 39) },
    { file: 'x'.repeat(MAX_ID_BYTE_LENGTH), rev: 'y'.repeat(MAX_ID_BYTE_LENGTH) },
  ]
  for (const key of keys) t.deepEqual(decodeTextKey(encodeTextKey(key)), key, `${key.file}@${key.rev}`)
})

test('a lowercase hex SHA-1 or SHA-256 revision is stored as raw bytes', t => {
  const prefix = encodeFilePrefix('f')
  t.is(encodeTextKey({ file: 'f', rev: SHA1 }).length, prefix.length + 1 + 20)
  t.is(encodeTextKey({ file: 'f', rev: SHA256 }).length, prefix.length + 1 + 32)
  t.is(encodeTextKey({ file: 'f', rev: SHA1.toUpperCase() }).length, prefix.length + 1 + 40)
})

test('every text key starts with its file prefix, which starts with the text tag', t => {
  for (const key of [{ file: 'a', rev: 'b' }, { file: 'dir/file', rev: SHA1 }, { file: 'é', rev: SHA256 }]) {
    const prefix = encodeFilePrefix(key.file)
    t.is(prefix[0], TAG_TEXT)
    t.deepEqual(encodeTextKey(key).subarray(0, prefix.length), prefix)
  }
})

test('in key order, all of a file\'s revisions lie together under its prefix and no other file\'s do', t => {
  const files = ['a', 'ab', 'a/b', 'b', 'a\u0000', 'aa', 'z'.repeat(200), 'é', 'A']
  const revs = ['1', '2', 'r10', SHA1, SHA256, 'ÿ', '\u0000x']
  const keys = files.flatMap(file => revs.map(rev => ({ file, rev, bytes: encodeTextKey({ file, rev }) })))
  keys.sort((x, y) => compareBytes(x.bytes, y.bytes))
  for (const file of files) {
    const prefix = encodeFilePrefix(file)
    const positions = keys.flatMap((key, i) => (key.file === file ? [i] : []))
    t.is(positions.length, revs.length)
    t.is((positions[positions.length - 1] as number) - (positions[0] as number), revs.length - 1, `${file}'s keys are not contiguous`)
    for (const key of keys) {
      const underPrefix = compareBytes(key.bytes.subarray(0, prefix.length), prefix) === 0
      t.is(underPrefix, key.file === file, `${key.file}@${key.rev} under ${file}`)
    }
  }
})

test('encodeRevisionPrefixes covers every stored revision that starts with the prefix', t => {
  const revs = [SHA1, SHA256, 'abc', 'abcdef', 'r41', 'ABC', SHA1.slice(0, 7)]
  for (const revPrefix of ['', 'a', 'ab', 'abc', '0123', '01234', 'fedcba9', SHA1, SHA256, 'r', 'A']) {
    const prefixes = encodeRevisionPrefixes('f', revPrefix)
    for (const rev of revs.filter(r => r.startsWith(revPrefix))) {
      const key = encodeTextKey({ file: 'f', rev })
      t.true(prefixes.some(p => compareBytes(key.subarray(0, p.length), p) === 0), `${rev} not under "${revPrefix}"`)
    }
  }
})

test('a key that is not a text key, or with an empty file, is VSTORE_CORRUPT', t => {
  const good = encodeTextKey({ file: 'f', rev: 'r' })
  t.throws(() => decodeTextKey(flipByte(good, 0, 0x01)), CORRUPT)
  t.throws(() => decodeTextKey(Uint8Array.of(TAG_TEXT, 0, 0, 0x72)), CORRUPT)
  t.throws(() => decodeTextKey(encodeFilePrefix('f')), CORRUPT)
  t.throws(() => decodeTextKey(new Uint8Array(0)), CORRUPT)
})

test('a key with an unknown revision kind, a short hash or bytes after it is VSTORE_CORRUPT', t => {
  const prefix = encodeFilePrefix('f')
  const sha1Key = encodeTextKey({ file: 'f', rev: SHA1 })
  t.throws(() => decodeTextKey(Uint8Array.of(...prefix, 0x07, 0x61)), CORRUPT)
  t.throws(() => decodeTextKey(sha1Key.subarray(0, sha1Key.length - 1)), CORRUPT)
  t.throws(() => decodeTextKey(Uint8Array.of(...sha1Key, 0)), CORRUPT)
})

test('a key whose revision or file is not UTF-8 is VSTORE_CORRUPT', t => {
  const textKey = encodeTextKey({ file: 'f', rev: 'r' })
  t.throws(() => decodeTextKey(Uint8Array.of(...textKey.subarray(0, textKey.length - 1), 0xff)), CORRUPT)
  t.throws(() => decodeTextKey(Uint8Array.of(TAG_TEXT, 1, 0xc3, 0, 0x72)), CORRUPT)
})

test('a SHA-1 or SHA-256 revision stored as text is VSTORE_CORRUPT (it could never be looked up)', t => {
  const prefix = encodeFilePrefix('f')
  for (const rev of [SHA1, SHA256]) t.throws(() => decodeTextKey(Uint8Array.of(...prefix, 0x00, ...new TextEncoder().encode(rev))), CORRUPT, rev)
  t.deepEqual(decodeTextKey(Uint8Array.of(...prefix, 0x00, ...new TextEncoder().encode(SHA1.toUpperCase()))), { file: 'f', rev: SHA1.toUpperCase() })
})

test('a key whose revision is longer than the id limit is VSTORE_LIMIT', t => {
  const prefix = encodeFilePrefix('f')
  t.throws(() => decodeTextKey(Uint8Array.of(...prefix, 0x00, ...new Uint8Array(MAX_ID_BYTE_LENGTH + 1).fill(0x61))), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
})

test('empty or over-long ids are VSTORE_USAGE when encoding', t => {
  t.throws(() => encodeTextKey({ file: '', rev: 'r' }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => encodeTextKey({ file: 'f', rev: '' }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => encodeTextKey({ file: 'x'.repeat(MAX_ID_BYTE_LENGTH + 1), rev: 'r' }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => encodeTextKey({ file: 'f', rev: 'é'.repeat(MAX_ID_BYTE_LENGTH / 2 + 1) }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

// Regression: TextEncoder turns a lone surrogate into U+FFFD, so such ids are refused before encoding.
test('a file id with a lone surrogate is refused rather than merged with another id', t => {
  const first = { file: 'a\uD800', rev: 'r' }
  const second = { file: 'a\uDBFF', rev: 'r' }
  let firstKey: Uint8Array | undefined
  let secondKey: Uint8Array | undefined
  try {
    firstKey = encodeTextKey(first)
    secondKey = encodeTextKey(second)
  } catch (error) {
    t.true(error instanceof VstoreError && error.code === 'VSTORE_USAGE', String(error))
    return
  }
  t.notDeepEqual(firstKey, secondKey)
  t.deepEqual(decodeTextKey(firstKey), first)
})

test('a hash key is the tag and the hash\'s first 8 bytes', t => {
  const hash = Uint8Array.from({ length: 20 }, (_, i) => i + 1)
  t.deepEqual([...encodeHashKey(hash)], [0x48, 1, 2, 3, 4, 5, 6, 7, 8])
})

test('pack keys round-trip and reject trailing bytes', t => {
  for (const packId of [0, 1, 127, 128, 99999]) t.is(decodePackKey(encodePackKey(packId)), packId)
  t.throws(() => decodePackKey(Uint8Array.of(...encodePackKey(5), 0)), CORRUPT)
  t.throws(() => decodePackKey(Uint8Array.of(0x54, 5)), CORRUPT)
})

test('text values round-trip with parents of every kind', t => {
  const key = encodeTextKey({ file: 'f', rev: 'r' })
  t.deepEqual(decodeTextValue(key, encodeTextValue(key, entry), 'w', STORE_FORMAT_VERSION), entry)
  const orphan = { ...entry, parents: [] }
  t.deepEqual(decodeTextValue(key, encodeTextValue(key, orphan), 'w', STORE_FORMAT_VERSION), orphan)
})

test('a text entry keeps the first 4 bytes of a short text\'s hash from store format 3 on, and the whole hash of a text of 16 KiB or more', t => {
  const key = encodeTextKey({ file: 'f', rev: 'r' })
  const short = { ...entry, textByteLength: HASH_RECORD_MIN_TEXT_BYTE_LENGTH - 1 }
  const large = { ...entry, textByteLength: HASH_RECORD_MIN_TEXT_BYTE_LENGTH }
  const cut = { ...short, hash: short.hash.subarray(0, TEXT_CHECK_BYTE_LENGTH) }
  t.deepEqual(decodeTextValue(key, encodeTextValue(key, short), 'w', 3), cut)
  t.is(encodeTextValue(key, short).length, encodeTextValue(key, short, 2).length - (HASH_BYTE_LENGTH - TEXT_CHECK_BYTE_LENGTH))
  t.deepEqual(decodeTextValue(key, encodeTextValue(key, cut), 'w', 3), cut, 'a short check is written as it is')
  t.deepEqual(decodeTextValue(key, encodeTextValue(key, large), 'w', 3), large)
  t.deepEqual(decodeTextValue(key, encodeTextValue(key, short, 2), 'w', 2), short)
  t.deepEqual(decodeTextValue(key, encodeTextValue(key, short, 1), 'w', 1), short, 'formats 1 and 2 have the same entries')
  // An entry read as the other format does not parse: its hash is 16 bytes longer or shorter.
  t.throws(() => decodeTextValue(key, encodeTextValue(key, short, 2), 'w', 3), { instanceOf: VstoreError })
  t.throws(() => decodeTextValue(key, encodeTextValue(key, short), 'w', 2), { instanceOf: VstoreError })
  // A short hash is taken only where the entry keeps one.
  t.throws(() => encodeTextValue(key, { ...large, hash: cut.hash }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => encodeTextValue(key, cut, 2), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => encodeTextValue(key, { ...short, hash: short.hash.subarray(0, 8) }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('a text entry of store format 3 may name an origin in another file; format 2 has none', t => {
  const key = encodeTextKey({ file: 'src/f.c', rev: 'r' })
  const moved = { ...entry, origin: { file: 'f.c', rev: SHA1 } }
  t.deepEqual(decodeTextValue(key, encodeTextValue(key, moved), 'w', 3), moved)
  const textOrigin = { ...entry, parents: [], origin: { file: 'ünï/f.c', rev: 'r41' } }
  t.deepEqual(decodeTextValue(key, encodeTextValue(key, textOrigin), 'w', 3), textOrigin)
  // The origin costs nothing when there is none: the parents' count is doubled, not a byte added.
  t.is(encodeTextValue(key, entry).length, encodeTextValue(key, entry, 2).length - (HASH_BYTE_LENGTH - entryHashByteLength(entry.textByteLength, 3)))
  t.throws(() => encodeTextValue(key, moved, 2), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.false('origin' in decodeTextValue(key, encodeTextValue(key, entry), 'w', 3))
})

test('location, pack and totals values round-trip', t => {
  const key = Uint8Array.of(1, 2, 3)
  t.deepEqual(decodeLocationValue(key, encodeLocationValue(key, location), 'w'), location)
  const state = { committedByteLength: 2 ** 40 + 5, groupCount: 1234 }
  t.deepEqual(decodePackValue(key, encodePackValue(key, state), 'w'), state)
  const totals = { textCount: 0, rawByteLength: 2 ** 45, groupCount: 3 }
  t.deepEqual(decodeTotalsValue(key, encodeTotalsValue(key, totals), 'w'), totals)
})

const values: readonly { name: string; key: Uint8Array; value: Uint8Array; decode: (key: Uint8Array, value: Uint8Array) => unknown }[] = (() => {
  const textKey = encodeTextKey({ file: 'f', rev: SHA1 })
  const hashKey = encodeHashKey(location.hash)
  const packKey = encodePackKey(3)
  const metaKey = Uint8Array.of(0x4d, 0x74)
  return [
    { name: 'text', key: textKey, value: encodeTextValue(textKey, entry), decode: (k, v) => decodeTextValue(k, v, 'w', STORE_FORMAT_VERSION) },
    { name: 'location', key: hashKey, value: encodeLocationValue(hashKey, location), decode: (k, v) => decodeLocationValue(k, v, 'w') },
    { name: 'pack', key: packKey, value: encodePackValue(packKey, { committedByteLength: 8192, groupCount: 2 }), decode: (k, v) => decodePackValue(k, v, 'w') },
    { name: 'totals', key: metaKey, value: encodeTotalsValue(metaKey, { textCount: 10, rawByteLength: 5000, groupCount: 2 }), decode: (k, v) => decodeTotalsValue(k, v, 'w') },
  ]
})()

for (const { name, key, value, decode } of values) {
  test(`a flipped byte anywhere in a ${name} value is VSTORE_CORRUPT or VSTORE_UNSUPPORTED`, t => {
    t.notThrows(() => decode(key, value))
    for (let offset = 0; offset < value.length; offset++) {
      for (const mask of [0x01, 0x80, 0xff]) expectCode(t, () => decode(key, flipByte(value, offset, mask)), ['VSTORE_CORRUPT', 'VSTORE_UNSUPPORTED'], `@${offset}^${mask}`)
    }
  })

  test(`a ${name} value read under another key is VSTORE_CORRUPT`, t => {
    expectCode(t, () => decode(flipByte(key, key.length - 1, 0x01), value), ['VSTORE_CORRUPT'], 'other key')
  })

  test(`a truncated or extended ${name} value is VSTORE_CORRUPT`, t => {
    for (let byteLength = 0; byteLength < value.length; byteLength++) expectCode(t, () => decode(key, value.subarray(0, byteLength)), ['VSTORE_CORRUPT'], `${byteLength} bytes`)
    expectCode(t, () => decode(key, Uint8Array.of(...value, 0)), ['VSTORE_CORRUPT'], 'one more byte')
  })

  test(`a ${name} value of another version is VSTORE_UNSUPPORTED, even with a correct checksum`, t => {
    for (const version of [0, INDEX_VALUE_VERSION_BASED + 1, 0xff]) {
      const writer = new ByteWriter()
      writer.byte(version)
      writer.bytes(value.subarray(1, value.length - 4))
      writer.uint32(crc32(writer.view(), crc32(key)))
      expectCode(t, () => decode(key, writer.finish()), ['VSTORE_UNSUPPORTED'], `version ${version}`)
    }
  })
}

test('a pack value committing fewer bytes than a pack header is VSTORE_CORRUPT', t => {
  const key = encodePackKey(1)
  t.throws(() => decodePackValue(key, encodePackValue(key, { committedByteLength: 7, groupCount: 0 }), 'w'), CORRUPT)
  t.deepEqual(decodePackValue(key, encodePackValue(key, { committedByteLength: 8, groupCount: 0 }), 'w'), { committedByteLength: 8, groupCount: 0 })
})

test('a location with an empty record range is VSTORE_CORRUPT', t => {
  const key = encodeHashKey(location.hash)
  t.throws(() => decodeLocationValue(key, encodeLocationValue(key, { ...location, recordEnd: location.recordStart }), 'w'), CORRUPT)
})

test('a location decoding fewer bytes than its record end is VSTORE_CORRUPT', t => {
  const key = encodeHashKey(location.hash)
  t.throws(() => decodeLocationValue(key, encodeLocationValue(key, { ...location, decodedByteLength: location.recordEnd - 1 }), 'w'), CORRUPT)
  t.notThrows(() => decodeLocationValue(key, encodeLocationValue(key, { ...location, decodedByteLength: location.recordEnd }), 'w'))
})

test('a hash that is not 20 bytes is VSTORE_USAGE when encoding', t => {
  const key = Uint8Array.of(1)
  t.throws(() => encodeLocationValue(key, { ...location, hash: new Uint8Array(19) }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  t.throws(() => encodeLocationValue(key, { ...location, hash: new Uint8Array(32) }), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('more than 1024 parents is VSTORE_LIMIT', t => {
  const key = Uint8Array.of(1)
  const value = sealed(key, writer => {
    writer.bytes(encodeLocationValue(key, location).subarray(1, -4))
    writer.varint(1025 * 2)
  })
  t.throws(() => decodeTextValue(key, value, 'w', STORE_FORMAT_VERSION), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
  // Before store format 3 the field is the count itself.
  const older = sealed(key, writer => {
    writer.bytes(encodeLocationValue(key, location).subarray(1, -4))
    writer.varint(1025)
  })
  t.throws(() => decodeTextValue(key, older, 'w', 2), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
})
