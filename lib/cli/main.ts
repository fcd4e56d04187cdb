/** The vstore program: parses the command line and runs the command it names, printing an error as one line. */
import { readFile } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { MAX_ID_BYTE_LENGTH, STORE_FORMAT_VERSION, Store, VstoreError, diffStat, importGit, unifiedDiff } from '../vstore.js'
import { parseCommandLine } from './args.js'
import { renderCommandHelp, renderOverview } from './help.js'
import { describeError, exitStatusFor } from './exit.js'
import { readBoundedLines, type BoundedLine } from './lines.js'
import { ImportReport } from './import-report.js'
import type { ProgressView } from './progress.js'
import { checkId, givenFiles, resolveKey } from './keys.js'
import { checkStorePath, openStore, textLimit, withStore } from './store-access.js'
import { formatBytes, renderDiffStat, renderGroupDump, renderGroupList, renderJson, renderRepair, renderStats, renderVerify } from './render.js'
import { progressOptions, releaseLookups, runImport, runWrite, startProgress, writeSummary } from './write.js'

/** Where the CLI writes; a parameter so that nothing here touches process globals but `main`. */
export interface Output {
  write(bytes: Uint8Array | string): Promise<void>
  error(line: string): void
  /** A live progress line where stderr is a terminal (nothing elsewhere). */
  terminalProgress(): Promise<ProgressView>
  /** Progress as JSON lines on stderr. */
  jsonProgress(): Promise<ProgressView>
}

/**
 * The longest line that can name a key: a file id and a revision of MAX_ID_BYTE_LENGTH bytes each, and the
 * `@` between them. extract --batch holds no more of a line than this.
 */
const MAX_BATCH_LINE_BYTE_LENGTH = 2 * MAX_ID_BYTE_LENGTH + 1
/** How much of a line too long to name a key its answer echoes. */
const LONG_LINE_ECHO_BYTE_LENGTH = 64

/** The first `byteLength` bytes of UTF-8 `bytes` or fewer, cut where a character starts. */
function utf8Head(bytes: Uint8Array, byteLength: number): Uint8Array {
  let end = Math.min(byteLength, bytes.length)
  // Back over continuation bytes (10xxxxxx) to the start of the character the cut would split.
  while (end > 0 && end < bytes.length && ((bytes[end] as number) & 0xc0) === 0x80) end--
  return bytes.subarray(0, end)
}

/**
 * The answer's first line echoes the line as it came. A line too long to name a key (it was never
 * read whole) echoes its first bytes and `…` instead, so that one long line cannot make a long answer.
 */
function echoOf(line: BoundedLine): Buffer {
  return line.byteLength > line.bytes.length
    ? Buffer.concat([utf8Head(line.bytes, LONG_LINE_ECHO_BYTE_LENGTH), Buffer.from('…')])
    : Buffer.from(line.bytes.buffer, line.bytes.byteOffset, line.bytes.byteLength)
}

/**
 * extract --batch: answers each line of `input`, in order, as git cat-file --batch does: `FILE@REV SIZE`,
 * the text and a newline; or `FILE@REV missing` for a line that names no key, an empty line (` missing`,
 * as from git), a line that is not UTF-8, and a line too long to name one (`<first bytes>… missing`).
 * A key that cannot be read (a damaged group: VSTORE_CORRUPT) is answered `FILE@REV error CODE`, its
 * error's line goes to stderr, and the batch goes on: one bad key does not cost the answers after it.
 * Every line is answered, so a reader that pairs answers with the lines it sent never waits for one.
 * @returns 0, or the highest exit status of the errors answered.
 */
async function extractBatch(store: Store, output: Output, input: AsyncIterable<Uint8Array | string>): Promise<number> {
  // Keys are well-formed Unicode, so a line that is not UTF-8 names none; a byte order mark is kept, as
  // ids may begin with one.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  let status = 0
  const answerError = async (echo: Uint8Array, error: unknown): Promise<void> => {
    if (!(error instanceof VstoreError)) throw error
    output.error(describeError(error))
    status = Math.max(status, exitStatusFor(error))
    await output.write(Buffer.concat([echo, Buffer.from(` error ${error.code}\n`)]))
  }
  for await (const line of readBoundedLines(input, MAX_BATCH_LINE_BYTE_LENGTH)) {
    const echo = echoOf(line)
    const spec = line.byteLength === line.bytes.length ? decodeOrUndefined(decoder, line.bytes) : undefined
    let key: { file: string; rev: string } | undefined
    try {
      key = spec === undefined ? undefined : await resolveKey(store, spec)
    } catch (error) {
      // A line that names no key (or no key could have) is missing; a damaged index is an error.
      if (!(error instanceof VstoreError && (error.code === 'VSTORE_NOT_FOUND' || error.code === 'VSTORE_USAGE'))) {
        await answerError(echo, error)
        continue
      }
    }
    if (key === undefined) {
      await output.write(Buffer.concat([echo, Buffer.from(' missing\n')]))
      continue
    }
    let text: Uint8Array
    try {
      text = await store.get(key.file, key.rev)
    } catch (error) {
      // The key is stored, so any failure to read it (a damaged group, a pack gone) is an error, not missing.
      await answerError(echo, error)
      continue
    }
    await output.write(Buffer.concat([echo, Buffer.from(` ${text.length}\n`)]))
    await output.write(text)
    await output.write('\n')
  }
  return status
}

