/**
 * The record stream (formats/record-stream.md): a store's texts, with their keys and parents, as one byte
 * stream that a pipe or an HTTP body can carry, written by `vstore export-stream` and read by
 * `vstore import-stream`. Each file's revisions come parents first, so the reader can insert as it reads.
 */
import { ByteReader, ByteWriter, HASH_BYTE_LENGTH, MAX_ID_BYTE_LENGTH, bytesEqual, crc32, decodeUtf8Strictly, writeVarint } from '../bytes/index.js'
import { VstoreError, type VstoreCode } from '../errors.js'
import { hashText } from '../store/text-hash.js'
import { MAX_PARENTS, type TextRecord } from '../store/types.js'
import { ByteStreamReader } from './byte-stream.js'
import { checkMaxTextByteLength, checkTextByteLength, type TextLimitOptions } from './text-limit.js'

/** `vstream`, then the version byte. */
export const RECORD_STREAM_MAGIC = Uint8Array.of(0x76, 0x73, 0x74, 0x72, 0x65, 0x61, 0x6d)
export const RECORD_STREAM_VERSION = 1
const FRAME_END = 0x00
export const FRAME_TEXT = 0x01
/** The largest frame body a reader takes by default (a text of up to about 1 GiB). */
const DEFAULT_MAX_FRAME_BYTE_LENGTH = 1024 * 1024 * 1024 + 64 * 1024

function frame(kind: number, body: Uint8Array): Uint8Array {
  const writer = new ByteWriter(body.length + 16)
  writer.byte(kind)
  writeVarint(writer, body.length)
  writer.bytes(body)
  writer.uint32(crc32(writer.view()))
  return writer.view()
}

function writeId(writer: ByteWriter, id: string): void {
  const bytes = new TextEncoder().encode(id)
  if (bytes.length === 0 || bytes.length > MAX_ID_BYTE_LENGTH) throw new VstoreError('VSTORE_USAGE', `an id of ${bytes.length} bytes (1 to ${MAX_ID_BYTE_LENGTH})`, id.slice(0, 200))
  writeVarint(writer, bytes.length)
  writer.bytes(bytes)
}

/**
 * The stream's bytes for `records`, in the order given (the writer's job: parents before children).
 * @throws VstoreError `VSTORE_USAGE` for an id that is empty or too long, or more parents than MAX_PARENTS.
 */
export async function* encodeRecordStream(records: AsyncIterable<TextRecord> | Iterable<TextRecord>): AsyncGenerator<Uint8Array> {
  yield Uint8Array.of(...RECORD_STREAM_MAGIC, RECORD_STREAM_VERSION)
  for await (const record of records) {
    if (record.parents.length > MAX_PARENTS) throw new VstoreError('VSTORE_USAGE', `${record.parents.length} parents (at most ${MAX_PARENTS})`, `${record.file}@${record.rev}`)
    const writer = new ByteWriter(record.text.length + 256)
    writeId(writer, record.file)
    writeId(writer, record.rev)
    writeVarint(writer, record.parents.length)
    for (const parent of record.parents) writeId(writer, parent)
    writeVarint(writer, record.text.length)
    writer.bytes(hashText(record.text))
    writer.bytes(record.text)
    yield frame(FRAME_TEXT, writer.view())
  }
  yield frame(FRAME_END, new Uint8Array(0))
}

/**
 * `maxTextByteLength` is checked against each text frame's `Text_Byte_Length`, which is read with the fields
 * before the text: a text over it is refused before its bytes are read, and so before the frame's checksum
 * (which follows them) is checked; where = `<where>@<frame offset>: <file>@<rev>`, as for a text that does
 * not match its hash. It is only checked when the length is the rest of the frame's body, as a sound frame's
 * is (otherwise the frame is damaged, and reported so once its checksum is read).
 */
export interface RecordStreamOptions extends TextLimitOptions {
  /** Names the stream in errors, as `<where>@<byte offset>`; default `record stream`. */
  readonly where?: string
  readonly maxFrameByteLength?: number
}

/**
 * The records of a stream, checked as they come: each frame's checksum, each text's length and hash.
 * @throws VSTORE_CORRUPT (at the byte offset) for a damaged or truncated stream, VSTORE_UNSUPPORTED for
 * another version, VSTORE_LIMIT for a frame or count past the limits, or a text over `maxTextByteLength`
 * (see `RecordStreamOptions`).
 * @throws VSTORE_USAGE for a `maxTextByteLength` that is not a whole number ≥ 0.
 */
