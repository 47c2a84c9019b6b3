/** How the node's own errors reach a person from `clawmesh` and `clawmesh-node` (see run-cli.ts). */

import type { CliFailure } from '../../runtime/cli/run-cli.ts'
import { NodeConfigError } from '../config.ts'
import { TlsMaterialError } from '../tls/tls-material.ts'

export function describeNodeCliError(error: unknown): CliFailure | undefined {
  if (error instanceof NodeConfigError) return { line: `error: ${error.message}`, exitCode: 2 }
  if (error instanceof TlsMaterialError)
    return { line: `error: ${error.code}: ${error.message}`, exitCode: 1 }
  return undefined
}
