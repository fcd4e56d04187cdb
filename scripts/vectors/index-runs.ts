/**
 * The index vectors of the run layout's records (store formats 4 to 6; formats/vectors/index/, formats/index.md):
 * `F` runs, `N` revision chunks and `Q` revision buckets. The good ones of the vector store are the records a
 * writer writes for the three texts of pack vector `good-two-groups` (RunIndex.operations over a map in
 * memory); the others are made by the codec (lib/index/runs.ts) from made-up entries, or field by field for
 * a defect.
 */
import { createHash } from 'node:crypto'
import { MAX_VARINT, bytesEqual, compareBytes, fromHex, toHex } from '../../lib/bytes/index.js'
import type { KeyValueStore } from '../../lib/index/leveldb.js'
import { MAX_PARENTS } from '../../lib/index/records.js'
import {
  MAX_RUN_LENGTH, MAX_REVISION_NUMBER, REVISION_CHUNK_LENGTH, REVISION_CHUNK_VALUE_VERSION, RUN_VALUE_VERSION, RUN_VALUE_VERSION_1, RUN_VALUE_VERSION_2, TAG_FILE_RUN,
  TAG_REVISIONS, TAG_REVISION_BUCKET, decodeRevisionBucketValue, decodeRevisionChunkKey, decodeRevisionChunkValue, decodeRunKey, decodeRunSections,
  encodeRevisionBucketValue, encodeRevisionChunkKey, encodeRevisionChunkValue, encodeRunKey, encodeRunSections, encodeRunValue, type RunEntry, type RunSection,
} from '../../lib/index/runs.js'
import { RunIndex } from '../../lib/store/run-index.js'
import { hashText } from '../../lib/store/text-hash.js'
import type { PackBuild } from './pack.js'
import { Folder, concat, encodeIndexVector, flip, locationJson, sealedValue, utf8, varint, type LocationJson, type TextEntry } from './common.js'

/** A run entry's decoded side: its number, its location (4-byte check), its parents' and origin's numbers. */
export type RunEntryJson = { rev: number } & LocationJson & { parents: number[]; origin?: { file: string; rev: number } }
/** A run's files, each with its entries. */
export type RunSectionJson = { file: string; entries: RunEntryJson[] }

export function runSectionsJson(sections: readonly RunSection[]): RunSectionJson[] {
  return sections.map(section => ({ file: section.file, entries: section.entries.map(runEntryJson) }))
}

export function runEntryJson(entry: RunEntry): RunEntryJson {
  const { rev, location, parents, origin } = entry
  return { rev, ...locationJson(location), parents: [...parents], ...(origin === undefined ? {} : { origin: { ...origin } }) }
}

const zigzag = (value: number): number => (value >= 0 ? value * 2 : -value * 2 - 1)

/** LevelDB's part of a KeyValueStore, in memory: enough for RunIndex to number revisions and write runs. */
class MemoryStore implements KeyValueStore {
  private readonly records = new Map<string, [Uint8Array, Uint8Array]>()
  readonly damage = []

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.records.get(toHex(key))?.[1]
  }

  async write(operations: readonly { key: Uint8Array; value: Uint8Array | undefined }[]): Promise<void> {
    for (const { key, value } of operations) {
      if (value === undefined) this.records.delete(toHex(key))
      else this.records.set(toHex(key), [key, value])
    }
  }

  sorted(prefix: Uint8Array = new Uint8Array(0)): [Uint8Array, Uint8Array][] {
    return [...this.records.values()]
      .filter(([key]) => key.length >= prefix.length && bytesEqual(key.subarray(0, prefix.length), prefix))
      .sort(([a], [b]) => compareBytes(a, b))
  }

  async *entries(prefix: Uint8Array, from?: Uint8Array): AsyncIterable<[Uint8Array, Uint8Array]> {
    for (const record of this.sorted(prefix)) if (from === undefined || compareBytes(record[0], from) >= 0) yield record
  }

  async last(prefix: Uint8Array, atOrBefore: Uint8Array): Promise<[Uint8Array, Uint8Array] | undefined> {
    return this.sorted(prefix).filter(([key]) => compareBytes(key, atOrBefore) <= 0).at(-1)
  }

  async compact(): Promise<void> {}
  async close(): Promise<void> {}
}

/** The records a writer writes for the pack's texts, inserted in one batch into an empty store. */
async function writtenRecords(pack: PackBuild, entries: readonly TextEntry[]): Promise<[Uint8Array, Uint8Array][]> {
  const store = new MemoryStore()
  const runs = new RunIndex(store)
  const { operations, written } = await runs.operations(pack.texts.map((text, i) => ({ key: { file: text.file, rev: text.rev }, entry: entries[i] as TextEntry })))
  await store.write(operations)
  written()
  return store.sorted()
}

/** One run entry written field by field (formats/index.md, `F`), for the bad vectors. */
interface RawEntry {
  readonly step: number
  readonly shape: number
  /** `Pack_Id`, `Group_Offset`, `Base_Depth` (and the base lengths): absent when the entry shares the group. */
  readonly group?: readonly number[] | undefined
  readonly read: number
  readonly start: number
  readonly recordByteLength: number
  readonly decoded: number
  readonly text: number
  readonly check: Uint8Array
  readonly parents: readonly number[]
  readonly origin?: Uint8Array
}

function rawEntryBytes(entry: RawEntry): Uint8Array {
  return concat(
    varint(entry.step), varint(entry.shape), ...(entry.group ?? []).map(varint), varint(entry.read), varint(entry.start), varint(entry.recordByteLength),
    varint(entry.decoded), varint(entry.text), entry.check, ...entry.parents.map(varint), entry.origin ?? new Uint8Array(0),
  )
}

