/**
 * The parts a node is made of, as one typed record, and the function that builds them. Building
 * starts nothing but libp2p (which runs from its creation; its hooks into the node stay inert until
 * the parts behind them start): the lifecycle in clawmesh-node.ts starts the parts in order. So a
 * part may refer to one built after it through a closure — membership asks the election about a
 * peer's leader claim, the election asks membership for the peer list — and never sees it missing.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { checkFrameAuthority } from '../protocol/context/frame-authority.ts'
import type { Frame, FrameFields, LocalFrameFields } from '../protocol/context/index.ts'
import { EVENT_RING_SIZE, GOSSIP_FLOOD_PENALTY_MS } from '../protocol/limits.ts'
import { checkStaticPeerPolicy } from '../protocol/link-posture.ts'
import { type MeshIdentity, PROTOCOL_GENERATION, rpcProtocolId } from '../protocol/mesh.ts'
import { isCommandCenterRole } from '../protocol/roles.ts'
import type { PeerEntry } from '../protocol/rpc/methods.ts'
import { type Signer, signerFromPrivateKey } from '../protocol/signing.ts'
import { parseStaticPeer, type StaticPeer } from '../protocol/static-peer.ts'
import { Counters } from '../runtime/counters.ts'
import { type DeviceIdentity, loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { resolveStateDir, type StatePaths, statePaths } from '../runtime/state/state-dir.ts'
import { RevocationStore } from '../runtime/trust/revocations.ts'
import { createTrustGater } from '../runtime/trust/trust-gater.ts'
import { TrustStore } from '../runtime/trust/trust-store.ts'
import { DEFAULT_WS_PORT, type NodeConfig } from './config.ts'
import { CapabilityRouter } from './context/capability-router.ts'
import { ContextService, type PublishOptions } from './context/context-service.ts'
import { GossipReadPause } from './context/gossip-read-pause.ts'
import { OriginThrottle } from './context/origin-throttle.ts'
import { FieldDevices } from './devices/field-devices.ts'
import { EventLoopLagMonitor } from './health/event-loop-lag.ts'
import { RefusalWindow } from './health/refusal-window.ts'
import { ThrottledPeers } from './health/throttled-peers.ts'
import { combineActuators, createHostRepairs } from './host-ops/host-repairs.ts'
import { createNodeLibp2p, type NodeLibp2p, refreshGossipStanding } from './libp2p/create-node-libp2p.ts'
import type { GossipSite } from './libp2p/gossip-site.ts'
import { EventRing } from './mesh/event-ring.ts'
import { LanPeers } from './mesh/lan-peers.ts'
import { type GossipStanding, Membership } from './mesh/membership.ts'
import { createPeerTable } from './mesh/peer-table.ts'
import { StaticPeerDialer } from './mesh/static-peer-dialer.ts'
import { createPlannerElection, type PlannerElection } from './planner/election.ts'
import { createLeaderForwarder, type LeaderForwarder } from './planner/forward-to-leader.ts'
import { callRpc } from './rpc/rpc-client.ts'
import { PairingWindow } from './safety/pairing.ts'
import { createSafeStateRecords } from './safety/safe-state-records.ts'
import { SafetyRuntime } from './safety/safety-runtime.ts'
import { SiteBindings } from './site/site-bindings.ts'
import { loadSiteFile, type SiteModel } from './site/site-model.ts'
import { resolveNodeTls } from './tls/node-tls.ts'
import type { ServerTls } from './tls/tls-material.ts'
import { type OperatorRecords, openOperatorRecords } from './trust/operator-records.ts'
import { WorldModel } from './world/world-model.ts'
import { WorldSnapshotStore } from './world/world-snapshot-store.ts'

/** Who may vouch for operators and certify commands: the configured command centers, and this node
 * itself when it has a planner role. */
export interface CommandCenterRule {
  readonly self: boolean
  is(deviceId: string): boolean
}

