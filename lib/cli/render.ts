/** Renders what commands print: sizes, summaries and reports as text lines, and any value as JSON. */
import type { DiffStat, GroupDump, IndexRepairSummary, InsertSummary, RepairSummary, StoreStats, VerifyReport } from '../vstore.js'

/** A value as --json prints it: indented, with a newline at the end. */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

export function formatBytes(byteLength: number): string {
  if (byteLength < 1024) return `${byteLength} B`
  if (byteLength < 1024 * 1024) return `${(byteLength / 1024).toFixed(1)} KiB`
  return `${(byteLength / 1024 / 1024).toFixed(2)} MiB`
}

/**
 * The one line an import or a fetch prints: texts, bytes in, groups (`reusedGroupCount`: a fetch's, copied
 * whole), the store's size and ratio, time and rate, and `more` (what the importer skipped) at the end.
 */
export function renderImportSummary(summary: InsertSummary & { reusedGroupCount?: number; storeByteLength: number }, seconds: number, more: string): string {
  const ratio = summary.storeByteLength > 0 ? (summary.rawByteLength / summary.storeByteLength).toFixed(1) : '-'
  const reused = summary.reusedGroupCount === undefined ? '' : ` (${summary.reusedGroupCount} copied whole)`
  return `imported ${summary.textCount} texts (${summary.newTextCount} new, ${summary.duplicateTextCount} stored once): `
    + `${formatBytes(summary.rawByteLength)} in, ${summary.groupCount} group${summary.groupCount === 1 ? '' : 's'}${reused}, store now ${formatBytes(summary.storeByteLength)} `
    + `(${ratio}:1), ${seconds.toFixed(1)} s, ${(summary.rawByteLength / 1e6 / Math.max(seconds, 1e-6)).toFixed(1)} MB/s${more}\n${renderAutoPack(summary)}`
}

/** What automatic packing did after a write: a line when it merged packs or failed, nothing otherwise. */
function renderAutoPack(summary: InsertSummary): string {
  if (summary.packProblem !== undefined) return `warning: automatic packing failed, the import is stored: ${summary.packProblem}\n`
  const packed = summary.packed
  if (packed === undefined) return ''
  return `packed automatically: ${packed.textCount} texts rewritten (${formatBytes(packed.writtenByteLength)}), packs ${formatBytes(packed.oldPackByteLength)} → ${formatBytes(packed.packByteLength)}\n`
}

export function renderStats(stats: StoreStats): string {
  const ratio = stats.storeByteLength > 0 ? (stats.rawByteLength / stats.storeByteLength).toFixed(1) : '-'
  return [
    `texts          ${stats.textCount} in ${stats.fileCount} files`,
    `groups         ${stats.groupCount} in ${stats.packCount} pack${stats.packCount === 1 ? '' : 's'}`,
    `raw            ${formatBytes(stats.rawByteLength)}`,
    `stored         ${formatBytes(stats.storeByteLength)} (packs ${formatBytes(stats.packByteLength)}, index ${formatBytes(stats.indexByteLength)}, ${stats.indexBytesPerText} B a text), ${ratio}:1`,
    `read per text  median ${formatBytes(stats.readByteLength.median)}, max ${formatBytes(stats.readByteLength.max)} compressed`,
    `decoded        median ${formatBytes(stats.decompressedByteLength.median)}, max ${formatBytes(stats.decompressedByteLength.max)} per text`,
    '',
  ].join('\n')
}

export function renderVerify(report: VerifyReport): string {
  const groups = `${report.groupCount} group${report.groupCount === 1 ? '' : 's'}`
  if (report.problems.length === 0) {
    return `ok: ${report.textCount} texts in ${groups} verified${report.full ? ', every text rebuilt' : ' (checksums; --full rebuilds every text)'}\n`
  }
  const lines = [`${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} in ${report.textCount} texts, ${report.groupCount} groups:`]
  for (const problem of report.problems) {
    const keys = problem.keys.map(k => `${k.file}@${k.rev}`)
    const shown = keys.slice(0, 5).join(', ') + (keys.length > 5 ? `, and ${keys.length - 5} more` : '')
    lines.push(`${problem.code} (${problem.where}): ${problem.message}${keys.length > 0 ? `; affects ${shown}` : ''}`)
  }
  return `${lines.join('\n')}\n`
}

export function renderGroupList(groups: readonly { packId: number; groupOffset: number; header: { codecId: number; contentByteLength: number; storedByteLength: number } }[]): string {
  return groups.map(g => `${g.packId}@${g.groupOffset} codec ${g.header.codecId} content ${g.header.contentByteLength} stored ${g.header.storedByteLength}\n`).join('')
}

