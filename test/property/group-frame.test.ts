import test from 'ava'
import fc from 'fast-check'
import { bytesEqual } from '../../lib/bytes/hex.js'
import { brotliCodec, noneCodec, type EntropyCodec } from '../../lib/entropy/index.js'
import { VstoreError } from '../../lib/errors.js'
import {
  decodeGroup, decodeGroupHeader, decodeGroupPrefix, encodeGroup, frameGroup, MAX_GROUP_HEADER_BYTE_LENGTH, type GroupLimits,
} from '../../lib/group/frame.js'
import { flipByte, lineTextArbitrary, PROPERTY_RUNS, PROPERTY_SEED } from '../helpers/random.js'

const options = { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS }
const limits: GroupLimits = { maxTextByteLength: 1 << 20, maxContentByteLength: 1 << 20, maxStoredByteLength: 1 << 20 }
const codecs: readonly EntropyCodec[] = [noneCodec(), brotliCodec({ quality: 5, lgwin: 16 })]

const contentArbitrary = fc.oneof(lineTextArbitrary(60), fc.uint8Array({ maxLength: 2000 }))

/**
 * Group bytes worth decoding: random bytes; a header with a correct checksum over random stored
 * bytes (so the codec sees garbage); a real group with a stored byte flipped and the checksum
 * recomputed; a real group with any byte flipped; a real group cut short.
 */
type GroupSpec =
  | { readonly kind: 'random'; readonly bytes: Uint8Array }
  | { readonly kind: 'framed'; readonly codecId: number; readonly contentByteLength: number; readonly stored: Uint8Array }
  | { readonly kind: 'reframed' | 'flipped'; readonly codec: EntropyCodec; readonly content: Uint8Array; readonly offset: number; readonly mask: number }
  | { readonly kind: 'cut'; readonly codec: EntropyCodec; readonly content: Uint8Array; readonly offset: number }

const groupSpecArbitrary: fc.Arbitrary<GroupSpec> = fc.oneof(
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 400 }) }),
  fc.record({ kind: fc.constant('framed' as const), codecId: fc.constantFrom(0, 2, 2, 9), contentByteLength: fc.nat(3000), stored: fc.uint8Array({ maxLength: 400 }) }),
  fc.record({ kind: fc.constantFrom('reframed' as const, 'flipped' as const), codec: fc.constantFrom(...codecs), content: contentArbitrary, offset: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), codec: fc.constantFrom(...codecs), content: contentArbitrary, offset: fc.nat() }),
)

async function bytesOf(spec: GroupSpec): Promise<Uint8Array> {
  switch (spec.kind) {
    case 'random': return spec.bytes
    case 'framed': return frameGroup(spec.codecId, spec.contentByteLength, spec.stored)
    case 'cut': {
      const { bytes } = await encodeGroup(spec.content, spec.codec)
      return bytes.subarray(0, spec.offset % bytes.length)
    }
    case 'flipped': {
      const { bytes } = await encodeGroup(spec.content, spec.codec)
      return flipByte(bytes, spec.offset % bytes.length, spec.mask)
    }
    case 'reframed': {
      const { bytes, headerByteLength } = await encodeGroup(spec.content, spec.codec)
      const stored = bytes.subarray(headerByteLength)
      if (stored.length === 0) return bytes
      return frameGroup(spec.codec.id, spec.content.length, flipByte(stored, spec.offset % stored.length, spec.mask))
    }
  }
}

async function orVstoreError<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run()
  } catch (error) {
    if (!(error instanceof VstoreError)) throw error
    return undefined
  }
}

test('any bytes give decodeGroupHeader a header within the bytes or a VstoreError', t => {
  t.notThrows(() => fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.tuple(fc.nat(255), fc.nat(), fc.uint8Array({ maxLength: 30 })).map(([codecId, contentByteLength, stored]) => frameGroup(codecId, contentByteLength % 2 ** 40, stored))), bytes => {
    let header
    try {
      header = decodeGroupHeader(bytes, 'property', limits)
    } catch (error) {
      if (!(error instanceof VstoreError)) throw error
      return
    }
    if (header.headerByteLength > bytes.length || header.headerByteLength > MAX_GROUP_HEADER_BYTE_LENGTH) throw new Error(`header of ${header.headerByteLength} bytes`)
  }), options))
})

test('any group bytes give decodeGroup and decodeGroupPrefix content or a VstoreError', async t => {
  await t.notThrowsAsync(fc.assert(fc.asyncProperty(groupSpecArbitrary, fc.nat(3000), async (spec, neededByteLength) => {
    const bytes = await bytesOf(spec)
    const whole = await orVstoreError(() => decodeGroup(bytes, 'property', limits))
    if (whole !== undefined) {
      if (whole.content.length !== whole.header.contentByteLength) throw new Error('decodeGroup content length differs from its header')
      if (spec.kind === 'flipped' || spec.kind === 'cut') throw new Error(`a ${spec.kind} group decoded`)
    }
    const prefix = await orVstoreError(() => decodeGroupPrefix(bytes, neededByteLength, 'property', limits))
    if (prefix !== undefined && prefix.length < neededByteLength) throw new Error(`decodeGroupPrefix gave ${prefix.length} bytes, ${neededByteLength} needed`)
  }), options))
})

test('encodeGroup then decodeGroup gives the content back, and every prefix gives a prefix of it', async t => {
  await t.notThrowsAsync(fc.assert(fc.asyncProperty(fc.constantFrom(...codecs), contentArbitrary, fc.array(fc.nat(), { maxLength: 4 }), async (codec, content, cuts) => {
    const { bytes, headerByteLength } = await encodeGroup(content, codec)
    const { content: decoded } = await decodeGroup(bytes, 'property', limits)
    if (!bytesEqual(decoded, content)) throw new Error('decodeGroup differs')
    for (const cut of [...cuts.map(c => headerByteLength + (c % (bytes.length - headerByteLength + 1))), bytes.length]) {
      const part = await decodeGroupPrefix(bytes.subarray(0, cut), 0, 'property', limits)
      if (!bytesEqual(part, content.subarray(0, part.length))) throw new Error(`prefix of ${cut} bytes is not a content prefix`)
      if (cut === bytes.length && part.length !== content.length) throw new Error('the whole group decodes short')
    }
  }), options))
})