export async function* decodeRecordStream(input: AsyncIterable<unknown> | Iterable<unknown>, options: RecordStreamOptions = {}): AsyncGenerator<TextRecord> {
  checkMaxTextByteLength(options.maxTextByteLength)
  const where = options.where ?? 'record stream'
  const maxFrameByteLength = options.maxFrameByteLength ?? DEFAULT_MAX_FRAME_BYTE_LENGTH
  const stream = new ByteStreamReader(input)
  const fail = (code: 'VSTORE_CORRUPT' | 'VSTORE_LIMIT' | 'VSTORE_UNSUPPORTED', message: string, offset = stream.offset) =>
    new VstoreError(code, message, `${where}@${offset}`)
  const header = await stream.read(RECORD_STREAM_MAGIC.length + 1)
  if (header.length < RECORD_STREAM_MAGIC.length || !bytesEqual(header.subarray(0, RECORD_STREAM_MAGIC.length), RECORD_STREAM_MAGIC)) {
    throw fail('VSTORE_CORRUPT', 'not a vstore record stream (no "vstream" magic)', 0)
  }
  if (header.length < RECORD_STREAM_MAGIC.length + 1) throw fail('VSTORE_CORRUPT', 'stream ends inside its header')
  if (header[RECORD_STREAM_MAGIC.length] !== RECORD_STREAM_VERSION) {
    throw fail('VSTORE_UNSUPPORTED', `record stream version ${header[RECORD_STREAM_MAGIC.length]}, this build reads ${RECORD_STREAM_VERSION}`, RECORD_STREAM_MAGIC.length)
  }
  for (;;) {
    const frameOffset = stream.offset
    const head = new ByteWriter(16)
    const kindByte = await stream.read(1)
    if (kindByte.length === 0) throw fail('VSTORE_CORRUPT', 'stream ends without its end frame')
    const kind = kindByte[0] as number
    head.byte(kind)
    // The body length: a varint of at most 7 bytes, read a byte at a time.
    let bodyByteLength = 0
    for (let i = 0; ; i++) {
      if (i === 7) throw fail('VSTORE_CORRUPT', 'frame length varint longer than 7 bytes')
      const next = await stream.read(1)
      if (next.length === 0) throw fail('VSTORE_CORRUPT', 'stream ends inside a frame header')
      const byte = next[0] as number
      if (i > 0 && byte === 0) throw fail('VSTORE_CORRUPT', 'non-minimal varint in a frame header')
      head.byte(byte)
      bodyByteLength += (byte & 0x7f) * 2 ** (7 * i)
      if (byte < 0x80) break
    }
    if (bodyByteLength > maxFrameByteLength) throw fail('VSTORE_LIMIT', `frame of ${bodyByteLength} bytes, limit ${maxFrameByteLength}`, frameOffset)
    const body = new FrameBodyReader(stream, bodyByteLength, where, crc32(head.view()))
    // A text frame's fields are read before its text, so that a text over the limit is refused from its
    // length before its bytes are read. Their errors wait for the checksum, which says first whether the
    // frame is damaged.
    let fields: TextFields | undefined
    let fieldsError: VstoreError | undefined
    if (kind === FRAME_TEXT) {
      try {
        fields = await readTextFields(body)
      } catch (error) {
        if (!(error instanceof VstoreError)) throw error
        fieldsError = error
      }
    }
    if (fields !== undefined && fields.textByteLength === body.remainingByteLength) {
      checkTextByteLength(fields.textByteLength, options.maxTextByteLength, `${where}@${frameOffset}: ${fields.file}@${fields.rev}`)
    }
    const textOffset = stream.offset
    const rest = await body.take(body.remainingByteLength)
    const checksumBytes = await stream.read(4)
    if (checksumBytes.length < 4) throw fail('VSTORE_CORRUPT', 'stream ends inside a frame')
    const found = new ByteReader(checksumBytes, where).uint32()
    if (found !== body.crc) throw fail('VSTORE_CORRUPT', 'frame checksum mismatch', frameOffset)
    if (fieldsError !== undefined) throw fieldsError
    if (kind === FRAME_END) {
      if (bodyByteLength !== 0) throw fail('VSTORE_CORRUPT', 'end frame with a body', frameOffset)
      if ((await stream.read(1)).length !== 0) throw fail('VSTORE_CORRUPT', 'bytes after the end frame')
      return
    }
    if (fields === undefined) throw fail('VSTORE_CORRUPT', `unknown frame kind ${kind}`, frameOffset)
    const { file, rev, parents, textByteLength, hash } = fields
    if (textByteLength !== rest.length) throw fail('VSTORE_CORRUPT', `text of ${textByteLength} bytes, the frame holds ${rest.length}`, textOffset)
    if (!bytesEqual(hashText(rest), hash)) throw new VstoreError('VSTORE_CORRUPT', 'text does not match its hash', `${where}@${frameOffset}: ${file}@${rev}`)
    yield { file, rev, parents, text: rest }
  }
}

/** A text frame's fields before its text. */
interface TextFields {
  readonly file: string
  readonly rev: string
  readonly parents: readonly string[]
  readonly textByteLength: number
  readonly hash: Uint8Array
}

async function readTextFields(body: FrameBodyReader): Promise<TextFields> {
  const id = async (what: string): Promise<string> => {
    const value = await body.string(MAX_ID_BYTE_LENGTH)
    if (value === '') throw body.error('VSTORE_CORRUPT', `empty ${what}`)
    return value
  }
  const file = await id('file id')
  const rev = await id('revision')
  const parentCount = await body.varint()
  if (parentCount > MAX_PARENTS) throw body.error('VSTORE_LIMIT', `${parentCount} parents, limit ${MAX_PARENTS}`)
  const parents: string[] = []
  for (let i = 0; i < parentCount; i++) parents.push(await id('parent'))
  const textByteLength = await body.varint()
  const hash = await body.take(HASH_BYTE_LENGTH)
  return { file, rev, parents, textByteLength, hash }
}

