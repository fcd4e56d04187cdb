import test from 'ava'
import zlib from 'node:zlib'
import { crc32 } from '../../../lib/bytes/crc32.js'
import { randomBytes, seededRandom } from '../../helpers/random.js'

test('the CRC-32 of "123456789" is the standard check value cbf43926', t => {
  t.is(crc32(new TextEncoder().encode('123456789')), 0xcbf43926)
  t.is(crc32(new Uint8Array(0)), 0)
})

test('crc32 agrees with zlib.crc32 on varied inputs', t => {
  const random = seededRandom(1)
  const inputs: Uint8Array[] = [Uint8Array.of(0), Uint8Array.of(0xff), new Uint8Array(1000), new Uint8Array(1000).fill(0xff)]
  for (let byteLength = 1; byteLength < 5000; byteLength = byteLength * 3 + 1) inputs.push(randomBytes(random, byteLength))
  for (const bytes of inputs) t.is(crc32(bytes), zlib.crc32(bytes), `${bytes.length} bytes`)
})

test('crc32 is an unsigned 32-bit number', t => {
  const random = seededRandom(2)
  for (let i = 0; i < 50; i++) {
    const value = crc32(randomBytes(random, 10))
    t.true(Number.isInteger(value) && value >= 0 && value <= 0xffffffff)
  }
})

test('continuing from a previous CRC equals the CRC of the concatenation, as zlib.crc32 does', t => {
  const random = seededRandom(3)
  const a = randomBytes(random, 777)
  const b = randomBytes(random, 333)
  const whole = new Uint8Array(a.length + b.length)
  whole.set(a)
  whole.set(b, a.length)
  t.is(crc32(b, crc32(a)), crc32(whole))
  t.is(crc32(b, crc32(a)), zlib.crc32(b, zlib.crc32(a)))
})

test('any single flipped bit changes the CRC', t => {
  const bytes = randomBytes(seededRandom(4), 64)
  const original = crc32(bytes)
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    const copy = bytes.slice()
    copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7))
    if (crc32(copy) === original) t.fail(`bit ${bit}`)
  }
  t.pass()
})
