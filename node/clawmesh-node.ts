/**
 * The composition root of a ClawMesh node: loads identity and trust, builds libp2p, wires
 * membership, the RPC server and gossip, and owns start/stop. Everything a node is made of is
 * assembled here and nowhere else.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { checkFrameAuthority } from '../protocol/context/frame-authority.ts'
import type { FrameFields, LocalFrameFields } from '../protocol/context/index.ts'
import { EVENT_RING_SIZE } from '../protocol/limits.ts'
import { checkStaticPeerPolicy, describeLinkPosture, transportOf } from '../protocol/link-posture.ts'
import { leaveProtocolId, type MeshIdentity, PROTOCOL_GENERATION, rpcProtocolId } from '../protocol/mesh.ts'
import { fitFramesToAnswer } from '../protocol/rpc/answer-budget.ts'
import { type CallerRecord, decideMethodAccess } from '../protocol/rpc/caller-access.ts'
import type { MeshInspect, MeshStatus, PeerEntry } from '../protocol/rpc/methods.ts'
import type { OperatorLink } from '../protocol/safety/approval.ts'
import { signerFromPrivateKey } from '../protocol/signing.ts'
import { parseStaticPeer } from '../protocol/static-peer.ts'
import { DEFAULT_WS_PORT, type NodeConfig } from './config.ts'
import { consoleIceServersHandler } from './console/console-ice-servers.ts'
import type { ConsoleServer } from './console/console-server.ts'
import { serveConsoleIfCommandCenter } from './console/serve-console.ts'
import { CapabilityRouter } from './context/capability-router.ts'
import { WORLD_SNAPSHOT_INTERVAL_MS } from './context/constants.ts'
import { ContextService, type PublishOptions } from './context/context-service.ts'
import { FieldDevices } from './devices/field-devices.ts'
import { EventLoopLagMonitor } from './health/event-loop-lag.ts'
import { assessHealth, RECENT_REFUSAL_WINDOW_MS } from './health/health.ts'
import { type DeviceIdentity, loadOrCreateIdentity } from './identity/device-identity.ts'
import { createNodeLibp2p, type NodeLibp2p, refreshGossipStanding } from './libp2p/create-node-libp2p.ts'
import { Counters } from './mesh/counters.ts'
import { EventRing } from './mesh/event-ring.ts'
import { type GossipStanding, Membership } from './mesh/membership.ts'
import { StaticPeerDialer } from './mesh/static-peer-dialer.ts'
import { createTrustGater } from './mesh/trust-gater.ts'
import type { PlannerBackend } from './planner/backend.ts'
import { BuiltinPlanner } from './planner/builtin-planner.ts'
import { PLANNER_FORWARD_TIMEOUT_MS } from './planner/constants.ts'
import { createPlannerElection, type PlannerElection } from './planner/election.ts'
import { createLeaderForwarder } from './planner/forward-to-leader.ts'
import { createMeshTools } from './planner/mesh-tools.ts'
import { PlannerRuntime, runsPlanner } from './planner/planner-runtime.ts'
import { selectPlannerBackend } from './planner/select-backend.ts'
import { callRpc } from './rpc/rpc-client.ts'
import { type CallerAccess, type RpcHandlers, startRpcServer } from './rpc/rpc-server.ts'
import { openEvidenceCheckpoints } from './safety/evidence-checkpoints.ts'
import { PairingWindow } from './safety/pairing.ts'
import { startPairingService } from './safety/pairing-service.ts'
import {
  type ApprovalArrival,
  DEFAULT_OPERATOR_CERT_TTL_MS,
  observedLinkOf,
  type ProposalAuthorRecord,
  SafetyRuntime,
  toWire,
} from './safety/safety-runtime.ts'
import { SiteBindings } from './site/site-bindings.ts'
import { loadSiteFile, type SiteModel } from './site/site-model.ts'
import { resolveStateDir, type StatePaths, statePaths } from './state/state-dir.ts'
import { resolveNodeTls } from './tls/node-tls.ts'
import { createOperatorAdmission } from './trust/operator-admission.ts'
import { openOperatorDistribution } from './trust/operator-distribution.ts'
import { createOperatorRenewal } from './trust/operator-renewal.ts'
import {
  createRevocationAdmission,
  disconnectPeer,
  openRevocationDistribution,
  removeOperatorEntry,
} from './trust/revocation-distribution.ts'
import { RevocationStore, revocationsPath } from './trust/revocations.ts'
import { TrustStore } from './trust/trust-store.ts'
import { watchTrustFile } from './trust/watch-trust-file.ts'
import { CLAWMESH_VERSION } from './version.ts'
import { WorldModel } from './world/world-model.ts'
import { WorldSnapshotStore } from './world/world-snapshot-store.ts'

/** A pairing code is typed within minutes of being shown; five keeps the window short. */
const DEFAULT_PAIRING_TTL_MS = 5 * 60_000

/** How long a stopping node waits for each member to take its leave announcement. */
const LEAVE_ANNOUNCE_TIMEOUT_MS = 1_000

