/** `vstore extract`: one stored version's exact bytes on stdout, or, with --batch, answers to FILE@REV lines as git cat-file --batch gives them. */
import { MAX_ID_BYTE_LENGTH, VstoreError, type Store } from '../../vstore.js'
import type { CommandModule, Output } from '../command.js'
import { usageError } from '../command-line.js'
import { describeError, exitStatusFor } from '../exit.js'
import { resolveKey } from '../keys.js'
import { readBoundedLines, type BoundedLine } from '../lines.js'
import { withStore } from '../store-access.js'

/**
 * The longest line that can name a key: a file id and a revision of MAX_ID_BYTE_LENGTH bytes each, and the
 * `@` between them. extract --batch holds no more of a line than this.
 */
const MAX_BATCH_LINE_BYTE_LENGTH = 2 * MAX_ID_BYTE_LENGTH + 1
/** How much of a line too long to name a key its answer echoes. */
const LONG_LINE_ECHO_BYTE_LENGTH = 64

/** The first `byteLength` bytes of UTF-8 `bytes` or fewer, cut where a character starts. */
function utf8Head(bytes: Uint8Array, byteLength: number): Uint8Array {
  let end = Math.min(byteLength, bytes.length)
  // Back over continuation bytes (10xxxxxx) to the start of the character the cut would split.
  while (end > 0 && end < bytes.length && ((bytes[end] as number) & 0xc0) === 0x80) end--
  return bytes.subarray(0, end)
}

/**
 * The answer's first line echoes the line as it came. A line too long to name a key (it was never
 * read whole) echoes its first bytes and `…` instead, so that one long line cannot make a long answer.
 */
function echoOf(line: BoundedLine): Buffer {
  return line.byteLength > line.bytes.length
    ? Buffer.concat([utf8Head(line.bytes, LONG_LINE_ECHO_BYTE_LENGTH), Buffer.from('…')])
    : Buffer.from(line.bytes.buffer, line.bytes.byteOffset, line.bytes.byteLength)
}

/** The line as text, or undefined when it is not UTF-8. */
function decodeOrUndefined(decoder: InstanceType<typeof TextDecoder>, bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * extract --batch: answers each line of `input`, in order, as git cat-file --batch does: `FILE@REV SIZE`,
 * the text and a newline; or `FILE@REV missing` for a line that names no key, an empty line (` missing`,
 * as from git), a line that is not UTF-8, and a line too long to name one (`<first bytes>… missing`).
 * A key that cannot be read (a damaged group: VSTORE_CORRUPT) is answered `FILE@REV error CODE`, its
 * error's line goes to stderr, and the batch goes on: one bad key does not cost the answers after it.
 * Every line is answered, so a reader that pairs answers with the lines it sent never waits for one.
 * @returns 0, or the highest exit status of the errors answered.
 */
async function extractBatch(store: Store, output: Output, input: AsyncIterable<Uint8Array | string>): Promise<number> {
  // Keys are well-formed Unicode, so a line that is not UTF-8 names none; a byte order mark is kept, as
  // ids may begin with one.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  let status = 0
  const answerError = async (echo: Uint8Array, error: unknown): Promise<void> => {
    if (!(error instanceof VstoreError)) throw error
    output.error(describeError(error))
    status = Math.max(status, exitStatusFor(error))
    await output.write(Buffer.concat([echo, Buffer.from(` error ${error.code}\n`)]))
  }
  for await (const line of readBoundedLines(input, MAX_BATCH_LINE_BYTE_LENGTH)) {
    const echo = echoOf(line)
    const spec = line.byteLength === line.bytes.length ? decodeOrUndefined(decoder, line.bytes) : undefined
    let key: { file: string; rev: string } | undefined
    try {
      key = spec === undefined ? undefined : await resolveKey(store, spec)
    } catch (error) {
      // A line that names no key (or no key could have) is missing; a damaged index is an error.
      if (!(error instanceof VstoreError && (error.code === 'VSTORE_NOT_FOUND' || error.code === 'VSTORE_USAGE'))) {
        await answerError(echo, error)
        continue
      }
    }
    if (key === undefined) {
      await output.write(Buffer.concat([echo, Buffer.from(' missing\n')]))
      continue
    }
    let text: Uint8Array
    try {
      text = await store.get(key.file, key.rev)
    } catch (error) {
      // The key is stored, so any failure to read it (a damaged group, a pack gone) is an error, not missing.
      await answerError(echo, error)
      continue
    }
    await output.write(Buffer.concat([echo, Buffer.from(` ${text.length}\n`)]))
    await output.write(text)
    await output.write('\n')
  }
  return status
}

const extract: CommandModule = {
  name: 'extract',
  synopsis: 'FILE@REV | --batch',
  positionals: [0, 1],
  summary: [
    'write one version\'s bytes to stdout (REV: id or unique prefix of 7+;',
    'the last @ splits, unless an exact key splits at an earlier one);',
    '--batch: FILE@REV lines on stdin, answered as git cat-file --batch does',
  ],
  details: [
    '--batch answers each line of stdin, in order, with "FILE@REV SIZE\\n<bytes>\\n" or "FILE@REV missing\\n"',
    '(an empty line too: " missing\\n", as from git); a line longer than any key (8,193 bytes) with its',
    'first 64 bytes: "<bytes>… missing\\n"; a stored key that cannot be read (a damaged group) with',
    '"FILE@REV error CODE\\n", its error on stderr, and the batch goes on. It exits with the highest',
    'exit status of the errors it answered (4 for VSTORE_CORRUPT), or 0.',
  ],
  options: { batch: 'read FILE@REV lines on stdin and answer each one' },
  example: 'vstore extract src/main.c@1a2b3c4',
  check(command) {
    if (command.batch === (command.positionals.length === 1)) throw usageError('extract takes FILE@REV or --batch')
  },
  async run(command, { output, stdin }) {
    return withStore(command, 'read', async store => {
      if (!command.batch) {
        const { file, rev } = await resolveKey(store, command.positionals[0] as string)
        await output.write(await store.get(file, rev))
        return 0
      }
      return extractBatch(store, output, stdin)
    })
  },
}

export default extract
