/**
 * Reading texts back: one index lookup, one bounded read of the group's compressed prefix, the records
 * decoded (through the group's base text and the previous texts they delta on), and each text checked
 * against its length and content hash. Errors name the key they affect.
 */
import { bytesEqual } from '../bytes/index.js'
import { VstoreError } from '../errors.js'
import { DEFAULT_GROUP_LIMITS, MAX_GROUP_HEADER_BYTE_LENGTH, decodeGroup, decodeGroupHeader, decodeGroupPrefix, type GroupHeader } from '../group/frame.js'
import { decodeGroupBase, decodeRecord, type BaseText } from '../group/records.js'
import { MAX_BASE_DEPTH, describeKey } from '../index/records.js'
import { packName } from './layout.js'
import { byGroup } from './locations.js'
import type { PackSet } from './pack-set.js'
import { naming } from './problems.js'
import { BaseTextCache } from './stored-texts.js'
import type { StoreIndex } from './store-index.js'
import { hashText, hashesMatch } from './text-hash.js'
import type { TextEntry, TextKey, TextLocation } from './types.js'

/** A key and where its text is. */
export interface Located {
  readonly key: TextKey
  readonly location: TextLocation
}

/**
 * Decoded group content a reader keeps, by pack and group offset, up to a byte budget (least lately used
 * go first): a writer rebuilds the stored versions its groups start on, and a merge the texts of the packs
 * it rewrites and their bases, many of them in the same large groups, each a prefix decode of up to the
 * group's whole content otherwise. Groups are immutable once committed, and only committed groups are read;
 * a pack's groups are forgotten when the pack is removed (its id is then never read again).
 */
export class GroupContents {
  /** Content by `packId@groupOffset`, least lately used first. */
  private readonly items: BaseTextCache

  constructor(readonly maxByteLength: number) {
    this.items = new BaseTextCache(maxByteLength)
  }

  /** The content of the group at `location` when at least `needed` bytes of it are kept. */
  get(location: Pick<TextLocation, 'packId' | 'groupOffset'>, needed: number): Uint8Array | undefined {
    const content = this.items.get(`${location.packId}@${location.groupOffset}`)
    return content !== undefined && content.length >= needed ? content : undefined
  }

  /** Keeps a group's decoded prefix (the longer, where one is kept already); one over half the budget is not kept. */
  put(location: Pick<TextLocation, 'packId' | 'groupOffset'>, content: Uint8Array): void {
    if (content.length > this.maxByteLength / 2) return
    const name = `${location.packId}@${location.groupOffset}`
    if ((this.items.get(name)?.length ?? 0) < content.length) this.items.set(name, content)
  }

  /** Forgets the groups of `packIds`. */
  forget(packIds: readonly number[]): void {
    this.items.deleteWhere(name => packIds.includes(Number(name.slice(0, name.indexOf('@')))))
  }
}

/** Lookups a read makes of a key whose text the writer's merges keep moving under it. */
const MOVED_READ_ATTEMPTS = 4

export class TextReader {
  /** `contents`: decoded groups kept between reads (a writer's); none, every read decodes its group's prefix. */
  constructor(private readonly index: StoreIndex, private readonly packs: PackSet, private readonly contents?: GroupContents) {}

  /** Forgets what it keeps of the groups of packs that are gone. */
  forgetPacks(packIds: readonly number[]): void {
    this.contents?.forget(packIds)
  }

  /** @throws VSTORE_NOT_FOUND when the key is not stored. */
  async getEntry(key: TextKey): Promise<TextEntry> {
    const entry = await this.index.tryGetEntry(key)
    if (entry === undefined) throw new VstoreError('VSTORE_NOT_FOUND', 'no such text', describeKey(key))
    return entry
  }

  /** A text whose group may name a base at most `depthLeft` hops deep; `bases` shares base texts between calls. */
  async get(key: TextKey, depthLeft = MAX_BASE_DEPTH, bases?: BaseTextCache): Promise<Uint8Array> {
    for (let attempt = 1; ; attempt++) {
      const entry = await this.getEntry(key)
      try {
        return (await this.rebuild([{ key, location: entry }], entry.readByteLength, entry.recordEnd, depthLeft, bases))[0] as Uint8Array
      } catch (error) {
        // The writer's merge (an insert's automatic packing, running while this store reads) moved the
        // text and deleted its old pack after the lookup: again.
        if (attempt >= MOVED_READ_ATTEMPTS || !this.moved(entry)) throw error
      }
    }
  }