export interface ClawMeshNode {
  readonly deviceId: string
  readonly config: NodeConfig
  readonly mesh: MeshIdentity
  readonly libp2p: NodeLibp2p
  readonly paths: StatePaths
  readonly events: EventRing
  readonly counters: Counters
  readonly trust: TrustStore
  readonly membership: Membership
  readonly world: WorldModel
  readonly context: ContextService
  readonly router: CapabilityRouter
  readonly site: SiteModel | undefined
  readonly devices: FieldDevices | undefined
  readonly safety: SafetyRuntime
  /** The HTTPS console server (command centers with TLS), see docs/console-serving.md. */
  readonly console: ConsoleServer | undefined
  readonly planner: PlannerRuntime
  /** The planner election: this node's LeaderView (every node follows the leader term). */
  readonly election: PlannerElection
  /** Publishes a frame of this node (origin, mesh and generation filled in). */
  publish(fields: LocalFrameFields, options?: PublishOptions): Promise<unknown>
  listenAddrs(): string[]
  status(): MeshStatus
  stop(): Promise<void>
}

export interface StartNodeOptions {
  log?: (line: string) => void
  /** Replaces the configured planner backend on planner roles. For tests and benchmarks that run a
   * backend living in their own process (pi-ai's faux provider); configuration never sets it. */
  plannerBackend?: PlannerBackend
  /** Awaited between an execution's ledger `started` record and the device write. Only crash tests
   * pass it (test/helpers/held-execution-node.ts); configuration never sets it. */
  beforeDeviceWrite?: (proposalId: string) => Promise<void>
}

