/** The pack vectors (formats/vectors/pack/), and the pack the index vectors point into. */
import { toHex } from '../../lib/bytes/index.js'
import { parseCodecSetting } from '../../lib/entropy/index.js'
import { GroupBuilder } from '../../lib/group/builder.js'
import { GROUP_MAGIC } from '../../lib/group/frame.js'
import { GroupWriter, type SealedGroup } from '../../lib/group/writer.js'
import { encodePackHeader, PACK_MAGIC, PACK_VERSION } from '../../lib/pack/pack-file.js'
import { PANGRAMS_1, PANGRAMS_2, Folder, concat, flip, groupJson, recordsJson, utf8, type VectorFiles } from './common.js'

export interface PackBuild {
  readonly bytes: Uint8Array
  readonly groups: readonly { groupOffset: number; group: SealedGroup<number>; content: Uint8Array }[]
  readonly texts: readonly { file: string; rev: string; parents: string[]; text: Uint8Array }[]
}

/** The pack every index vector points into: two groups of codec none, as a store would write them. */
export async function buildPack(): Promise<PackBuild> {
  const texts = [
    { file: 'pangrams.txt', rev: 'r1', parents: [], text: utf8(PANGRAMS_1) },
    { file: 'pangrams.txt', rev: 'r2', parents: ['r1'], text: utf8(PANGRAMS_2) },
    { file: 'hello.txt', rev: '0123456789abcdef0123456789abcdef01234567', parents: [], text: utf8('hello world\n') },
  ]
  const sealed: SealedGroup<number>[] = []
  const writer = new GroupWriter<number>({
    maxContentByteLength: 2 * 1024 * 1024,
    maxReadByteLength: 512 * 1024,
    readChunkByteLength: 4096,
    codec: parseCodecSetting('none'),
  }, async group => { sealed.push(group) })
  await writer.add(0, texts[0]!.text)
  await writer.add(1, texts[1]!.text)
  await writer.flush()
  await writer.add(2, texts[2]!.text)
  await writer.flush()
  let offset = encodePackHeader().length
  const groups = sealed.map(group => {
    const groupOffset = offset
    offset += group.bytes.length
    const builder = new GroupBuilder({ maxContentByteLength: 2 * 1024 * 1024 })
    for (const record of group.records) builder.tryAdd(texts[record.id]!.text)
    return { groupOffset, group, content: builder.content().slice() }
  })
  return { bytes: concat(encodePackHeader(), ...sealed.map(group => group.bytes)), groups, texts }
}

export async function packVectors(files: VectorFiles, pack: PackBuild): Promise<void> {
  const folder = new Folder('pack', files)
  const header = { magicHex: toHex(PACK_MAGIC), version: PACK_VERSION }
  folder.good('empty', 'a pack holding only its 8-byte header', encodePackHeader(), { ...header, byteLength: 8, groups: [] })
  folder.good('two-groups', 'the header, then two groups of codec none (the pack the index vectors point into)', pack.bytes, {
    ...header,
    byteLength: pack.bytes.length,
    groups: pack.groups.map(({ groupOffset, group, content }) => ({
      groupOffset,
      groupByteLength: group.bytes.length,
      ...groupJson(group.bytes, 'none', content, recordsJson(content, group.records.map(record => ({ ...record, text: pack.texts[record.id]!.text })))),
      encoder: { codecSetting: 'none' },
    })),
  })
  const header8 = encodePackHeader()
  folder.bad('magic', 'a group\'s magic F6 76 67 00 where a pack\'s F6 76 70 00 should be', 'VSTORE_CORRUPT', concat(GROUP_MAGIC, header8.subarray(4)))
  folder.bad('empty', 'no bytes at all', 'VSTORE_CORRUPT', new Uint8Array(0))
  folder.bad('truncated-header', 'the first 5 bytes of a header', 'VSTORE_CORRUPT', header8.subarray(0, 5))
  folder.bad('reserved-byte', 'reserved byte 6 is 01', 'VSTORE_CORRUPT', flip(header8, 6))
  folder.bad('group-past-end', 'a pack whose last group is one byte short', 'VSTORE_CORRUPT', pack.bytes.subarray(0, pack.bytes.length - 1))
  folder.bad('not-a-group', 'the header, then 8 zero bytes where a group should start', 'VSTORE_CORRUPT', concat(header8, new Uint8Array(8)))
  const unknown = header8.slice()
  unknown[4] = 2
  folder.unsupported('version', '`Version` 2', unknown)
  folder.readme('Pack vectors', `
Each \`.bin\` is a whole pack file (formats/pack.md), taken to be committed to its last byte (as if the
index's \`P\` record said so). A test checks the header, then walks the groups from offset 8 to the end,
decoding each whole. A good vector's \`.json\` gives the header, the file's \`byteLength\`, and each group
as in the group vectors plus its \`groupOffset\` and \`groupByteLength\`.`)
}