/** The line as text, or undefined when it is not UTF-8. */
function decodeOrUndefined(decoder: InstanceType<typeof TextDecoder>, bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * `vstore 0.1.0 (store format 2)`: the package's version and the store format this build writes. package.json
 * is read here, for this command only, so that no other command's start-up pays for it; the compiled
 * module is dist/lib/cli/main.js, three folders below it.
 */
async function versionLine(): Promise<string> {
  const manifest: unknown = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8'))
  const version = typeof manifest === 'object' && manifest !== null && 'version' in manifest ? manifest.version : undefined
  if (typeof version !== 'string') throw new Error('vstore bug: package.json has no version')
  return `vstore ${version} (store format ${STORE_FORMAT_VERSION})\n`
}

/** Runs one command; returns the exit status. */
export async function run(argv: readonly string[], output: Output, stdin: NodeJS.ReadableStream): Promise<number> {
  const command = parseCommandLine(argv)
  if (command.version) {
    await output.write(await versionLine())
    return 0
  }
  if (command.help !== undefined) {
    await output.write(command.help.command === undefined ? renderOverview() : renderCommandHelp(command.help.command))
    return 0
  }
  switch (command.name) {
    case 'init': {
      const existed = await checkStorePath(command.store, '--store', true)
      // A store that is there already is still opened: one in use exits 5, one of another format 4.
      await withStore(command, 'create', async () => undefined)
      await output.write(existed ? `vstore already initialized in ${command.store}\n` : `initialized vstore in ${command.store}\n`)
      return 0
    }
    case 'import-git': {
      const repo = command.positionals[0] as string
      let pathFilter: RegExp | undefined
      if (command.paths !== undefined) {
        try {
          pathFilter = new RegExp(command.paths)
        } catch (error) {
          throw new VstoreError('VSTORE_USAGE', `--paths is not a regular expression: ${(error as Error).message}`, command.paths)
        }
      }
      const report = new ImportReport()
      return runImport(command, output, () => importGit(repo, {
        ...(command.refs.length > 0 ? { refs: command.refs } : {}),
        all: command.all,
        ...(pathFilter ? { pathFilter } : {}),
        onSymlink: report.onSymlink,
        maxTextByteLength: textLimit(command),
      }), { report })
    }
    case 'import-tar': {
      // Importers and the progress line load only for the commands that use them: start-up counts for extract.
      const [{ importTarballs }, { ReleaseBoundary }] = await Promise.all([import('../import/tar.js'), import('../import/releases.js')])
      const releases = new ReleaseBoundary()
      const report = new ImportReport()
      return runImport(command, output, store => importTarballs(command.positionals, {
        ...(command.revs.length > 0 ? { revs: command.revs } : {}),
        ...releaseLookups(store),
        onReleaseDone: releases.done,
        onSymlink: report.onSymlink,
        allowOlder: command.allowOlder,
        maxTextByteLength: textLimit(command),
      }), { releases, report })
    }
    case 'import-npm': {
      const cacheDir = command.cache ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vstore', 'npm')
      const [{ importNpm }, { ReleaseBoundary }] = await Promise.all([import('../import/npm.js'), import('../import/releases.js')])
      const releases = new ReleaseBoundary()
      const report = new ImportReport()
      return runImport(command, output, store => importNpm(command.positionals, {
        cacheDir,
        ...releaseLookups(store),
        onReleaseDone: releases.done,
        onSymlink: report.onSymlink,
        allowOlder: command.allowOlder,
        maxTextByteLength: textLimit(command),
        ...(command.quiet || command.json ? {} : { onProgress: event => { if (event.kind === 'tarball' && event.source === 'download') output.error(`fetched ${event.name}@${event.version} (${event.index}/${event.count})`) } }),
      }), { releases, report })
    }
    case 'import-fast-export': {
      const { importFastExport } = await import('../import/fast-export.js')
      const report = new ImportReport()
      return runImport(command, output, () => importFastExport(stdin, { onSymlink: report.onSymlink, onUncheckedEnd: report.onUncheckedEnd, maxTextByteLength: textLimit(command) }), { report })
    }
    case 'pack': {
      const started = performance.now()
      const progress = await startProgress(command, output)
      let summary
      try {
        summary = await withStore(command, 'write', async store => {
          const result = await store.pack(progressOptions(progress))
          return { ...result, storeByteLength: (await store.stats()).storeByteLength }
        })
      } finally {
        progress?.stop()
      }
      const packed = summary
      await writeSummary(command, output, packed, started, seconds => `packed ${packed.textCount} texts (${formatBytes(packed.rawByteLength)}): `
        + `${packed.oldGroupCount} → ${packed.groupCount} groups, packs ${formatBytes(packed.oldPackByteLength)} → ${formatBytes(packed.packByteLength)}, `
        + `store now ${formatBytes(packed.storeByteLength)}, ${seconds.toFixed(1)} s\n`)
      return 0
    }
    case 'repair': {
      const started = performance.now()
      // The index first (a writer refuses a damaged one), then the packs, through the rebuilt index.
      await checkStorePath(command.store, '--store', false)
      const index = await Store.repairIndex(command.store)
      const progress = await startProgress(command, output)
      let packs
      try {
        packs = await withStore(command, 'write', store => store.repair(progressOptions(progress)))
      } finally {
        progress?.stop()
      }
      const repaired = packs
      await writeSummary(command, output, { ...repaired, index }, started, seconds => renderRepair(index, repaired, seconds))
      return 0
    }
    case 'export-stream': {
      const { encodeRecordStream, exportRecords } = await import('../import/record-stream.js')
      return withStore(command, 'read', async store => {
        // Checked before the first byte goes out: a stream cut by an error would only fail at the reader.
        const files = await givenFiles(command.files, store, 'no such file')
        for await (const bytes of encodeRecordStream(exportRecords(store, files))) await output.write(bytes)
        return 0
      })
    }
    case 'fetch': {
      // The source is only read, from a copy of its index: a writer busy on it never blocks the fetch.
      const sourcePath = command.positionals[0] as string
      await checkStorePath(sourcePath, 'SRC-STORE', false)
      const source = await Store.open(sourcePath, { readOnly: true })
      try {
        const files = await givenFiles(command.files, source, 'no such file in the source store')
        return await runWrite(command, output, (target, options) => target.fetch(source, { ...options, ...(files === undefined ? {} : { files }) }))
      } finally {
        await source.close()
      }
    }
    case 'import-stream': {
      const { decodeRecordStream } = await import('../import/record-stream.js')
      return runImport(command, output, () => decodeRecordStream(stdin, { where: 'stdin', maxTextByteLength: textLimit(command) }))
    }
    case 'extract': {
      return withStore(command, 'read', async store => {
        if (!command.batch) {
          const { file, rev } = await resolveKey(store, command.positionals[0] as string)
          await output.write(await store.get(file, rev))
          return 0
        }
        return extractBatch(store, output, stdin)
      })
    }
    case 'diff': {
      return withStore(command, 'read', async store => {
        const [a, b] = [await resolveKey(store, command.positionals[0] as string), await resolveKey(store, command.positionals[1] as string)]
        const [textA, textB] = [await store.get(a.file, a.rev), await store.get(b.file, b.rev)]
        if (command.stat) {
          await output.write(renderDiffStat(a.file === b.file ? a.file : `${a.file} => ${b.file}`, diffStat(textA, textB)))
          return 0
        }
        const diff = unifiedDiff(textA, textB, { oldLabel: `a/${a.file}`, newLabel: `b/${b.file}`, oldNote: a.rev, newNote: b.rev })
        if (diff !== undefined) await output.write(diff)
        return 0
      })
    }
    case 'annotate': {
      return withStore(command, 'read', async store => {
        const { file, rev } = await resolveKey(store, command.positionals[0] as string)
        const lines = await store.annotate(file, rev)
        if (command.json) {
          const decoder = new TextDecoder()
          await output.write(renderJson(lines.map(line => ({ rev: line.rev, lineNumber: line.lineNumber, text: decoder.decode(line.text) }))))
          return 0
        }
        // Git commit ids shortened as git shows them; other revision ids (release names) whole.
        const label = (id: string) => (/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(id) ? id.slice(0, 12) : id)
        const width = Math.max(0, ...lines.map(line => label(line.rev).length))
        const numberWidth = String(Math.max(0, ...lines.map(line => line.lineNumber))).length
        for (const line of lines) {
          await output.write(`${label(line.rev).padEnd(width)} ${String(line.lineNumber).padStart(numberWidth)}) `)
          await output.write(line.text)
          if (line.text.at(-1) !== 0x0a) await output.write('\n')
        }
        return 0
      })
    }
    case 'log': {
      return withStore(command, 'read', async store => {
        const file = checkId(command.positionals[0] as string, 'file id', command.positionals[0] as string)
        const revisions = (await store.revisions(file)).reverse()
        if (revisions.length === 0) throw new VstoreError('VSTORE_NOT_FOUND', 'no revisions of this file', file)
        const rows = []
        for (const rev of revisions) rows.push({ rev, parents: await store.parents(file, rev) })
        if (command.json) await output.write(renderJson(rows))
        else for (const { rev, parents } of rows) await output.write(`${rev}${parents.length > 0 ? ` ${parents.join(' ')}` : ''}\n`)
        return 0
      })
    }
    case 'stats': {
      return withStore(command, 'read', async store => {
        const stats = await store.stats()
        await output.write(command.json ? renderJson(stats) : renderStats(stats))
        return 0
      })
    }
    case 'verify': {
      let store: Store
      try {
        store = await openStore(command, 'read')
      } catch (error) {
        // An index LevelDB will not open: say which keys its files still name (all unreadable now).
        if (!(error instanceof VstoreError && (error.code === 'VSTORE_CORRUPT' || error.code === 'VSTORE_IO') && error.where.endsWith('/index'))) throw error
        const report = await Store.verifyUnopenable(command.store, error)
        await output.write(command.json ? renderJson(report) : renderVerify(report))
        return 4
      }
      try {
        const report = await store.verify({ full: command.full })
        await output.write(command.json ? renderJson(report) : renderVerify(report))
        return report.problems.length === 0 ? 0 : 4
      } finally {
        await store.close()
      }
    }
    case 'dump-group': {
      return withStore(command, 'read', async store => {
        const spec = command.positionals[0]
        if (spec === undefined) {
          const groups = []
          for await (const group of store.groups()) groups.push(group)
          await output.write(command.json ? renderJson(groups) : renderGroupList(groups))
          return 0
        }
        const match = /^(?:packs\/)?(\d+)(?:\.vpk)?@(\d+)$/.exec(spec)
        if (!match) throw new VstoreError('VSTORE_USAGE', 'expected PACK@OFFSET, e.g. 1@8 or packs/000001.vpk@8', spec)
        const dump = await store.dumpGroup(Number(match[1]), Number(match[2]))
        await output.write(command.json ? renderJson(dump) : renderGroupDump(dump))
        return 0
      })
    }
    case 'dump-index': {
      return withStore(command, 'read', async store => {
        const rows = []
        for await (const row of store.dumpIndex(command.prefix)) rows.push(row)
        if (command.json) await output.write(renderJson(rows))
        else {
          for (const row of rows) {
            const base = row.baseDepth > 0 ? ` base depth ${row.baseDepth} read ${row.baseReadByteLength}` : ''
            await output.write(`${row.file}@${row.rev} → ${row.pack}@${row.groupOffset} read ${row.readByteLength} record ${row.recordStart}..${row.recordEnd}${base} `
              + `text ${row.textByteLength} sha256/20 ${row.hash}${row.parents.length > 0 ? ` parents ${row.parents.join(' ')}` : ''}\n`)
          }
        }
        return 0
      })
    }
    default:
      throw new Error(`vstore bug: command ${command.name} parsed but not handled`)
  }
}

function processOutput(): Output {
  return {
    write(bytes) {
      return new Promise((resolve, reject) => {
        process.stdout.write(bytes, error => (error ? reject(error) : resolve()))
      })
    },
    error(line) {
      process.stderr.write(`${line}\n`)
    },
    terminalProgress: async () => (await import('./progress.js')).terminalProgress(process.stderr),
    jsonProgress: async () => (await import('./progress.js')).jsonProgress(line => process.stderr.write(line)),
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  const output = processOutput()
  // A closed pipe (`vstore extract ... | head`) ends the program quietly.
  process.stdout.on('error', error => {
    if ((error as { code?: string }).code === 'EPIPE') process.exit(0)
  })
  try {
    process.exitCode = await run(argv, output, process.stdin)
  } catch (error) {
    if ((error as { code?: string }).code === 'EPIPE') return
    output.error(describeError(error))
    process.exitCode = exitStatusFor(error)
  }
}

// `node dist/lib/cli/main.js ARGS` works as well as bin/vstore.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2))