export async function startClawMeshNode(
  config: NodeConfig,
  options: StartNodeOptions = {},
): Promise<ClawMeshNode> {
  const log = options.log ?? ((line: string) => console.log(`[clawmesh ${config.name}] ${line}`))
  const paths = statePaths(resolveStateDir(config.stateDir))
  const configuredPeers = config.peers.map((spec) => parseStaticPeer(spec, DEFAULT_WS_PORT))
  const staticPeers = configuredPeers.filter((peer) => {
    const verdict = checkStaticPeerPolicy(peer, config.wanPolicy)
    if (verdict.verdict !== 'accept') log(verdict.diagnostic)
    return verdict.verdict !== 'refuse'
  })
  const discoveredPeers = new Set<string>()
  const staticPeerById = new Map(staticPeers.map((peer) => [peer.deviceId, peer]))
  const identity: DeviceIdentity = await loadOrCreateIdentity(paths.deviceIdentity)
  // The CLI key of this state dir is the node's local admin: created here so the node knows it
  // before the first `clawmesh status` runs.
  const localAdmin = await loadOrCreateIdentity(paths.cliIdentity)
  const trust = await TrustStore.open(paths.trustedPeers)
  const revocations = await RevocationStore.open(paths.stateDir)
  const tls = await resolveNodeTls(config.tls, paths.stateDir, log)
  const site = config.site === undefined ? undefined : await loadSiteFile(config.site)
  // An operator key is trusted to connect, never as the origin of a context frame.
  const isTrustedOrigin = (origin: string) =>
    origin === identity.deviceId || (trust.has(origin) && trust.get(origin)?.kind !== 'operator')
  const bindings = new SiteBindings({ site, trust, self: { deviceId: identity.deviceId, name: config.name } })
  const snapshots = new WorldSnapshotStore({ stateDir: paths.stateDir })
  const restored = await snapshots.load()
  const world = restored.loaded ? restored.model : new WorldModel()
  if (restored.loaded)
    log(`restored ${restored.restored} frames from the world-model snapshot (${restored.skipped} skipped)`)
  else if (restored.reason !== 'missing') log(`world-model snapshot not restored: ${restored.detail}`)
  const mesh: MeshIdentity = { meshName: config.meshName, generation: PROTOCOL_GENERATION }
  const counters = new Counters()
  const events = new EventRing(EVENT_RING_SIZE)
  const refusalTimes: number[] = []
  const noteRefusal = () => {
    const now = Date.now()
    refusalTimes.push(now)
    while (refusalTimes.length > 0 && (refusalTimes[0] as number) < now - RECENT_REFUSAL_WINDOW_MS)
      refusalTimes.shift()
  }

  const pairing = new PairingWindow({ counters })
  const isKnown = (deviceId: string) => deviceId === localAdmin.deviceId || trust.has(deviceId)
  const gater = createTrustGater({
    // An open pairing window admits unknown keys to the pairing protocol only (see pairing-service.ts).
    isAllowed: (deviceId) => isKnown(deviceId) || pairing.isOpen(),
    onRefused: (direction, deviceId) => {
      counters.increment(`connections.refused.untrusted.${direction}`)
      if (trust.isExpired(deviceId)) counters.increment('connections.refused.operator-expired')
      noteRefusal()
      events.push({
        level: 'warn',
        type: 'peer.refused.untrusted',
        message: `${direction} connection from untrusted ${deviceId} refused`,
        peer: deviceId,
      })
      log(`refused ${direction} connection: ${deviceId} is not in ${paths.trustedPeers}`)
    },
  })

  const relayListen =
    config.relays.length > 0 ? [...config.relays.map((relay) => `${relay}/p2p-circuit`), '/webrtc'] : []
  const listen = [`/ip4/${config.host}/tcp/${config.port}/ws`, ...relayListen, ...config.listen]
  // Membership exists once libp2p does; until then every trusted peer's gossip standing is pending.
  let helloStanding: (deviceId: string) => GossipStanding = () => 'pending'
  // Set once the node is assembled; mDNS may announce peers while libp2p is still starting.
  let lanPeerHandler: (deviceId: string, addresses: Multiaddr[]) => void = () => {}
  const libp2p = await createNodeLibp2p({
    privateKey: identity.privateKey,
    mesh,
    listen,
    gater,
    discovery: config.discovery,
    // No frame before the mesh hello accepts the peer (membership.ts); never to a key not trusted.
    gossipStanding: (deviceId) => (trust.has(deviceId) ? helloStanding(deviceId) : 'refuse'),
    iceServers: config.iceServers,
    onLanPeer: (peer) => lanPeerHandler(peer.id.toString(), peer.multiaddrs),
    ...(tls === undefined ? {} : { wssCertificate: { cert: tls.certPem, key: tls.keyPem } }),
  })
  const rpcProtocol = rpcProtocolId(mesh.generation)
  // Assigned below; a peer's status may arrive (fetchInfo) while the node is still being assembled.
  let election: PlannerElection | undefined
  const membership = new Membership({
    local: mesh,
    libp2p,
    counters,
    events,
    onHelloSettled: (deviceId) => refreshGossipStanding(libp2p, deviceId),
    probe: (deviceId, signal) => libp2p.services.ping.ping(peerIdFromString(deviceId), { signal }),
    fetchInfo: async (deviceId) => {
      const status = await callRpc(libp2p, peerIdFromString(deviceId), rpcProtocol, 'mesh.status', {})
      if (status.leader !== undefined)
        void election?.consider(status.leader.announcement, status.leader.chain)
      const capabilities = status.capabilities.filter(
        (capability) => !bindings.boundElsewhere(capability, deviceId),
      )
      return { name: status.name, role: status.role, capabilities }
    },
    log: (line) => {
      noteRefusal()
      log(line)
    },
  })
  helloStanding = (deviceId) => membership.gossipStanding(deviceId)
  membership.start()
  const staticPeerDialer = new StaticPeerDialer(libp2p, staticPeers, log)
  const signer = signerFromPrivateKey(identity.privateKey)
  const context = new ContextService({
    libp2p,
    mesh,
    signer,
    displayName: config.name,
    world,
    counters,
    events,
    isTrustedOrigin,
    authority: (frame) =>
      checkFrameAuthority(frame, {
        nameOf: (origin) => (origin === identity.deviceId ? config.name : trust.get(origin)?.name),
        bindings,
      }),
    log,
  })
  const router = new CapabilityRouter({
    deviceId: identity.deviceId,
    libp2p,
    generation: mesh.generation,
    membership,
    counters,
  })
  const publish = (fields: LocalFrameFields, options?: PublishOptions) =>
    context.publish(
      {
        ...fields,
        generation: mesh.generation,
        meshName: mesh.meshName,
        originName: config.name,
      } as FrameFields,
      options,
    )
  const devices =
    site !== undefined && (config.mockSensor || config.mockActuator)
      ? new FieldDevices({
          site,
          nodeName: config.name,
          sensors: config.mockSensor,
          actuators: config.mockActuator,
          router,
          publish: (fields) => context.publish(fields),
          meshName: mesh.meshName,
          generation: mesh.generation,
          displayName: config.name,
        })
      : undefined
  const selfIsCommandCenter = config.role === 'planner' || config.role === 'standby-planner'
  const plannerElection = await createPlannerElection({
    deviceId: identity.deviceId,
    role: config.role,
    signer,
    mesh,
    libp2p,
    stateDir: paths.stateDir,
    peers: () => membership.entries(),
    isTrusted: (deviceId) => trust.has(deviceId),
    commandCenters: config.commandCenters,
    trustKindOf: (deviceId) => trust.get(deviceId)?.kind,
    fetchLeaderStatus: async (deviceId) =>
      (await callRpc(libp2p, peerIdFromString(deviceId), rpcProtocol, 'mesh.status', {})).leader,
    events,
    counters,
    log,
  })
  election = plannerElection
  const leaderForwarder = createLeaderForwarder({
    deviceId: identity.deviceId,
    libp2p,
    generation: mesh.generation,
    leaderView: plannerElection,
    isMember: (deviceId) => membership.isMember(deviceId),
    counters,
    log,
  })
  // Approvals for a proposal this planner does not hold go to the leader (one hop), answer relayed.
  const leaderForApproval = (id: string, callerId: string) =>
    selfIsCommandCenter && safety.proposals.get(id) === undefined
      ? leaderForwarder.leaderFor(callerId)
      : undefined
  const safety = await SafetyRuntime.open({
    deviceId: identity.deviceId,
    signer,
    stateDir: paths.stateDir,
    libp2p,
    generation: mesh.generation,
    site,
    bindings,
    mesh,
    isTrustedOrigin,
    world,
    actuators: devices?.actuators,
    isCommandCenter: (id) =>
      config.commandCenters.includes(id) || (selfIsCommandCenter && id === identity.deviceId),
    isRevoked: revocations.isRevoked,
    publish,
    providersOf: (capability) =>
      router.localCapabilities().includes(capability) ? [identity.deviceId] : router.providers(capability),
    leadership: plannerElection,
    beforeDeviceWrite: options.beforeDeviceWrite,
    counters,
    events,
    log,
  })
  const capabilities = [...new Set([...config.capabilities, ...(devices?.capabilities ?? [])])]

  const lag = new EventLoopLagMonitor()
  lag.start()
  const startedAt = Date.now()

  /** What this node's records say a caller is: its certificate on record (issued here), else its
   * trust entry. Never what the caller claims. */
  const callerRecord = (callerId: string): CallerRecord => {
    if (callerId === localAdmin.deviceId) return { kind: 'local-admin' }
    const certificate = safety.issued.current(callerId)
    if (certificate !== undefined) return { kind: 'operator', roles: certificate.body.roles }
    return trust.get(callerId)?.kind === 'operator' ? { kind: 'operator', roles: [] } : { kind: 'device' }
  }
  const authorOf = (callerId: string): ProposalAuthorRecord => {
    const certificate = safety.issued.current(callerId)
    return certificate === undefined
      ? { kind: 'device', id: callerId }
      : { kind: 'operator', id: callerId, certificate }
  }
  type DecisionCall = { callerId: string; connection: { remoteAddr: { toString(): string } } }
  const arrivalOf = (call: DecisionCall, params: { observedLink?: OperatorLink }): ApprovalArrival => ({
    callerId: call.callerId,
    remoteAddr: call.connection.remoteAddr.toString(),
    ...(params.observedLink === undefined ? {} : { forwardedLink: params.observedLink }),
  })
  // A planner that does not hold the proposal hands the decision to the leader with what it
  // observed; the leader believes that only because this node is a command center it obeys.
  const withForwardedLink = <P extends { approval: Record<string, unknown> }>(
    params: P,
    call: DecisionCall,
  ) => ({
    ...params,
    observedLink: observedLinkOf(params.approval, arrivalOf(call, {}), isCommandCenter),
  })

  const authorize = async (callerId: string): Promise<CallerAccess | undefined> => {
    if (callerId === localAdmin.deviceId) return 'admin'
    if (!trust.has(callerId)) return undefined
    // Any caller but the local admin must speak for this mesh, a CLI or console key included.
    const verdict = await membership.servedVerdict(callerId)
    if (verdict.verdict === 'reject') return undefined
    return 'peer'
  }

  const peerEntries = (): PeerEntry[] => {
    const entries = new Map<string, PeerEntry>()
    for (const trusted of trust.list()) {
      entries.set(trusted.deviceId, {
        deviceId: trusted.deviceId,
        ...(trusted.name === undefined ? {} : { name: trusted.name }),
        trusted: true,
        state: 'disconnected',
        capabilities: [],
        addresses: [],
      })
    }
    for (const record of membership.entries()) {
      const existing = entries.get(record.deviceId)
      const entry: PeerEntry = existing ?? {
        deviceId: record.deviceId,
        trusted: record.deviceId === localAdmin.deviceId,
        state: record.state,
        capabilities: [],
        addresses: [],
      }
      entry.state = record.state
      entry.lastSeen = record.lastSeen
      if (record.agent !== undefined) entry.kind = record.agent.kind
      if (record.refusal !== undefined) entry.refusal = record.refusal
      if (record.latencyMs !== undefined) entry.latencyMs = record.latencyMs
      if (record.info !== undefined) {
        entry.name = record.info.name
        entry.role = record.info.role
        entry.capabilities = record.info.capabilities
      }
      const connection = libp2p.getConnections(peerIdFromString(record.deviceId))[0]
      if (connection !== undefined) {
        entry.posture = describeLinkPosture(
          connection.remoteAddr.toString(),
          staticPeerById.get(record.deviceId),
          config.discovery && discoveredPeers.has(record.deviceId),
        )
      }
      entry.addresses = libp2p
        .getConnections()
        .filter((connection) => connection.remotePeer.toString() === record.deviceId)
        .map((connection) => connection.remoteAddr.toString())
      entries.set(record.deviceId, entry)
    }
    return [...entries.values()]
  }

  const status = (): MeshStatus => ({
    deviceId: identity.deviceId,
    name: config.name,
    role: config.role,
    meshName: mesh.meshName,
    generation: mesh.generation,
    version: CLAWMESH_VERSION,
    startedAt,
    uptimeMs: Date.now() - startedAt,
    listenAddrs: libp2p.getMultiaddrs().map((address) => address.toString()),
    capabilities,
    connections: libp2p.getConnections().map((connection) => ({
      deviceId: connection.remotePeer.toString(),
      remoteAddr: connection.remoteAddr.toString(),
      direction: connection.direction,
      transport: transportOf(connection.remoteAddr.toString()),
      ...kindOf(connection.remotePeer.toString()),
      openedAt: connection.timeline.open,
    })),
    trustedPeerCount: trust.size,
    discovery: config.discovery ? 'mdns' : 'off',
    staticPeers: staticPeerDialer.states(),
    ...(planner.session === undefined ? {} : { planner: planner.status() }),
    ...leaderStatus(),
  })
  const leaderStatus = () => {
    const leader = plannerElection.status()
    return leader === undefined ? {} : { leader }
  }
  const kindOf = (deviceId: string) => {
    const kind = membership.agentOf(deviceId)?.kind
    return kind === undefined ? {} : { kind }
  }

  // Planner: a session on planner / standby-planner nodes; every node answers planner.ask, forwarding
  // to the leader the election names when it does not lead.
  const plannerBackend = runsPlanner(config.role)
    ? (options.plannerBackend ??
      (await selectPlannerBackend({ config, site, credentialsPath: paths.credentials, counters })))
    : undefined
  const planner = new PlannerRuntime({
    deviceId: identity.deviceId,
    role: config.role,
    leaderView: plannerElection,
    backend: () => plannerBackend ?? new BuiltinPlanner(site === undefined ? {} : { site }),
    tools: () =>
      createMeshTools({
        deviceId: identity.deviceId,
        name: config.name,
        world,
        router,
        safety,
        leaderView: plannerElection,
        peers: peerEntries,
        localCapabilities: () => capabilities,
      }),
    publish,
    forward: (leaderId, params) =>
      callRpc(libp2p, peerIdFromString(leaderId), rpcProtocol, 'mesh.message.forward', params, {
        timeoutMs: PLANNER_FORWARD_TIMEOUT_MS,
      }),
    nameOf: (deviceId) => trust.list().find((entry) => entry.deviceId === deviceId)?.name,
    events,
    counters,
    log,
  })

  const isCommandCenter = (id: string) =>
    config.commandCenters.includes(id) || (selfIsCommandCenter && id === identity.deviceId)
  const admitOperator = createOperatorAdmission({
    trust,
    isCommandCenter,
    isRevoked: revocations.isRevoked,
    counters,
    report: (report) => {
      if (report.outcome === 'accept') {
        const { body } = report.certificate
        const message = `operator ${body.displayName} (${body.operatorId}) trusted until ${new Date(body.expiresAt).toISOString()}, vouched for by ${report.callerId}`
        events.push({ level: 'info', type: 'trust.operator.accepted', message, peer: body.operatorId })
        log(message)
        return
      }
      noteRefusal()
      const message = `operator certificate from ${report.callerId} refused (${report.reason}): ${report.detail}`
      events.push({
        level: 'warn',
        type: `trust.operator.refused.${report.reason}`,
        message,
        peer: report.callerId,
      })
      log(message)
    },
  })
  // Relays and member nodes connected now: where a command center's operator records go.
  const distributionTargets = () => {
    const relayIds = config.relays.map((relay) => /\/p2p\/([^/]+)$/.exec(relay)?.[1])
    const connectedRelays = relayIds.filter(
      (id): id is string => id !== undefined && libp2p.getConnections(peerIdFromString(id)).length > 0,
    )
    return [...new Set([...membership.connectedMembers(), ...connectedRelays])]
  }
  const operatorDistribution = selfIsCommandCenter
    ? await openOperatorDistribution({
        stateDir: paths.stateDir,
        libp2p,
        rpcProtocol,
        targets: distributionTargets,
        isRevoked: revocations.isRevoked,
        counters,
        events,
        log,
      })
    : undefined
  const revocationDistribution = selfIsCommandCenter
    ? openRevocationDistribution({
        store: revocations,
        libp2p,
        rpcProtocol,
        targets: distributionTargets,
        counters,
        events,
        log,
      })
    : undefined
  const admitRevocation = createRevocationAdmission({
    store: revocations,
    trust,
    isCommandCenter,
    disconnect: (deviceId) => disconnectPeer(libp2p, deviceId),
    counters,
    report: (report) => {
      if (report.outcome === 'accept') {
        const { body } = report.revocation
        const message = `operator ${body.operatorId} revoked by ${body.issuerId} (${body.reason}): certificates issued until ${new Date(body.revokedAt).toISOString()} are refused`
        events.push({ level: 'warn', type: 'trust.operator.revoked', message, peer: body.operatorId })
        log(message)
        return
      }
      noteRefusal()
      const message = `operator revocation from ${report.callerId} refused (${report.reason}): ${report.detail}`
      events.push({
        level: 'warn',
        type: `trust.revocation.refused.${report.reason}`,
        message,
        peer: report.callerId,
      })
      log(message)
    },
  })
  const renewOperator = createOperatorRenewal({
    selfIsCommandCenter,
    isCommandCenter,
    isRevoked: revocations.isRevoked,
    issue: (fields) => safety.issueOperatorCertificate(fields),
    trust,
    distribute: (certificate) => void operatorDistribution?.paired(certificate),
    defaultTtlMs: DEFAULT_OPERATOR_CERT_TTL_MS,
    counters,
    report: (message, level, operatorId) => {
      if (level === 'warn') noteRefusal()
      events.push({
        level,
        type: level === 'warn' ? 'operator.renew.refused' : 'operator.renewed',
        message,
        peer: operatorId,
      })
      log(message)
    },
  })
  const evidenceCheckpoints = await openEvidenceCheckpoints({
    stateDir: paths.stateDir,
    deviceId: identity.deviceId,
    signer,
    writer: safety.evidence,
    publish,
    onFrame: (listener) => context.onFrame(listener),
    // A command center keeps every node's checkpoints; a field node keeps its command centers'.
    keeps: (origin) => selfIsCommandCenter || isCommandCenter(origin),
    counters,
    events,
    log,
  })

  const handlers: RpcHandlers = {
    ...planner.handlers(),
    ...evidenceCheckpoints.handlers(),
    'mesh.status': () => status(),
    'mesh.health': () => {
      const memory = process.memoryUsage()
      const { windowMs, cpuPressure } = context.publishing
      return assessHealth({
        eventLoopLagMs: lag.sampleP99Ms(),
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        counters: counters.snapshot(),
        recentRefusals: refusalTimes.filter((time) => time >= Date.now() - RECENT_REFUSAL_WINDOW_MS).length,
        publishing: { windowMs, cpuPressure: cpuPressure ?? null },
      })
    },
    'mesh.peers': () => ({ peers: peerEntries() }),
    'mesh.inspect': () => inspect(libp2p),
    'mesh.world.query': (params) => {
      const { summary, ...query } = params ?? {}
      const { frames, truncated } = fitFramesToAnswer(world.query(query))
      return {
        frames,
        ...(truncated ? { truncated } : {}),
        ...(summary === true ? { summary: world.summary({ now: Date.now() }) } : {}),
      }
    },
    'context.sync': (params) => ({ frames: context.framesForSync(params?.since, params?.limit) }),
    'capability.invoke': (params) => router.invoke(params),
    'proposal.create': async (params, call) => {
      const created = await safety.createProposal(params, authorOf(call.callerId))
      return { proposal: toWire(created.record), merged: created.merged }
    },
    'proposal.list': (params) => ({ proposals: safety.list(params?.state).map(toWire) }),
    'proposal.get': (params, call) => {
      // The approve CLI reads the proposal first: a planner that does not hold it asks the leader.
      if (leaderForApproval(params.id, call.callerId) !== undefined)
        return leaderForwarder.forwardToLeader('proposal.get', params)
      return { proposal: toWire(safety.get(params.id)) }
    },
    'proposal.approve': async (params, call) => {
      if (leaderForApproval(params.id, call.callerId) !== undefined)
        return leaderForwarder.forwardToLeader('proposal.approve', withForwardedLink(params, call))
      const decided = await safety.decide(params.id, params.approval, 'approve', arrivalOf(call, params))
      const { executionFrame } = decided
      return {
        proposal: toWire(decided.record),
        verdict: decided.verdict,
        detail: decided.detail,
        ...(executionFrame === undefined ? {} : { executionFrame }),
      }
    },
    'proposal.reject': async (params, call) => {
      if (leaderForApproval(params.id, call.callerId) !== undefined)
        return leaderForwarder.forwardToLeader('proposal.reject', withForwardedLink(params, call))
      const decided = await safety.decide(params.id, params.approval, 'reject', arrivalOf(call, params))
      return { proposal: toWire(decided.record), verdict: decided.verdict, detail: decided.detail }
    },
    'operator.issue': async (params) => ({ certificate: await safety.issueOperatorCertificate(params) }),
    'actuator.execute': (params) => safety.executeCommand(params.command),
    'pair.open': (params) => {
      const opened = pairing.open({
        kind: params.kind,
        ttlMs: params.ttlMs ?? DEFAULT_PAIRING_TTL_MS,
        ...(params.operatorName === undefined ? {} : { operatorName: params.operatorName }),
        ...(params.roles === undefined ? {} : { roles: params.roles }),
        ...(params.certificateTtlMs === undefined ? {} : { certificateTtlMs: params.certificateTtlMs }),
      })
      events.push({
        level: 'info',
        type: 'pairing.opened',
        message: `pairing window open for a ${params.kind} until ${new Date(opened.expiresAt).toISOString()}`,
      })
      return {
        ...opened,
        deviceId: identity.deviceId,
        listenAddrs: libp2p.getMultiaddrs().map((address) => address.toString()),
      }
    },
    'trust.addOperator': (params, call) => admitOperator(call.callerId, params.certificate),
    'trust.revokeOperator': (params, call) => admitRevocation(call.callerId, params.revocation),
    'operator.renew': async (params, call) => ({
      certificate: (await renewOperator(call.callerId, params.certificate)) as unknown as Record<
        string,
        unknown
      >,
    }),
    'console.iceServers': consoleIceServersHandler({
      iceServers: config.iceServers,
      isOperator: (callerId) => trust.has(callerId) && trust.get(callerId)?.kind === 'operator',
    }),
    'mesh.events': (params) => ({
      events: events.list(params?.afterSeq, params?.limit),
      lastSeq: events.lastSeq,
    }),
  }

  const stopRpc = await startRpcServer({
    libp2p,
    protocol: rpcProtocol,
    handlers,
    counters,
    authorize,
    // Roles from records: what the caller may call follows from its certificate on record or its
    // trust entry (protocol/rpc/caller-access.ts).
    forbids: (callerId, method) => {
      const verdict = decideMethodAccess(callerRecord(callerId), method, {
        commandCenter: selfIsCommandCenter,
      })
      return verdict.verdict === 'deny' ? verdict.reason : undefined
    },
    onRefusal: (callerId, code, message) => {
      noteRefusal()
      events.push({ level: 'warn', type: `rpc.refused.${code}`, message, peer: callerId })
    },
  })

  const leaveProtocol = leaveProtocolId(mesh.generation)
  await libp2p.handle(
    leaveProtocol,
    (stream, connection) => {
      const deviceId = connection.remotePeer.toString()
      stream.abort(new Error('leave noted'))
      if (membership.isMember(deviceId)) membership.peerLeft(deviceId)
    },
    { runOnLimitedConnection: true },
  )
  const announceLeave = async () => {
    await Promise.allSettled(
      membership.connectedMembers().map(async (deviceId) => {
        const stream = await libp2p.dialProtocol(peerIdFromString(deviceId), leaveProtocol, {
          signal: AbortSignal.timeout(LEAVE_ANNOUNCE_TIMEOUT_MS),
          runOnLimitedConnection: true,
        })
        await stream
          .close({ signal: AbortSignal.timeout(LEAVE_ANNOUNCE_TIMEOUT_MS) })
          .catch(() => stream.abort(new Error('leave sent')))
      }),
    )
  }

  context.start()
  const stopLeadershipWatch = plannerElection.onChange((leader) => {
    if (leader?.deviceId === identity.deviceId) safety.leadershipGained()
  })
  plannerElection.start()
  // Capabilities and roles are advertised live: a member's capability_update replaces what it
  // reported when it joined.
  const stopCapabilityUpdates = context.onFrame((frame) => {
    if (frame.kind !== 'capability_update' || frame.origin === identity.deviceId) return
    // A capability the site binds to another device is not this member's to serve, whatever it
    // advertises: refused, counted, and never routed to.
    const refused = frame.data.capabilities.filter((capability) =>
      bindings.boundElsewhere(capability, frame.origin),
    )
    if (refused.length > 0) {
      counters.increment('capabilities.refused.unbound', refused.length)
      events.push({
        level: 'warn',
        type: 'capabilities.refused.unbound',
        message: `${frame.origin} advertised ${refused.join(', ')}, which the site assigns to other nodes`,
        peer: frame.origin,
      })
    }
    membership.updateInfo(frame.origin, {
      name: frame.originName,
      role: frame.data.role,
      capabilities: frame.data.capabilities.filter((capability) => !refused.includes(capability)),
    })
  })
  devices?.start()
  evidenceCheckpoints.start()
  const stopPlannerObserver = context.onFrame((frame) => planner.session?.observe(frame))
  planner.start()
  await publish({
    kind: 'capability_update',
    data: { role: config.role, capabilities },
    trust: { tier: 'T3', sources: ['node-config'] },
  }).catch((error: Error) => log(`could not announce capabilities: ${error.message}`))
  // A member that (re)joins may hold frames we missed: catch up from it, re-verifying each frame.
  const stopSyncOnJoin = events.subscribe((event) => {
    if (event.type !== 'peer.connected' || event.peer === undefined) return
    context
      .syncFrom(event.peer)
      .then((sync) => {
        if (sync.ingested > 0) log(`caught up ${sync.ingested} frames from ${event.peer}`)
      })
      .catch((error: Error) => log(`context.sync from ${event.peer} failed: ${error.message}`))
  })
  // A relay or member that (re)joins is handed the revocations and then the operators' certificates
  // it may have missed (revocations first: a certificate they cover is then refused, not admitted).
  const stopOperatorDelivery = events.subscribe((event) => {
    const peer = event.peer
    if (event.type !== 'peer.connected' || peer === undefined || operatorDistribution === undefined) return
    void revocationDistribution?.deliverAll(peer).then(() => operatorDistribution.deliverAll(peer))
  })
  const snapshotTimer = setInterval(() => {
    snapshots.save(world).catch((error: Error) => log(`world-model snapshot failed: ${error.message}`))
  }, WORLD_SNAPSHOT_INTERVAL_MS)
  snapshotTimer.unref()

  for (const name of bindings.unresolvedNodes()) {
    log(
      `the site assigns devices to "${name}", but no trusted device has that name: its readings are shown but never count as evidence, and its actuators get no commands until you run \`clawmesh trust add <device-id> --name ${name}\``,
    )
  }
  // A static peer is pinned by key but still has to be trusted: configuration alone grants nothing.
  for (const peer of staticPeers) {
    if (!trust.has(peer.deviceId))
      log(`static peer ${peer.deviceId} is not in the trust store: it will be refused until you trust it`)
  }
  const stopPairing = await startPairingService({
    libp2p,
    generation: mesh.generation,
    window: pairing,
    trust,
    safety,
    counters,
    events,
    log,
    self: { deviceId: identity.deviceId, name: config.name, meshName: mesh.meshName },
    isKnown,
    onOperatorPaired: (certificate) => void operatorDistribution?.paired(certificate),
  })
  staticPeerDialer.start()
  void safety.resume()
  lanPeerHandler = createLanPeerHandler({
    discovered: discoveredPeers,
    libp2p,
    deviceId: identity.deviceId,
    trust,
    counters,
  })

  const trustWatcher = await watchTrustFile(paths.trustedPeers, async () => {
    try {
      await trust.reload()
      for (const connection of libp2p.getConnections()) {
        const remote = connection.remotePeer.toString()
        if (remote !== localAdmin.deviceId && !trust.has(remote)) {
          log(`trust for ${remote} was removed: closing its connections`)
          await connection.close().catch(() => {})
        }
      }
      events.push({
        level: 'info',
        type: 'trust.reloaded',
        message: `trust store reloaded (${trust.size} peers)`,
      })
    } catch (error) {
      counters.increment('trust.reload.failed')
      events.push({ level: 'error', type: 'trust.reload.failed', message: (error as Error).message })
      log(`${(error as Error).message} — keeping the previous trust list in force`)
    }
  })

  // `clawmesh trust remove <operator>` writes a signed revocation into this state dir: the node takes
  // it into its records, drops the operator's connections and, on a command center, hands it on.
  const revocationWatcher = await watchTrustFile(revocationsPath(paths.stateDir), async () => {
    try {
      const learned = await revocations.reload()
      for (const revocation of learned) {
        const { operatorId, reason } = revocation.body
        await removeOperatorEntry(trust, operatorId)
        await disconnectPeer(libp2p, operatorId)
        counters.increment('operator.revocation.issued')
        const message = `operator ${operatorId} revoked here (${reason})${revocationDistribution === undefined ? '' : ': handing the revocation to members and relays'}`
        events.push({ level: 'warn', type: 'trust.operator.revoked', message, peer: operatorId })
        log(message)
      }
      if (learned.length > 0) await revocationDistribution?.issued(learned)
    } catch (error) {
      counters.increment('trust.revocation.reload.failed')
      events.push({
        level: 'error',
        type: 'trust.revocation.reload.failed',
        message: (error as Error).message,
      })
      log(`${(error as Error).message} — keeping the revocations already held`)
    }
  })

  const consoleServer = await serveConsoleIfCommandCenter({
    config,
    tls,
    source: {
      deviceId: identity.deviceId,
      name: config.name,
      meshName: mesh.meshName,
      generation: mesh.generation,
      listenAddrs: () => libp2p.getMultiaddrs().map((address) => address.toString()),
      relays: config.relays,
      iceServers: config.iceServers,
      fieldNodes: () =>
        membership
          .entries()
          .filter((record) => record.state === 'connected' && record.agent?.kind === 'node')
          .map((record) => ({ deviceId: record.deviceId, name: record.info?.name ?? record.deviceId })),
      ...(site === undefined ? {} : { siteName: site.site.name }),
      ...(site === undefined ? {} : { site }),
      deviceFor: (capability) => bindings.deviceFor(capability),
    },
    counters,
    events,
    log,
  })

  events.push({
    level: 'info',
    type: 'node.started',
    message: `${config.name} started as ${config.role} in mesh ${mesh.meshName}`,
  })

  let stopped = false
  return {
    deviceId: identity.deviceId,
    config,
    mesh,
    libp2p,
    paths,
    events,
    counters,
    trust,
    membership,
    world,
    context,
    router,
    site,
    devices,
    safety,
    console: consoleServer,
    planner,
    election: plannerElection,
    publish,
    listenAddrs: () => libp2p.getMultiaddrs().map((address) => address.toString()),
    status,
    async stop() {
      if (stopped) return
      stopped = true
      await consoleServer?.close()
      trustWatcher.close()
      revocationWatcher.close()
      staticPeerDialer.stop()
      lanPeerHandler = () => {}
      stopSyncOnJoin()
      stopOperatorDelivery()
      stopCapabilityUpdates()
      stopPlannerObserver()
      planner.stop()
      clearInterval(snapshotTimer)
      await evidenceCheckpoints.stop()
      safety.close()
      stopLeadershipWatch()
      plannerElection.stop()
      stopPairing()
      pairing.close()
      devices?.stop()
      await announceLeave()
      lag.stop()
      await stopRpc()
      membership.stop()
      context.stop()
      await snapshots
        .save(world)
        .catch((error: Error) => log(`world-model snapshot failed: ${error.message}`))
      await libp2p.stop()
    },
  }
}

