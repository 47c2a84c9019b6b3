#!/usr/bin/env node
import { runCli } from '../../runtime/cli/run-cli.ts'
import { describeNodeCliError } from '../cli/node-cli-errors.ts'
/** Entry point of the `clawmesh` CLI. */
import { buildProgram } from '../cli/program.ts'

await runCli(buildProgram(), process.argv, describeNodeCliError)
