import { VstoreError } from '../../../lib/errors.js'
import test from 'ava'
import fc from 'fast-check'
import { isDeepStrictEqual } from 'node:util'
import { readBoundedLines, type BoundedLine } from '../../../lib/cli/lines.js'
import { PROPERTY_RUNS, PROPERTY_SEED } from '../../helpers/random.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

async function* chunksOf(parts: readonly (Uint8Array | string)[]): AsyncGenerator<Uint8Array | string> {
  for (const part of parts) yield part
}

async function collect(parts: readonly (Uint8Array | string)[], maxByteLength: number): Promise<BoundedLine[]> {
  const lines: BoundedLine[] = []
  for await (const line of readBoundedLines(chunksOf(parts), maxByteLength)) lines.push(line)
  return lines
}

async function texts(parts: readonly (Uint8Array | string)[], maxByteLength = 100): Promise<string[]> {
  return (await collect(parts, maxByteLength)).map(line => decoder.decode(line.bytes))
}

/** The lines as git's strbuf_getline reads them: split at \n, one \r before it dropped, no line after the last \n. */
function referenceLines(bytes: Uint8Array, maxByteLength: number): { text: number[]; byteLength: number }[] {
  const lines: { text: number[]; byteLength: number }[] = []
  let current: number[] = []
  const push = () => {
    const line = current.at(-1) === 0x0d ? current.slice(0, -1) : current
    lines.push({ text: line.slice(0, maxByteLength), byteLength: line.length })
    current = []
  }
  for (const byte of bytes) {
    if (byte === 0x0a) push()
    else current.push(byte)
  }
  if (current.length > 0) push()
  return lines
}

test('lines end at \\n; a \\r before it is dropped, a \\r elsewhere kept; the last line needs no \\n', async t => {
  t.deepEqual(await texts(['a\nb\r\nc\rd\n\ne']), ['a', 'b', 'c\rd', '', 'e'])
  t.deepEqual(await texts([]), [])
  t.deepEqual(await texts(['']), [])
  t.deepEqual(await texts(['\n']), [''])
  t.deepEqual(await texts(['\r\n']), [''])
  t.deepEqual(await texts(['a\n']), ['a'], 'nothing after the last \\n is no line')
  t.deepEqual(await texts(['a\r']), ['a'], 'a last line ending in \\r, as git reads it')
})

test('a line split across chunks anywhere, \\r\\n too, reads as one', async t => {
  t.deepEqual(await texts(['ab', 'c\r', '\nd', 'e', '\n']), ['abc', 'de'])
  t.deepEqual(await texts([encoder.encode('caf'), encoder.encode('é\n')]), ['café'])
})

test('a line longer than the limit comes as its first bytes and its whole length, and the next line is whole', async t => {
  const lines = await collect(['x'.repeat(10), 'y'.repeat(10), '\r\nshort\n'], 8)
  t.deepEqual(lines.map(line => ({ text: decoder.decode(line.bytes), byteLength: line.byteLength })), [
    { text: 'xxxxxxxx', byteLength: 20 },
    { text: 'short', byteLength: 5 },
  ])
  // Exactly the limit, with and without \r\n: whole.
  t.deepEqual(await texts(['12345678\r\n12345678\n'], 8), ['12345678', '12345678'])
  t.deepEqual((await collect(['123456789\r\n'], 8)).map(line => line.byteLength), [9])
})

test('a 256 MiB line is never held: it comes as the limit\'s bytes and its length', async t => {
  const chunk = new Uint8Array(64 * 1024).fill(0x61)
  const chunkCount = 4096
  async function* input(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < chunkCount; i++) yield chunk
    yield encoder.encode('\nnext\n')
  }
  const lines: BoundedLine[] = []
  for await (const line of readBoundedLines(input(), 8193)) lines.push(line)
  t.is(lines.length, 2)
  t.is(lines[0]?.byteLength, chunk.length * chunkCount)
  t.is(lines[0]?.bytes.length, 8193)
  t.is(lines[0]?.bytes.buffer.byteLength, 8193, 'a copy of the kept bytes, not a view of a larger buffer')
  t.is(decoder.decode(lines[1]?.bytes), 'next')
})

test('any bytes in any chunks read as git reads the lines, cut at the limit', async t => {
  await t.notThrowsAsync(fc.assert(fc.asyncProperty(
    // Bytes rich in \n, \r and repeats, so lines, \r\n and cuts inside them are common.
    fc.uint8Array({ maxLength: 300 }).map(bytes => bytes.map(byte => [0x0a, 0x0d, 0x61][byte % 4] ?? byte)),
    fc.array(fc.nat({ max: 300 }), { maxLength: 6 }),
    fc.integer({ min: 0, max: 40 }),
    async (bytes, cuts, maxByteLength) => {
      const points = [...new Set(cuts.map(cut => cut % (bytes.length + 1)))].sort((a, b) => a - b)
      const parts = [0, ...points].map((start, i) => bytes.subarray(start, points[i] ?? bytes.length))
      const lines = (await collect(parts, maxByteLength)).map(line => ({ text: [...line.bytes], byteLength: line.byteLength }))
      const expected = referenceLines(bytes, maxByteLength)
      if (!isDeepStrictEqual(lines, expected)) throw new Error(`${JSON.stringify(lines)}, expected ${JSON.stringify(expected)}`)
    },
  ), { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }))
})

test('a negative or fractional limit is VSTORE_USAGE', async t => {
  await t.throwsAsync(() => collect(['a\n'], -1), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
  await t.throwsAsync(() => collect(['a\n'], 1.5), { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})
