/**
 * The format vectors of formats/vectors/ (written by scripts/make-vectors.ts): every good vector decodes
 * to its .json and re-encodes to the same bytes, every bad vector throws the code its folder's README
 * table names, every unsupported vector throws VSTORE_UNSUPPORTED, and the files on disk are what the
 * script would write now.
 */
import test from 'ava'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ByteReader, ByteWriter, bytesEqual, compareBytes, fromHex, toHex } from '../lib/bytes/index.js'
import { applyDelta, decodeDeltaInstructions, encodeDelta, type DeltaInstruction } from '../lib/delta/group-delta.js'
import { DEFAULT_DECODE_LIMITS } from '../lib/delta/limits.js'
import { DEFAULT_MATCHER_OPTIONS, DeltaSource } from '../lib/delta/matcher.js'
import { codecForId, parseCodecSetting } from '../lib/entropy/index.js'
import { VstoreError } from '../lib/errors.js'
import {
  DEFAULT_GROUP_LIMITS, MAX_GROUP_HEADER_BYTE_LENGTH, decodeGroup, decodeGroupHeader, decodeGroupPrefix, frameGroup,
} from '../lib/group/frame.js'
import { decodeGroupBase, decodeRecord, dumpRecords, encodeBaseRecord, encodeRecordHeader, RECORD_DELTA, RECORD_DELTA_PREVIOUS, RECORD_FULLTEXT, recordDelta } from '../lib/group/records.js'
import {
  TAG_HASH, TAG_META, TAG_PACK, TAG_TEXT, decodeLocationValue, decodePackKey, decodePackValue, decodeTextKey, decodeTextValue,
  decodeTotalsValue, encodeHashKey, encodeLocationValue, encodeMetaKey, encodePackKey, encodePackValue, encodeTextKey,
  encodeTextValue, encodeTotalsValue,
} from '../lib/index/records.js'
import {
  REVISION_CHUNK_LENGTH, TAG_FILE_RUN, TAG_REVISIONS, TAG_REVISION_BUCKET, decodeRevisionBucketValue, decodeRevisionChunkKey, decodeRevisionChunkValue,
  decodeRunKey, decodeRunSections, encodeRevisionBucketValue, findRunEntry, encodeRevisionChunkKey, encodeRevisionChunkValue, encodeRunKey, encodeRunSections, revisionBucket,
} from '../lib/index/runs.js'
import { decodePackHeader, encodePackHeader } from '../lib/pack/pack-file.js'
import { PACK_HEADER_BYTE_LENGTH } from '../lib/bytes/index.js'
import { RUN_STORE_FORMAT } from '../lib/store/run-index.js'
import { READABLE_STORE_FORMATS } from '../lib/store/store.js'
import { hashText } from '../lib/store/text-hash.js'
import { buildVectors } from '../scripts/make-vectors.js'
import { VECTOR_FOLDERS, instructionJson, type GroupJson, type InstructionJson, type RecordJson } from '../scripts/vectors/common.js'
import type { LocationJson } from '../scripts/vectors/common.js'
import { runEntryJson, runSectionsJson, type RunSectionJson } from '../scripts/vectors/index-runs.js'
import type { RecordStreamJson } from '../scripts/vectors/record-stream.js'
import { decodeRecordStream, encodeRecordStream } from '../lib/import/record-stream.js'

const VECTORS = path.resolve(fileURLToPath(import.meta.url), '../../../formats/vectors')
/** A hang guard, not a benchmark: a bad vector must fail long before this. */
const BAD_VECTOR_TIMEOUT_MS = 10_000

type Folder = (typeof VECTOR_FOLDERS)[number]

interface Row {
  readonly file: string
  readonly what: string
  readonly code: string | undefined
}

