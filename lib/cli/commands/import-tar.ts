/** `vstore import-tar`: stores releases (archives or folders) in the order given, each one's files a version of the last's. */
import type { CommandModule } from '../command.js'
import { usageError } from '../command-line.js'
import { ImportReport } from '../import-report.js'
import { ALLOW_OLDER, CREATES_STORE, WRITER_OPTIONS } from '../options.js'
import { textLimit } from '../store-access.js'
import { releaseLookups, runImport } from '../write.js'

const importTar: CommandModule = {
  name: 'import-tar',
  synopsis: 'ARCHIVE|DIR ... [--rev REV ...] [--allow-older] [--quiet] [--json]',
  positionals: [1, Infinity],
  summary: [
    'releases in the order given (.tar, .tar.gz, .tgz, .tar.xz, .zip, a folder);',
    'revision = archive name without its extension, or --rev per archive',
  ],
  details: [
    'A file is keyed by its path inside the release, its single top folder stripped. A release older than',
    'one before it, or than the store\'s newest version of a file it changes, is refused (exit 2).',
    CREATES_STORE,
  ],
  options: { rev: 'the revision of each archive, in order (once per archive)', 'allow-older': ALLOW_OLDER, ...WRITER_OPTIONS },
  example: 'vstore import-tar zstd-1.5.5.tar.gz zstd-1.5.6.tar.gz',
  check(command) {
    if (command.revs.length > 0 && command.revs.length !== command.positionals.length) {
      throw usageError(`--rev is given ${command.revs.length} times for ${command.positionals.length} archives`)
    }
  },
  async run(command, { output }) {
    // The importers load only for the commands that use them: start-up counts for extract.
    const [{ importTarballs }, { ReleaseBoundary }] = await Promise.all([import('../../import/tar.js'), import('../../import/releases.js')])
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
  },
}

export default importTar
