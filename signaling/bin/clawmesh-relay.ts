#!/usr/bin/env node
/** Entry point of `clawmesh-relay`, the members-only signaling relay. */
import { runCli } from '../../node/cli/run-cli.ts'
import { buildRelayProgram } from '../cli.ts'

await runCli(buildRelayProgram(), process.argv)
