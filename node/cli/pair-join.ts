/**
 * Joining a command center with the one-time code it showed (`clawmesh pair join`, `clawmesh init
 * --join`): proves the code over a Noise-secured stream with this device's key (or this CLI's
 * operator key), then trusts the command center, records its mesh for this CLI and keeps an
 * operator certificate when one is issued.
 */
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { DEFAULT_MESH_NAME, formatAgentVersion, PROTOCOL_GENERATION } from '../../protocol/mesh.ts'
import { parseNodeUrl } from '../../protocol/node-url.ts'
import { type PairingResponseMessage, requestPairing } from '../../protocol/pairing.ts'
import { operatorCertificateSchema } from '../../protocol/safety/index.ts'
import { DEFAULT_WS_PORT } from '../config.ts'
import { loadOrCreateIdentity } from '../identity/device-identity.ts'
import { writeJsonAtomic } from '../state/atomic-file.ts'
import { statePaths } from '../state/state-dir.ts'
import { TrustStore } from '../trust/trust-store.ts'
import { CLAWMESH_VERSION } from '../version.ts'
import { recordCliMeshName } from './cli-mesh.ts'
import { CliUsageError } from './errors.ts'

export interface JoinRequest {
  readonly stateDir: string
  readonly url: string
  readonly code: string
  /** Join as an operator with this CLI's key; otherwise as this device. */
  readonly operator?: boolean
  /** How the command center should list this device. */
  readonly name?: string
}

export type JoinedCommandCenter = Extract<PairingResponseMessage, { ok: true }>

export async function joinCommandCenter(request: JoinRequest): Promise<JoinedCommandCenter> {
  const paths = statePaths(request.stateDir)
  const key = await loadOrCreateIdentity(request.operator ? paths.cliIdentity : paths.deviceIdentity)
  const libp2p = await createLibp2p({
    privateKey: key.privateKey,
    nodeInfo: {
      name: 'clawmesh-pair',
      version: CLAWMESH_VERSION,
      userAgent: formatAgentVersion({
        meshName: DEFAULT_MESH_NAME,
        generation: PROTOCOL_GENERATION,
        kind: 'cli',
        version: CLAWMESH_VERSION,
      }),
    },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify() },
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
        `${paths.stateDir}/identity/operator-certificate.json`,
        operatorCertificateSchema.parse(answer.certificate),
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