/** The fields of a run as an encoder writes them (a group written out only when it differs from the entry before). */
function rawEntries(entries: readonly RunEntry[]): RawEntry[] {
  return entries.map((entry, i) => {
    const before = i === 0 ? undefined : (entries[i - 1] as RunEntry)
    const at = entry.location
    const was = before?.location
    const shared = was !== undefined && was.packId === at.packId && was.groupOffset === at.groupOffset && was.baseDepth === at.baseDepth
      && was.baseReadByteLength === at.baseReadByteLength && was.baseDecodedByteLength === at.baseDecodedByteLength
    const group = at.baseDepth === 0 ? [at.packId, at.groupOffset, 0] : [at.packId, at.groupOffset, at.baseDepth, at.baseReadByteLength, at.baseDecodedByteLength]
    const raw: RawEntry = {
      step: before === undefined ? 0 : entry.rev - before.rev,
      shape: entry.parents.length * 4 + (entry.origin === undefined ? 0 : 2) + (shared ? 1 : 0),
      read: shared ? zigzag(at.readByteLength - was.readByteLength) : at.readByteLength,
      start: shared ? zigzag(at.recordStart - was.recordStart) : at.recordStart,
      recordByteLength: at.recordEnd - at.recordStart,
      decoded: shared ? zigzag(at.decodedByteLength - was.decodedByteLength) : at.decodedByteLength,
      text: zigzag(at.textByteLength - (was?.textByteLength ?? 0)),
      check: at.hash.subarray(0, 4),
      parents: entry.parents.map(parent => zigzag(entry.rev - parent)),
      ...(entry.origin === undefined ? {} : { origin: concat(varint(utf8(entry.origin.file).length), utf8(entry.origin.file), varint(entry.origin.rev)) }),
    }
    return shared ? raw : { ...raw, group }
  })
}

const runBody = (entries: readonly RawEntry[], count = entries.length): Uint8Array => concat(varint(count), ...entries.map(rawEntryBytes))

/**
 * A good run vector of one file's entries or of several files' (`sections`), in `version` (what a reader
 * gives back: versions 2 and 3 keep no decoded length, and give the record's end).
 */
function runVector(folder: Folder, name: string, what: string, key: Uint8Array, entries: readonly RunEntry[] | readonly RunSection[], version = RUN_VALUE_VERSION): void {
  const { file, firstRev } = decodeRunKey(key)
  const sections = entries.length > 0 && 'file' in (entries[0] as RunEntry | RunSection) ? entries as readonly RunSection[] : [{ file, entries: entries as readonly RunEntry[] }]
  const value = encodeRunSections(key, sections, version)
  folder.good(name, what, encodeIndexVector(key, value), {
    kind: 'run', valueVersion: version, keyHex: toHex(key), valueHex: toHex(value), key: { file, firstRev }, value: { sections: runSectionsJson(decodeRunSections(key, value, 'make-vectors')) },
  })
}

function chunkVector(folder: Folder, name: string, what: string, chunk: number, revs: readonly string[], version = REVISION_CHUNK_VALUE_VERSION): void {
  const key = encodeRevisionChunkKey(chunk)
  const value = encodeRevisionChunkValue(key, revs, version)
  folder.good(name, what, encodeIndexVector(key, value), {
    kind: 'revisions', valueVersion: version, keyHex: toHex(key), valueHex: toHex(value), key: { chunk }, value: { revs: [...revs] },
  })
}

function bucketVector(folder: Folder, name: string, what: string, key: Uint8Array, members: readonly { rev: number; tag: number }[], value = encodeRevisionBucketValue(key, members)): void {
  folder.good(name, what, encodeIndexVector(key, value), {
    kind: 'bucket', keyHex: toHex(key), valueHex: toHex(value), key: { bucketHex: toHex(key.subarray(1)) },
    value: { members: members.map(({ rev, tag }) => ({ rev, tagHex: toHex(Uint8Array.of(tag >> 8, tag & 0xff)) })) },
  })
}

/** A made-up location: hash bytes from a label, so that each entry's check differs. */
function madeUp(label: string, location: Omit<TextEntry, 'hash' | 'parents' | 'baseDepth' | 'baseReadByteLength' | 'baseDecodedByteLength'> & Partial<TextEntry>): RunEntry['location'] {
  return { baseDepth: 0, baseReadByteLength: 0, baseDecodedByteLength: 0, ...location, hash: hashText(utf8(label)).subarray(0, 4) }
}

