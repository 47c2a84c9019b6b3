/** Runs a commander program and turns known errors into one clear line and an exit code. */
import type { Command } from 'commander'
import { ClawMeshError } from '../../protocol/errors.ts'
import { NodeConfigError } from '../config.ts'
import { StateFileError } from '../state/atomic-file.ts'
import { TlsMaterialError } from '../tls/tls-material.ts'
import { CliUsageError } from './errors.ts'

export async function runCli(program: Command, argv: string[]): Promise<void> {
  program.exitOverride()
  try {
    await program.parseAsync(argv)
  } catch (error) {
    const name = (error as Error).name
    if (name === 'CommanderError') process.exit((error as { exitCode?: number }).exitCode ?? 2)
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
