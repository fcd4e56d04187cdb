/** The record stream vectors (formats/vectors/record-stream/). */
import { crc32, toHex } from '../../lib/bytes/index.js'
import { hashText } from '../../lib/store/text-hash.js'
import type { TextRecord } from '../../lib/store/types.js'
import { encodeRecordStream } from '../../lib/import/record-stream.js'
import { Folder, concat, flip, uint32, utf8, varint, type VectorFiles } from './common.js'

export interface RecordStreamJson {
  records: { file: string; rev: string; parents: string[]; textHex: string }[]
}

async function streamBytes(records: readonly TextRecord[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of encodeRecordStream(records)) parts.push(part)
  return concat(...parts)
}

export async function recordStreamVectors(files: VectorFiles): Promise<void> {
  const folder = new Folder('record-stream', files)
  const records: TextRecord[] = [
    { file: 'src/main.c', rev: 'r1', parents: [], text: utf8('int main(void) {\n  return 0;\n}\n') },
    { file: 'src/main.c', rev: 'r2', parents: ['r1'], text: utf8('int main(void) {\n  return 1;\n}') },
    { file: 'empty', rev: 'a@1', parents: [], text: new Uint8Array(0) },
  ]
  const asJson = (list: readonly TextRecord[]): RecordStreamJson => ({ records: list.map(r => ({ file: r.file, rev: r.rev, parents: [...r.parents], textHex: toHex(r.text) })) })
  const empty = await streamBytes([])
  const three = await streamBytes(records)
  const one = await streamBytes(records.slice(0, 1))
  folder.good('empty', 'the header and the end frame: no texts', empty, asJson([]))
  folder.good('three-texts', 'a root and its child (without a final newline), and an empty text whose revision holds an @', three, asJson(records))
  folder.bad('magic', '"vstreem" instead of "vstream"', 'VSTORE_CORRUPT', concat(utf8('vstreem'), one.subarray(7)))
  folder.bad('empty-bytes', 'no bytes at all', 'VSTORE_CORRUPT', new Uint8Array(0))
  folder.bad('no-end-frame', 'one text frame, then the stream ends', 'VSTORE_CORRUPT', one.subarray(0, one.length - 6))
  folder.bad('truncated-frame', 'the stream ends inside the text frame', 'VSTORE_CORRUPT', one.subarray(0, 20))
  folder.bad('checksum', 'a text byte flipped: the frame checksum fails', 'VSTORE_CORRUPT', flip(one, 40))
  folder.bad('trailing', 'a byte after the end frame', 'VSTORE_CORRUPT', concat(one, Uint8Array.of(0)))
  folder.bad('unknown-kind', 'a frame of kind 02 (with a right checksum)', 'VSTORE_CORRUPT', concat(empty.subarray(0, 8), rawFrame(2, new Uint8Array(0)), empty.subarray(8)))
  folder.bad('hash', 'a text that does not match its hash (frame checksum right)', 'VSTORE_CORRUPT', concat(empty.subarray(0, 8), rawFrame(1, textBody('f', 'r', [], utf8('text'), new Uint8Array(20))), empty.subarray(8)))
  const text = utf8('x')
  folder.bad('text-length', 'Text_Byte_Length 2 for a text of 1 byte', 'VSTORE_CORRUPT', concat(empty.subarray(0, 8), rawFrame(1, textBody('f', 'r', [], text, hashText(text), 2)), empty.subarray(8)))
  folder.bad('empty-id', 'an empty revision id', 'VSTORE_CORRUPT', concat(empty.subarray(0, 8), rawFrame(1, textBody('f', '', [], text, hashText(text))), empty.subarray(8)))
  folder.bad('too-many-parents', 'Parent_Count 1025', 'VSTORE_LIMIT', concat(empty.subarray(0, 8), rawFrame(1, concat(varint(1), utf8('f'), varint(1), utf8('r'), varint(1025))), empty.subarray(8)))
  folder.bad('end-with-body', 'an end frame with a 1-byte body', 'VSTORE_CORRUPT', concat(empty.subarray(0, 8), rawFrame(0, Uint8Array.of(0))))
  const unknown = empty.slice()
  unknown[7] = 2
  folder.unsupported('version', '`Version` 2', unknown)
  folder.readme('Record stream vectors', `
Each \`.bin\` is a whole record stream (formats/record-stream.md). A good vector's \`.json\` lists its records
in order, each text as hex.`)
}

/** A frame with a right checksum: kind, body length, body, CRC-32. */
function rawFrame(kind: number, body: Uint8Array): Uint8Array {
  const head = concat(Uint8Array.of(kind), varint(body.length), body)
  return concat(head, uint32(crc32(head)))
}

function textBody(file: string, rev: string, parents: readonly string[], text: Uint8Array, hash: Uint8Array, textByteLength = text.length): Uint8Array {
  const id = (value: string) => concat(varint(utf8(value).length), utf8(value))
  return concat(id(file), id(rev), varint(parents.length), ...parents.map(id), varint(textByteLength), hash.subarray(0, 20), text)
}