export async function runVectors(folder: Folder, pack: PackBuild, entries: readonly TextEntry[]): Promise<void> {
  const records = await writtenRecords(pack, entries)
  const ofTag = (tag: number) => records.filter(([key]) => key[0] === tag)
  const runs = ofTag(TAG_FILE_RUN).map(([key, value]) => ({ key, value, ...decodeRunKey(key), sections: decodeRunSections(key, value, 'make-vectors') }))
  const chunks = ofTag(TAG_REVISIONS)
  const buckets = ofTag(TAG_REVISION_BUCKET)
  const [run] = runs
  const [hello, pangrams] = run?.sections ?? []
  if (runs.length !== 1 || run === undefined || hello?.file !== 'hello.txt' || pangrams?.file !== 'pangrams.txt' || run.sections.length !== 2 || chunks.length !== 1) {
    throw new Error('vstore bug: the vector store is not one run of hello.txt and pangrams.txt and one chunk')
  }
  const [chunkKey, chunkValue] = chunks[0] as [Uint8Array, Uint8Array]
  const ids = decodeRevisionChunkValue(chunkKey, chunkValue, 'make-vectors')

  // The store of pack vector good-two-groups, as a writer leaves its index (with the P and M vectors).
  const r1 = pangrams.entries[0] as RunEntry
  const r2 = pangrams.entries[1] as RunEntry
  const commit = hello.entries[0] as RunEntry
  if (pangrams.entries.length !== 2 || ids[r1.rev] !== 'r1' || ids[r2.rev] !== 'r2' || r2.parents[0] !== r1.rev || hello.entries.length !== 1) throw new Error('vstore bug: the vector store\'s runs are not as described')
  runVector(folder, 'run-files', `\`F\` run of hello.txt starting at revision number ${commit.rev}, going on into pangrams.txt (the worked example): the commit (#${commit.rev}) in the second group of pack vector \`good-two-groups\`, then r1 (#${r1.rev}) and r2 (#${r2.rev}, parent #${r1.rev}) in its first group, the second sharing it`,
    run.key, run.sections)
  const pangramsKey = encodeRunKey(pangrams.file, r1.rev)
  const helloKey = encodeRunKey(hello.file, commit.rev)
  runVector(folder, 'run', `\`F\` run of pangrams.txt alone, starting at #${r1.rev}, as store format 5 wrote it (\`Value_Version\` 2): r1 and r2, both in the first group of \`good-two-groups\`, the second sharing its group`,
    pangramsKey, pangrams.entries, RUN_VALUE_VERSION_2)
  runVector(folder, 'run-version-1', `the run of \`good-run\` as store format 4 wrote it (\`Value_Version\` 1: a \`Rev_Step\` and a \`Shape\` an entry, the parent written out, the record start a difference from the one before, and a decoded length)`,
    pangramsKey, pangrams.entries, RUN_VALUE_VERSION_1)
  runVector(folder, 'run-one-entry', `\`F\` run of hello.txt alone at #${commit.rev}, as store format 5 wrote it: one entry, in the second group of \`good-two-groups\``, helloKey, hello.entries, RUN_VALUE_VERSION_2)
  const chunkNames = ids.map(id => (id.length === 40 ? `the SHA-1 id ${id.slice(0, 8)}… (kind 01)` : id)).join(', ')
  if (!bytesEqual(encodeRevisionChunkValue(chunkKey, ids), chunkValue)) throw new Error('vstore bug: the writer\'s chunk is not the codec\'s')
  chunkVector(folder, 'revisions', `\`N\` chunk ${decodeRevisionChunkKey(chunkKey)} of the same store: ${chunkNames}, numbered parents first (\`Chunk_Kind\` 00: the ids are of two kinds)`, decodeRevisionChunkKey(chunkKey), ids)
  chunkVector(folder, 'revisions-version-1', `the same chunk as store format 4 wrote it (\`Value_Version\` 1, no \`Chunk_Kind\`)`, decodeRevisionChunkKey(chunkKey), ids, 1)
  for (const [key, value] of buckets) {
    const members = decodeRevisionBucketValue(key, value, 'make-vectors')
    const names = members.map(member => ids[member.rev]).join(', ')
    bucketVector(folder, `bucket-${toHex(key.subarray(1))}`, `\`Q\` bucket ${toHex(key.subarray(1)).toUpperCase()} of the same store: ${names} (the first byte of the SHA-256 of the id; bytes 1 and 2 are the tag)`, key, members, value)
  }

  // Runs made by the codec, from made-up locations: what the store above does not show.
  runVector(folder, 'run-origin', `\`F\` run of pangrams.txt at #${r2.rev} (version 2): r2 moved from old/pangrams.txt at #${r1.rev} (r1; an origin: \`Shape\` 4 + 2)`,
    encodeRunKey('pangrams.txt', r2.rev), [{ ...r2, origin: { file: 'old/pangrams.txt', rev: r1.rev } }], RUN_VALUE_VERSION_2)
  const based = { packId: 3, groupOffset: 70_000, baseDepth: 2, baseReadByteLength: 300_000, baseDecodedByteLength: 2_100_000 }
  runVector(folder, 'run-based', '`F` run of based.txt at #7 (version 2, made-up locations): two texts of a group whose base is two hops deep (`Base_Depth` 2 and the chain\'s lengths, written once)',
    encodeRunKey('based.txt', 7), [
      { rev: 7, location: madeUp('based.txt@7', { ...based, readByteLength: 4_000, recordStart: 0, recordEnd: 3_000, decodedByteLength: 4_096, textByteLength: 9_000 }), parents: [] },
      { rev: 8, location: madeUp('based.txt@8', { ...based, readByteLength: 4_000, recordStart: 3_000, recordEnd: 3_050, decodedByteLength: 4_096, textByteLength: 9_010 }), parents: [7] },
    ], RUN_VALUE_VERSION_2)
  const groupA = { packId: 2, groupOffset: 4_000 }
  const groupB = { packId: 2, groupOffset: 9_000 }
  runVector(folder, 'run-two-groups', '`F` run of notes.txt at #300 (version 2, made-up locations): a text of 20,000 bytes (a 4-byte check all the same), entries that change groups and come back, a shorter text, two parents, one numbered after its child',
    encodeRunKey('notes.txt', 300), [
      { rev: 300, location: madeUp('notes.txt@300', { ...groupA, readByteLength: 5_000, recordStart: 0, recordEnd: 20_000, decodedByteLength: 20_480, textByteLength: 20_000 }), parents: [] },
      { rev: 305, location: madeUp('notes.txt@305', { ...groupB, readByteLength: 900, recordStart: 0, recordEnd: 2_000, decodedByteLength: 4_096, textByteLength: 2_000 }), parents: [300, 310] },
      { rev: 306, location: madeUp('notes.txt@306', { ...groupB, readByteLength: 950, recordStart: 2_000, recordEnd: 2_040, decodedByteLength: 4_096, textByteLength: 1_990 }), parents: [305] },
      { rev: 400, location: madeUp('notes.txt@400', { ...groupA, readByteLength: 5_200, recordStart: 20_000, recordEnd: 20_100, decodedByteLength: 24_576, textByteLength: 20_050 }), parents: [300, 306] },
    ], RUN_VALUE_VERSION_2)
  const small = { packId: 4, groupOffset: 8 }
  runVector(folder, 'run-files-shared', '`F` run of src/a.c at #3 going on into src/b.c (made-up locations): src/b.c shares 4 bytes of its id with src/a.c (`Shared_Byte_Length` 4), its first text the group of the entry before (`Shares_Group`) with its record right after that entry\'s (`Record_Start` 00), its one parent that entry\'s number, listed (another file\'s entry before it: no `Parent_Is_Previous`)',
    encodeRunKey('src/a.c', 3), [
      { file: 'src/a.c', entries: [{ rev: 3, location: madeUp('src/a.c@3', { ...small, readByteLength: 700, recordStart: 200, recordEnd: 260, decodedByteLength: 260, textByteLength: 600 }), parents: [] }] },
      { file: 'src/b.c', entries: [
        { rev: 1, location: madeUp('src/b.c@1', { ...small, readByteLength: 800, recordStart: 260, recordEnd: 460, decodedByteLength: 460, textByteLength: 640 }), parents: [3] },
        { rev: 4, location: madeUp('src/b.c@4', { ...small, readByteLength: 820, recordStart: 460, recordEnd: 480, decodedByteLength: 480, textByteLength: 650 }), parents: [1] },
      ] },
    ])
  const fullIds = [...Array.from({ length: REVISION_CHUNK_LENGTH - 1 }, (_, i) => `r${REVISION_CHUNK_LENGTH + i}`), createHash('sha256').update('a full chunk').digest('hex')]
  chunkVector(folder, 'revisions-full', `\`N\` chunk 1, full: numbers ${REVISION_CHUNK_LENGTH} to ${2 * REVISION_CHUNK_LENGTH - 1}, text ids r${REVISION_CHUNK_LENGTH} … r${2 * REVISION_CHUNK_LENGTH - 2}, then a SHA-256 id (kind 02; \`Chunk_Kind\` 00)`, 1, fullIds)
  const sha1Ids = Array.from({ length: 3 }, (_, i) => createHash('sha1').update(`commit ${i}`).digest('hex'))
  chunkVector(folder, 'revisions-sha1', `\`N\` chunk 2: three SHA-1 ids (\`Chunk_Kind\` 01, 20 bytes each and no kind byte)`, 2, sha1Ids)
  const gapMembers = [{ rev: 0, tag: 0x1234 }, { rev: 5, tag: 0xffff }, { rev: 300, tag: 0x0000 }]
  const gaps = gapMembers.map((member, i) => toHex(varint(member.rev - (i === 0 ? -1 : (gapMembers[i - 1] as { rev: number }).rev) - 1)).toUpperCase().replace(/(..)(?=.)/g, '$1 '))
  bucketVector(folder, 'bucket-gaps', `\`Q\` bucket 00 with made-up members: numbers ${gapMembers.map(member => member.rev).join(', ')} (\`Number_Gap\` ${gaps.join(', ')}) and made-up tags`,
    Uint8Array.of(TAG_REVISION_BUCKET, 0), gapMembers)

  badRunVectors(folder, pangramsKey, encodeRunValue(pangramsKey, pangrams.entries, RUN_VALUE_VERSION_1), r1, r2)
  badRunVectorsVersion2(folder, pangramsKey, encodeRunValue(pangramsKey, pangrams.entries, RUN_VALUE_VERSION_2), r1, r2)
  badRunVectorsVersion3(folder, run.key, run.value, commit, r1, r2)
  badChunkVectors(folder, chunkKey, encodeRevisionChunkValue(chunkKey, ids, 1), ids)
  badChunkVectorsVersion2(folder, sha1Ids)
  const [bucketKey, bucketValue] = buckets[0] as [Uint8Array, Uint8Array]
  badBucketVectors(folder, bucketKey, bucketValue)
}

