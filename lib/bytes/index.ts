/** The bytes layer: varints, readers and writers, hex, UTF-8 checks, CRC-32, and the lengths several formats share. */
export { ByteReader, readVarint } from './reader.js'
export { ByteWriter, writeVarint, varintByteLength, MAX_VARINT } from './writer.js'
export { toHex, fromHex, isHexId, bytesEqual, compareBytes } from './hex.js'
export { decodeUtf8Strictly, hasLoneSurrogate, latin1 } from './text.js'
export { HASH_BYTE_LENGTH, MAX_ID_BYTE_LENGTH, PACK_HEADER_BYTE_LENGTH } from './formats.js'
export { crc32 } from './crc32.js'
