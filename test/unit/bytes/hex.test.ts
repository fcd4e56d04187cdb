import test from 'ava'
import { bytesEqual, fromHex, toHex } from '../../../lib/bytes/hex.js'
import { VstoreError } from '../../../lib/errors.js'

test('toHex writes two lowercase digits per byte', t => {
  t.is(toHex(Uint8Array.of(0, 1, 0x0f, 0x10, 0xab, 0xff)), '00010f10abff')
  t.is(toHex(new Uint8Array(0)), '')
})

test('fromHex reads lowercase and uppercase and inverts toHex', t => {
  t.deepEqual([...fromHex('00010f10ABff')], [0, 1, 0x0f, 0x10, 0xab, 0xff])
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i)
  t.deepEqual(fromHex(toHex(bytes)), bytes)
  t.is(fromHex('').length, 0)
})

test('fromHex rejects odd lengths and non-hex digits with VSTORE_USAGE', t => {
  for (const hex of ['abc', '0g', 'zz', ' 00', '0x00', '+1']) t.throws(() => fromHex(hex), { instanceOf: VstoreError, code: 'VSTORE_USAGE' }, hex)
})

test('bytesEqual compares length and every byte', t => {
  t.true(bytesEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3)))
  t.false(bytesEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4)))
  t.false(bytesEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2)))
  t.false(bytesEqual(Uint8Array.of(0), new Uint8Array(0)))
  t.true(bytesEqual(new Uint8Array(0), new Uint8Array(0)))
})