/**
 * Defects of version 2 runs: the run of r1 and r2 (`good-run`) written field by field, with one field
 * changed, its checksum right.
 */
function badRunVectorsVersion2(folder: Folder, key: Uint8Array, value: Uint8Array, r1: RunEntry, r2: RunEntry): void {
  const at1 = r1.location
  const at2 = r2.location
  if (r2.parents.length !== 1 || r2.parents[0] !== r1.rev || !(at2.packId === at1.packId && at2.groupOffset === at1.groupOffset && at1.baseDepth === 0 && at2.baseDepth === 0)) {
    throw new Error('vstore bug: good-run is not two entries of one group, the second with the first as parent')
  }
  const recordByteLength = (at: RunEntry['location']) => at.recordEnd - at.recordStart
  // Entry 1: Shape (step 0, flags 0), the group, read, record length, record start, text length, check.
  const first = (shape = 0) => concat(varint(shape), varint(at1.packId), varint(at1.groupOffset), varint(0), varint(at1.readByteLength), varint(recordByteLength(at1)),
    varint(at1.recordStart), varint(zigzag(at1.textByteLength)), at1.hash.subarray(0, 4))
  const step = r2.rev - r1.rev
  // Entry 2, sharing the group, with the flags given, and with `Has_Parent_List` (8) a `Parent_Count` and the distances.
  const second = (flags: number, list?: { count: number; distances: Uint8Array }, start = zigzag(at2.recordStart - (at1.recordStart - recordByteLength(at2)))) => concat(
    varint(step * 16 + flags + 1), list === undefined ? new Uint8Array(0) : varint(list.count),
    varint(zigzag(at2.readByteLength - at1.readByteLength)), varint(recordByteLength(at2)), varint(start), varint(zigzag(at2.textByteLength - at1.textByteLength)),
    at2.hash.subarray(0, 4), list?.distances ?? new Uint8Array(0),
  )
  const vector = (...entries: Uint8Array[]) => encodeIndexVector(key, sealedValue(key, concat(varint(entries.length), ...entries), RUN_VALUE_VERSION_2))
  if (!bytesEqual(vector(first(), second(4)), encodeIndexVector(key, value))) throw new Error('vstore bug: a version 2 run written field by field differs from the codec\'s')
  const bad = (name: string, what: string, bytes: Uint8Array, code: 'VSTORE_CORRUPT' | 'VSTORE_LIMIT' = 'VSTORE_CORRUPT') => folder.bad(`run-v2-${name}`, what, code, bytes)
  const distance = varint(zigzag(r2.rev - r1.rev))
  bad('first-parent-previous', 'version 2: the first entry with `Parent_Is_Previous` (`Shape` 4): there is no entry before it', vector(first(4), second(4)))
  bad('parent-flags-both', 'version 2: the second entry with both `Parent_Is_Previous` and `Has_Parent_List` (a list of its first entry)', vector(first(), second(4 + 8, { count: 1, distances: varint(zigzag(r2.rev)) })))
  bad('parent-list-empty', 'version 2: the second entry with `Has_Parent_List` and `Parent_Count` 0', vector(first(), second(8, { count: 0, distances: new Uint8Array(0) })))
  bad('parent-list-previous', 'version 2: the second entry lists the first as its only parent (`Has_Parent_List`, `Parent_Count` 1): that is `Parent_Is_Previous`\'s to say', vector(first(), second(8, { count: 1, distances: distance })))
  bad('too-many-parents', `version 2: the second entry with \`Parent_Count\` ${MAX_PARENTS + 1} (rejected before reading them)`, vector(first(), second(8, { count: MAX_PARENTS + 1, distances: new Uint8Array(0) })), 'VSTORE_LIMIT')
  bad('negative-record-start', `version 2: the second entry's \`Record_Start\` one before 0, against the predicted ${at1.recordStart - recordByteLength(at2)}`,
    vector(first(), second(4, undefined, zigzag(-1 - (at1.recordStart - recordByteLength(at2))))))
  bad('file-switch', 'version 2: the second entry with `Rev_Step` 0 (`Shape` 4 + 1): only a version 3 run goes on into another file', vector(first(), concat(varint(4 + 1), second(4).subarray(varint(step * 16 + 4 + 1).length))))
}

