import test from 'ava'
import fc from 'fast-check'
import { VstoreError } from '../../../lib/errors.js'
import { checkMaxTextByteLength, checkTextByteLength } from '../../../lib/import/text-limit.js'
import { PROPERTY_RUNS, PROPERTY_SEED } from '../../helpers/random.js'

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }
const byteLengthArbitrary = fc.oneof(fc.nat({ max: 4096 }), fc.maxSafeNat())

test('a declared length over the limit is VSTORE_LIMIT naming where; at or under the limit, or with no limit, it passes', t => {
  fc.assert(fc.property(byteLengthArbitrary, byteLengthArbitrary, (byteLength, maxTextByteLength) => {
    let error: unknown
    try {
      checkTextByteLength(byteLength, maxTextByteLength, 'a.txt@r1')
    } catch (caught) {
      error = caught
    }
    if (byteLength > maxTextByteLength) {
      return error instanceof VstoreError && error.code === 'VSTORE_LIMIT' && error.where === 'a.txt@r1'
    }
    return error === undefined
  }), options)
  fc.assert(fc.property(byteLengthArbitrary, byteLength => {
    checkTextByteLength(byteLength, undefined, 'a.txt@r1')
  }), options)
  t.notThrows(() => checkTextByteLength(1000, 1000, 'x'))
  t.throws(() => checkTextByteLength(1001, 1000, 'x'), { instanceOf: VstoreError, code: 'VSTORE_LIMIT' })
})

test('a limit that is not a whole number of bytes >= 0 is VSTORE_USAGE', t => {
  for (const value of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    t.throws(() => checkMaxTextByteLength(value), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, String(value))
  }
  for (const value of [undefined, 0, 1000, 2 ** 30]) t.notThrows(() => checkMaxTextByteLength(value), String(value))
})
