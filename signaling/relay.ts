/**
 * The composition root of `clawmesh-relay`: a circuit-relay-v2 server for members only. Trusted nodes
 * behind NAT hold a reservation here; a trusted peer dials another through it to exchange WebRTC
 * SDP/ICE, then the two talk over a direct WebRTC connection. Everything the relay forwards is already
 * Noise-encrypted between the two nodes, so it never sees frames in clear.
 *
 * Trust is enforced three times: the connection gater refuses any untrusted key after the Noise
 * handshake, `denyInboundRelayReservation` refuses reservations from untrusted peers, and
 * `denyOutboundRelayedConnection` requires both ends of a relayed connection to be trusted (which
 * still holds if trust is removed while a reservation is live).
 */
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { circuitRelayServer, RELAY_V2_STOP_CODEC } from '@libp2p/circuit-relay-v2'
import type { Libp2p } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import {
  checkMeshCompatibility,
  type MeshIdentity,
  PROTOCOL_GENERATION,
  parseAgentVersion,
  rpcProtocolId,
} from '../protocol/mesh.ts'
import { Counters } from '../runtime/counters.ts'
import { type DeviceIdentity, loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { buildLibp2p } from '../runtime/libp2p/build-libp2p.ts'
import { startRpcServer } from '../runtime/rpc/rpc-server.ts'
import { statePaths } from '../runtime/state/state-dir.ts'
import { createOperatorAdmission } from '../runtime/trust/operator-admission.ts'
import { createRevocationAdmission } from '../runtime/trust/revocation-admission.ts'
import { RevocationStore } from '../runtime/trust/revocations.ts'
import { TrustStore } from '../runtime/trust/trust-store.ts'
import { watchTrustFile } from '../runtime/trust/watch-trust-file.ts'
import { CLAWMESH_VERSION } from '../runtime/version.ts'
import {
  HOP_TIMEOUT_MS,
  INBOUND_CONNECTIONS_PER_HOST_PER_SECOND,
  MAX_CONNECTIONS,
  MAX_INCOMING_PENDING_CONNECTIONS,
  MAX_RESERVATIONS,
  RELAYED_CONNECTION_DATA_LIMIT_BYTES,
  RELAYED_CONNECTION_DURATION_LIMIT_MS,
  RESERVATION_TTL_MS,
} from './constants.ts'
import { createRelayGater, REFUSED_PREFIX, RELAYED_ACCEPTED } from './relay-gater.ts'

export interface RelayTlsFiles {
  certFile: string
  keyFile: string
}

export interface RelayOptions {
  /** Resolved state directory: `identity/device.json` and `mesh/trusted-peers.json` live under it. */
  stateDir: string
  host: string
  /** WebSocket (or WSS with `tls`) port; 0 picks a free port. */
  port: number
  /** Port of the `/healthz` endpoint on the same host; 0 picks a free port. */
  healthPort: number
  tls?: RelayTlsFiles
  meshName: string
  /** Command centers whose operator certificates this relay accepts (`trust.addOperator`), so their
   * consoles may signal WebRTC through it. */
  commandCenters?: readonly string[]
  /** Extra addresses to announce in reservations, e.g. the public address of a relay behind 1:1 NAT. */
  announce?: string[]
  log: (line: string) => void
}

export interface RelayHealth {
  status: 'ok' | 'stopping'
  deviceId: string
  meshName: string
  generation: number
  version: string
  listenAddrs: string[]
  trustedPeers: number
  connections: number
  reservations: number
  relayedConnections: { active: number; total: number }
  /** Refusal counters, e.g. `connection.inbound`, `reservation`, `relayed-connection`, `mesh-mismatch`. */
  refusals: Record<string, number>
  uptimeMs: number
}

export interface RunningRelay {
  readonly deviceId: string
  readonly identity: DeviceIdentity
  readonly trust: TrustStore
  readonly counters: Counters
  listenAddrs(): string[]
  readonly healthUrl: string
  health(): RelayHealth
  stop(): Promise<void>
}

export async function startRelay(options: RelayOptions): Promise<RunningRelay> {
  const { log } = options
  const paths = statePaths(options.stateDir)
  const identity = await loadOrCreateIdentity(paths.deviceIdentity)
  const trust = await TrustStore.open(paths.trustedPeers)
  const mesh: MeshIdentity = { meshName: options.meshName, generation: PROTOCOL_GENERATION }
  const counters = new Counters()
  const startedAt = Date.now()
  let stopping = false

  const refuse = (counter: string, line: string) => {
    counters.increment(`${REFUSED_PREFIX}${counter}`)
    log(line)
  }
  const gater = createRelayGater({
    isTrusted: (deviceId) => trust.has(deviceId),
    isOperator: (deviceId) => trust.get(deviceId)?.kind === 'operator',
    counters,
    log,
  })

  const secure = options.tls !== undefined
  const wsInit =
    options.tls === undefined
      ? {}
      : {
          https: {
            cert: await readFile(options.tls.certFile),
            key: await readFile(options.tls.keyFile),
          },
        }
  const ipFamily = options.host.includes(':') ? 'ip6' : 'ip4'
  const listen = `/${ipFamily}/${options.host}/tcp/${options.port}/${secure ? 'tls/ws' : 'ws'}`

  const libp2p = await buildLibp2p({
    privateKey: identity.privateKey,
    agent: { name: 'clawmesh-relay', kind: 'relay', mesh },
    listen: [listen],
    announce: options.announce ?? [],
    // The same tuned parts as mesh nodes (runtime/libp2p/tuned-stack.ts): a relayed message is one
    // read and one write per connection instead of several.
    webSockets: wsInit,
    gater,
    connectionManager: {
      maxConnections: MAX_CONNECTIONS,
      maxIncomingPendingConnections: MAX_INCOMING_PENDING_CONNECTIONS,
      inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_HOST_PER_SECOND,
    },
    services: {
      ping: ping(),
      relay: circuitRelayServer({
        hopTimeout: HOP_TIMEOUT_MS,
        reservations: {
          maxReservations: MAX_RESERVATIONS,
          reservationTtl: RESERVATION_TTL_MS,
          applyDefaultLimit: true,
          defaultDataLimit: RELAYED_CONNECTION_DATA_LIMIT_BYTES,
          defaultDurationLimit: RELAYED_CONNECTION_DURATION_LIMIT_MS,
        },
      }),
    },
  })

  // The relay answers two RPCs, both from a trusted command center: an operator certificate to
  // admit, and an operator revocation to keep (and to refuse that operator's certificates from then).
  const commandCenters = new Set(options.commandCenters ?? [])
  const revocations = await RevocationStore.open(options.stateDir)
  const admitOperator = createOperatorAdmission({
    trust,
    isCommandCenter: (deviceId) => commandCenters.has(deviceId),
    isRevoked: revocations.isRevoked,
    counters,
    report: (report) => {
      if (report.outcome === 'accept') {
        const { body } = report.certificate
        log(
          `operator ${body.displayName} (${body.operatorId}) trusted until ${new Date(body.expiresAt).toISOString()}, vouched for by ${report.callerId}`,
        )
        return
      }
      counters.increment(`${REFUSED_PREFIX}operator.${report.reason}`)
      log(`operator certificate from ${report.callerId} refused (${report.reason}): ${report.detail}`)
    },
  })
  const admitRevocation = createRevocationAdmission({
    store: revocations,
    trust,
    isCommandCenter: (deviceId) => commandCenters.has(deviceId),
    disconnect: async (deviceId) => {
      for (const connection of libp2p.getConnections()) {
        if (connection.remotePeer.toString() === deviceId) await connection.close().catch(() => {})
      }
    },
    counters,
    report: (report) => {
      if (report.outcome === 'accept') {
        const { body } = report.revocation
        log(`operator ${body.operatorId} revoked by ${body.issuerId} (${body.reason})`)
        return
      }
      counters.increment(`${REFUSED_PREFIX}revocation.${report.reason}`)
      log(`operator revocation from ${report.callerId} refused (${report.reason}): ${report.detail}`)
    },
  })
  const stopRpc = await startRpcServer({
    libp2p: libp2p as unknown as Libp2p,
    protocol: rpcProtocolId(mesh.generation),
    handlers: {
      'trust.addOperator': (params, call) => admitOperator(call.callerId, params.certificate),
      'trust.revokeOperator': (params, call) => admitRevocation(call.callerId, params.revocation),
    },
    counters,
    authorize: async (callerId) => (trust.has(callerId) ? 'peer' : undefined),
  })

  libp2p.services.relay.addEventListener('relay:reservation', (event) => {
    counters.increment('reservations.accepted')
    log(`reservation granted to ${event.detail.addr}`)
  })

  // A trusted key from another mesh or protocol generation is still not ours to serve.
  libp2p.addEventListener('peer:identify', (event) => {
    const { agentVersion, connection, peerId } = event.detail
    const verdict = checkMeshCompatibility(mesh, parseAgentVersion(agentVersion))
    if (verdict.verdict === 'accept') return
    refuse(verdict.reason, `refused ${peerId}: ${verdict.detail}`)
    void connection.close().catch(() => {})
  })

  const trustWatcher = await watchTrustFile(paths.trustedPeers, async () => {
    try {
      await trust.reload()
      log(`trust store reloaded (${trust.size} peers)`)
      for (const connection of libp2p.getConnections()) {
        if (trust.has(connection.remotePeer.toString())) continue
        log(`trust for ${connection.remotePeer} was removed: closing its connections`)
        await connection.close().catch(() => {})
      }
    } catch (error) {
      counters.increment('trust.reload.failed')
      log(`${(error as Error).message} — keeping the previous trust list in force`)
    }
  })

  // Each live relayed connection is one outbound STOP stream from the relay to its destination.
  const activeRelayedConnections = () =>
    libp2p
      .getConnections()
      .flatMap((connection) => connection.streams)
      .filter((stream) => stream.protocol === RELAY_V2_STOP_CODEC && stream.direction === 'outbound').length

  const listenAddrs = () => libp2p.getMultiaddrs().map((address) => address.toString())

  const health = (): RelayHealth => {
    const snapshot = counters.snapshot()
    const refusals = Object.fromEntries(
      Object.entries(snapshot)
        .filter(([name]) => name.startsWith(REFUSED_PREFIX))
        .map(([name, value]) => [name.slice(REFUSED_PREFIX.length), value]),
    )
    return {
      status: stopping ? 'stopping' : 'ok',
      deviceId: identity.deviceId,
      meshName: mesh.meshName,
      generation: mesh.generation,
      version: CLAWMESH_VERSION,
      listenAddrs: listenAddrs(),
      trustedPeers: trust.size,
      connections: libp2p.getConnections().length,
      reservations: libp2p.services.relay.reservations.size,
      relayedConnections: {
        active: activeRelayedConnections(),
        total: snapshot[RELAYED_ACCEPTED] ?? 0,
      },
      refusals,
      uptimeMs: Date.now() - startedAt,
    }
  }

  let healthServer: Server
  try {
    healthServer = await startHealthServer(options.host, options.healthPort, health)
  } catch (error) {
    trustWatcher.close()
    await libp2p.stop()
    throw error
  }
  const healthAddress = healthServer.address() as AddressInfo
  const healthHost = ipFamily === 'ip6' ? `[${options.host}]` : options.host
  const healthUrl = `http://${healthHost === '0.0.0.0' ? '127.0.0.1' : healthHost}:${healthAddress.port}/healthz`

  return {
    deviceId: identity.deviceId,
    identity,
    trust,
    counters,
    listenAddrs,
    healthUrl,
    health,
    async stop() {
      if (stopping) return
      stopping = true
      trustWatcher.close()
      await stopRpc().catch(() => {})
      healthServer.closeAllConnections()
      await Promise.all([
        new Promise<void>((resolveClose) => healthServer.close(() => resolveClose())),
        libp2p.stop(),
      ])
    },
  }
}

/** `GET /healthz` answers the relay's health as JSON; everything else is 404/405. */
function startHealthServer(host: string, port: number, health: () => RelayHealth): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://relay').pathname
    if (path !== '/healthz') {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}\n')
      return
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' })
      response.end('{"error":"method not allowed"}\n')
      return
    }
    const body = `${JSON.stringify(health())}\n`
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    response.end(request.method === 'HEAD' ? undefined : body)
  })
  // Health checks are single short requests: don't let an idle client hold a socket.
  server.keepAliveTimeout = 1000
  server.requestTimeout = 5000
  return new Promise((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolveListen(server)
    })
  })
}
