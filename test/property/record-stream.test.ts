import test from 'ava'
import fc from 'fast-check'
import { ByteWriter, writeVarint } from '../../lib/bytes/index.js'
import { VstoreError } from '../../lib/errors.js'
import { decodeRecordStream, encodeRecordStream, FRAME_TEXT, RECORD_STREAM_MAGIC, RECORD_STREAM_VERSION } from '../../lib/import/record-stream.js'
import type { TextRecord } from '../../lib/store/types.js'
import { mutate, mutationsArbitrary } from '../helpers/mutate.js'
import { concatBytes, PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }

const idArbitrary = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' })
const recordArbitrary: fc.Arbitrary<TextRecord> = fc.record({
  file: idArbitrary,
  rev: idArbitrary,
  parents: fc.uniqueArray(idArbitrary, { maxLength: 3 }),
  text: fc.uint8Array({ maxLength: 300 }),
})

async function encode(records: readonly TextRecord[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of encodeRecordStream(records)) parts.push(part)
  return concatBytes(...parts)
}

async function decode(chunks: readonly Uint8Array[]): Promise<TextRecord[]> {
  const records: TextRecord[] = []
  for await (const record of decodeRecordStream(chunks)) records.push(record)
  return records
}

/** `bytes` in pieces of the given lengths (the rest as one piece), as a pipe may deliver them. */
function pieces(bytes: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = []
  let offset = 0
  for (const length of lengths) {
    if (offset >= bytes.length) break
    out.push(bytes.subarray(offset, offset + length))
    offset += length
  }
  if (offset < bytes.length) out.push(bytes.subarray(offset))
  return out
}

test('records written to a stream read back equal, in order, however the bytes are cut into chunks', async t => {
  await fc.assert(fc.asyncProperty(fc.array(recordArbitrary, { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 30 }), async (records, cuts) => {
    const decoded = await decode(pieces(await encode(records), cuts))
    t.deepEqual(decoded.map(r => ({ ...r, text: [...r.text] })), records.map(r => ({ ...r, parents: [...r.parents], text: [...r.text] })))
  }), options)
})

test('a real stream, mutated or cut, reads back whole or throws a VstoreError, never anything else', async t => {
  let refused = 0
  await fc.assert(fc.asyncProperty(fc.array(recordArbitrary, { minLength: 1, maxLength: 4 }), mutationsArbitrary, fc.nat(), async (records, mutations, cutSeed) => {
    const good = await encode(records)
    const mutated = mutate(good, mutations)
    const bytes = cutSeed % 3 === 0 ? mutated.subarray(0, cutSeed % (mutated.length + 1)) : mutated
    try {
      await decode([bytes])
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
      refused++
    }
  }), options)
  t.true(refused > 0, 'some mutations were refused')
})

test('any bytes give records or a VstoreError', async t => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async bytes => {
    try {
      await decode([concatBytes(Uint8Array.of(0x76, 0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x01), bytes)])
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
    }
  }), options)
  t.pass()
})

/**
 * A stream whose one text frame declares a text of `textByteLength` bytes (its body length agreeing) and then
 * ends after the text's hash: none of the text's bytes follow.
 */
function streamDeclaring(textByteLength: number): Uint8Array {
  const fields = new ByteWriter(64)
  for (const id of ['a.txt', 'r1']) {
    writeVarint(fields, id.length)
    fields.bytes(new TextEncoder().encode(id))
  }
  writeVarint(fields, 0)
  writeVarint(fields, textByteLength)
  fields.bytes(new Uint8Array(20))
  const frame = new ByteWriter(64)
  frame.byte(FRAME_TEXT)
  writeVarint(frame, fields.byteLength + textByteLength)
  frame.bytes(fields.view())
  return concatBytes(RECORD_STREAM_MAGIC, Uint8Array.of(RECORD_STREAM_VERSION), frame.view())
}

test('a declared text length over maxTextByteLength is VSTORE_LIMIT before any text byte is read; at or under it, never', async t => {
  const byteLengthArbitrary = fc.oneof(fc.nat({ max: 4096 }), fc.nat({ max: 2 ** 30 }))
  await fc.assert(fc.asyncProperty(byteLengthArbitrary, byteLengthArbitrary, async (textByteLength, maxTextByteLength) => {
    let code: string | undefined
    try {
      for await (const record of decodeRecordStream([streamDeclaring(textByteLength)], { maxTextByteLength })) throw new Error(`a record ${record.file}`)
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
      code = error.code
    }
    // Under the limit the decoder goes on to read the text, and finds the stream cut.
    return textByteLength > maxTextByteLength ? code === 'VSTORE_LIMIT' : code === 'VSTORE_CORRUPT'
  }), options)
  t.pass()
})
