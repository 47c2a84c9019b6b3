/** Runs a commander program and turns known errors into one clear line and an exit code. */
import type { Command } from 'commander'
import { ClawMeshError } from '../../protocol/errors.ts'
import { NodeConfigError } from '../config.ts'
import { StateFileError } from '../state/atomic-file.ts'
import { TlsMaterialError } from '../tls/tls-material.ts'
import { CliUsageError } from './errors.ts'

export async function runCli(program: Command, argv: string[]): Promise<void> {
  overrideExits(program)
  try {
    await program.parseAsync(argv)
  } catch (error) {
    const name = (error as Error).name
    if (name === 'CommanderError') {
      // Help and version end with 0; every other commander error (an unknown option, a missing or
      // excess argument) is a usage error: 2, as docs/cli.md says. Commander itself uses 1.
      process.exit((error as { exitCode?: number }).exitCode === 0 ? 0 : 2)
    }
    if (error instanceof CliUsageError || error instanceof NodeConfigError) {
      console.error(`error: ${error.message}`)
      process.exit(2)
    }
    if (error instanceof TlsMaterialError) {
      console.error(`error: ${error.code}: ${error.message}`)
      process.exit(1)
    }
    if (error instanceof StateFileError || error instanceof ClawMeshError) {
      console.error(`error: ${error instanceof ClawMeshError ? `${error.code}: ` : ''}${error.message}`)
      process.exit(1)
    }
    console.error(`error: ${(error as Error).message ?? String(error)}`)
    process.exit(1)
  }
}

/** Commander exits by itself unless told otherwise, and subcommands copy the setting only when they
 * are created: set it on every command so each error comes back here. */
function overrideExits(command: Command): void {
  command.exitOverride()
  for (const sub of command.commands) overrideExits(sub)
}