/**
 * Defects of version 3 runs: the writer's run of hello.txt and pangrams.txt (`good-run-files`) written field
 * by field, with one field of its list of files or of the entry that starts pangrams.txt changed, its
 * checksum right.
 */
function badRunVectorsVersion3(folder: Folder, key: Uint8Array, value: Uint8Array, commit: RunEntry, r1: RunEntry, r2: RunEntry): void {
  const [atCommit, at1, at2] = [commit.location, r1.location, r2.location] as const
  if (at1.packId !== atCommit.packId || at1.groupOffset === atCommit.groupOffset || at1.baseDepth !== 0 || atCommit.baseDepth !== 0 || r1.parents.length !== 0 || commit.parents.length !== 0) {
    throw new Error('vstore bug: good-run-files is not the commit alone in one group, then r1 and r2 in another')
  }
  const recordByteLength = (location: RunEntry['location']) => location.recordEnd - location.recordStart
  const group = (location: RunEntry['location']) => concat(varint(location.packId), varint(location.groupOffset), varint(0))
  const place = (location: RunEntry['location'], start: number, text: number) => concat(varint(location.readByteLength), varint(recordByteLength(location)), varint(start), varint(zigzag(text)), location.hash.subarray(0, 4))
  // The count field (3 entries: (3 − 1) × 2, plus 1 for a list), then the list: one file, pangrams.txt at r1's number.
  const listed = (file: { shared?: number; more?: boolean; rest?: Uint8Array; rev?: number } = {}) => concat(
    varint((file.shared ?? 0) * 2 + (file.more === true ? 1 : 0)), varint((file.rest ?? utf8('pangrams.txt')).length), file.rest ?? utf8('pangrams.txt'), varint(file.rev ?? r1.rev))
  const first = concat(varint(0), group(atCommit), place(atCommit, atCommit.recordStart, atCommit.textByteLength))
  const next = (shape = 0) => concat(varint(shape), group(at1), place(at1, at1.recordStart, at1.textByteLength - atCommit.textByteLength))
  const third = concat(varint((r2.rev - r1.rev) * 16 + 4 + 1), varint(zigzag(at2.readByteLength - at1.readByteLength)), varint(recordByteLength(at2)),
    varint(zigzag(at2.recordStart - (at1.recordStart - recordByteLength(at2)))), varint(zigzag(at2.textByteLength - at1.textByteLength)), at2.hash.subarray(0, 4))
  const sealed = (...parts: Uint8Array[]) => encodeIndexVector(key, sealedValue(key, concat(...parts), RUN_VALUE_VERSION))
  const vector = (list = listed(), middle = next(), count = varint(2 * 2 + 1)) => sealed(count, list, first, middle, third)
  if (!bytesEqual(vector(), encodeIndexVector(key, value))) throw new Error('vstore bug: a version 3 run written field by field differs from the codec\'s')
  const bad = (name: string, what: string, bytes: Uint8Array, code: 'VSTORE_CORRUPT' | 'VSTORE_LIMIT' = 'VSTORE_CORRUPT') => folder.bad(`run-v3-${name}`, what, code, bytes)
  bad('file-before', 'version 3: the listed file is a.txt, which sorts before hello.txt (a shorter id first)', vector(listed({ rest: utf8('a.txt') })))
  bad('file-same', 'version 3: the listed file is hello.txt again (9 shared bytes, no more)', vector(listed({ shared: 9, rest: new Uint8Array(0) })))
  bad('file-empty', 'version 3: the listed file id is empty (no bytes shared, none more)', vector(listed({ rest: new Uint8Array(0) })))
  bad('shared-past', 'version 3: the listed file shares 10 bytes, past the 9 of hello.txt', vector(listed({ shared: 10, rest: utf8('x') })))
  bad('shared-short', 'version 3: hello.txt2 listed as 5 shared bytes and `.txt2`: it shares 9 with hello.txt, and must say so', vector(listed({ shared: 5, rest: utf8('.txt2') })))
  bad('file-not-utf8', 'version 3: the listed file id is the byte FF (not UTF-8)', vector(listed({ rest: Uint8Array.of(0xff) })))
  bad('file-past-limit', 'version 3: the listed file id is hello.txt and 4088 more bytes: 4097 in all', vector(listed({ shared: 9, rest: utf8('a'.repeat(4088)) })), 'VSTORE_LIMIT')
  bad('file-rev-past-limit', 'version 3: the listed file\'s first number is 4294967296', vector(listed({ rev: MAX_REVISION_NUMBER + 1 })))
  bad('files-past-count', 'version 3: three files listed after hello.txt (pangrams.txt, pangrams.txt2, pangrams.txt22) in a run of 3 entries, which can start at most two',
    vector(concat(listed({ more: true }), listed({ shared: 12, rest: utf8('2'), rev: 9, more: true }), listed({ shared: 13, rest: utf8('2'), rev: 10 }))))
  bad('file-unused', 'version 3: pangrams.txt listed, but no entry starts it (the second entry steps on within hello.txt)', vector(listed(), concat(varint(16), next().subarray(1))))
  bad('file-unlisted', 'version 3: an entry starts a next file (`Rev_Step` 0) in a run whose count says no list follows', sealed(varint(2 * 2), first, next(), third))
  bad('next-parent-previous', 'version 3: the entry that starts pangrams.txt with `Parent_Is_Previous` (`Shape` 4): the entry before is another file\'s', vector(listed(), next(4)))
  folder.unsupported('run-value-version', '`F` value with `Value_Version` 4 (checksum right): runs have versions 1 to 3', encodeIndexVector(key, sealedValue(key, concat(varint(5), listed(), first, next(), third), 4)))
}

