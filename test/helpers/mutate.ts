import fc from 'fast-check'
import { ByteWriter, MAX_VARINT } from '../../lib/bytes/writer.js'

/**
 * Mutations of valid encodings, for the property tests' "mutated inputs" (random bytes alone rarely get past
 * a magic number or a checksum into the parser): flip or set a byte, insert, delete or duplicate a run,
 * cut the end, or overwrite bytes with a varint that claims a large length (the claims a decoder must refuse
 * before it allocates: 4 KiB + 1, 1 GiB, 2^40, the largest varint).
 */
export type Mutation =
  | { readonly kind: 'flip'; readonly position: number; readonly mask: number }
  | { readonly kind: 'set'; readonly position: number; readonly value: number }
  | { readonly kind: 'insert'; readonly position: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly position: number; readonly byteLength: number }
  | { readonly kind: 'duplicate'; readonly position: number; readonly byteLength: number }
  | { readonly kind: 'cut'; readonly position: number }
  | { readonly kind: 'claim'; readonly position: number; readonly value: number; readonly replacedByteLength: number }

/** Lengths a hostile or damaged varint may claim. */
export const CLAIMED_LENGTHS: readonly number[] = [4097, 65_537, 2 ** 24, 2 ** 30, 2 ** 32 + 1, 2 ** 40, MAX_VARINT]

export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), position: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), position: fc.nat(), value: fc.constantFrom(0x00, 0x7f, 0x80, 0xff) }),
  fc.record({ kind: fc.constant('insert' as const), position: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), position: fc.nat(), byteLength: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), position: fc.nat(), byteLength: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('cut' as const), position: fc.nat() }),
  fc.record({
    kind: fc.constant('claim' as const), position: fc.nat(),
    value: fc.oneof(fc.constantFrom(...CLAIMED_LENGTHS), fc.integer({ min: 128, max: 2 ** 31 })), replacedByteLength: fc.integer({ min: 0, max: 3 }),
  }),
)

/** One to four mutations, applied in turn. */
export const mutationsArbitrary: fc.Arbitrary<Mutation[]> = fc.array(mutationArbitrary, { minLength: 1, maxLength: 4 })

function varint(value: number): Uint8Array {
  const writer = new ByteWriter(8)
  writer.varint(value)
  return writer.finish()
}

function splice(bytes: Uint8Array, start: number, deleteByteLength: number, insert: Uint8Array): Uint8Array {
  const end = Math.min(bytes.length, start + deleteByteLength)
  const out = new Uint8Array(start + insert.length + bytes.length - end)
  out.set(bytes.subarray(0, start))
  out.set(insert, start)
  out.set(bytes.subarray(end), start + insert.length)
  return out
}

/** A new array: `bytes` with `mutation` applied (positions are taken modulo the length, so any nat will do). */
export function applyMutation(bytes: Uint8Array, mutation: Mutation): Uint8Array {
  const at = (extra: number): number => mutation.position % (bytes.length + extra)
  switch (mutation.kind) {
    case 'flip':
    case 'set': {
      if (bytes.length === 0) return Uint8Array.from(bytes)
      const copy = Uint8Array.from(bytes)
      const position = at(0)
      copy[position] = mutation.kind === 'flip' ? ((copy[position] as number) ^ mutation.mask) & 0xff : mutation.value
      return copy
    }
    case 'insert': return splice(bytes, at(1), 0, mutation.bytes)
    case 'delete': return bytes.length === 0 ? Uint8Array.from(bytes) : splice(bytes, at(0), mutation.byteLength, new Uint8Array(0))
    case 'duplicate': {
      const start = at(1)
      return splice(bytes, start, 0, bytes.slice(start, start + mutation.byteLength))
    }
    case 'cut': return bytes.slice(0, at(1))
    case 'claim': return splice(bytes, at(1), mutation.replacedByteLength, varint(mutation.value))
  }
}

export function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  return mutations.reduce(applyMutation, bytes)
}

/**
 * Runs `decode` with every `new Uint8Array(n)` and `new ArrayBuffer(n)` it makes (directly or through lib/
 * code) counted, and returns the largest byte length asked for. Decoders here are synchronous, so the
 * global constructors are swapped only while `decode` runs. Buffer and zlib allocate natively and are not
 * seen: use it for the pure decoders.
 */
export function largestAllocation(decode: () => unknown): { largestByteLength: number; error: unknown } {
  const originalUint8Array = globalThis.Uint8Array
  const originalArrayBuffer = globalThis.ArrayBuffer
  let largestByteLength = 0
  // `new Uint8Array(n)` and `new ArrayBuffer(n)` allocate; views of a buffer and copies of an array do not
  // allocate more than what they are given.
  const count = (args: unknown[]): void => {
    const [first] = args
    if (typeof first === 'number') largestByteLength = Math.max(largestByteLength, first)
  }
  globalThis.Uint8Array = new Proxy(originalUint8Array, {
    construct(target, args, newTarget) {
      count(args)
      return Reflect.construct(target, args, newTarget === globalThis.Uint8Array ? target : newTarget) as object
    },
  })
  globalThis.ArrayBuffer = new Proxy(originalArrayBuffer, {
    construct(target, args, newTarget) {
      count(args)
      return Reflect.construct(target, args, newTarget === globalThis.ArrayBuffer ? target : newTarget) as object
    },
  })
  let error: unknown
  try {
    decode()
  } catch (caught) {
    error = caught
  } finally {
    globalThis.Uint8Array = originalUint8Array
    globalThis.ArrayBuffer = originalArrayBuffer
  }
  return { largestByteLength, error }
}