/**
 * A frame's body read piece by piece from the stream, as ByteReader reads bytes in memory: never past the
 * body's end, with errors naming the stream offset. Keeps the CRC-32 of the frame so far (head included).
 */
class FrameBodyReader {
  #readByteLength = 0
  #crc: number

  constructor(private readonly stream: ByteStreamReader, private readonly bodyByteLength: number, private readonly where: string, headCrc: number) {
    this.#crc = headCrc
  }

  get remainingByteLength(): number {
    return this.bodyByteLength - this.#readByteLength
  }

  /** The CRC-32 of the frame's kind, length and the body bytes read so far. */
  get crc(): number {
    return this.#crc
  }

  error(code: VstoreCode, message: string): VstoreError {
    return new VstoreError(code, message, `${this.where}@${this.stream.offset}`)
  }

  async take(byteLength: number): Promise<Uint8Array> {
    if (byteLength > this.remainingByteLength) throw this.error('VSTORE_CORRUPT', `needs ${byteLength} bytes, ${this.remainingByteLength} left`)
    const bytes = await this.stream.read(byteLength)
    this.#readByteLength += bytes.length
    this.#crc = crc32(bytes, this.#crc)
    if (bytes.length < byteLength) throw this.error('VSTORE_CORRUPT', 'stream ends inside a frame')
    return bytes
  }

  async varint(): Promise<number> {
    let value = 0
    for (let i = 0; i < 7; i++) {
      const byte = (await this.take(1))[0] as number
      if (i > 0 && byte === 0) throw this.error('VSTORE_CORRUPT', 'non-minimal varint')
      value += (byte & 0x7f) * 2 ** (7 * i)
      if (byte < 0x80) return value
    }
    throw this.error('VSTORE_CORRUPT', 'varint longer than 7 bytes')
  }

  /** A varint length (at most `maxByteLength`) then that many bytes of UTF-8. */
  async string(maxByteLength: number): Promise<string> {
    const byteLength = await this.varint()
    if (byteLength > maxByteLength) throw this.error('VSTORE_LIMIT', `string of ${byteLength} bytes, limit ${maxByteLength}`)
    const text = decodeUtf8Strictly(await this.take(byteLength))
    if (text === undefined) throw this.error('VSTORE_CORRUPT', 'string is not valid UTF-8')
    return text
  }
}

/** How many texts an export asks of the store at once (each group they share is read once). */
const EXPORT_CHUNK_TEXT_COUNT = 64

/** What an export reads of a store (a `Store` has all of it). */
export interface ExportSource {
  files(): Promise<string[]>
  revisions(file: string): Promise<string[]>
  getEntry(file: string, rev: string): Promise<{ readonly parents: readonly string[]; readonly origin?: { readonly file: string; readonly rev: string } }>
  getMany(keys: Iterable<{ file: string; rev: string }>): AsyncIterable<{ file: string; rev: string; text: Uint8Array }>
}

/**
 * Every text of `files` (default: all files, sorted), each file's revisions parents first, as records for
 * `encodeRecordStream` or another store's `insert`. Memory holds one file's revision list and at most
 * 64 texts. A record stream has no place for origins (a moved file's version of another file): each
 * one is told to `onOriginLeftOut` and left out, or, without it, refused.
 * @throws VSTORE_NOT_FOUND for a file given that has no text; VSTORE_UNSUPPORTED for an origin no one takes.
 */
export async function* exportRecords(store: ExportSource, files?: readonly string[], onOriginLeftOut?: (key: { file: string; rev: string }) => void): AsyncGenerator<TextRecord> {
  for (const file of files ?? (await store.files())) {
    const revs = await store.revisions(file)
    if (revs.length === 0) throw new VstoreError('VSTORE_NOT_FOUND', 'no such file', file)
    for (let start = 0; start < revs.length; start += EXPORT_CHUNK_TEXT_COUNT) {
      const chunk = revs.slice(start, start + EXPORT_CHUNK_TEXT_COUNT)
      const texts = new Map<string, Uint8Array>()
      for await (const { rev, text } of store.getMany(chunk.map(rev => ({ file, rev })))) texts.set(rev, text)
      for (const rev of chunk) {
        const { parents, origin } = await store.getEntry(file, rev)
        if (origin !== undefined) {
          if (onOriginLeftOut === undefined) throw new VstoreError('VSTORE_UNSUPPORTED', `its origin ${origin.file}@${origin.rev} has no place in a record stream (fetch copies it)`, `${file}@${rev}`)
          onOriginLeftOut({ file, rev })
        }
        yield { file, rev, parents, text: texts.get(rev) as Uint8Array }
      }
    }
  }
}
