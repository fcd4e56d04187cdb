/** `vstore import-npm`: stores every stable version of npm packages, in semver order, through the npm client. */
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { CommandModule } from '../command.js'
import { ImportReport } from '../import-report.js'
import { ALLOW_OLDER, CREATES_STORE, WRITER_OPTIONS } from '../options.js'
import { textLimit } from '../store-access.js'
import { releaseLookups, runImport } from '../write.js'

const importNpmCommand: CommandModule = {
  name: 'import-npm',
  synopsis: 'NAME[@RANGE] ... [--cache DIR] [--allow-older] [--quiet] [--json]',
  positionals: [1, Infinity],
  summary: ['every stable version in semver order (revision NAME@VERSION), through npm'],
  details: ['Versions older than the store\'s newest version of a file they change are refused (exit 2).', CREATES_STORE],
  options: { cache: 'where downloaded tarballs are kept (default $XDG_CACHE_HOME/vstore/npm or ~/.cache/vstore/npm)', 'allow-older': ALLOW_OLDER, ...WRITER_OPTIONS },
  example: 'vstore import-npm express lodash@^4',
  async run(command, { output }) {
    const cacheDir = command.cache ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vstore', 'npm')
    const [{ importNpm }, { ReleaseBoundary }] = await Promise.all([import('../../import/npm.js'), import('../../import/releases.js')])
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
  },
}

export default importNpmCommand
