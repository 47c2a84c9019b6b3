#!/usr/bin/env node
/** Entry point of `clawmesh-node --config node.json`: the same node as `clawmesh start`, configured from a file. */
import { Command } from 'commander'
import { runCli } from '../../runtime/cli/run-cli.ts'
import { installNativeCrypto } from '../../runtime/libp2p/native-crypto.ts'
import { CLAWMESH_VERSION } from '../../runtime/version.ts'
import { runNodeUntilSignalled } from '../cli/commands/start.ts'
import { describeNodeCliError } from '../cli/node-cli-errors.ts'
import { loadNodeConfigFile } from '../config.ts'

const program = new Command('clawmesh-node')
  .description('run a ClawMesh node from a configuration file')
  .version(CLAWMESH_VERSION)
  .option('--config <file>', 'node configuration (JSON)', 'node.json')
  .option('--state-dir <dir>', 'state directory (overrides the file and $CLAWMESH_STATE_DIR)')
  .action(async (options: { config: string; stateDir?: string }) => {
    const config = await loadNodeConfigFile(options.config)
    await runNodeUntilSignalled(
      options.stateDir === undefined ? config : { ...config, stateDir: options.stateDir },
    )
  })

installNativeCrypto()
await runCli(program, process.argv, describeNodeCliError)