/** Defects of version 2 revision chunks: chunk 2 of three SHA-1 ids (`good-revisions-sha1`) with one change, its checksum right. */
function badChunkVectorsVersion2(folder: Folder, sha1Ids: readonly string[]): void {
  const key = encodeRevisionChunkKey(2)
  const ids = sha1Ids.map(id => fromHex(id))
  const vector = (body: Uint8Array) => encodeIndexVector(key, sealedValue(key, body, REVISION_CHUNK_VALUE_VERSION))
  const bad = (name: string, what: string, bytes: Uint8Array) => folder.bad(`revisions-v2-${name}`, what, 'VSTORE_CORRUPT', bytes)
  bad('chunk-kind', 'version 2: `Chunk_Kind` 03', vector(concat(varint(ids.length), Uint8Array.of(3), ...ids)))
  bad('sha1-cut', 'version 2: `Chunk_Kind` 01 and the last id one byte short', vector(concat(varint(ids.length), Uint8Array.of(1), ...ids).subarray(0, -1)))
  bad('trailing', 'version 2: `Chunk_Kind` 01 and a byte 00 after the last id', vector(concat(varint(ids.length), Uint8Array.of(1), ...ids, Uint8Array.of(0))))
  bad('hex-as-text', 'version 2: `Chunk_Kind` 00 and a 40-digit lowercase hex id as text', vector(concat(varint(1), Uint8Array.of(0, 0), varint(40), utf8(sha1Ids[0] as string))))
  bad('kind-not-shared', 'version 2: the three SHA-1 ids of `good-revisions-sha1` under `Chunk_Kind` 00, each with its kind byte 01: ids of one hex kind must be written under it',
    vector(concat(varint(ids.length), Uint8Array.of(0), ...ids.map(id => concat(Uint8Array.of(1), id)))))
}