/**
 * mDNS offers peers of our mesh (the service tag carries the mesh name). Untrusted announcers are
 * ignored and counted; for a trusted pair only the lower device ID dials, so two nodes that find
 * each other at the same moment do not open duplicate connections.
 */
function createLanPeerHandler(init: {
  libp2p: NodeLibp2p
  deviceId: string
  trust: TrustStore
  counters: Counters
  discovered: Set<string>
}): (remote: string, addresses: Multiaddr[]) => void {
  const dialling = new Set<string>()
  return (remote, addresses) => {
    if (remote === init.deviceId) return
    if (!init.trust.has(remote)) {
      init.counters.increment('discovery.ignored.untrusted')
      return
    }
    init.discovered.add(remote)
    if (init.libp2p.getConnections(peerIdFromString(remote)).length > 0 || dialling.has(remote)) return
    if (init.deviceId > remote) return
    dialling.add(remote)
    init.libp2p
      .dial(addresses.length > 0 ? addresses : peerIdFromString(remote), {
        signal: AbortSignal.timeout(10_000),
      })
      .catch(() => init.counters.increment('discovery.dial.failed'))
      .finally(() => dialling.delete(remote))
  }
}

function inspect(libp2p: NodeLibp2p): MeshInspect {
  const pubsub = libp2p.services.pubsub
  // Scores and mesh peers live on the implementation class, not the published interface.
  const internals = pubsub as unknown as {
    getScore?(peer: string): number
    getMeshPeers?(topic: string): string[]
  }
  const connections = libp2p.getConnections()
  const scores: Record<string, number> = {}
  for (const connection of connections) {
    const deviceId = connection.remotePeer.toString()
    scores[deviceId] = internals.getScore?.(deviceId) ?? 0
  }
  return {
    connections: connections.map((connection) => ({
      deviceId: connection.remotePeer.toString(),
      remoteAddr: connection.remoteAddr.toString(),
      direction: connection.direction,
      transport: transportOf(connection.remoteAddr.toString()),
      limited: connection.limits !== undefined,
      ...(connection.encryption === undefined ? {} : { encryption: connection.encryption }),
      ...(connection.multiplexer === undefined ? {} : { multiplexer: connection.multiplexer }),
      streams: connection.streams.map((stream) => ({
        ...(stream.protocol === undefined ? {} : { protocol: stream.protocol }),
        direction: stream.direction,
      })),
    })),
    gossipsub: {
      topics: pubsub.getTopics().map((topic) => ({
        topic,
        meshPeers: internals.getMeshPeers?.(topic) ?? [],
        subscribers: pubsub.getSubscribers(topic).map((peer) => peer.toString()),
      })),
      scores,
    },
    protocols: libp2p.getProtocols(),
    relayReservations: libp2p
      .getMultiaddrs()
      .map((address) => address.toString())
      .filter((address) => address.includes('/p2p-circuit')),
  }
}
