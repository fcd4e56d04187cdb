/** Bounds every decoder enforces before it allocates. */
export interface DecodeLimits {
  /** Largest text a record may rebuild. */
  readonly maxTextByteLength: number
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxTextByteLength: 1024 * 1024 * 1024,
}
