/**
 * Runs a commander program and turns known errors into one clear line and an exit code. Shared by
 * every bin (`clawmesh`, `clawmesh-node`, `clawmesh-relay`); a process names its own error classes
 * with a DescribeCliError (node/cli/node-cli-errors.ts for the node's).
 */
import type { Command } from 'commander'
import { CliUsageError } from './errors.ts'

/** What a person sees for an error, and the exit code: 2 for a usage error, 1 for the rest. */
export interface CliFailure {
  readonly line: string
  readonly exitCode: number
}

/** Describes the errors one process knows beyond the shared ones; undefined for any other. May be
 * async, so a bin loads its error classes only when something failed. */
export type DescribeCliError = (error: unknown) => CliFailure | undefined | Promise<CliFailure | undefined>

export async function runCli(
  program: Command,
  argv: string[],
  describe: DescribeCliError = () => undefined,
): Promise<void> {
  overrideExits(program)
  try {
    await program.parseAsync(argv)
  } catch (error) {
    // commander has already printed its own message. Help and version end with 0; every other
    // commander error (an unknown option, a missing or excess argument) is a usage error: 2, as
    // docs/cli.md says. Commander itself uses 1.
    if ((error as Error).name === 'CommanderError')
      process.exit((error as { exitCode?: number }).exitCode === 0 ? 0 : 2)
    const failure = (await describe(error)) ?? (await describeSharedError(error))
    console.error(failure.line)
    process.exit(failure.exitCode)
  }
}

/** The shared error classes are loaded only when something failed: protocol/errors.ts brings zod
 * (~180 KB to parse), which `clawmesh --help` and every command that succeeds without it would load
 * for nothing (issue #22). */
export async function describeSharedError(error: unknown): Promise<CliFailure> {
  if (error instanceof CliUsageError) return { line: `error: ${error.message}`, exitCode: 2 }
  const [{ ClawMeshError }, { StateFileError }] = await Promise.all([
    import('../../protocol/errors.ts'),
    import('../state/atomic-file.ts'),
  ])
  if (error instanceof ClawMeshError) return { line: `error: ${error.code}: ${error.message}`, exitCode: 1 }
  if (error instanceof StateFileError) return { line: `error: ${error.message}`, exitCode: 1 }
  return { line: `error: ${(error as Error).message ?? String(error)}`, exitCode: 1 }
}

/** Commander exits by itself unless told otherwise, and subcommands copy the setting only when they
 * are created: set it on every command so each error comes back here. */
function overrideExits(command: Command): void {
  command.exitOverride()
  for (const sub of command.commands) overrideExits(sub)
}
