/** `vstore annotate`: each line of a stored version with the revision that introduced it (like git blame). */
import type { CommandModule } from '../command.js'
import { isHexId } from '../../vstore.js'
import { resolveKey } from '../keys.js'
import { renderJson } from '../render.js'
import { withStore } from '../store-access.js'

/** A revision as annotate shows it: a git commit id shortened as git shows it; other ids (release names) whole. */
function revisionLabel(id: string): string {
  return isHexId(id) ? id.slice(0, 12) : id
}

const annotate: CommandModule = {
  name: 'annotate',
  synopsis: 'FILE@REV [--json]',
  positionals: [1, 1],
  summary: ['each line with the revision that introduced it (like git blame)'],
  options: { json: 'the lines as JSON: rev, lineNumber, text' },
  example: 'vstore annotate src/main.c@1a2b3c4',
  async run(command, { output }) {
    return withStore(command, 'read', async store => {
      const { file, rev } = await resolveKey(store, command.positionals[0] as string)
      const lines = await store.annotate(file, rev)
      if (command.json) {
        const decoder = new TextDecoder()
        await output.write(renderJson(lines.map(line => ({ rev: line.rev, lineNumber: line.lineNumber, text: decoder.decode(line.text) }))))
        return 0
      }
      const width = Math.max(0, ...lines.map(line => revisionLabel(line.rev).length))
      const numberWidth = String(Math.max(0, ...lines.map(line => line.lineNumber))).length
      for (const line of lines) {
        await output.write(`${revisionLabel(line.rev).padEnd(width)} ${String(line.lineNumber).padStart(numberWidth)}) `)
        await output.write(line.text)
        if (line.text.at(-1) !== 0x0a) await output.write('\n')
      }
      return 0
    })
  },
}

export default annotate
