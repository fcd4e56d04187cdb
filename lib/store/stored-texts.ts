/** Where a batch's writer reads its texts: the TextSource interface, and the stored texts a rewrite reads back from the old packs. */
import type { SpillRef } from './spill.js'

/** Where a batch's writer reads its texts from: an insert's spill, or the store's own packs (pack, repair). */
export interface TextSource {
  read(ref: SpillRef): Promise<Uint8Array>
}

/**
 * The texts of keys already stored, read from the packs as the writer asks for them, for a rewrite of the
 * store (`pack`, `repair`): nothing is copied to a temporary file, so a rewrite needs room for its new packs
 * only. `readGroup` rebuilds the texts of some keys of one group (each group read once, its base chain
 * rebuilt once); the texts of the group asked for last stay cached, up to `cacheByteLength`, since the
 * writer takes a group's texts one after another (the old write order, newest first along each file) and
 * takes again the texts of a group it cut at the read budget.
 */
export class StoredTexts<Row> implements TextSource {
  /** For each ref index, the key of its group. */
  private readonly groupOf: string[]
  /** For each group, the ref indexes of its keys. */
  private readonly members = new Map<string, number[]>()
  /** Texts read, by ref index; the oldest group's go first. */
  private readonly cache = new Map<number, Uint8Array>()
  private readonly cachedGroups: string[] = []
  private cachedByteLength = 0

  /**
   * `rows[i]` is what ref index i reads; `groupKeyOf` names its group; `readGroup` yields the texts of the
   * rows given, in any order, each with its row.
   */
  constructor(
    private readonly rows: readonly Row[],
    groupKeyOf: (row: Row) => string,
    private readonly readGroup: (rows: readonly Row[]) => AsyncIterable<{ row: Row; text: Uint8Array }>,
    private readonly cacheByteLength: number,
  ) {
    this.groupOf = rows.map(groupKeyOf)
    this.groupOf.forEach((group, index) => {
      const list = this.members.get(group)
      if (list === undefined) this.members.set(group, [index])
      else list.push(index)
    })
  }

  async read(ref: SpillRef): Promise<Uint8Array> {
    const cached = this.cache.get(ref.index)
    if (cached !== undefined) return cached
    const group = this.groupOf[ref.index]
    if (group === undefined) throw new Error(`vstore bug: no stored text ${ref.index}`)
    // Read again after some of its texts went: forget the rest first, so that nothing is counted twice.
    if (this.cachedGroups.includes(group)) this.forget(group)
    const indexes = this.members.get(group) as number[]
    const indexOf = new Map<Row, number>(indexes.map(index => [this.rows[index] as Row, index]))
    let wanted: Uint8Array | undefined
    for await (const { row, text } of this.readGroup(indexes.map(index => this.rows[index] as Row))) {
      const index = indexOf.get(row)
      if (index === undefined) throw new Error('vstore bug: a group yielded a row it was not asked for')
      if (index === ref.index) wanted = text
      this.cache.set(index, text)
      this.cachedByteLength += text.length
    }
    this.cachedGroups.push(group)
    // Older groups go, the one just read stays (however large: the writer is about to take its texts).
    while (this.cachedByteLength > this.cacheByteLength && this.cachedGroups.length > 1) this.forget(this.cachedGroups[0] as string)
    if (wanted === undefined) throw new Error(`vstore bug: the group of stored text ${ref.index} did not yield it`)
    return wanted
  }

  private forget(group: string): void {
    this.cachedGroups.splice(this.cachedGroups.indexOf(group), 1)
    for (const index of this.members.get(group) as number[]) {
      const text = this.cache.get(index)
      if (text === undefined) continue
      this.cache.delete(index)
      this.cachedByteLength -= text.length
    }
  }
}

/**
 * Base texts rebuilt for a rewrite, by key (`file@rev`), the most recently used kept up to `byteLength`: a
 * group whose base is the text of another group gets it here instead of rebuilding that group's chain
 * again (a store filled a commit at a time chains each file's groups, one base after another). A writer's
 * decoded groups (GroupContents, text-reader.ts) are kept in one too, by pack and offset.
 */
export class BaseTextCache {
  private readonly texts = new Map<string, Uint8Array>()
  private totalByteLength = 0

  constructor(private readonly byteLength: number) {}

  get(key: string): Uint8Array | undefined {
    const text = this.texts.get(key)
    if (text !== undefined) {
      // Most recently used last.
      this.texts.delete(key)
      this.texts.set(key, text)
    }
    return text
  }

  set(key: string, text: Uint8Array): void {
    const old = this.texts.get(key)
    if (old !== undefined) {
      this.texts.delete(key)
      this.totalByteLength -= old.length
    }
    this.texts.set(key, text)
    this.totalByteLength += text.length
    for (const [oldest, oldText] of this.texts) {
      if (this.totalByteLength <= this.byteLength || oldest === key) break
      this.texts.delete(oldest)
      this.totalByteLength -= oldText.length
    }
  }

  /** Forgets the texts whose keys `forget` says. */
  deleteWhere(forget: (key: string) => boolean): void {
    for (const [key, text] of this.texts) {
      if (!forget(key)) continue
      this.texts.delete(key)
      this.totalByteLength -= text.length
    }
  }
}
