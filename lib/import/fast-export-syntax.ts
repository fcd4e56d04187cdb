/**
 * The syntax of a fast-export stream: lines and `data` blocks read from the bytes (with one line of
 * look-ahead), and the marks and C-style quoted paths that commands hold.
 */
import { decodeUtf8Strictly, latin1 } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import { concatenate, type ByteStreamReader } from './byte-stream.js'
import { checkTextByteLength } from './text-limit.js'

export const MARK = /^:([1-9]\d{0,15})$/

export function parseMark(text: string, at: string): number {
  const match = MARK.exec(text)
  if (match === null) throw new VstoreError('VSTORE_IMPORT', `bad mark ${JSON.stringify(text)}`, at)
  return Number(match[1])
}

const ESCAPES: Readonly<Record<string, number>> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '"': 0x22, '\\': 0x5c }

/**
 * A path starting at `start` of a command line (held as latin1, one code unit per byte): C-style quoted, or
 * bare up to the end of the line (`toEnd`) or the next space. Returns the path and where it ends.
 */
export function parsePath(line: string, start: number, at: string, toEnd: boolean): { path: string; end: number } {
  let bytes: Uint8Array
  let end: number
  if (line[start] === '"') {
    const collected: number[] = []
    let index = start + 1
    for (;;) {
      const char = line[index]
      if (char === undefined) throw new VstoreError('VSTORE_IMPORT', 'quoted path without its closing quote', at)
      if (char === '"') break
      if (char !== '\\') {
        collected.push(char.charCodeAt(0))
        index += 1
        continue
      }
      const escaped = line[index + 1] ?? ''
      const octal = /^[0-3][0-7]{2}/.exec(line.slice(index + 1, index + 4))
      if (octal !== null) {
        collected.push(Number.parseInt(octal[0], 8))
        index += 4
      } else if (ESCAPES[escaped] !== undefined) {
        collected.push(ESCAPES[escaped])
        index += 2
      } else {
        throw new VstoreError('VSTORE_IMPORT', `bad escape \\${escaped} in a quoted path`, at)
      }
    }
    bytes = Uint8Array.from(collected)
    end = index + 1
    if (toEnd && end !== line.length) throw new VstoreError('VSTORE_IMPORT', 'text after a quoted path', at)
  } else {
    const space = toEnd ? -1 : line.indexOf(' ', start)
    end = space === -1 ? line.length : space
    bytes = Buffer.from(line.slice(start, end), 'latin1')
  }
  const path = decodeUtf8Strictly(bytes)
  if (path === undefined) throw new VstoreError('VSTORE_IMPORT', `path is not UTF-8: ${latin1(bytes)}`, at)
  if (path === '' || path.startsWith('/') || path.endsWith('/') || path.split('/').some(segment => segment === '' || segment === '.' || segment === '..') || path.includes('\0')) {
    throw new VstoreError('VSTORE_IMPORT', `not a relative path: ${JSON.stringify(path)}`, at)
  }
  return { path, end }
}

const LINE_FEED = 0x0a
const MAX_LINE_BYTE_LENGTH = 1024 * 1024
/** The reader's own bound on any `data` block, text or not, whatever `maxTextByteLength`. */
const MAX_DATA_BYTE_LENGTH = 2 ** 30

export interface Line {
  /** The line without its line feed, one code unit per byte (latin1). */
  readonly text: string
  /** `<where>@<offset of the line>`. */
  readonly at: string
}

/** Lines and data blocks of the stream, with one line of look-ahead. */
export class CommandReader {
  #pending: Line | undefined

  constructor(readonly reader: ByteStreamReader, readonly where: string, readonly maxTextByteLength: number | undefined) {}

  here(): string {
    return `${this.where}@${this.reader.offset}`
  }

  /** The next line; `undefined` at the end of the stream. */
  async nextLine(): Promise<Line | undefined> {
    if (this.#pending !== undefined) {
      const line = this.#pending
      this.#pending = undefined
      return line
    }
    const at = this.here()
    const result = await this.reader.readUntil(LINE_FEED, MAX_LINE_BYTE_LENGTH)
    if (result === undefined) return undefined
    if (!result.complete) {
      throw new VstoreError('VSTORE_IMPORT', result.bytes.length > MAX_LINE_BYTE_LENGTH ? 'a line longer than 1 MiB' : 'the stream ends inside a line (truncated?)', at)
    }
    return { text: latin1(result.bytes), at }
  }

  async requireLine(what: string): Promise<Line> {
    const line = await this.nextLine()
    if (line === undefined) throw new VstoreError('VSTORE_IMPORT', `the stream ends before ${what} (truncated?)`, this.here())
    return line
  }

  /** The next command: blank lines and `#` comments are skipped. */
  async nextCommand(): Promise<Line | undefined> {
    for (;;) {
      const line = await this.nextLine()
      if (line === undefined || (line.text !== '' && !line.text.startsWith('#'))) return line
    }
  }

  unread(line: Line): void {
    if (this.#pending !== undefined) throw new Error('vstore bug: two lines unread')
    this.#pending = line
  }

  /**
   * The bytes of `data <count>` (then an optional line feed) or `data <<<delimiter>`. With `textWhere`, they
   * are a file's, refused over `maxTextByteLength` (naming `textWhere`) before they are read; the delimited
   * form, whose length is known only as it is read, is read no further than the first line past the limit.
   */
  async readData(command: string, at: string, textWhere?: string): Promise<Uint8Array> {
    const checkByteLength = (byteLength: number): void => {
      if (textWhere !== undefined) checkTextByteLength(byteLength, this.maxTextByteLength, textWhere)
      if (byteLength > MAX_DATA_BYTE_LENGTH) throw new VstoreError('VSTORE_LIMIT', `data of ${byteLength} bytes, limit ${MAX_DATA_BYTE_LENGTH}`, at)
    }
    const counted = /^data (\d{1,16})$/.exec(command)
    if (counted !== null) {
      const byteLength = Number(counted[1])
      checkByteLength(byteLength)
      const bytes = await this.reader.read(byteLength)
      if (bytes.length < byteLength) throw new VstoreError('VSTORE_IMPORT', `the stream ends inside data (${bytes.length} of ${byteLength} bytes; truncated?)`, at)
      if (this.#pending === undefined && (await this.reader.peek()) === LINE_FEED) await this.reader.skip(1)
      return bytes
    }
    const delimited = /^data <<(.+)$/.exec(command)
    if (delimited === null) throw new VstoreError('VSTORE_IMPORT', `expected data, got ${JSON.stringify(command.slice(0, 80))}`, at)
    const delimiter = delimited[1]
    const lines: Uint8Array[] = []
    let byteLength = 0
    for (;;) {
      const line = await this.nextLine()
      if (line === undefined) throw new VstoreError('VSTORE_IMPORT', `the stream ends before the data delimiter ${JSON.stringify(delimiter)}`, at)
      if (line.text === delimiter) break
      const bytes = Buffer.from(`${line.text}\n`, 'latin1')
      byteLength += bytes.length
      checkByteLength(byteLength)
      lines.push(bytes)
    }
    return concatenate(lines, byteLength)
  }

  async close(): Promise<void> {
    await this.reader.close()
  }
}
