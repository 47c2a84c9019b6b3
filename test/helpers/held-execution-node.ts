#!/usr/bin/env node
/**
 * Test-only entry: `node test/helpers/held-execution-node.ts <holdMs> start <clawmesh start flags>`
 * runs the same node as `clawmesh start`, in-process, with a `beforeDeviceWrite` hook that holds
 * every execution `holdMs` after the ledger's `started` record is durable and before the device is
 * touched. Crash tests kill the actuator or the command center meanwhile: a real device write takes
 * time, the mock one does not, so the hold stands in for it. Production entries (node/bin) have no
 * way to set this hook.
 */
import { Command } from 'commander'
import { registerStartCommand } from '../../node/cli/commands/start.ts'
import { describeNodeCliError } from '../../node/cli/node-cli-errors.ts'
import { runCli } from '../../runtime/cli/run-cli.ts'

/** A hold never outlasts the command center's wait for the actuator. */
const HOLD_EXECUTION_MAX_MS = 10_000

const [holdArg, ...rest] = process.argv.slice(2)
const holdMs = Math.min(Number(holdArg), HOLD_EXECUTION_MAX_MS)
if (!(holdMs > 0)) throw new Error(`usage: held-execution-node.ts <holdMs> start …; got hold "${holdArg}"`)

const program = new Command('clawmesh-held-execution-node')
  .option('--state-dir <dir>', 'state directory (default $CLAWMESH_STATE_DIR)')
  .enablePositionalOptions()
registerStartCommand(program, {
  beforeDeviceWrite: async (proposalId) => {
    console.log(
      `test hook: holding execution of ${proposalId} for ${holdMs} ms (started, device not yet touched)`,
    )
    await new Promise((resolve) => setTimeout(resolve, holdMs))
  },
})
await runCli(program, [process.argv[0] as string, process.argv[1] as string, ...rest], describeNodeCliError)
