import test from 'ava'
import fc from 'fast-check'
import { bytesEqual } from '../../lib/bytes/hex.js'
import { VstoreError } from '../../lib/errors.js'
import { decodePackHeader, encodePackHeader, PACK_HEADER_BYTE_LENGTH } from '../../lib/pack/pack-file.js'
import { concatBytes, flipByte, PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'

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