export function renderGroupDump(dump: GroupDump): string {
  const lines = [`${dump.pack}@${dump.groupOffset}: codec ${dump.codec}, ${dump.groupByteLength} bytes, content ${dump.contentByteLength}, stored ${dump.storedByteLength}, ${dump.records.length} records`]
  for (const record of dump.records) {
    const keys = record.keys.map(k => `${k.file}@${k.rev}`).join(' ')
    lines.push(`  ${record.recordStart}..${record.recordEnd} ${record.kind} text ${record.textByteLength} body ${record.bodyByteLength}${keys ? ` ${keys}` : ''}`)
    for (const instruction of record.instructions ?? []) {
      lines.push(instruction.kind === 'copy' ? `    copy ${instruction.byteLength} from ${instruction.offset}` : `    insert ${instruction.byteLength}`)
    }
  }
  return `${lines.join('\n')}\n`
}

/** The widest bar of `+` and `-` `renderDiffStat` draws (git scales to the terminal; this is fixed). */
const DIFF_STAT_BAR_WIDTH = 50

/** `git diff --stat` for one file: ` NAME | N ++--` (or `| Bin`), then the summary line. */
export function renderDiffStat(name: string, stat: DiffStat): string {
  if (stat.binary) return ` ${name} | Bin\n 1 file changed\n`
  const total = stat.insertions + stat.deletions
  if (total === 0) return ''
  const scale = Math.min(1, DIFF_STAT_BAR_WIDTH / total)
  const plus = Math.max(stat.insertions > 0 ? 1 : 0, Math.round(stat.insertions * scale))
  const minus = Math.max(stat.deletions > 0 ? 1 : 0, Math.round(stat.deletions * scale))
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`
  const parts = [' 1 file changed']
  if (stat.insertions > 0) parts.push(`${count(stat.insertions, 'insertion')}(+)`)
  if (stat.deletions > 0) parts.push(`${count(stat.deletions, 'deletion')}(-)`)
  return ` ${name} | ${total} ${'+'.repeat(plus)}${'-'.repeat(minus)}\n${parts.join(', ')}\n`
}

/** What `vstore repair` did: the index rebuilt (if it was damaged), then the packs rewritten (if one was). */
export function renderRepair(index: IndexRepairSummary, repaired: RepairSummary, seconds: number): string {
  const lines: string[] = []
  if (index.repaired) {
    lines.push(`rebuilt the damaged index from what it still holds: kept ${plural(index.textCount, 'key')} (${index.recoveredTextCount} of them read out of damaged blocks); damaged:`)
    for (const part of index.damage) lines.push(`  index/${part.file}: ${part.message} (it names ${plural(part.namedKeyCount, 'key')})`)
    lines.push(`dropped ${plural(index.lostKeys.length, 'key')} whose entries in damaged index blocks are damaged too, by the names the blocks give them (keys they held that could not be named are lost unnamed):`)
    lines.push(...index.lostKeys.map(key => `  ${key.file}@${key.rev}`))
    for (const pack of index.measuredPacks) lines.push(`measured ${pack} again from its groups (its index record was lost)`)
    lines.push(...reparentedLines(index.reparented, 'a parent\'s key was lost'))
  }
  if (!repaired.repaired) {
    lines.push(index.repaired ? `the packs need nothing more (${repaired.textCount} texts)` : `nothing to repair: verify finds no problem (${repaired.textCount} texts)`)
    return `${lines.join('\n')}\n`
  }
  lines.push(
    `repaired: kept ${repaired.textCount} texts (${formatBytes(repaired.rawByteLength)}) in ${repaired.groupCount} groups, `
      + `packs ${formatBytes(repaired.oldPackByteLength)} → ${formatBytes(repaired.packByteLength)}, ${seconds.toFixed(1)} s`,
    `dropped ${plural(repaired.lostKeys.length, 'text')} that could not be read:`,
    ...repaired.lostKeys.map(key => `  ${key.file}@${key.rev}`),
  )
  lines.push(...reparentedLines(repaired.reparented, 'a parent was dropped'))
  return `${lines.join('\n')}\n`
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`
}

/** The texts a repair gave new parents, one a line with the parents they had. */
function reparentedLines(reparented: RepairSummary['reparented'], why: string): string[] {
  if (reparented.length === 0) return []
  return [
    `gave ${plural(reparented.length, 'text')} new parents (${why}):`,
    ...reparented.map(row => `  ${row.file}@${row.rev}: ${row.parents.join(' ') || '(none)'} (was ${row.formerParents.join(' ')})`),
  ]
}
