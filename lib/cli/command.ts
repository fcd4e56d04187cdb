/** What a command module declares (its usage, options, help and example) and what its `run` is given. */
import type { Command } from './command-line.js'
import type { CommandOptionName } from './options.js'
import type { ProgressView } from './progress.js'

/** Where the CLI writes; a parameter so that nothing but `main` touches process globals. */
export interface Output {
  write(bytes: Uint8Array | string): Promise<void>
  error(line: string): void
  /** A live progress line where stderr is a terminal (nothing elsewhere). */
  terminalProgress(): Promise<ProgressView>
  /** Progress as JSON lines on stderr. */
  jsonProgress(): Promise<ProgressView>
}

/** What a command runs with besides its command line. */
export interface CommandContext {
  readonly output: Output
  readonly stdin: NodeJS.ReadableStream
}

/**
 * One command, in a module of its own under commands/ (the default export), which the table
 * (commands/index.ts) loads only when the command runs or its help is asked for.
 */
export interface CommandModule {
  /** The name typed on the command line; the table's key for the module. */
  readonly name: string
  /** What follows the command's name on its usage line: its arguments and main options. */
  readonly synopsis: string
  /** Fewest and most arguments after the command's name. */
  readonly positionals: readonly [min: number, max: number]
  /** What it does, in lines of the overview's second column. */
  readonly summary: readonly string[]
  /** More for the command's own help: output formats, exit statuses. */
  readonly details?: readonly string[]
  /** Each option the command takes, with what it does there; the parser refuses any other. */
  readonly options: Readonly<Partial<Record<CommandOptionName, string>>>
  /** One command line as a user would type it. */
  readonly example: string
  /**
   * The command's own rules for its arguments, past their count and its options (which the parser checks).
   * @throws VSTORE_USAGE
   */
  readonly check?: (command: Command) => void
  /** Runs the command on a command line the parser accepted for it; returns the exit status. */
  run(command: Command, context: CommandContext): Promise<number>
}
