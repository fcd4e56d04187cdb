import test from 'ava'
import { brotliCodec, lzmaCodec, measurePrefixes, noneCodec, zlibCodec, type EntropyCodec } from '../../../lib/entropy/codec.js'
import { VstoreError } from '../../../lib/errors.js'
import { concatBytes, flipByte, randomBytes, randomLines, seededRandom } from '../../helpers/random.js'

// The EntropyCodec contract, checked for every codec.
const codecs: readonly EntropyCodec[] = [noneCodec(), zlibCodec(6), brotliCodec({ quality: 5, lgwin: 16 }), lzmaCodec(3)]

const random = seededRandom(31)
const lines = randomLines(random, 600)
const contents: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  'one byte': Uint8Array.of(42),
  lines,
  'lines and noise': concatBytes(lines, randomBytes(random, 5000), lines.subarray(0, 3000)),
}

function isPrefixOf(prefix: Uint8Array, whole: Uint8Array): boolean {
  if (prefix.length > whole.length) return false
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== whole[i]) return false
  return true
}

for (const codec of codecs) {
  test(`${codec.name}: decodePrefix of the whole encoding gives the content back`, async t => {
    for (const [name, content] of Object.entries(contents)) {
      const stored = await codec.encode(content)
      t.deepEqual(new Uint8Array(await codec.decodePrefix(stored, content.length, 'g')), content, name)
    }
  })

  test(`${codec.name}: decodePrefix of a prefix of the encoding gives a prefix of the content`, async t => {
    const content = contents['lines and noise'] as Uint8Array
    const stored = await codec.encode(content)
    let previousByteLength = 0
    for (const cut of [0, 1, 7, 100, Math.floor(stored.length / 3), Math.floor(stored.length / 2), stored.length - 1, stored.length]) {
      const decoded = await codec.decodePrefix(stored.subarray(0, cut), content.length, 'g')
      t.true(isPrefixOf(decoded, content), `cut at ${cut}`)
      t.true(decoded.length >= previousByteLength, `cut at ${cut} decodes less than a shorter cut`)
      previousByteLength = decoded.length
    }
    t.is(previousByteLength, content.length)
  })

  test(`${codec.name}: decodeWhole gives the content back`, async t => {
    for (const [name, content] of Object.entries(contents)) {
      const stored = await codec.encode(content)
      t.deepEqual(new Uint8Array(await codec.decodeWhole(stored, content.length, 'g')), content, name)
    }
  })

  // Regression (lzma): decodeWhole checks, with the stream's totalIn(), that it consumed all of `stored`.
  test(`${codec.name}: decodeWhole of a stream with bytes after it is VSTORE_CORRUPT`, async t => {
    const content = contents.lines as Uint8Array
    const stored = await codec.encode(content)
    for (const tail of [[0], [0xff], [1, 2, 3]]) {
      await t.throwsAsync(codec.decodeWhole(concatBytes(stored, Uint8Array.from(tail)), content.length, 'g'), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' }, tail.join(' '))
    }
  })

  test(`${codec.name}: decodeWhole of more than maxOutputByteLength is VSTORE_CORRUPT`, async t => {
    const content = contents.lines as Uint8Array
    const stored = await codec.encode(content)
    await t.throwsAsync(codec.decodeWhole(stored, content.length - 1, 'g'), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
  })

  test(`${codec.name}: measurePrefixes gives prefixes that really decode at least that far`, async t => {
    const content = contents['lines and noise'] as Uint8Array
    const stored = await codec.encode(content)
    const ends = [1, 100, 1000, 5000, 10000, 20000, content.length]
    const chunkByteLength = 256
    const measures = await measurePrefixes(codec, stored, ends, chunkByteLength)
    t.is(measures.length, ends.length)
    let previous = 0
    for (const [i, measure] of measures.entries()) {
      const end = ends[i] as number
      t.true(measure.storedByteLength % chunkByteLength === 0 || measure.storedByteLength === stored.length, `${measure.storedByteLength} is not a chunk boundary`)
      t.true(measure.storedByteLength >= previous, 'measures go backwards')
      t.true(measure.decodedByteLength >= end)
      const decoded = await codec.decodePrefix(stored.subarray(0, measure.storedByteLength), content.length, 'g')
      t.true(decoded.length >= end, `${decoded.length} bytes decoded from ${measure.storedByteLength}, needed ${end}`)
      t.true(decoded.length >= measure.decodedByteLength, `measured ${measure.decodedByteLength}, decodePrefix gives ${decoded.length}`)
      t.true(isPrefixOf(decoded, content))
      previous = measure.storedByteLength
    }
  })

  test(`${codec.name}: measurePrefixes gives the shortest chunked prefix`, async t => {
    const content = contents.lines as Uint8Array
    const stored = await codec.encode(content)
    const chunkByteLength = 128
    const ends = [Math.floor(content.length / 2), content.length]
    const measures = await measurePrefixes(codec, stored, ends, chunkByteLength)
    for (const [i, measure] of measures.entries()) {
      if (measure.storedByteLength <= chunkByteLength) continue
      const shorter = measure.storedByteLength - (measure.storedByteLength % chunkByteLength || chunkByteLength)
      const decoded = await codec.decodePrefix(stored.subarray(0, shorter), content.length, 'g')
      t.true(decoded.length < (ends[i] as number), `${shorter} stored bytes already decode ${decoded.length} ≥ ${ends[i]}`)
    }
  })

  test(`${codec.name}: measurePrefixes of stored bytes that fit one step, given the content's length, is what decoding them measures`, async t => {
    const content = (contents.lines as Uint8Array).subarray(0, 3000)
    const stored = await codec.encode(content)
    const ends = [1, 1000, content.length]
    const chunkByteLength = stored.length + 10
    t.deepEqual(await measurePrefixes(codec, stored, ends, chunkByteLength, content.length), await measurePrefixes(codec, stored, ends, chunkByteLength))
    t.deepEqual(await measurePrefixes(codec, stored, ends, stored.length, content.length), await measurePrefixes(codec, stored, ends, stored.length))
  })

  test(`${codec.name}: measurePrefixes of no ends is empty`, async t => {
    t.deepEqual(await measurePrefixes(codec, await codec.encode(contents.lines as Uint8Array), [], 256), [])
  })

  test(`${codec.name}: decodePrefix returns at most maxOutputByteLength bytes or VSTORE_CORRUPT`, async t => {
    const content = contents.lines as Uint8Array
    const stored = await codec.encode(content)
    for (const maxOutputByteLength of [1, 10, 1000, content.length - 1]) {
      try {
        const decoded = await codec.decodePrefix(stored, maxOutputByteLength, 'g')
        t.true(decoded.length <= maxOutputByteLength, `${decoded.length} > ${maxOutputByteLength}`)
        t.true(isPrefixOf(decoded, content))
      } catch (error) {
        t.true(error instanceof VstoreError && error.code === 'VSTORE_CORRUPT', String(error))
      }
    }
  })
}

for (const codec of codecs.filter(c => c.name !== 'none')) {
  test(`${codec.name}: decodeWhole of a truncated stream is VSTORE_CORRUPT`, async t => {
    const content = contents['lines and noise'] as Uint8Array
    const stored = await codec.encode(content)
    for (const cut of [0, 1, Math.floor(stored.length / 2), stored.length - 1]) {
      await t.throwsAsync(codec.decodeWhole(stored.subarray(0, cut), content.length, 'g'), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' }, `cut at ${cut}`)
    }
  })

  test(`${codec.name}: random bytes are VSTORE_CORRUPT or decode to no more than the maximum`, async t => {
    const noise = seededRandom(32)
    for (let i = 0; i < 20; i++) {
      const stored = randomBytes(noise, 1 + i * 37)
      try {
        const decoded = await codec.decodePrefix(stored, 4096, 'g')
        t.true(decoded.length <= 4096)
      } catch (error) {
        t.true(error instanceof VstoreError && error.code === 'VSTORE_CORRUPT', String(error))
      }
    }
  })

  test(`${codec.name}: a damaged stream is VSTORE_CORRUPT or decodes to no more than the maximum`, async t => {
    const content = contents.lines as Uint8Array
    const stored = await codec.encode(content)
    let corruptCount = 0
    for (let offset = 0; offset < stored.length; offset += Math.max(1, Math.floor(stored.length / 40))) {
      const damaged = flipByte(stored, offset, 0x55)
      try {
        const decoded = await codec.decodePrefix(damaged, content.length, 'g')
        t.true(decoded.length <= content.length)
      } catch (error) {
        t.true(error instanceof VstoreError && error.code === 'VSTORE_CORRUPT', String(error))
        corruptCount++
      }
    }
    t.true(corruptCount > 0, 'no damaged stream was reported')
  })

  test(`${codec.name}: a stream that decodes past maxOutputByteLength is VSTORE_CORRUPT`, async t => {
    const content = contents.lines as Uint8Array
    const stored = await codec.encode(content)
    await t.throwsAsync(codec.decodePrefix(stored, content.length - 1, 'g'), { instanceOf: VstoreError, code: 'VSTORE_CORRUPT' })
    t.is((await codec.decodePrefix(stored, content.length, 'g')).length, content.length)
  })
}

// House style §7: the core passes Uint8Array; a Node Buffer (whose slice is a view) stays at the I/O edge.
for (const codec of codecs) {
  test(`${codec.name}: a slice of what encode, decodePrefix and decodeWhole return is a copy`, async t => {
    const content = contents.lines as Uint8Array
    const stored = await codec.encode(content)
    const decoded = await codec.decodePrefix(stored, content.length, 'g')
    const whole = await codec.decodeWhole(stored, content.length, 'g')
    for (const bytes of [stored, decoded, whole]) {
      const copy = bytes.slice()
      copy[0] = (copy[0] as number) ^ 0xff
      t.not(copy[0], bytes[0])
    }
  })
}