/** Defects in version 1 runs (store format 4): each vector is the run of r1 and r2 (`good-run-version-1`) with one field changed, its checksum right unless the row says otherwise. */
function badRunVectors(folder: Folder, key: Uint8Array, value: Uint8Array, r1: RunEntry, r2: RunEntry): void {
  const [e1, e2] = rawEntries([r1, r2]) as [RawEntry, RawEntry]
  // The field-by-field writer must agree with the codec, or the defects below are not the only ones.
  if (!bytesEqual(sealedValue(key, runBody([e1, e2])), value)) throw new Error('vstore bug: a run written field by field differs from the codec\'s')
  const vector = (entries: readonly RawEntry[], count = entries.length, runKey = key) => encodeIndexVector(runKey, sealedValue(runKey, runBody(entries, count)))
  const bad = (name: string, what: string, bytes: Uint8Array, code: 'VSTORE_CORRUPT' | 'VSTORE_LIMIT' = 'VSTORE_CORRUPT') => folder.bad(`run-${name}`, what, code, bytes)
  bad('checksum', '`F` value of `good-run-version-1` with one bit of its byte 5 flipped: checksum mismatch', encodeIndexVector(key, flip(value, 5)))
  bad('under-other-key', '`good-run-version-1`\'s value under the key of a run of pangrams.txt at #1: the checksum covers the key', encodeIndexVector(encodeRunKey('pangrams.txt', 1), value))
  bad('value-empty', '`F` key with an empty value', encodeIndexVector(key, new Uint8Array(0)))
  bad('empty', '`F` value with `Entry_Count` 0', vector([]))
  bad('count-past-limit', `\`F\` value with \`Entry_Count\` ${MAX_RUN_LENGTH + 1}, and no entries (rejected before reading them)`, vector([], MAX_RUN_LENGTH + 1), 'VSTORE_LIMIT')
  bad('count-short', '`F` value with `Entry_Count` 3 and two entries: it ends inside the third', vector([e1, e2], 3))
  bad('first-step', 'the first entry with `Rev_Step` 1: its number is not the key\'s', vector([{ ...e1, step: 1 }, e2]))
  bad('step-zero', 'the second entry with `Rev_Step` 0: the same number twice', vector([e1, { ...e2, step: 0 }]))
  bad('first-shares-group', 'the first entry with `Shares_Group` set (`Shape` 1, no group fields): there is no entry before it', vector([{ ...e1, shape: 1, group: undefined }, e2]))
  bad('group-repeated', 'the second entry writes its group (`Shape` 4, pack 1, offset 8, no base) though it is the first entry\'s: it must share it',
    vector([e1, { ...e2, shape: e2.shape - 1, group: [r2.location.packId, r2.location.groupOffset, 0], read: r2.location.readByteLength, start: r2.location.recordStart, decoded: r2.location.decodedByteLength }]))
  bad('base-depth-past-limit', 'the first entry with `Base_Depth` 17 (and base lengths 0)', vector([{ ...e1, group: [r1.location.packId, r1.location.groupOffset, 17, 0, 0] }, e2]))
  bad('negative-record-start', 'the second entry\'s `Record_Start` delta −1 (zigzag 01) from the first\'s 0: the record would start at −1', vector([e1, { ...e2, start: zigzag(-1 - r1.location.recordStart) }]))
  bad('negative-text-length', 'the first entry\'s `Text_Byte_Length` delta −1 (zigzag 01) from 0', vector([{ ...e1, text: 1 }, e2]))
  bad('length-past-varint', `the first entry reads ${MAX_VARINT} bytes (the largest varint), the second, sharing its group, 1 more: a length no varint holds`,
    vector([{ ...e1, read: MAX_VARINT, decoded: MAX_VARINT }, { ...e2, read: zigzag(1), decoded: 0 }]))
  bad('empty-record', 'the second entry with `Record_Byte_Length` 0', vector([e1, { ...e2, recordByteLength: 0 }]))
  bad('decoded-short', 'the second entry\'s `Decoded_Byte_Length` one byte short of its record\'s end', vector([e1, { ...e2, decoded: zigzag(r2.location.recordEnd - 1 - r1.location.decodedByteLength) }]))
  bad('parent-self', 'the second entry names itself as parent (`Parent_Distance` 0)', vector([e1, { ...e2, parents: [0] }]))
  bad('parent-negative', 'the second entry (#1) names parent number −1 (`Parent_Distance` zigzag 2 = 04)', vector([e1, { ...e2, parents: [zigzag(2)] }]))
  bad('parent-past-limit', 'the first entry of a run at #4294967295 names parent number 4294967296 (`Parent_Distance` zigzag −1 = 01)',
    vector([{ ...e1, shape: 4, parents: [1] }], 1, encodeRunKey('pangrams.txt', MAX_REVISION_NUMBER)))
  bad('too-many-parents', `the second entry with \`Parent_Count\` ${MAX_PARENTS + 1} (\`Shape\` ${(MAX_PARENTS + 1) * 4 + 1}; rejected before reading them)`, vector([e1, { ...e2, shape: (MAX_PARENTS + 1) * 4 + 1 }]), 'VSTORE_LIMIT')
  bad('rev-past-limit', 'a run at #4294967295 whose second entry steps 1 past it', vector([e1, { ...e2, parents: [zigzag(1)] }], 2, encodeRunKey('pangrams.txt', MAX_REVISION_NUMBER)))
  bad('origin-empty-file', 'the second entry names an origin with an empty file id (`Shape` 4 + 2 + 1)', vector([e1, { ...e2, shape: e2.shape + 2, origin: Uint8Array.of(0, 0) }]))
  bad('origin-cut', 'the second entry says an origin follows, and the value ends after its parent', vector([e1, { ...e2, shape: e2.shape + 2 }]))
  bad('origin-file-past-limit', 'the second entry names an origin whose file id is 4097 bytes long', vector([e1, { ...e2, shape: e2.shape + 2, origin: concat(varint(4097), utf8('a'.repeat(4097)), varint(0)) }]), 'VSTORE_LIMIT')
  bad('origin-rev-past-limit', 'the second entry names an origin at number 4294967296', vector([e1, { ...e2, shape: e2.shape + 2, origin: concat(varint(3), utf8('old'), varint(MAX_REVISION_NUMBER + 1)) }]))
  bad('truncated', '`good-run-version-1`\'s entries cut inside the second entry\'s check (checksum right for what is there)', encodeIndexVector(key, sealedValue(key, runBody([e1, e2]).subarray(0, -3))))
  bad('trailing', '`good-run-version-1` with a byte 00 after its last entry (checksum right)', encodeIndexVector(key, sealedValue(key, concat(runBody([e1, e2]), Uint8Array.of(0)))))
  const first = rawEntryBytes(e1)
  if (first[2] !== 1) throw new Error('vstore bug: the first entry\'s pack id is not the one byte 01')
  bad('nonminimal-varint', 'the first entry\'s `Pack_Id` 1 written 81 00 (checksum right)',
    encodeIndexVector(key, sealedValue(key, concat(varint(2), first.subarray(0, 2), Uint8Array.of(0x81, 0x00), first.subarray(3), rawEntryBytes(e2)))))
  const runKey = (file: Uint8Array, number: Uint8Array) => concat(Uint8Array.of(TAG_FILE_RUN), varint(file.length), file, number)
  const keyVector = (runKeyBytes: Uint8Array) => encodeIndexVector(runKeyBytes, sealedValue(runKeyBytes, runBody([e1, e2])))
  bad('key-short', '`F` key whose revision number has 3 bytes', keyVector(runKey(utf8('pangrams.txt'), Uint8Array.of(0, 0, 0))))
  bad('key-trailing', '`F` key whose revision number has 5 bytes', keyVector(runKey(utf8('pangrams.txt'), Uint8Array.of(0, 0, 0, 0, 0))))
  bad('key-empty-file', '`F` key with an empty file id', keyVector(runKey(new Uint8Array(0), Uint8Array.of(0, 0, 0, 0))))
  bad('key-file-not-utf8', '`F` key whose file id is the byte FF (not UTF-8)', keyVector(runKey(Uint8Array.of(0xff), Uint8Array.of(0, 0, 0, 0))))
  bad('key-file-past-limit', '`F` key with `File_Byte_Length` 4097', keyVector(runKey(utf8('a'.repeat(4097)), Uint8Array.of(0, 0, 0, 0))), 'VSTORE_LIMIT')
}

