/** The LZMA2 coder, over lzma-native (this file is the package's one adapter). */
import { createRequire } from 'node:module'
import type { Duplex } from 'node:stream'
import { corruptStream, plain, type Coder } from './coder.js'

// lzma-native is CommonJS with a native addon; load it only when this codec is used.
interface LzmaNative {
  FILTER_LZMA2: number
  createStream(coder: string, options: object): LzmaStream
}
type LzmaStream = Duplex & { totalIn(): number }
const require = createRequire(import.meta.url)
function lzmaNative(): LzmaNative {
  return require('lzma-native') as LzmaNative
}

function run(stream: LzmaStream, input: Uint8Array, maxOutputByteLength: number): Promise<{ output: Uint8Array; error?: Error; inputByteLength: number }> {
  return new Promise(resolve => {
    const chunks: Uint8Array[] = []
    let produced = 0
    let settled = false
    const finish = (error?: Error) => {
      if (settled) return
      settled = true
      const output = plain(Buffer.concat(chunks).subarray(0, maxOutputByteLength))
      const inputByteLength = stream.totalIn()
      resolve(error ? { output, error, inputByteLength } : { output, inputByteLength })
    }
    stream.on('data', (chunk: Uint8Array) => {
      chunks.push(chunk)
      produced += chunk.length
      if (produced > maxOutputByteLength) {
        stream.destroy()
        finish(new Error(`decodes past ${maxOutputByteLength} bytes`))
      }
    })
    stream.on('error', error => finish(error))
    stream.on('end', () => finish())
    stream.end(input)
  })
}

function dictionaryByteLength(contentByteLength: number): number {
  return Math.min(64 * 1024 * 1024, Math.max(4096, contentByteLength))
}

/** Raw LZMA2 at `preset` (codec.ts checks it). */
export function lzmaCoder(name: string, preset: number): Coder {
  // The dictionary never needs to exceed the content; the decoder sizes its own from the content length.
  const filters = (contentByteLength: number) => [{ id: lzmaNative().FILTER_LZMA2, preset, dict_size: dictionaryByteLength(contentByteLength) }]
  return {
    async encode(content) {
      const { output, error } = await run(lzmaNative().createStream('rawEncoder', { filters: filters(content.length) }), content, Number.MAX_SAFE_INTEGER)
      if (error) throw new Error(`vstore bug: lzma encoder failed: ${error.message}`, { cause: error })
      return output
    },
    async decodePrefix(stored, maxOutputByteLength, where) {
      const { output, error } = await run(lzmaNative().createStream('rawDecoder', { filters: filters(maxOutputByteLength) }), stored, maxOutputByteLength)
      // A prefix ends mid-stream, which the decoder reports as "no progress"; what it produced stands.
      if (error && !/progress/i.test(error.message)) throw corruptStream(name, where, error)
      return output
    },
    async decodeWhole(stored, maxOutputByteLength, where) {
      // liblzma's raw decoder stops at the LZMA2 end marker; a truncated stream is an error here, and
      // so are bytes after the marker.
      const { output, error, inputByteLength } = await run(lzmaNative().createStream('rawDecoder', { filters: filters(maxOutputByteLength) }), stored, maxOutputByteLength)
      if (error) throw corruptStream(name, where, error)
      if (inputByteLength !== stored.length) throw corruptStream(name, where, new Error(`stream ends after ${inputByteLength} of ${stored.length} stored bytes`))
      return output
    },
    createDecoder: contentByteLength => lzmaNative().createStream('rawDecoder', { filters: filters(contentByteLength) }),
  }
}
