/** The vstore program: reads the global options, runs the command the table names, and prints its error as one line. */
import { pathToFileURL } from 'node:url'
import type { Output } from './command.js'
import { checkCommandLine, readCommandLine } from './command-line.js'
import { loadCommand } from './commands/index.js'
import { describeError, exitStatusFor } from './exit.js'

export type { Output } from './command.js'

/**
 * Runs one command line (without `node` and the script): `--version`; a request for help (the help command);
 * or the command it names, loaded from the table with nothing of the other commands, once its arguments
 * pass that command's rules.
 * @returns the exit status.
 * @throws VstoreError for what the user can mend (its code gives the exit status); anything else is a bug.
 */
export async function run(argv: readonly string[], output: Output, stdin: NodeJS.ReadableStream): Promise<number> {
  const line = readCommandLine(argv)
  const { command } = line
  if (command.version) {
    await output.write(await (await import('./version.js')).versionLine())
    return 0
  }
  if (command.help !== undefined) return (await loadCommand('help')).run(command, { output, stdin })
  const module = await loadCommand(command.name)
  return module.run(checkCommandLine(line, module), { output, stdin })
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

/** `vstore ARGS`: runs them with the process's stdin, stdout and stderr, and sets the exit status. */
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