/** Defects in version 1 revision chunks: chunk 0 of the vector store (`good-revisions-version-1`) with one change, its checksum right unless the row says otherwise. */
function badChunkVectors(folder: Folder, key: Uint8Array, value: Uint8Array, ids: readonly string[]): void {
  const idBytes = value.subarray(2, value.length - 4)
  if (value[1] !== ids.length) throw new Error('vstore bug: the chunk count is not one byte')
  const vector = (body: Uint8Array, chunkKey = key) => encodeIndexVector(chunkKey, sealedValue(chunkKey, body))
  const bad = (name: string, what: string, bytes: Uint8Array, code: 'VSTORE_CORRUPT' | 'VSTORE_LIMIT' = 'VSTORE_CORRUPT') => folder.bad(`revisions-${name}`, what, code, bytes)
  const text = (id: string) => concat(Uint8Array.of(0), varint(utf8(id).length), utf8(id))
  bad('checksum', '`N` value of `good-revisions-version-1` with one bit of its byte 4 flipped: checksum mismatch', encodeIndexVector(key, flip(value, 4)))
  bad('empty', '`N` value with `Rev_Count` 0', vector(varint(0)))
  bad(String(REVISION_CHUNK_LENGTH + 1), `\`N\` value with \`Rev_Count\` ${REVISION_CHUNK_LENGTH + 1} and as many text ids: a chunk holds at most ${REVISION_CHUNK_LENGTH}`,
    vector(concat(varint(REVISION_CHUNK_LENGTH + 1), ...Array.from({ length: REVISION_CHUNK_LENGTH + 1 }, (_, i) => text(`r${i}`)))))
  bad('count-short', '`N` value with `Rev_Count` 4 and three ids', vector(concat(varint(ids.length + 1), idBytes)))
  bad('trailing', '`good-revisions-version-1` with a byte 00 after its last id', vector(concat(varint(ids.length), idBytes, Uint8Array.of(0))))
  bad('rev-kind', '`N` value whose only id has `Rev_Kind` 03', vector(concat(varint(1), Uint8Array.of(3, 2), utf8('r1'))))
  bad('empty-id', '`N` value whose only id is a text id of 0 bytes', vector(concat(varint(1), Uint8Array.of(0, 0))))
  bad('hex-as-text', '`N` value holding a 40-digit lowercase hex id as text (`Rev_Kind` 00)', vector(concat(varint(1), text('0123456789abcdef0123456789abcdef01234567'))))
  bad('id-not-utf8', '`N` value whose only id is the byte FF (not UTF-8)', vector(concat(varint(1), Uint8Array.of(0, 1, 0xff))))
  bad('id-past-limit', '`N` value whose only id is a text id of 4097 bytes', vector(concat(varint(1), text('a'.repeat(4097)))), 'VSTORE_LIMIT')
  bad('sha1-cut', '`N` value whose only id has `Rev_Kind` 01 and 19 bytes', vector(concat(varint(1), Uint8Array.of(1), new Uint8Array(19))))
  bad('key-short', '`N` key with a chunk number of 3 bytes', vector(concat(varint(ids.length), idBytes), Uint8Array.of(TAG_REVISIONS, 0, 0, 0)))
  bad('key-trailing', '`N` key with a chunk number of 5 bytes', vector(concat(varint(ids.length), idBytes), Uint8Array.of(TAG_REVISIONS, 0, 0, 0, 0, 0)))
  folder.unsupported('revisions-value-version', '`N` value with `Value_Version` 3 (checksum right)', encodeIndexVector(key, sealedValue(key, concat(varint(ids.length), idBytes), 3)))
}

/** Defects in revision buckets: the first bucket of the vector store with one change, its checksum right unless the row says otherwise. */
function badBucketVectors(folder: Folder, key: Uint8Array, value: Uint8Array): void {
  const body = value.subarray(1, value.length - 4)
  if (body[0] !== 1) throw new Error('vstore bug: the first bucket of the vector store has more than one member')
  const vector = (bytes: Uint8Array, bucketKey = key) => encodeIndexVector(bucketKey, sealedValue(bucketKey, bytes))
  const bad = (name: string, what: string, bytes: Uint8Array) => folder.bad(`bucket-${name}`, what, 'VSTORE_CORRUPT', bytes)
  const name = `\`good-bucket-${toHex(key.subarray(1))}\``
  bad('checksum', `\`Q\` value of ${name} with one bit of its byte 3 flipped: checksum mismatch`, encodeIndexVector(key, flip(value, 3)))
  bad('trailing', `${name} with a byte 00 after its last member`, vector(concat(body, Uint8Array.of(0))))
  bad('tag-cut', `${name} cut inside its last member's tag`, vector(body.subarray(0, -1)))
  bad('count-short', '`Q` value with `Member_Count` 2 and one member', vector(concat(varint(2), body.subarray(1))))
  bad('member-past-limit', '`Q` value whose only member is number 4294967296', vector(concat(varint(1), varint(MAX_REVISION_NUMBER + 1), Uint8Array.of(0, 0))))
  bad('count-past-limit', '`Q` value with `Member_Count` 4294967296, and no members (rejected before reading them)', vector(varint(MAX_REVISION_NUMBER + 1)))
  bad('key-short', `\`Q\` key 51 without its bucket byte (${name}'s value, sealed under it)`, vector(body, Uint8Array.of(TAG_REVISION_BUCKET)))
  bad('key-trailing', `\`Q\` key of 3 bytes: ${name}'s key, then 00`, vector(body, concat(key, Uint8Array.of(0))))
  folder.unsupported('bucket-value-version', '`Q` value with `Value_Version` 2 (checksum right)', encodeIndexVector(key, sealedValue(key, body, 2)))
}
