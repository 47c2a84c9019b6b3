/**
 * The MCP server's own key and certificate (`identity/mcp.json`, `identity/mcp-operator-certificate.json`
 * in the state dir): never the person's CLI key. The server refuses to start with a certificate
 * that could approve: an AI agent must not hold a person's powers, whatever the nodes would check.
 */
import {
  AI_OPERATOR_ROLE,
  type OperatorCertificate,
  operatorCertificateSchema,
} from '../../protocol/safety/index.ts'
import { CliUsageError } from '../../runtime/cli/errors.ts'
import { loadOrCreateIdentity } from '../../runtime/identity/device-identity.ts'
import { readJsonFile } from '../../runtime/state/atomic-file.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'

export interface McpIdentity {
  readonly keyPath: string
  readonly certificatePath: string
  readonly deviceId: string
  readonly certificate: OperatorCertificate | undefined
}

export async function loadMcpIdentity(stateDir: string): Promise<McpIdentity> {
  const paths = statePaths(stateDir)
  const key = await loadOrCreateIdentity(paths.mcpIdentity)
  const certificate = await readJsonFile(
    paths.mcpCertificate,
    operatorCertificateSchema,
    'MCP operator certificate',
  )
  return {
    keyPath: paths.mcpIdentity,
    certificatePath: paths.mcpCertificate,
    deviceId: key.deviceId,
    certificate,
  }
}

/** Why this certificate must not serve an AI agent, or undefined when it is a plain ai-operator one. */
export function mcpCertificateProblem(identity: McpIdentity): string | undefined {
  const { certificate } = identity
  if (certificate === undefined) return undefined
  if (certificate.body.operatorId !== identity.deviceId)
    return `${identity.certificatePath} is for ${certificate.body.operatorId}, not this MCP key ${identity.deviceId}`
  const roles = certificate.body.roles
  if (roles.length !== 1 || roles[0] !== AI_OPERATOR_ROLE)
    return `${identity.certificatePath} carries roles ${roles.join(', ')}: the MCP server runs only with an ai-operator certificate`
  return undefined
}

export function assertUsableMcpIdentity(identity: McpIdentity): void {
  const problem = mcpCertificateProblem(identity)
  if (problem !== undefined) throw new CliUsageError(problem)
}
