/**
 * Joining a command center with the one-time code it showed (`clawmesh pair join`, `clawmesh init
 * --join`): proves the code over a Noise-secured stream with this device's key (or this CLI's
 * operator key), then trusts the command center, records its mesh for this CLI and keeps an
 * operator certificate when one is issued.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_MESH_NAME, PROTOCOL_GENERATION } from '../../protocol/mesh.ts'
import { parseNodeUrl } from '../../protocol/node-url.ts'
import { type PairingResponseMessage, requestPairing } from '../../protocol/pairing.ts'
import { CliUsageError } from '../../runtime/cli/errors.ts'
import { loadOrCreateIdentity } from '../../runtime/identity/device-identity.ts'
import { buildLibp2p, DIAL_ANY_ADDRESS } from '../../runtime/libp2p/build-libp2p.ts'
import { writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import { TrustStore } from '../../runtime/trust/trust-store.ts'
import { DEFAULT_WS_PORT } from '../ws-port.ts'
import { recordCliMeshName } from './cli-mesh.ts'

export interface JoinRequest {
  readonly stateDir: string
  readonly url: string
  readonly code: string
  /** Join as an operator with this CLI's key; otherwise as this device. */
  readonly operator?: boolean
  /** How the command center should list this device. */
  readonly name?: string
  /** With `operator`: the key to join with and where its certificate goes, instead of the CLI's
   * (`clawmesh mcp pair` joins with the MCP server's own key). */
  readonly operatorFiles?: { readonly key: string; readonly certificate: string }
}

export type JoinedCommandCenter = Extract<PairingResponseMessage, { ok: true }>

export async function joinCommandCenter(request: JoinRequest): Promise<JoinedCommandCenter> {
  const paths = statePaths(request.stateDir)
  const key = await loadOrCreateIdentity(
    request.operator ? (request.operatorFiles?.key ?? paths.cliIdentity) : paths.deviceIdentity,
  )
  const libp2p = await buildLibp2p({
    privateKey: key.privateKey,
    agent: {
      name: 'clawmesh-pair',
      kind: 'cli',
      mesh: { meshName: DEFAULT_MESH_NAME, generation: PROTOCOL_GENERATION },
    },
    gater: DIAL_ANY_ADDRESS,
  })
  try {
    const answer = await requestPairing(
      libp2p,
      multiaddr(parseNodeUrl(request.url, DEFAULT_WS_PORT).multiaddr),
      PROTOCOL_GENERATION,
      { code: request.code, ...(request.name === undefined ? {} : { name: request.name }) },
    )
    if (!answer.ok) throw new CliUsageError(`pairing refused (${answer.reason}): ${answer.message}`)
    const trust = await TrustStore.open(paths.trustedPeers)
    await trust.add(answer.commandCenterId, answer.commandCenterName)
    // From now on this CLI announces the command center's mesh, which it must to be served.
    await recordCliMeshName(paths.stateDir, answer.meshName)
    if (answer.certificate !== undefined) {
      await writeJsonAtomic(
        request.operatorFiles?.certificate ?? `${paths.stateDir}/identity/operator-certificate.json`,
        answer.certificate,
      )
    }
    return answer
  } catch (error) {
    if (error instanceof CliUsageError) throw error
    throw new Error(
      `could not reach the pairing service at ${request.url}: ${(error as Error).message}. Is a pairing window open?`,
      { cause: error },
    )
  } finally {
    await libp2p.stop()
  }
}
