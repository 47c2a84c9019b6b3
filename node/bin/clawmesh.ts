#!/usr/bin/env node
/** Entry point of the `clawmesh` CLI: a composition root, so it installs native crypto first. */
import { runCli } from '../../runtime/cli/run-cli.ts'
import { installNativeCrypto } from '../../runtime/libp2p/native-crypto.ts'
import { describeNodeCliError } from '../cli/node-cli-errors.ts'
import { buildProgram } from '../cli/program.ts'

installNativeCrypto()
await runCli(buildProgram(), process.argv, describeNodeCliError)
