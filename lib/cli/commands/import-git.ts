/** `vstore import-git`: stores every version of every file of a git history. */
import { VstoreError, importGit } from '../../vstore.js'
import { messageOf } from '../../errors.js'
import type { CommandModule } from '../command.js'
import { usageError } from '../command-line.js'
import { ImportReport } from '../import-report.js'
import { CREATES_STORE, WRITER_OPTIONS } from '../options.js'
import { textLimit } from '../store-access.js'
import { runImport } from '../write.js'

const importGitCommand: CommandModule = {
  name: 'import-git',
  synopsis: 'REPO [--ref REF ...|--all] [--paths REGEX] [--no-renames] [--quiet] [--json]',
  positionals: [1, 1],
  summary: ['store every version of every file of a git history'],
  details: [
    'Each new version is keyed (path, full commit id) by the commit that made it. A path that git\'s rename',
    'detection finds moved names the version it was moved from as its origin (`vstore log` shows it).',
    CREATES_STORE,
  ],
  options: {
    ref: 'a branch, tag or commit whose whole history to import (repeatable; default HEAD)',
    all: 'every branch and tag',
    paths: 'only the paths this regular expression matches',
    'no-renames': 'no rename detection: a moved path starts a history of its own, with no origin',
    ...WRITER_OPTIONS,
  },
  example: 'vstore import-git ../jq --ref master',
  check(command) {
    if (command.all && command.refs.length > 0) throw usageError('--all and --ref exclude each other')
    for (const ref of command.refs) if (ref === '' || /[\0\r\n]/.test(ref)) throw usageError(`--ref ${JSON.stringify(ref)} is not a revision`)
  },
  async run(command, { output }) {
    const repo = command.positionals[0] as string
    let pathFilter: RegExp | undefined
    if (command.paths !== undefined) {
      try {
        pathFilter = new RegExp(command.paths)
      } catch (error) {
        throw new VstoreError('VSTORE_USAGE', `--paths is not a regular expression: ${messageOf(error)}`, command.paths)
      }
    }
    const report = new ImportReport()
    // importGit loads the git importer on first use (lib/vstore.ts).
    return runImport(command, output, () => importGit(repo, {
      ...(command.refs.length > 0 ? { refs: command.refs } : {}),
      all: command.all,
      ...(pathFilter ? { pathFilter } : {}),
      renames: !command.noRenames,
      onSymlink: report.onSymlink,
      maxTextByteLength: textLimit(command),
    }), { report })
  },
}

export default importGitCommand
