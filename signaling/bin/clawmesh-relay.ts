#!/usr/bin/env node
/** Entry point of `clawmesh-relay`, the members-only signaling relay. */
import { runCli } from '../../runtime/cli/run-cli.ts'
import { buildRelayProgram } from '../cli.ts'

await runCli(buildRelayProgram(), process.argv)
