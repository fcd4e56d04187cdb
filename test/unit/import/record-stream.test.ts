import test from 'ava'
import { VstoreError } from '../../../lib/errors.js'
import { decodeRecordStream, encodeRecordStream } from '../../../lib/import/record-stream.js'
import type { TextRecord } from '../../../lib/store/types.js'
import { concatBytes } from '../../helpers/random.js'

const LIMIT_BYTE_LENGTH = 1000

/** The stream's frames: the header (magic and version) first, then one frame per record, then the end frame. */
async function framesOf(records: readonly TextRecord[]): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = []
  for await (const frame of encodeRecordStream(records)) frames.push(frame)
  return frames
}

/** The records decoded until the stream failed, and its error. */
async function decodeUntilError(chunks: readonly Uint8Array[], maxTextByteLength: number): Promise<{ records: TextRecord[]; error: unknown }> {
  const records: TextRecord[] = []
  try {
    for await (const record of decodeRecordStream(chunks, { where: 'stdin', maxTextByteLength })) records.push(record)
  } catch (error) {
    return { records, error }
  }
  return { records, error: undefined }
}

const text = (byteLength: number, fill: string): Uint8Array => new TextEncoder().encode(fill.repeat(byteLength))

test('a text over maxTextByteLength is VSTORE_LIMIT naming its frame and key; a text of exactly the limit is taken', async t => {
  const records: TextRecord[] = [
    { file: 'exact.txt', rev: 'r1', parents: [], text: text(LIMIT_BYTE_LENGTH, 'e') },
    { file: 'small.txt', rev: 'r1', parents: [], text: text(6, 's') },
    { file: 'over.txt', rev: 'r2', parents: [], text: text(LIMIT_BYTE_LENGTH + 1, 'o') },
  ]
  const frames = await framesOf(records)
  const overFrameOffset = frames.slice(0, 3).reduce((sum, frame) => sum + frame.length, 0)
  const { records: decoded, error } = await decodeUntilError([concatBytes(...frames)], LIMIT_BYTE_LENGTH)
  t.true(error instanceof VstoreError)
  t.like(error, { code: 'VSTORE_LIMIT', where: `stdin@${overFrameOffset}: over.txt@r2` })
  t.deepEqual(decoded.map(record => [record.file, record.text.length]), [['exact.txt', LIMIT_BYTE_LENGTH], ['small.txt', 6]])
  t.is((await decodeUntilError([concatBytes(...frames)], LIMIT_BYTE_LENGTH + 1)).records.length, 3)
  await t.throwsAsync(async () => {
    for await (const record of decodeRecordStream([concatBytes(...frames)], { maxTextByteLength: -1 })) t.fail(record.file)
  }, { instanceOf: VstoreError, code: 'VSTORE_USAGE' })
})

test('a text over maxTextByteLength is refused from its length, before its bytes are read', async t => {
  const over = (await framesOf([{ file: 'over.txt', rev: 'r1', parents: ['r0'], text: text(LIMIT_BYTE_LENGTH + 1, 'o') }]))
  const [header, frame] = over as [Uint8Array, Uint8Array]
  // The stream ends where the text begins (after the fields and the 20-byte hash): reading the text would
  // find the stream cut.
  const textOffset = frame.length - 4 - (LIMIT_BYTE_LENGTH + 1)
  const cut = concatBytes(header, frame.subarray(0, textOffset))
  t.like((await decodeUntilError([cut], LIMIT_BYTE_LENGTH)).error, { code: 'VSTORE_LIMIT', where: `stdin@${header.length}: over.txt@r1` })
  t.like((await decodeUntilError([cut], LIMIT_BYTE_LENGTH + 1)).error, { code: 'VSTORE_CORRUPT' })
})
