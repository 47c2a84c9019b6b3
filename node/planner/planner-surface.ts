/**
 * Builds the planner surface of a node from its components: a session on planner roles over the
 * configured backend and the node's mesh tools; on every node `planner.ask`, forwarded to the
 * leader the election names when this node does not lead.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { isCommandCenterRole } from '../../protocol/roles.ts'
import type { NodeComponents } from '../components.ts'
import { callRpc } from '../rpc/rpc-client.ts'
import type { PlannerBackend } from './backend.ts'
import { BuiltinPlanner } from './builtin-planner.ts'
import { PLANNER_FORWARD_TIMEOUT_MS } from './constants.ts'
import { createMeshTools } from './mesh-tools.ts'
import { PlannerRuntime } from './planner-runtime.ts'
import { selectPlannerBackend } from './select-backend.ts'

export interface PlannerSurfaceInit {
  /** Replaces the configured backend (tests and benchmarks); configuration never sets it. */
  backend?: PlannerBackend
  /** Capabilities this node advertises (the mesh tools report them). */
  localCapabilities: () => readonly string[]
}

export async function openPlannerSurface(
  components: NodeComponents,
  init: PlannerSurfaceInit,
): Promise<PlannerRuntime> {
  const { config, site, identity, election, libp2p, trust, counters } = components
  const backend = isCommandCenterRole(config.role)
    ? (init.backend ??
      (await selectPlannerBackend({ config, site, credentialsPath: components.paths.credentials, counters })))
    : undefined
  return new PlannerRuntime({
    deviceId: identity.deviceId,
    role: config.role,
    leaderView: election,
    backend: () => backend ?? new BuiltinPlanner(site === undefined ? {} : { site }),
    tools: () =>
      createMeshTools({
        deviceId: identity.deviceId,
        name: config.name,
        world: components.world,
        router: components.router,
        safety: components.safety,
        leaderView: election,
        peers: components.peers,
        localCapabilities: init.localCapabilities,
      }),
    publish: components.publish,
    forward: (leaderId, params) =>
      callRpc(libp2p, peerIdFromString(leaderId), components.rpcProtocol, 'mesh.message.forward', params, {
        timeoutMs: PLANNER_FORWARD_TIMEOUT_MS,
      }),
    nameOf: (deviceId) => trust.list().find((entry) => entry.deviceId === deviceId)?.name,
    onFrame: (listener) => components.context.onFrame(listener),
    events: components.events,
    counters,
    log: components.log,
  })
}