  /** Whether a location's pack has left the set since it was looked up (a writer's merge committed and removed it). */
  private moved(location: Pick<TextLocation, 'packId'>): boolean {
    return !this.packs.closed && this.packs.state(location.packId) === undefined
  }

  /** The texts of keys whose entries the caller has read, each group read once; yields in group order. */
  async *readLocated(located: readonly Located[], bases?: BaseTextCache): AsyncGenerator<TextKey & { text: Uint8Array }> {
    for (const wanted of byGroup(located, item => item.location).values()) {
      const readByteLength = Math.max(...wanted.map(w => w.location.readByteLength))
      const recordEnd = Math.max(...wanted.map(w => w.location.recordEnd))
      let texts: Uint8Array[]
      try {
        texts = await this.rebuild(wanted, readByteLength, recordEnd, MAX_BASE_DEPTH, bases)
      } catch (error) {
        if (!this.moved((wanted[0] as Located).location)) throw error
        // Moved by a merge since the caller looked them up: each looked up and read again.
        texts = []
        for (const { key } of wanted) texts.push(await this.get(key, MAX_BASE_DEPTH, bases))
      }
      for (let i = 0; i < wanted.length; i++) yield { ...(wanted[i] as Located).key, text: texts[i] as Uint8Array }
    }
  }

  /** `readByteLength` bytes from the start of the group holding `location`. @throws VSTORE_CORRUPT, naming `key`, when the pack is missing or ends first. */
  async readGroupBytes(location: Pick<TextLocation, 'packId' | 'groupOffset'>, readByteLength: number, key: TextKey): Promise<Uint8Array> {
    try {
      return await this.packs.read(location.packId, location.groupOffset, readByteLength, describeKey(key))
    } catch (error) {
      // The pack's own errors name it and the offset: re-labelled with the key (the set's name it already).
      throw error instanceof VstoreError && error.where !== describeKey(key) && !this.packs.closed ? naming(error, key) : error
    }
  }

  /** The header of the group holding `location` (read from its first bytes). */
  async readGroupHeader(location: Pick<TextLocation, 'packId' | 'groupOffset'>, key: TextKey): Promise<GroupHeader> {
    const committed = this.packs.committedByteLength(location.packId) ?? 0
    const bytes = await this.readGroupBytes(location, Math.min(MAX_GROUP_HEADER_BYTE_LENGTH, Math.max(0, committed - location.groupOffset)), key)
    return decodeGroupHeader(bytes, `${packName(location.packId)}@${location.groupOffset}`, DEFAULT_GROUP_LIMITS)
  }

  /**
   * The base text a group's content names (undefined when it names none), rebuilt and checked against the
   * length and hash the base record gives; `rebuilt` holds texts the caller has rebuilt (and checked) already.
   * @throws VSTORE_CORRUPT, naming `key`, when the base is missing, damaged or the chain too deep.
   */
  async baseTextOf(content: Uint8Array, where: string, key: TextKey, depthLeft: number, rebuilt?: ReadonlyMap<string, Uint8Array>, bases?: BaseTextCache): Promise<Uint8Array | undefined> {
    try {
      const based = decodeGroupBase(content, where, DEFAULT_GROUP_LIMITS)
      if (based === undefined) return undefined
      const baseKey = { file: based.base.file, rev: based.base.rev }
      if (depthLeft <= 0) throw new VstoreError('VSTORE_CORRUPT', `base chain deeper than ${MAX_BASE_DEPTH} at ${describeKey(baseKey)}`, where)
      const text = await this.baseText(baseKey, where, depthLeft, rebuilt, bases)
      if (text.length !== based.base.textByteLength || !bytesEqual(hashText(text), based.base.hash)) {
        throw new VstoreError('VSTORE_CORRUPT', `base text ${describeKey(baseKey)} does not match the base record's length and hash`, where)
      }
      return text
    } catch (error) {
      throw naming(error, key)
    }
  }

