/**
 * The composition root of a ClawMesh node: builds its components (components.ts), its surfaces and
 * its RPC handler table, and declares the order its parts start in; they stop in reverse
 * (lifecycle.ts). Which part does what lives in the parts themselves.
 */
import type { LocalFrameFields } from '../protocol/context/index.ts'
import type { MeshIdentity } from '../protocol/mesh.ts'
import type { MeshStatus } from '../protocol/rpc/methods.ts'
import type { Counters } from '../runtime/counters.ts'
import { installNativeCrypto } from '../runtime/libp2p/native-crypto.ts'
import type { StatePaths } from '../runtime/state/state-dir.ts'
import type { TrustStore } from '../runtime/trust/trust-store.ts'
import { createNodeComponents } from './components.ts'
import type { NodeConfig } from './config.ts'
import { ConsolePart } from './console/console-part.ts'
import type { ConsoleServer } from './console/console-server.ts'
import type { CapabilityRouter } from './context/capability-router.ts'
import type { ContextService, PublishOptions } from './context/context-service.ts'
import type { FieldDevices } from './devices/field-devices.ts'
import { createStatusReport } from './health/node-status.ts'
import { createFleetSurface } from './host-ops/fleet-surface.ts'
import { openHostOpsSurface } from './host-ops/open-host-ops.ts'
import type { NodeLibp2p } from './libp2p/create-node-libp2p.ts'
import { watchGossipStreams } from './libp2p/gossip-watchdog.ts'
import { keepRelayReservations } from './libp2p/relay-keeper.ts'
import { type LifecyclePart, part, startParts } from './lifecycle.ts'
import { followCapabilityUpdates } from './mesh/capability-updates.ts'
import type { EventRing } from './mesh/event-ring.ts'
import { LeaveProtocol } from './mesh/leave-protocol.ts'
import type { Membership } from './mesh/membership.ts'
import { deliverOperatorRecordsOnJoin, syncOnJoin } from './mesh/on-peer-joined.ts'
import type { PlannerBackend } from './planner/backend.ts'
import type { PlannerElection } from './planner/election.ts'
import type { PlannerRuntime } from './planner/planner-runtime.ts'
import { openPlannerSurface } from './planner/planner-surface.ts'
import { createCallerRecords } from './rpc/caller-records.ts'
import { createRpcHandlers } from './rpc/handlers/index.ts'
import { RpcServerPart } from './rpc/serve-rpc.ts'
import { openEvidenceCheckpoints } from './safety/evidence-checkpoints.ts'
import { startPairingService } from './safety/pairing-service.ts'
import type { SafetyRuntime } from './safety/safety-runtime.ts'
import type { SiteModel } from './site/site-model.ts'
import type { NodeSurface } from './surface.ts'
import { openTelegramSurface } from './telegram/open-telegram.ts'
import { watchRevocations, watchTrustedPeers } from './trust/trust-file-watchers.ts'
import type { WorldModel } from './world/world-model.ts'
import { finalWorldSnapshot, periodicWorldSnapshots } from './world/world-snapshots.ts'

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
  // The node's composition root: native SHA-256 and Ed25519 before anything hashes or signs.
  installNativeCrypto()
  const components = await createNodeComponents(config, options)
  const { identity, mesh, libp2p, context, membership, safety, election, devices, events, counters, log } =
    components
  const evidenceCheckpoints = await openEvidenceCheckpoints({
    stateDir: components.paths.stateDir,
    deviceId: identity.deviceId,
    signer: components.signer,
    writer: safety.evidence,
    publish: components.publish,
    onFrame: (listener) => context.onFrame(listener),
    // A command center keeps every node's checkpoints; a field node keeps its command centers'.
    keeps: (origin) => components.commandCenter.self || components.commandCenter.is(origin),
    counters,
    events,
    log,
  })
  const planner = await openPlannerSurface(components, {
    ...(options.plannerBackend === undefined ? {} : { backend: options.plannerBackend }),
    localCapabilities: () => capabilities,
  })
  // A new surface (MCP, Telegram, TUI, host operations) is one more entry here: docs/architecture.md.
  const hostOps = config.hostOps.enabled ? [openHostOpsSurface(components, Date.now())] : []
  const telegram = await openTelegramSurface(components, { planner, status: () => status() })
  const surfaces: readonly NodeSurface[] = [planner, ...hostOps, telegram, createFleetSurface(components)]
  const capabilities = [
    ...new Set([
      ...config.capabilities,
      ...(devices?.capabilities ?? []),
      ...surfaces.flatMap((surface) => surface.capabilities?.() ?? []),
    ]),
  ]
  const status = createStatusReport({
    ...components,
    deviceId: identity.deviceId,
    startedAt: Date.now(),
    capabilities,
    planner,
  })
  const callers = createCallerRecords({
    localAdminId: components.localAdminId,
    trust: components.trust,
    issued: () => safety.issued,
    membership,
    selfIsCommandCenter: components.commandCenter.self,
  })
  const handlers = createRpcHandlers({ components, callers, status, evidenceCheckpoints, surfaces })
  const consolePart = new ConsolePart(components)
  let stopPairing = () => {}
  let stopLeadershipWatch = () => {}
  let stopEstopWatch = () => {}

  // Start order, top to bottom; stop order, bottom to top.
  const parts: LifecyclePart[] = [
    part('libp2p', { stop: () => libp2p.stop() }), // started while it was created
    finalWorldSnapshot(components),
    part('context', context),
    followCapabilityUpdates({ ...components, deviceId: identity.deviceId }),
    part('membership', membership),
    part('event-loop-lag', components.lag),
    new RpcServerPart({ ...components, protocol: components.rpcProtocol, handlers, callers }),
    new LeaveProtocol({ libp2p, generation: mesh.generation, membership }),
    ...(devices === undefined ? [] : [part('devices', devices)]),
    part('pairing', {
      start: async () => {
        stopPairing = await startPairingService({
          ...components,
          generation: mesh.generation,
          window: components.pairing,
          self: { deviceId: identity.deviceId, name: config.name, meshName: mesh.meshName },
          isKnown: (deviceId) => deviceId === components.localAdminId || components.trust.has(deviceId),
          onOperatorPaired: (certificate) =>
            void components.operators.operatorDistribution?.paired(certificate),
        })
      },
      stop: () => {
        stopPairing()
        components.pairing.close()
      },
    }),
    part('election', {
      start: () => {
        let leading = false
        stopLeadershipWatch = election.onChange((leader) => {
          const leadsNow = leader?.deviceId === identity.deviceId
          if (leadsNow) safety.leadershipGained()
          // Approved proposals a deposed leader has not sent are cancelled (docs/safety.md).
          else if (leading) void safety.leadershipLost(leader?.deviceId)
          leading = leadsNow
        })
        election.start()
      },
      stop: () => {
        stopLeadershipWatch()
        election.stop()
      },
    }),
    part('safety', {
      start: () => {
        // Stops also travel over gossip (the order verified here, whoever relayed it).
        stopEstopWatch = context.onFrame((frame) => {
          if (frame.kind === 'estop') void safety.latchAndDriveSafe(frame.data).catch(() => {})
        })
        void safety.resume()
      },
      stop: () => {
        stopEstopWatch()
        safety.close()
      },
    }),
    part('evidence-checkpoints', evidenceCheckpoints),
    ...surfaces.map((surface) => part(surface.name, surface)),
    part('capability-announcement', {
      start: () =>
        components
          .publish({
            kind: 'capability_update',
            data: { role: config.role, capabilities },
            trust: { tier: 'T3', sources: ['node-config'] },
          })
          .then(
            () => {},
            (error: Error) => log(`could not announce capabilities: ${error.message}`),
          ),
    }),
    syncOnJoin(components),
    keepRelayReservations({ ...components, relays: config.relays }),
    watchGossipStreams(components),
    deliverOperatorRecordsOnJoin(components),
    periodicWorldSnapshots(components),
    part('static-peers', {
      start: () => {
        for (const warning of components.bindings.unresolvedWarnings()) log(warning)
        // A static peer is pinned by key but still has to be trusted: configuration alone grants nothing.
        for (const peer of components.staticPeers) {
          if (!components.trust.has(peer.deviceId))
            log(
              `static peer ${peer.deviceId} is not in the trust store: it will be refused until you trust it`,
            )
        }
        components.staticPeerDialer.start()
      },
      stop: () => components.staticPeerDialer.stop(),
    }),
    components.lanPeers,
    watchTrustedPeers({ ...components, path: components.paths.trustedPeers }),
    watchRevocations({
      ...components,
      stateDir: components.paths.stateDir,
      distribution: components.operators.revocationDistribution,
    }),
    consolePart,
  ]
  const running = await startParts(parts, {
    onStartError: (name, error) => log(`${name} failed to start (${(error as Error).message}): node stopped`),
    onStopError: (name, error) => log(`${name} failed to stop: ${(error as Error).message}`),
  })
  events.push({
    level: 'info',
    type: 'node.started',
    message: `${config.name} started as ${config.role} in mesh ${mesh.meshName}`,
  })

  return {
    deviceId: identity.deviceId,
    config,
    mesh,
    libp2p,
    paths: components.paths,
    events,
    counters,
    trust: components.trust,
    membership,
    world: components.world,
    context,
    router: components.router,
    site: components.site,
    devices,
    safety,
    console: consolePart.server,
    planner,
    election,
    publish: components.publish,
    listenAddrs: () => libp2p.getMultiaddrs().map((address) => address.toString()),
    status,
    stop: () => running.stop(),
  }
}
