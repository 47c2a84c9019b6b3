/**
 * The console's libp2p node: WebSockets (WS/WSS to the command center), WebRTC and the
 * circuit-relay transport (the WAN path through the relay), Noise, yamux, identify and gossipsub
 * (subscribed to the context topic for live frames). Its identity is the operator key. The gater
 * lets it dial and keep a connection to one peer only: the command center named by console-config.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { ConsoleConfig } from '../../../protocol/console-config.ts'
import { gossipMessageId } from '../../../protocol/context/batch.ts'
import { type IceServer, rtcConfigurationFor } from '../../../protocol/ice-servers.ts'
import { formatAgentVersion } from '../../../protocol/mesh.ts'

export const CONSOLE_VERSION = '0.1.0'

/** Only the command center and, for the WAN path, the relays and the field nodes console-config
 * lists may be dialled or complete a connection (the field nodes and the relay in turn admit this
 * operator key only because the command center vouched for it). The browser's default gater would refuse private addresses and
 * plain ws://, which is exactly what a field LAN and a loopback test use, so it is replaced here. */
export function commandCenterOnlyGater(config: ConsoleConfig): ConnectionGater {
  const commandCenter = config.commandCenter.deviceId
  const relayIds = new Set(
    config.relays.map((relay) => /\/p2p\/([^/]+)/.exec(relay)?.[1]).filter((id) => id !== undefined),
  )
  const fieldNodeIds = new Set(config.fieldNodes.map((fieldNode) => fieldNode.deviceId))
  const allowedPeer = (id: string) => id === commandCenter || relayIds.has(id) || fieldNodeIds.has(id)
  const dialTarget = (address: Multiaddr) => {
    const text = address.toString()
    const target = /\/p2p\/([^/]+)$/.exec(text)?.[1]
    return target === undefined || allowedPeer(target)
  }
  return {
    denyDialPeer: (peerId) => !allowedPeer(peerId.toString()),
    denyDialMultiaddr: (address) => !dialTarget(address),
    denyInboundConnection: () => true,
    denyInboundEncryptedConnection: () => true,
    denyOutboundEncryptedConnection: (peerId) => !allowedPeer(peerId.toString()),
  }
}

/** `iceServers` is read at every WebRTC dial: console-config carries STUN only, and the TURN servers
 * with their credentials arrive later, over the authenticated link (`console.iceServers`). */
export async function createConsoleNode(
  privateKey: PrivateKey,
  config: ConsoleConfig,
  iceServers: () => readonly IceServer[] = () => config.iceServers,
) {
  return createLibp2p({
    privateKey,
    nodeInfo: {
      name: 'clawmesh-console',
      version: CONSOLE_VERSION,
      userAgent: formatAgentVersion({
        meshName: config.meshName,
        generation: config.generation,
        kind: 'console',
        version: CONSOLE_VERSION,
      }),
    },
    addresses: { listen: [] },
    transports: [
      webSockets(),
      webRTC({ rtcConfiguration: () => rtcConfigurationFor(iceServers()) }),
      circuitRelayTransport(),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: commandCenterOnlyGater(config),
    services: {
      identify: identify(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        globalSignaturePolicy: StrictNoSign,
        msgIdFn: (message) => gossipMessageId(message.data),
      }),
    },
  })
}

export type ConsoleNode = Awaited<ReturnType<typeof createConsoleNode>>