export interface NodeComponents {
  readonly config: NodeConfig
  readonly log: (line: string) => void
  readonly paths: StatePaths
  readonly identity: DeviceIdentity
  /** The CLI key of this state dir: the node's local admin. */
  readonly localAdminId: string
  readonly mesh: MeshIdentity
  readonly rpcProtocol: string
  readonly signer: Signer
  readonly counters: Counters
  readonly events: EventRing
  readonly refusals: RefusalWindow
  /** Peers throttled for flooding (gossip over the origin limits, RPC over the rate limit). */
  readonly throttled: ThrottledPeers
  /** Pauses a flooding peer's gossip streams while its penalty lasts. */
  readonly gossipReadPause: GossipReadPause
  readonly trust: TrustStore
  readonly revocations: RevocationStore
  readonly tls: ServerTls | undefined
  readonly site: SiteModel | undefined
  readonly bindings: SiteBindings
  readonly world: WorldModel
  readonly snapshots: WorldSnapshotStore
  readonly pairing: PairingWindow
  readonly staticPeers: readonly StaticPeer[]
  readonly lanPeers: LanPeers
  readonly libp2p: NodeLibp2p
  readonly membership: Membership
  readonly staticPeerDialer: StaticPeerDialer
  readonly context: ContextService
  readonly router: CapabilityRouter
  /** Publishes a frame of this node (origin, mesh and generation filled in). */
  readonly publish: (fields: LocalFrameFields, options?: PublishOptions) => Promise<Frame>
  readonly devices: FieldDevices | undefined
  readonly commandCenter: CommandCenterRule
  readonly election: PlannerElection
  readonly leaderForwarder: LeaderForwarder
  readonly safety: SafetyRuntime
  readonly operators: OperatorRecords
  readonly lag: EventLoopLagMonitor
  /** The peer table (`mesh.peers`). */
  readonly peers: () => PeerEntry[]
}

export interface NodeComponentsOptions {
  log?: (line: string) => void
  /** Test-only hold before a device write (see StartNodeOptions). */
  beforeDeviceWrite?: (proposalId: string) => Promise<void>
}

