/**
 * Questions about one file's history, answered from the index (and, for annotate, its texts): its
 * revisions, heads, ancestry graph, common ancestors, a revision by prefix, and who wrote each line.
 */
import { VstoreError } from '../errors.js'
import { describeKey } from '../index/records.js'
import { ancestryGraph, commonAncestorsOf, writeOrder, type AncestryGraph } from '../order/graph.js'
import { annotate, type AnnotatedLine } from './annotate.js'
import type { StoreIndex } from './store-index.js'
import type { TextReader } from './text-reader.js'
import type { TextEntry } from './types.js'

export type { AncestryGraph, AnnotatedLine }

export class History {
  constructor(private readonly index: StoreIndex, private readonly reader: TextReader) {}

  /** Revisions of `file`, parents before children (empty for an unknown file). */
  async revisions(file: string): Promise<string[]> {
    const items: { file: string; rev: string; parents: readonly string[] }[] = []
    for await (const { rev, entry } of this.index.fileEntries(file)) items.push({ file, rev, parents: entry.parents })
    return writeOrder(items).reverse().map(i => (items[i] as { rev: string }).rev)
  }

  /** Revisions of `file` that no other revision of it names as a parent, newest first (empty for an unknown file). */
  async heads(file: string): Promise<string[]> {
    const items: { file: string; rev: string; parents: readonly string[] }[] = []
    const named = new Set<string>()
    for await (const { rev, entry } of this.index.fileEntries(file)) {
      items.push({ file, rev, parents: entry.parents })
      for (const parent of entry.parents) named.add(parent)
    }
    return writeOrder(items).map(i => (items[i] as { rev: string }).rev).filter(rev => !named.has(rev))
  }

  /** For each line of one version, the revision that introduced it and its line number there (lib/store/annotate.ts). */
  async annotate(file: string, rev: string): Promise<AnnotatedLine[]> {
    const entries = new Map<string, TextEntry>()
    for await (const row of this.index.fileEntries(file)) entries.set(row.rev, row.entry)
    if (!entries.has(rev)) throw new VstoreError('VSTORE_NOT_FOUND', 'no such text', describeKey({ file, rev }))
    return annotate(rev, {
      entry: r => {
        const entry = entries.get(r)
        if (entry === undefined) throw new VstoreError('VSTORE_CORRUPT', 'a parent named in the index is not stored', describeKey({ file, rev: r }))
        return entry
      },
      texts: async revs => {
        const read = new Map<string, Uint8Array>()
        for await (const { rev: r, text } of this.reader.readLocated(revs.map(r => ({ key: { file, rev: r }, location: entries.get(r) as TextEntry })))) read.set(r, text)
        return read
      },
    })
  }

  /** `file`'s revisions and parents, from the index alone. */
  private async fileParents(file: string): Promise<Map<string, readonly string[]>> {
    const parents = new Map<string, readonly string[]>()
    for await (const { rev, entry } of this.index.fileEntries(file)) parents.set(rev, entry.parents)
    return parents
  }

  /** `file`'s ancestry as a graphlib graph: a node per revision, an edge from each parent to its child. */
  async ancestry(file: string): Promise<AncestryGraph> {
    return ancestryGraph([...(await this.fileParents(file))].map(([rev, parents]) => ({ rev, parents })))
  }

  /** The best common ancestors of two revisions of `file` in its own graph (like `git merge-base --all`). */
  async commonAncestors(file: string, a: string, b: string): Promise<string[]> {
    const parents = await this.fileParents(file)
    for (const rev of [a, b]) if (!parents.has(rev)) throw new VstoreError('VSTORE_NOT_FOUND', 'no such text', describeKey({ file, rev }))
    return commonAncestorsOf(a, b, rev => parents.get(rev))
  }

  /** The one stored revision of `file` that starts with `prefix` (a whole revision id always matches itself). */
  async resolveRevision(file: string, prefix: string): Promise<string> {
    if ((await this.index.tryGetEntry({ file, rev: prefix })) !== undefined) return prefix
    const matches = await this.index.revisionsStartingWith(file, prefix, 2)
    if (matches.length === 0) throw new VstoreError('VSTORE_NOT_FOUND', 'no such revision', describeKey({ file, rev: prefix }))
    if (matches.length > 1) throw new VstoreError('VSTORE_USAGE', `revision prefix is ambiguous (${matches.join(', ')})`, describeKey({ file, rev: prefix }))
    return matches[0] as string
  }

  /** Distinct file ids, sorted. */
  async files(): Promise<string[]> {
    const files = new Set<string>()
    for await (const { file } of this.index.entries()) files.add(file)
    return [...files].sort()
  }
}