/** Rows of a folder's README table: `| \`file\` | what it is | \`CODE\` or — |`. */
function readTable(folder: Folder): Row[] {
  const rows: Row[] = []
  for (const line of readFileSync(path.join(VECTORS, folder, 'README.md'), 'utf8').split('\n')) {
    const match = /^\| `([^`]+)` \| (.+) \| (?:`(VSTORE_[A-Z_]+)`|—) \|$/.exec(line)
    if (match) rows.push({ file: match[1] as string, what: match[2] as string, code: match[3] })
  }
  return rows
}

function readVector(folder: Folder, file: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(VECTORS, folder, file)))
}

function readJson(folder: Folder, file: string): unknown {
  return JSON.parse(readFileSync(path.join(VECTORS, folder, file.replace(/\.bin$/, '.json')), 'utf8')) as unknown
}

/** The decoded part of a .json (what a decoder can know from the bytes alone): without `encoder` and `reads`, at any depth. */
function decodedPart(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodedPart)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(Object.entries(value).filter(([name]) => name !== 'encoder' && name !== 'reads').map(([name, field]) => [name, decodedPart(field)]))
}

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const writer = new ByteWriter(parts.reduce((sum, part) => sum + part.length, 0))
  for (const part of parts) writer.bytes(part)
  return writer.finish()
}

function varintBytes(value: number): Uint8Array {
  const writer = new ByteWriter(8)
  writer.varint(value)
  return writer.finish()
}

function instructionOf(json: InstructionJson): DeltaInstruction {
  return json.kind === 'insert' ? { kind: 'insert', bytes: fromHex(json.hex) } : { kind: 'copy', offset: json.offset, byteLength: json.byteLength }
}

// ---- decoders and encoders per format, from lib ----

const deltaSource = (): Uint8Array => readVector('delta', 'source.bin')

function decodeDeltaVector(body: Uint8Array, where: string) {
  const source = deltaSource()
  const target = applyDelta(source, body, where, DEFAULT_DECODE_LIMITS)
  const { targetByteLength, instructions } = decodeDeltaInstructions(body, where, DEFAULT_DECODE_LIMITS)
  return { sourceHex: toHex(source), targetByteLength, instructions: instructions.map(instructionJson), targetHex: toHex(target) }
}

interface DeltaJson {
  readonly targetByteLength: number
  readonly instructions: readonly InstructionJson[]
  readonly targetHex: string
  readonly encoder: { readonly fromMatcher: boolean }
}

/** The one base text group vectors name (`good-based`); a group naming another text does not decode here. */
const BASE_TEXT = new Uint8Array(readFileSync(path.join(VECTORS, 'group', 'base-text.bin')))

async function decodeGroupVector(bytes: Uint8Array, where: string): Promise<GroupJson> {
  const { header, content } = await decodeGroup(bytes, where, DEFAULT_GROUP_LIMITS)
  const based = decodeGroupBase(content, where, DEFAULT_GROUP_LIMITS)
  if (based !== undefined && !bytesEqual(hashText(BASE_TEXT), based.base.hash)) throw new VstoreError('VSTORE_CORRUPT', 'names a base text the vectors do not hold', where)
  const baseText = based === undefined ? undefined : BASE_TEXT
  const records = dumpRecords(content, where, DEFAULT_GROUP_LIMITS).map((record): RecordJson => {
    if (record.kind === 'base') {
      const { file, rev, textByteLength, hash } = (based as NonNullable<typeof based>).base
      return { kind: 'base', recordStart: record.recordStart, recordEnd: record.recordEnd, textHex: toHex(BASE_TEXT), base: { file, rev, textByteLength, hashHex: toHex(hash) } }
    }
    const text = decodeRecord(content, record.recordStart, record.recordEnd, where, DEFAULT_GROUP_LIMITS, baseText)
    const previous = record.previousStart === undefined ? {} : { previousStart: record.previousStart }
    const base = { kind: record.kind, recordStart: record.recordStart, recordEnd: record.recordEnd, ...previous, textHex: toHex(text) }
    const delta = recordDelta(content, record.recordStart, record.recordEnd, where)
    if (delta === undefined) return base
    return { ...base, instructions: decodeDeltaInstructions(delta.delta, where, DEFAULT_GROUP_LIMITS).instructions.map(instructionJson) }
  })
  return {
    version: header.version,
    codec: codecForId(header.codecId, where).name,
    codecId: header.codecId,
    contentByteLength: header.contentByteLength,
    storedByteLength: header.storedByteLength,
    headerByteLength: header.headerByteLength,
    checksum: header.checksum.toString(16).padStart(8, '0'),
    records,
  }
}

type GroupVectorJson = GroupJson & {
  readonly encoder: { readonly codecSetting: string }
  readonly reads?: readonly { readonly recordIndex: number; readonly readByteLength: number; readonly decodedByteLength: number }[]
}

async function encodeGroupJson(json: GroupVectorJson): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for (const record of json.records) {
    if (record.base !== undefined) {
      parts.push(encodeBaseRecord({ ...record.base, hash: fromHex(record.base.hashHex) }))
      continue
    }
    const text = fromHex(record.textHex)
    if (record.kind === 'fulltext') {
      parts.push(encodeRecordHeader(RECORD_FULLTEXT, text.length), text)
      continue
    }
    const delta = encodeDelta(text.length, (record.instructions ?? []).map(instructionOf))
    const body = record.previousStart === undefined ? delta : concat(varintBytes(parts.reduce((sum, part) => sum + part.length, 0) - record.previousStart), delta)
    parts.push(encodeRecordHeader(record.previousStart === undefined ? RECORD_DELTA : RECORD_DELTA_PREVIOUS, body.length), body)
  }
  const content = concat(...parts)
  const codec = parseCodecSetting(json.encoder.codecSetting)
  return frameGroup(codec.id, content.length, await codec.encode(content), json.version)
}

/** Checks the pack header, then decodes every group from offset 8 to the end (taken as the committed length). */
async function decodePackVector(bytes: Uint8Array, where: string) {
  decodePackHeader(bytes, where)
  const groups: (GroupJson & { groupOffset: number; groupByteLength: number })[] = []
  let offset = PACK_HEADER_BYTE_LENGTH
  while (offset < bytes.length) {
    const groupWhere = `${where}@${offset}`
    const header = decodeGroupHeader(bytes.subarray(offset, offset + MAX_GROUP_HEADER_BYTE_LENGTH), groupWhere, DEFAULT_GROUP_LIMITS)
    const groupByteLength = header.headerByteLength + header.storedByteLength
    if (offset + groupByteLength > bytes.length) throw new VstoreError('VSTORE_CORRUPT', 'group runs past the committed end of the pack', groupWhere)
    groups.push({ groupOffset: offset, groupByteLength, ...(await decodeGroupVector(bytes.subarray(offset, offset + groupByteLength), groupWhere)) })
    offset += groupByteLength
  }
  return { magicHex: toHex(bytes.subarray(0, 4)), version: bytes[4], byteLength: bytes.length, groups }
}

interface PackJson {
  readonly groups: readonly (GroupVectorJson & { readonly groupOffset: number })[]
}

/** Splits an index vector: `Key_Byte_Length` varint, key, value. */
function splitIndexVector(bytes: Uint8Array, where: string): { key: Uint8Array; value: Uint8Array } {
  const reader = new ByteReader(bytes, where)
  const key = reader.take(reader.varint())
  return { key, value: reader.take(reader.remainingByteLength) }
}

function locationJson(location: ReturnType<typeof decodeLocationValue>): LocationJson {
  const { hash, ...rest } = location
  return { ...rest, hashHex: toHex(hash) }
}

/** The last store format with `T` entries (formats/index.md): the vectors README says `T` vectors are its entries, or format 2's where named. */
const TEXT_ENTRY_FORMAT = RUN_STORE_FORMAT - 1

/** A `Q` key is the tag and one byte; verify rejects another length (RunIndex.check, lib/store/run-index.ts), as this does. */
function checkBucketKey(key: Uint8Array, where: string): void {
  if (key.length !== 2) throw new VstoreError('VSTORE_CORRUPT', `a revision bucket key of ${key.length} bytes`, where)
}

/** Decodes an index record by its key's tag, as the store reads it. */
function decodeIndexVector(bytes: Uint8Array, where: string) {
  const { key, value } = splitIndexVector(bytes, where)
  const common = { keyHex: toHex(key), valueHex: toHex(value) }
  switch (key[0]) {
    case TAG_TEXT: {
      // The vectors README: a vector named *-format-2 holds an entry as store format 2 wrote it.
      const storeFormat = /-format-2\.bin$/.test(where) ? 2 : TEXT_ENTRY_FORMAT
      const textKey = decodeTextKey(key)
      const { parents, ...location } = decodeTextValue(key, value, where, storeFormat)
      const { origin, ...rest } = location
      return { kind: 'text', storeFormat, ...common, key: { ...textKey }, value: { ...locationJson(rest), parents: [...parents], ...(origin === undefined ? {} : { origin: { ...origin } }) } }
    }
    case TAG_FILE_RUN: {
      const { file, firstRev } = decodeRunKey(key, where)
      return { kind: 'run', valueVersion: value[0], ...common, key: { file, firstRev }, value: { sections: runSectionsJson(decodeRunSections(key, value, where)) } }
    }
    case TAG_REVISIONS: {
      const revs = decodeRevisionChunkValue(key, value, where)
      return { kind: 'revisions', valueVersion: value[0], ...common, key: { chunk: decodeRevisionChunkKey(key, where) }, value: { revs } }
    }
    case TAG_REVISION_BUCKET: {
      checkBucketKey(key, where)
      const members = decodeRevisionBucketValue(key, value, where).map(({ rev, tag }) => ({ rev, tagHex: toHex(Uint8Array.of(tag >> 8, tag & 0xff)) }))
      return { kind: 'bucket', ...common, key: { bucketHex: toHex(key.subarray(1)) }, value: { members } }
    }
    case TAG_HASH:
      return { kind: 'hash', ...common, key: { hashPrefixHex: toHex(key.subarray(1)) }, value: locationJson(decodeLocationValue(key, value, where)) }
    case TAG_PACK:
      return { kind: 'pack', ...common, key: { packId: decodePackKey(key) }, value: decodePackValue(key, value, where) }
    case TAG_META: {
      const name = new TextDecoder().decode(key.subarray(1))
      if (name === 'totals') return { kind: 'totals', ...common, key: { name }, value: decodeTotalsValue(key, value, where) }
      if (name !== 'format') throw new VstoreError('VSTORE_CORRUPT', `unknown meta record ${name}`, where)
      // As LevelDbStoreIndex.open checks it (lib/store/leveldb-index.ts).
      if (value.length !== 1) throw new VstoreError('VSTORE_CORRUPT', `format record of ${value.length} bytes`, where)
      if (!READABLE_STORE_FORMATS.includes(value[0] as number)) {
        throw new VstoreError('VSTORE_UNSUPPORTED', `store format ${value[0]}, this build reads ${READABLE_STORE_FORMATS.join(' and ')}`, where)
      }
      return { kind: 'format', ...common, key: { name }, value: { storeFormat: value[0] } }
    }
    default:
      throw new VstoreError('VSTORE_CORRUPT', `unknown key tag ${key[0]}`, where)
  }
}

type IndexJson =
  | { kind: 'text'; storeFormat: number; key: { file: string; rev: string }; value: LocationJson & { parents: string[]; origin?: { file: string; rev: string } } }
  | { kind: 'run'; valueVersion: number; key: { file: string; firstRev: number }; value: { sections: RunSectionJson[] } }
  | { kind: 'revisions'; valueVersion: number; key: { chunk: number }; value: { revs: string[] } }
  | { kind: 'bucket'; key: { bucketHex: string }; value: { members: { rev: number; tagHex: string }[] } }
  | { kind: 'hash'; key: { hashPrefixHex: string }; value: LocationJson }
  | { kind: 'pack'; key: { packId: number }; value: { committedByteLength: number; groupCount: number; rawByteLength?: number } }
  | { kind: 'format'; key: { name: string }; value: { storeFormat: number } }
  | { kind: 'totals'; key: { name: string }; value: { textCount: number; rawByteLength: number; groupCount: number } }

function locationOf(json: LocationJson) {
  const { hashHex, ...rest } = json
  return { ...rest, hash: fromHex(hashHex) }
}

function encodeIndexJson(json: IndexJson): Uint8Array {
  let key: Uint8Array
  let value: Uint8Array
  switch (json.kind) {
    case 'text':
      key = encodeTextKey(json.key)
      value = encodeTextValue(key, { ...locationOf(json.value), parents: json.value.parents }, json.storeFormat)
      break
    case 'run': {
      key = encodeRunKey(json.key.file, json.key.firstRev)
      value = encodeRunSections(key, json.value.sections.map(section => ({
        file: section.file,
        entries: section.entries.map(({ rev, parents, origin, ...location }) => ({ rev, location: locationOf(location), parents, ...(origin === undefined ? {} : { origin }) })),
      })), json.valueVersion)
      break
    }
    case 'revisions':
      key = encodeRevisionChunkKey(json.key.chunk)
      value = encodeRevisionChunkValue(key, json.value.revs, json.valueVersion)
      break
    case 'bucket':
      key = Uint8Array.of(TAG_REVISION_BUCKET, ...fromHex(json.key.bucketHex))
      value = encodeRevisionBucketValue(key, json.value.members.map(({ rev, tagHex }) => ({ rev, tag: parseInt(tagHex, 16) })))
      break
    case 'hash':
      key = encodeHashKey(fromHex(json.value.hashHex))
      value = encodeLocationValue(key, locationOf(json.value))
      break
    case 'pack':
      key = encodePackKey(json.key.packId)
      value = encodePackValue(key, json.value)
      break
    case 'format':
      key = encodeMetaKey('format')
      value = Uint8Array.of(json.value.storeFormat)
      break
    case 'totals':
      key = encodeMetaKey('totals')
      value = encodeTotalsValue(key, json.value)
      break
  }
  const writer = new ByteWriter(key.length + value.length + 8)
  writer.varint(key.length)
  writer.bytes(key)
  writer.bytes(value)
  return writer.finish()
}

async function decodeRecordStreamVector(bytes: Uint8Array, where: string): Promise<RecordStreamJson> {
  const records: RecordStreamJson['records'] = []
  for await (const record of decodeRecordStream([bytes], { where })) records.push({ file: record.file, rev: record.rev, parents: [...record.parents], textHex: toHex(record.text) })
  return { records }
}

const decoders: Record<Folder, (bytes: Uint8Array, where: string) => unknown> = {
  delta: decodeDeltaVector,
  group: decodeGroupVector,
  pack: decodePackVector,
  index: decodeIndexVector,
  'record-stream': decodeRecordStreamVector,
}

async function reencode(folder: Folder, json: unknown): Promise<Uint8Array> {
  switch (folder) {
    case 'delta': {
      const delta = json as DeltaJson
      return encodeDelta(delta.targetByteLength, delta.instructions.map(instructionOf))
    }
    case 'group':
      return encodeGroupJson(json as GroupVectorJson)
    case 'pack': {
      const groups: Uint8Array[] = []
      for (const group of (json as PackJson).groups) groups.push(await encodeGroupJson(group))
      return concat(encodePackHeader(), ...groups)
    }
    case 'index':
      return encodeIndexJson(json as IndexJson)
    case 'record-stream': {
      const parts: Uint8Array[] = []
      const records = (json as RecordStreamJson).records.map(r => ({ file: r.file, rev: r.rev, parents: r.parents, text: fromHex(r.textHex) }))
      for await (const part of encodeRecordStream(records)) parts.push(part)
      return concat(...parts)
    }
  }
}

// ---- the tests ----

for (const folder of VECTOR_FOLDERS) {
  const rows = readTable(folder)

  test(`${folder}: the README table lists every .bin in the folder, with a code that fits its name`, t => {
    const onDisk = readdirSync(path.join(VECTORS, folder)).filter(name => name.endsWith('.bin')).sort()
    t.deepEqual(rows.map(row => row.file).sort(), onDisk)
    for (const row of rows) {
      if (row.file.startsWith('good-')) {
        t.is(row.code, undefined, row.file)
        t.notThrows(() => readJson(folder, row.file), `${row.file} has a .json`)
      } else if (row.file.startsWith('unsupported-')) t.is(row.code, 'VSTORE_UNSUPPORTED', row.file)
      else if (row.file.startsWith('bad-')) t.true(row.code === 'VSTORE_CORRUPT' || row.code === 'VSTORE_LIMIT', row.file)
      else t.is(row.code, undefined, `${row.file} is not a vector`)
    }
    t.true(rows.some(row => row.file.startsWith('good-')) && rows.some(row => row.file.startsWith('bad-')))
  })

  for (const row of rows) {
    const where = `vectors/${folder}/${row.file}`
    if (row.file.startsWith('good-')) {
      test(`${folder}: ${row.file} decodes to its .json and re-encodes to the same bytes`, async t => {
        const bytes = readVector(folder, row.file)
        const json = readJson(folder, row.file)
        t.deepEqual(await decoders[folder](bytes, where), decodedPart(json))
        t.true(bytesEqual(await reencode(folder, json), bytes), 're-encoded bytes differ')
      })
    } else if (row.code !== undefined) {
      const code = row.code
      test(`${folder}: ${row.file} throws ${code} (${row.what})`, async t => {
        t.timeout(BAD_VECTOR_TIMEOUT_MS)
        const bytes = readVector(folder, row.file)
        const error = await t.throwsAsync(async () => { await decoders[folder](bytes, where) }, { instanceOf: VstoreError })
        t.is(error?.code as string | undefined, code, error?.message)
      })
    }
  }
}

test('delta: the vectors marked fromMatcher are what the matcher writes for their target', t => {
  let checked = 0
  for (const row of readTable('delta')) {
    if (!row.file.startsWith('good-')) continue
    const json = readJson('delta', row.file) as DeltaJson
    if (!json.encoder.fromMatcher) continue
    const source = deltaSource()
    const matcher = new DeltaSource({ ...DEFAULT_MATCHER_OPTIONS, expectedContentByteLength: 4096 })
    matcher.append(source, [[0, source.length]])
    t.true(bytesEqual(matcher.encode(fromHex(json.targetHex)).body, readVector('delta', row.file)), row.file)
    checked++
  }
  t.true(checked >= 2)
})

test('group: each listed prefix read rebuilds its record without the rest of the group', async t => {
  let checked = 0
  for (const row of readTable('group')) {
    if (!row.file.startsWith('good-')) continue
    const json = readJson('group', row.file) as GroupVectorJson
    const bytes = readVector('group', row.file)
    for (const read of json.reads ?? []) {
      const record = json.records[read.recordIndex] as RecordJson
      const where = `vectors/group/${row.file}`
      t.true(read.readByteLength <= bytes.length)
      const content = await decodeGroupPrefix(bytes.subarray(0, read.readByteLength), record.recordEnd, where, DEFAULT_GROUP_LIMITS)
      t.is(content.length, read.decodedByteLength)
      t.is(toHex(decodeRecord(content, record.recordStart, record.recordEnd, where, DEFAULT_GROUP_LIMITS)), record.textHex)
      checked++
    }
  }
  t.true(checked >= 3)
  const first = (readJson('group', 'good-brotli-three-texts.bin') as GroupVectorJson).reads?.[0]
  t.true(first !== undefined && first.readByteLength < readVector('group', 'good-brotli-three-texts.bin').length, 'the first text reads less than the whole group')
})

/** The text `location` names in pack vector good-two-groups (as pack 1), read as a reader does: a prefix of its group, then the record. */
async function textAt(location: LocationJson): Promise<Uint8Array> {
  const pack = readVector('pack', 'good-two-groups.bin')
  const where = `vectors/pack/good-two-groups.bin@${location.groupOffset}`
  const prefix = pack.subarray(location.groupOffset, location.groupOffset + location.readByteLength)
  if (prefix.length !== location.readByteLength) throw new Error(`${where}: the read runs past the pack`)
  const content = await decodeGroupPrefix(prefix, location.recordEnd, where, DEFAULT_GROUP_LIMITS)
  return decodeRecord(content, location.recordStart, location.recordEnd, where, DEFAULT_GROUP_LIMITS)
}

test('index: the text, hash and run vectors locate their texts in pack vector good-two-groups', async t => {
  const located: [string, LocationJson][] = []
  for (const file of ['good-text.bin', 'good-text-sha1.bin', 'good-text-format-2.bin', 'good-hash.bin']) located.push([file, (readJson('index', file) as { value: LocationJson }).value])
  for (const file of ['good-run-files.bin', 'good-run.bin', 'good-run-one-entry.bin', 'good-run-origin.bin']) {
    for (const section of (readJson('index', file) as { value: { sections: RunSectionJson[] } }).value.sections) for (const entry of section.entries) located.push([file, entry])
  }
  for (const [file, value] of located) {
    const text = await textAt(value)
    t.is(text.length, value.textByteLength, file)
    // A text entry keeps the first 4 bytes of a short text's hash (store format 3), a run entry of any text (format 4), a hash record all 20.
    t.true(toHex(hashText(text)).startsWith(value.hashHex), file)
    t.is(value.hashHex.length, /^good-(text|text-sha1|run.*)\.bin$/.test(file) ? 8 : 40, file)
  }
  t.is(located.length, 4 + 3 + 4)
})

/** The writer's records of the vector store, as the index README names them: its runs, its one chunk, its buckets. */
function writtenRecords(): { key: Uint8Array; value: Uint8Array }[] {
  return readTable('index')
    .filter(row => /^good-(run-files|revisions|bucket-[0-9a-f]{2})\.bin$/.test(row.file))
    .map(row => splitIndexVector(readVector('index', row.file), row.file))
}

test('index: every text of the writer\'s records is found as a lookup finds it: its id\'s bucket, its chunk, the last run of its file at or before its number', async t => {
  const records = writtenRecords()
  const ofTag = (tag: number) => records.filter(({ key }) => key[0] === tag)
  const idOf = (number: number): string | undefined => {
    const chunk = ofTag(TAG_REVISIONS).find(({ key }) => decodeRevisionChunkKey(key) === Math.floor(number / REVISION_CHUNK_LENGTH))
    return chunk === undefined ? undefined : decodeRevisionChunkValue(chunk.key, chunk.value, 'chunk')[number % REVISION_CHUNK_LENGTH]
  }
  const numberOf = (rev: string): number | undefined => {
    const { key, tag } = revisionBucket(rev)
    const bucket = ofTag(TAG_REVISION_BUCKET).find(record => bytesEqual(record.key, key))
    if (bucket === undefined) return undefined
    return decodeRevisionBucketValue(bucket.key, bucket.value, 'bucket').find(member => member.tag === tag && idOf(member.rev) === rev)?.rev
  }
  // The run that may hold a text is the last at or before its file and number, whichever file it starts with.
  const runAtOrBefore = (file: string, number: number) => {
    const bound = encodeRunKey(file, number)
    return ofTag(TAG_FILE_RUN)
      .filter(({ key }) => compareBytes(key, bound) <= 0)
      .sort((a, b) => compareBytes(a.key, b.key))
      .at(-1)
  }
  // Every (file, revision id) the runs hold, named through the chunk: each must be found again from its id.
  const keys = ofTag(TAG_FILE_RUN).flatMap(({ key, value }) => decodeRunSections(key, value, 'run').flatMap(section => section.entries.map(entry => ({ file: section.file, rev: idOf(entry.rev) }))))
  // One entry for each text the pack's groups hold.
  t.is(keys.length, (readJson('pack', 'good-two-groups.bin') as PackJson).groups.reduce((sum, group) => sum + group.records.length, 0))
  for (const { file, rev } of keys) {
    if (rev === undefined) {
      t.fail(`${file}: a run entry whose number no chunk lists`)
      continue
    }
    const number = numberOf(rev)
    if (number === undefined) {
      t.fail(`${file}@${rev}: not in its bucket`)
      continue
    }
    const run = runAtOrBefore(file, number)
    const entry = run === undefined ? undefined : decodeRunSections(run.key, run.value, 'run').find(section => section.file === file)?.entries.find(candidate => candidate.rev === number)
    // A lookup's reading, which makes only the one entry, finds the same.
    t.deepEqual(run === undefined ? undefined : findRunEntry(run.key, run.value, 'run', file, number), entry, `${file}@${rev}`)
    if (entry === undefined) {
      t.fail(`${file}@${rev}: no run at or before #${number} holds it`)
      continue
    }
    const location = runEntryJson(entry)
    const text = await textAt(location)
    t.is(text.length, location.textByteLength, `${file}@${rev}`)
    t.true(toHex(hashText(text)).startsWith(location.hashHex), `${file}@${rev}`)
    for (const parent of entry.parents) t.not(idOf(parent), undefined, `${file}@${rev}: parent #${parent}`)
  }
})

test('the vector files on disk are exactly what scripts/make-vectors.ts writes now', async t => {
  const expected = await buildVectors()
  const onDisk = VECTOR_FOLDERS.flatMap(folder => readdirSync(path.join(VECTORS, folder)).map(name => `${folder}/${name}`)).sort()
  t.deepEqual(onDisk, [...expected.keys()].sort(), 'run `npm run vectors`')
  for (const [name, content] of expected) {
    const actual = new Uint8Array(readFileSync(path.join(VECTORS, name)))
    const wanted = typeof content === 'string' ? new TextEncoder().encode(content) : content
    t.true(bytesEqual(actual, wanted), `${name} differs from what make-vectors writes (run \`npm run vectors\`)`)
  }
})
