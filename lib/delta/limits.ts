/** Bounds every decoder enforces before it allocates. */
export interface DecodeLimits {
  /** Largest text a record may rebuild. */
  readonly maxTextByteLength: number
  /**
   * Most text bytes rebuilding one record may produce, its chain of previous texts included
   * (formats/group.md, Delta on the previous text); 4 × `maxTextByteLength` when absent.
   */
  readonly maxRebuildByteLength?: number
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxTextByteLength: 1024 * 1024 * 1024,
}

export function maxRebuildByteLengthOf(limits: DecodeLimits): number {
  return limits.maxRebuildByteLength ?? 4 * limits.maxTextByteLength
}
