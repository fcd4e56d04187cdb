/** `vstore import-fast-export`: stores the file versions of a git fast-export stream read from stdin. */
import type { CommandModule } from '../command.js'
import { ImportReport } from '../import-report.js'
import { CREATES_STORE, WRITER_OPTIONS } from '../options.js'
import { textLimit } from '../store-access.js'
import { runImport } from '../write.js'

const importFastExportCommand: CommandModule = {
  name: 'import-fast-export',
  synopsis: '[--quiet] [--json]',
  positionals: [0, 0],
  summary: ['a git fast-export stream on stdin (git, brz, hg exporters)'],
  details: [CREATES_STORE],
  options: WRITER_OPTIONS,
  example: 'git fast-export --all --show-original-ids --signed-tags=strip --use-done-feature | vstore import-fast-export',
  async run(command, { output, stdin }) {
    const { importFastExport } = await import('../../import/fast-export.js')
    const report = new ImportReport()
    return runImport(command, output, () => importFastExport(stdin, { onSymlink: report.onSymlink, onUncheckedEnd: report.onUncheckedEnd, maxTextByteLength: textLimit(command) }), { report })
  },
}

export default importFastExportCommand
