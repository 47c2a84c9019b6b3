#!/usr/bin/env node
/**
 * Entry point of the `clawmesh` CLI: a composition root. It loads only the module of the command
 * being run (node/cli/command-index.ts), installs native crypto only when a command will run, and
 * loads its error classes only on failure: `clawmesh --help` must not pay for libp2p (issue #22).
 */
import { runCli } from '../../runtime/cli/run-cli.ts'
import { buildProgram, commandWord } from '../cli/program.ts'

const program = await buildProgram(process.argv)
if (commandWord(process.argv) !== undefined)
  (await import('../../runtime/libp2p/native-crypto.ts')).installNativeCrypto()
await runCli(program, process.argv, async (error) =>
  (await import('../cli/node-cli-errors.ts')).describeNodeCliError(error),
)
