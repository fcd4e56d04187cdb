import test from 'ava'
import fc from 'fast-check'
import { bytesEqual } from '../../lib/bytes/hex.js'
import { VstoreError } from '../../lib/errors.js'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodePackHeader, encodePackHeader, PackFile } from '../../lib/pack/pack-file.js'
import { PACK_HEADER_BYTE_LENGTH } from '../../lib/bytes/index.js'
import { largestAllocation, mutate, mutationsArbitrary } from '../helpers/mutate.js'
import { concatBytes, flipByte, PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'
import { makeTempDir } from '../helpers/tmp.js'

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }
const header = encodePackHeader()

const bytesArbitrary = fc.oneof(
  fc.uint8Array({ maxLength: 16 }),
  fc.uint8Array({ maxLength: 8 }).map(tail => concatBytes(header, tail)),
  fc.tuple(fc.nat(PACK_HEADER_BYTE_LENGTH - 1), fc.integer({ min: 1, max: 255 })).map(([offset, mask]) => flipByte(header, offset, mask)),
  fc.nat(PACK_HEADER_BYTE_LENGTH).map(byteLength => header.subarray(0, byteLength)),
)

test('any bytes give decodePackHeader success exactly when they start with the pack header, else a VstoreError', t => {
  t.notThrows(() => fc.assert(fc.property(bytesArbitrary, bytes => {
    let accepted = true
    try {
      decodePackHeader(bytes, 'property')
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
      accepted = false
    }
    const startsWithHeader = bytes.length >= PACK_HEADER_BYTE_LENGTH && bytesEqual(bytes.subarray(0, PACK_HEADER_BYTE_LENGTH), header)
    if (accepted !== startsWithHeader) throw new Error(`accepted ${accepted}, starts with the header ${startsWithHeader}`)
  }), options))
})

test('a real pack header, mutated, is accepted exactly when it still starts with the header, and decoding allocates nothing', t => {
  t.notThrows(() => fc.assert(fc.property(fc.uint8Array({ maxLength: 16 }), mutationsArbitrary, (tail, mutations) => {
    const bytes = mutate(concatBytes(header, tail), mutations)
    const { largestByteLength, error } = largestAllocation(() => decodePackHeader(bytes, 'property'))
    if (error !== undefined && !(error instanceof VstoreError)) throw error
    if (largestByteLength > 0) throw new Error(`decodePackHeader allocated ${largestByteLength} bytes`)
    const startsWithHeader = bytes.length >= PACK_HEADER_BYTE_LENGTH && bytesEqual(bytes.subarray(0, PACK_HEADER_BYTE_LENGTH), header)
    if ((error === undefined) !== startsWithHeader) throw new Error(`accepted ${error === undefined}, starts with the header ${startsWithHeader}`)
  }), options))
})

test('a pack file whose header is mutated opens as a pack of the file\'s length, or fails with a VstoreError and leaves the file as it was', async t => {
  const dir = await makeTempDir(t, 'vstore-pack-header-')
  let fileCount = 0
  await t.notThrowsAsync(fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), mutationsArbitrary, fc.boolean(), async (records, mutations, writable) => {
    const bytes = concatBytes(mutate(header, mutations), records)
    const path = join(dir, `${++fileCount}.vpk`)
    await writeFile(path, bytes)
    let pack: PackFile | undefined
    try {
      pack = await PackFile.open(path, 'property', { writable, counter: { readCount: 0, readByteLength: 0 } })
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
    }
    try {
      const startsWithHeader = bytes.length >= PACK_HEADER_BYTE_LENGTH && bytesEqual(bytes.subarray(0, PACK_HEADER_BYTE_LENGTH), header)
      if ((pack !== undefined) !== startsWithHeader) throw new Error(`opened ${pack !== undefined}, starts with the header ${startsWithHeader}`)
      if (pack !== undefined && pack.byteLength !== bytes.length) throw new Error(`pack of ${pack.byteLength} bytes, file of ${bytes.length}`)
      if (!bytesEqual(await readFile(path), bytes)) throw new Error('opening changed the file')
    } finally {
      await pack?.close()
      await rm(path)
    }
  }), options))
})
