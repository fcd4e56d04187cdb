/**
 * Text in and out of bytes, one way each: strict UTF-8 that keeps a leading U+FEFF, Latin-1 (one character
 * per byte, as git's and fast-export's command lines and tar's fields are read), and the check that a
 * string is well-formed Unicode (what a key's id must be).
 */

/** UTF-8 that fails on a bad sequence and keeps a leading U+FEFF (the default drops it: `\uFEFFREADME` would be `README`). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The text of `bytes` as UTF-8, or undefined when they are not UTF-8 (each caller says so in its own error). */
export function decodeUtf8Strictly(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return undefined
  }
}

/** Each byte as the character of that code (ISO-8859-1), so any bytes round-trip through a string. */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

/** A UTF-16 surrogate without its partner: TextEncoder would turn it into U+FFFD, merging distinct ids. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Whether `text` holds a lone surrogate (is not well-formed Unicode). */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text)
}
