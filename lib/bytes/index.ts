export { ByteReader, readVarint } from './reader.js'
export { ByteWriter, writeVarint, varintByteLength, MAX_VARINT } from './writer.js'
export { toHex, fromHex, bytesEqual, compareBytes } from './hex.js'
export { crc32 } from './crc32.js'
