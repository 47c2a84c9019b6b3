#!/usr/bin/env node
import { describeNodeCliError } from '../cli/node-cli-errors.ts'
/** Entry point of the `clawmesh` CLI. */
import { buildProgram } from '../cli/program.ts'
import { runCli } from '../cli/run-cli.ts'

await runCli(buildProgram(), process.argv, describeNodeCliError)
