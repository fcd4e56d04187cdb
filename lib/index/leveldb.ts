import { ClassicLevel } from 'classic-level'
import { VstoreError } from '../errors.js'

/** The little of LevelDB the index uses, in Uint8Array keys and values. */
export interface KeyValueStore {
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  /** Applies puts (value given) and deletes (value undefined) atomically; `sync` waits for the disk. */
  write(operations: readonly { key: Uint8Array; value: Uint8Array | undefined }[], options: { sync: boolean }): Promise<void>
  /** Entries whose keys start with `prefix`, in key order, optionally from `from` (inclusive). */
  entries(prefix: Uint8Array, from?: Uint8Array): AsyncIterable<[Uint8Array, Uint8Array]>
  /** Rewrites the log and tables into compacted, compressed tables. */
  compact(): Promise<void>
  close(): Promise<void>
}

/**
 * LevelDB's message, with its cause's when it has one: abstract-level wraps the reason an open failed
 * ("IO error: …/000011.log: No space left on device") in a bare "Database failed to open".
 */
function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const cause = (error as { cause?: unknown } | null)?.cause
  const causeMessage = cause instanceof Error ? cause.message : undefined
  return causeMessage === undefined || causeMessage === '' || message.includes(causeMessage) ? message : `${message}: ${causeMessage}`
}

function translate(error: unknown, where: string, doing: string): VstoreError {
  const code = (error as { code?: string } | null)?.code
  const causeCode = ((error as { cause?: { code?: string } } | null)?.cause)?.code
  const message = messageOf(error)
  if (code === 'LEVEL_LOCKED' || causeCode === 'LEVEL_LOCKED') {
    return new VstoreError('VSTORE_LOCKED', 'another process has this store open for writing', where, { cause: error })
  }
  if (code === 'LEVEL_CORRUPTION' || causeCode === 'LEVEL_CORRUPTION') {
    return new VstoreError('VSTORE_CORRUPT', `index: ${message}`, where, { cause: error })
  }
  return new VstoreError('VSTORE_IO', `${doing}: ${message}`, where, { cause: error })
}

function view(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Upper bound for keys starting with `prefix`: the prefix with its last non-FF byte incremented. */
function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = prefix.slice()
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1
      return end.subarray(0, i + 1)
    }
  }
  return undefined
}

/**
 * Opens the LevelDB at `path`.
 * @throws VSTORE_LOCKED when another process holds it, VSTORE_CORRUPT when LevelDB finds damage, VSTORE_IO otherwise.
 */
export async function openLevelDb(path: string, where: string, options: { create: boolean }): Promise<KeyValueStore> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing: options.create,
    compression: true,
  })
  try {
    await db.open()
  } catch (error) {
    throw translate(error, where, 'cannot open index')
  }
  return {
    async get(key) {
      try {
        const value = await db.get(key)
        return value === undefined ? undefined : view(value)
      } catch (error) {
        if ((error as { code?: string }).code === 'LEVEL_NOT_FOUND') return undefined
        throw translate(error, where, 'cannot read index')
      }
    },
    async write(operations, { sync }) {
      try {
        await db.batch(operations.map(({ key, value }) => value === undefined
          ? { type: 'del' as const, key }
          : { type: 'put' as const, key, value }), { sync })
      } catch (error) {
        throw translate(error, where, 'cannot write index')
      }
    },
    async *entries(prefix, from) {
      const end = prefixEnd(prefix)
      const range = end === undefined ? { gte: from ?? prefix } : { gte: from ?? prefix, lt: end }
      try {
        for await (const [key, value] of db.iterator(range)) yield [view(key), view(value)]
      } catch (error) {
        throw translate(error, where, 'cannot read index')
      }
    },
    async compact() {
      try {
        await db.compactRange(Uint8Array.of(0), Uint8Array.of(0xff, 0xff, 0xff, 0xff))
      } catch (error) {
        throw translate(error, where, 'cannot compact index')
      }
    },
    async close() {
      await db.close()
    },
  }
}