  private async baseText(baseKey: TextKey, where: string, depthLeft: number, rebuilt?: ReadonlyMap<string, Uint8Array>, bases?: BaseTextCache): Promise<Uint8Array> {
    try {
      const text = rebuilt?.get(describeKey(baseKey)) ?? bases?.get(describeKey(baseKey)) ?? (await this.get(baseKey, depthLeft - 1, bases))
      bases?.set(describeKey(baseKey), text)
      return text
    } catch (error) {
      if (error instanceof VstoreError && error.code === 'VSTORE_NOT_FOUND') {
        throw new VstoreError('VSTORE_CORRUPT', `base text ${describeKey(baseKey)} is not in the index`, where, { cause: error })
      }
      throw error
    }
  }

  /**
   * The texts of `wanted`, all in one group: its first `readByteLength` bytes read and decoded up to
   * `recordEnd` (or that much of its content kept from an earlier read).
   */
  private async rebuild(wanted: readonly Located[], readByteLength: number, recordEnd: number, depthLeft: number, bases?: BaseTextCache): Promise<Uint8Array[]> {
    const first = wanted[0] as Located
    const where = `${packName(first.location.packId)}@${first.location.groupOffset}`
    let content = this.contents?.get(first.location, recordEnd)
    if (content === undefined) {
      const groupBytes = await this.readGroupBytes(first.location, readByteLength, first.key)
      try {
        // Bounded by the group's content length: store formats 5 and 6 keep no decoded length to bound it closer
        // (the flush decode of the read's last chunk of stored bytes may run far past the record's end).
        content = await decodeGroupPrefix(groupBytes, recordEnd, where, DEFAULT_GROUP_LIMITS)
      } catch (error) {
        throw naming(error, first.key)
      }
      this.contents?.put(first.location, content)
    }
    const kept = content
    const baseText = await this.baseTextOf(kept, where, first.key, depthLeft, undefined, bases)
    // Texts of one group often rebuild through each other (deltas on the previous version): once each.
    const rebuilt = new Map<number, Uint8Array>()
    const handedOut = new Set<Uint8Array>()
    return wanted.map(({ key, location }) => {
      try {
        const decoded = decodeRecord(kept, location.recordStart, location.recordEnd, where, DEFAULT_GROUP_LIMITS, baseText, rebuilt)
        // Keys stored once (identical texts) share a record: each caller gets bytes of its own.
        const text = handedOut.has(decoded) ? decoded.slice() : decoded
        handedOut.add(decoded)
        if (text.length !== location.textByteLength) {
          throw new VstoreError('VSTORE_CORRUPT', `rebuilt ${text.length} bytes, index says ${location.textByteLength}`, where)
        }
        if (!hashesMatch(hashText(text), location.hash)) throw new VstoreError('VSTORE_CORRUPT', 'rebuilt text does not match its content hash', where)
        return text
      } catch (error) {
        throw naming(error, key)
      }
    })
  }
}

/** The base text a whole group (`bytes`, from its header) names, read from the first bytes of its content. */
export async function baseNamedBy(bytes: Uint8Array, header: GroupHeader, where: string): Promise<BaseText> {
  let based: ReturnType<typeof decodeGroupBase>
  try {
    // The base record comes first and is short: a 16 KiB compressed prefix holds it.
    const prefix = bytes.subarray(0, Math.min(bytes.length, header.headerByteLength + 16 * 1024))
    based = decodeGroupBase(await decodeGroupPrefix(prefix, 1, where, DEFAULT_GROUP_LIMITS, 1024 * 1024), where, DEFAULT_GROUP_LIMITS)
  } catch {
    based = decodeGroupBase((await decodeGroup(bytes, where, DEFAULT_GROUP_LIMITS)).content, where, DEFAULT_GROUP_LIMITS)
  }
  if (based === undefined) throw new VstoreError('VSTORE_CORRUPT', 'the index says this group has a base, its content names none', where)
  return based.base
}
