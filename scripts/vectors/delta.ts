/** The delta vectors (formats/vectors/delta/). */
import { toHex } from '../../lib/bytes/index.js'
import { encodeDelta, decodeDeltaInstructions, type DeltaInstruction } from '../../lib/delta/group-delta.js'
import { DEFAULT_DECODE_LIMITS } from '../../lib/delta/limits.js'
import { DEFAULT_MATCHER_OPTIONS, DeltaSource } from '../../lib/delta/matcher.js'
import { PANGRAMS_1, PANGRAMS_2, Folder, concat, instructionJson, utf8, varint, type VectorFiles } from './common.js'

export async function deltaVectors(files: VectorFiles): Promise<void> {
  const folder = new Folder('delta', files)
  const source = utf8(PANGRAMS_1)
  folder.extra('source.bin', `the source every vector here is applied to: ${source.length} bytes of text (three pangrams)`, source)

  const matcherDelta = (target: Uint8Array): Uint8Array => {
    const deltaSource = new DeltaSource({ ...DEFAULT_MATCHER_OPTIONS, expectedContentByteLength: 4096 })
    deltaSource.append(source, [[0, source.length]])
    return deltaSource.encode(target).body
  }
  const good = (name: string, what: string, target: Uint8Array, body: Uint8Array, fromMatcher: boolean): void => {
    const { targetByteLength, instructions } = decodeDeltaInstructions(body, `delta/good-${name}.bin`, DEFAULT_DECODE_LIMITS)
    if (targetByteLength !== target.length) throw new Error(`vstore bug: delta ${name} has the wrong target length`)
    folder.good(name, what, body, {
      sourceHex: toHex(source),
      targetByteLength,
      instructions: instructions.map(instructionJson),
      targetHex: toHex(target),
      encoder: { fromMatcher },
    })
  }

  const edited = utf8(PANGRAMS_2)
  good('edit', 'the matcher\'s delta for "five" → "six": copy, insert, copy', edited, matcherDelta(edited), true)
  const unrelated = utf8('Hello, world!\n')
  good('insert-only', 'the matcher\'s delta for a text sharing nothing with the source: one insert', unrelated, matcherDelta(unrelated), true)
  good('empty-target', 'an empty target: `Target_Byte_Length` 0 and no instructions', new Uint8Array(0), encodeDelta(0, []), false)
  const twice = concat(source, source)
  good('two-byte-varints', 'the whole source copied twice (length, op and offset varints of 2 bytes)', twice,
    encodeDelta(twice.length, [{ kind: 'copy', offset: 0, byteLength: source.length }, { kind: 'copy', offset: 0, byteLength: source.length }]), false)
  const at = (word: string): number => PANGRAMS_1.indexOf(word)
  const shortCopies: DeltaInstruction[] = [
    { kind: 'copy', offset: at('quartz'), byteLength: 6 },
    { kind: 'insert', bytes: utf8(' ') },
    { kind: 'copy', offset: at('box'), byteLength: 3 },
    { kind: 'insert', bytes: utf8(' of ') },
    { kind: 'copy', offset: at('fox'), byteLength: 3 },
    { kind: 'copy', offset: at('fox'), byteLength: 3 },
  ]
  const shortTarget = utf8('quartz box of foxfox')
  good('short-copies', 'copies shorter than the matcher makes, backwards in the source and repeated', shortTarget, encodeDelta(shortTarget.length, shortCopies), false)

  const bytes = (...values: number[]): Uint8Array => Uint8Array.of(...values)
  folder.bad('empty', 'no bytes at all: `Target_Byte_Length` missing', 'VSTORE_CORRUPT', bytes())
  folder.bad('truncated-varint', '`Target_Byte_Length` 80: a varint cut after its first byte', 'VSTORE_CORRUPT', bytes(0x80))
  folder.bad('insert-past-end', 'target 5, insert of 5 bytes with only 2 left', 'VSTORE_CORRUPT', concat(bytes(0x05, 0x0a), utf8('ab')))
  folder.bad('copy-offset-missing', 'target 5, copy of 5 bytes whose `Source_Offset` is missing', 'VSTORE_CORRUPT', bytes(0x05, 0x0b))
  folder.bad('copy-past-source', `copy ends 1 byte past the source (2 bytes at ${source.length - 1} of ${source.length})`, 'VSTORE_CORRUPT',
    concat(bytes(0x02, 0x05), varint(source.length - 1)))
  folder.bad('copy-offset-past-source', `copy of 1 byte at offset ${source.length}, the source's end`, 'VSTORE_CORRUPT',
    concat(bytes(0x01, 0x03), varint(source.length)))
  folder.bad('zero-length-insert', 'an instruction varint 00: an insert of 0 bytes', 'VSTORE_CORRUPT', concat(bytes(0x01, 0x00, 0x02), utf8('a')))
  folder.bad('zero-length-copy', 'an instruction varint 01: a copy of 0 bytes (offset 0 follows)', 'VSTORE_CORRUPT', concat(bytes(0x01, 0x01, 0x00, 0x02), utf8('a')))
  folder.bad('nonminimal-varint', 'insert of 1 byte written 82 00 (non-minimal varint for 2)', 'VSTORE_CORRUPT', concat(bytes(0x01, 0x82, 0x00), utf8('a')))
  folder.bad('varint-too-long', '`Target_Byte_Length` FF×7 01: a varint of 8 bytes', 'VSTORE_CORRUPT', bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))
  folder.bad('length-short', 'target 5, instructions produce 3 bytes', 'VSTORE_CORRUPT', concat(bytes(0x05, 0x06), utf8('abc')))
  folder.bad('length-long', 'target 2, an insert of 3 bytes (rejected before its bytes are read)', 'VSTORE_CORRUPT', concat(bytes(0x02, 0x06), utf8('abc')))
  folder.bad('target-past-limit', '`Target_Byte_Length` 2^31, past the 1 GiB text limit', 'VSTORE_LIMIT', concat(varint(2 ** 31), bytes(0x02), utf8('a')))
  folder.bad('target-impossible', '`Target_Byte_Length` 2^30 (at the limit) from a 9-byte body: more than any body that size can produce from this source, rejected before allocating', 'VSTORE_CORRUPT',
    concat(varint(2 ** 30), bytes(0x03, 0x00, 0x02), utf8('a')))

  folder.readme('Delta vectors', `
Each \`.bin\` is a delta body (formats/delta.md) applied to \`source.bin\`. A good vector's \`.json\` gives
\`sourceHex\` (the same bytes as \`source.bin\`), \`targetByteLength\`, the \`instructions\` (inserts as hex) and
\`targetHex\`; \`encoder.fromMatcher\` says the body is what vstore's matcher (lib/delta/matcher.ts, default
options, the source indexed as one literal run) writes for that target.`)
}