export async function createNodeComponents(
  config: NodeConfig,
  options: NodeComponentsOptions = {},
): Promise<NodeComponents> {
  const log = options.log ?? ((line: string) => console.log(`[clawmesh ${config.name}] ${line}`))
  const paths = statePaths(resolveStateDir(config.stateDir))
  const staticPeers = config.peers
    .map((spec) => parseStaticPeer(spec, DEFAULT_WS_PORT))
    .filter((peer) => {
      const verdict = checkStaticPeerPolicy(peer, config.wanPolicy)
      if (verdict.verdict !== 'accept') log(verdict.diagnostic)
      return verdict.verdict !== 'refuse'
    })
  const identity = await loadOrCreateIdentity(paths.deviceIdentity)
  // Created here so the node knows its local admin before the first `clawmesh status` runs.
  const localAdminId = (await loadOrCreateIdentity(paths.cliIdentity)).deviceId
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
  const rpcProtocol = rpcProtocolId(mesh.generation)
  const counters = new Counters()
  const events = new EventRing(EVENT_RING_SIZE)
  const refusals = new RefusalWindow()
  const throttled = new ThrottledPeers()
  const throttle = new OriginThrottle({
    throttled,
    onPenalty: (deviceId) => {
      refreshGossipStanding(libp2p, deviceId)
      gossipReadPause.pause(deviceId, GOSSIP_FLOOD_PENALTY_MS)
      refusals.note()
      events.push({
        level: 'warn',
        type: 'peer.throttled.gossip',
        message: `${deviceId} floods gossip: scored down (graylisted) and its gossip left unread for a while`,
        peer: deviceId,
      })
      log(`${deviceId} floods gossip past the origin limits: its gossip is dropped for a while`)
    },
  })

  const pairing = new PairingWindow({ counters })
  const isKnown = (deviceId: string) => deviceId === localAdminId || trust.has(deviceId)
  // The static-peer dialer exists once libp2p does; until then no pin has been checked or refused.
  const pinGate = { refusesDialTo: (_deviceId: string) => false }
  const gater = createTrustGater({
    refusesDialTo: (deviceId) => pinGate.refusesDialTo(deviceId),
    // An open pairing window admits unknown keys to the pairing protocol only (see pairing-service.ts).
    isAllowed: (deviceId) => isKnown(deviceId) || pairing.isOpen(),
    onRefused: (direction, deviceId) => {
      counters.increment(`connections.refused.untrusted.${direction}`)
      if (trust.isExpired(deviceId)) counters.increment('connections.refused.operator-expired')
      refusals.note()
      events.push({
        level: 'warn',
        type: 'peer.refused.untrusted',
        message: `${direction} connection from untrusted ${deviceId} refused`,
        peer: deviceId,
      })
      log(`refused ${direction} connection: ${deviceId} is not in ${paths.trustedPeers}`)
    },
  })

  const lanPeers = new LanPeers({ deviceId: identity.deviceId, trust, counters, libp2p: () => libp2p })
  const relayListen =
    config.relays.length > 0 ? [...config.relays.map((relay) => `${relay}/p2p-circuit`), '/webrtc'] : []
  // libp2p runs from its creation, before membership exists: until then a trusted peer is pending.
  const gossip = { standing: (_deviceId: string): GossipStanding => 'pending' }
  const libp2p = await createNodeLibp2p({
    privateKey: identity.privateKey,
    mesh,
    listen: [`/ip4/${config.host}/tcp/${config.port}/ws`, ...relayListen, ...config.listen],
    gater,
    discovery: config.discovery,
    // No frame before the mesh hello accepts the peer (membership.ts); never to a key not trusted.
    gossipStanding: (deviceId) => (trust.has(deviceId) ? gossip.standing(deviceId) : 'refuse'),
    gossipPenalty: (deviceId) => throttle.penaltyOf(deviceId),
    ...gossipSiteOf(config, trust),
    iceServers: config.iceServers,
    webrtc: hasWebRtcPath(config.relays, staticPeers),
    onLanPeer: (peer) => lanPeers.offer(peer.id.toString(), peer.multiaddrs),
    ...(tls === undefined ? {} : { wssCertificate: { cert: tls.certPem, key: tls.keyPem } }),
  })
  // Before the context service exists: only its validator penalises (and so pauses) a flooder.
  const gossipReadPause = new GossipReadPause(libp2p, libp2p.services.pubsub.protocols, counters)
  const membership = new Membership({
    local: mesh,
    libp2p,
    counters,
    events,
    onHelloSettled: (deviceId) => refreshGossipStanding(libp2p, deviceId),
    probe: (deviceId, signal) => libp2p.services.ping.ping(peerIdFromString(deviceId), { signal }),
    fetchInfo: async (deviceId) => {
      const status = await callRpc(libp2p, peerIdFromString(deviceId), rpcProtocol, 'mesh.status', {})
      if (status.leader !== undefined) void election.consider(status.leader.announcement, status.leader.chain)
      const capabilities = status.capabilities.filter(
        (capability) => !bindings.boundElsewhere(capability, deviceId),
      )
      return { name: status.name, role: status.role, capabilities }
    },
    log: (line) => {
      refusals.note()
      log(line)
    },
  })
  gossip.standing = (deviceId) => membership.gossipStanding(deviceId)
  const staticPeerDialer = new StaticPeerDialer(libp2p, staticPeers, log, { counters, events, refusals })
  pinGate.refusesDialTo = (deviceId) => staticPeerDialer.refusesDialTo(deviceId)
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
    throttle,
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
  const publish = (fields: LocalFrameFields, publishOptions?: PublishOptions) =>
    context.publish(
      {
        ...fields,
        generation: mesh.generation,
        meshName: mesh.meshName,
        originName: config.name,
      } as FrameFields,
      publishOptions,
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
          stateDir: paths.stateDir,
          reportSafeState: createSafeStateRecords({
            publish,
            evidence: () => safety.evidence,
            counters,
            events,
            log,
          }),
          commandCenterHeard: () =>
            selfIsCommandCenter || config.commandCenters.some((id) => membership.isMember(id)),
          log,
        })
      : undefined
  if (
    site !== undefined &&
    (config.mockSensor || config.mockActuator) &&
    devices?.capabilities.length === 0
  ) {
    // Asked to simulate devices, given none: say so rather than run a field node that serves nothing.
    log(
      `the site assigns no sensors or actuators to a node named "${config.name}": --mock-sensor/--mock-actuator serve nothing (name the node as the site does, or give --site)`,
    )
  }
  const selfIsCommandCenter = isCommandCenterRole(config.role)
  const commandCenter: CommandCenterRule = {
    self: selfIsCommandCenter,
    is: (id) => config.commandCenters.includes(id) || (selfIsCommandCenter && id === identity.deviceId),
  }
  const election = await createPlannerElection({
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
  const leaderForwarder = createLeaderForwarder({
    deviceId: identity.deviceId,
    libp2p,
    generation: mesh.generation,
    leaderView: election,
    isMember: (deviceId) => membership.isMember(deviceId),
    counters,
    log,
  })
  // Host repairs are one more actuator of this node: reached only through the gate (node/host-ops).
  const hostRepairs = config.hostOps.enabled
    ? createHostRepairs({
        nodeName: config.name,
        settings: config.hostOps,
        stateDir: paths.stateDir,
        counters,
        log,
      })
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
    actuators: combineActuators(devices?.actions, hostRepairs),
    ownHostManifest: hostRepairs?.manifest,
    isCommandCenter: commandCenter.is,
    isRevoked: revocations.isRevoked,
    publish,
    providersOf: (capability) =>
      router.localCapabilities().includes(capability) ? [identity.deviceId] : router.providers(capability),
    leadership: election,
    counters,
    events,
    log,
    ...(options.beforeDeviceWrite === undefined ? {} : { beforeDeviceWrite: options.beforeDeviceWrite }),
  })
  const operators = await openOperatorRecords({
    stateDir: paths.stateDir,
    relays: config.relays,
    libp2p,
    rpcProtocol,
    trust,
    revocations,
    membership,
    safety,
    selfIsCommandCenter,
    isCommandCenter: commandCenter.is,
    refusals,
    counters,
    events,
    log,
  })
  const peers = createPeerTable({
    trust,
    membership,
    libp2p,
    localAdminId,
    staticPeers,
    discovery: config.discovery,
    discovered: lanPeers.discovered,
  })
  return {
    config,
    log,
    paths,
    identity,
    localAdminId,
    mesh,
    rpcProtocol,
    signer,
    counters,
    events,
    refusals,
    throttled,
    gossipReadPause,
    trust,
    revocations,
    tls,
    site,
    bindings,
    world,
    snapshots,
    pairing,
    staticPeers,
    lanPeers,
    libp2p,
    membership,
    staticPeerDialer,
    context,
    router,
    publish,
    devices,
    commandCenter,
    election,
    leaderForwarder,
    safety,
    operators,
    lag: new EventLoopLagMonitor(),
    peers,
  }
}

/** A node has a WebRTC path only through a relay: its own `--relay` (it then listens on `/webrtc`), or
 * a static peer reached at a relayed `/webrtc` address. Without one the transport is not loaded. */
function hasWebRtcPath(relays: readonly string[], staticPeers: readonly { multiaddr: string }[]): boolean {
  return relays.length > 0 || staticPeers.some((peer) => peer.multiaddr.includes('/webrtc'))
}

/** A command center is its site's gossip hub; a node that names its command centers routes its
 * gossip through them (libp2p/gossip-site.ts). Decided from this node's configuration. */
function gossipSiteOf(config: NodeConfig, trust: TrustStore): { gossipSite?: GossipSite } {
  if (isCommandCenterRole(config.role)) return { gossipSite: { role: 'hub' } }
  if (config.commandCenters.length === 0) return {}
  const hubs = new Set(config.commandCenters)
  return {
    gossipSite: {
      role: 'spoke',
      isHub: (deviceId) => hubs.has(deviceId),
      // An operator console linked to this field node (its certificate handed on by the command
      // center, so a trust entry of kind operator until it expires or is revoked).
      isLeaf: (deviceId) => trust.get(deviceId)?.kind === 'operator' && trust.has(deviceId),
    },
  }
}
