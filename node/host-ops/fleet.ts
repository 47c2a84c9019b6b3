/**
 * The fleet as a node sees it: itself and each peer that offers host operations or published
 * `doctor` findings, with the latest findings' health and facts. `clawmesh list` prints it; the MCP
 * server's `server_list` returns it.
 */
import type { Frame } from '../../protocol/context/frame.ts'
import type { NodeFacts } from '../../protocol/host-ops/capacity.ts'
import { type FindingStatus, overallStatus } from '../../protocol/host-ops/findings.ts'
import type { RpcMethodName, RpcParams, RpcResult } from '../../protocol/rpc/methods.ts'
import type { PolicyCheckAction } from '../../protocol/safety/policy-check.ts'

/** `host_findings` frames read from the world model. */
const FLEET_FRAMES_MAX = 500

export interface FleetNode {
  deviceId: string
  name: string | undefined
  role: string | undefined
  state: string
  lastSeen: number | undefined
  health: FindingStatus | 'unknown'
  checkedAt: number | undefined
  facts: Record<string, unknown>
}

interface NodeCaller {
  call<M extends RpcMethodName>(method: M, params: RpcParams<M>): Promise<RpcResult<M>>
}

export async function listHostNodes(client: NodeCaller, now = Date.now()): Promise<FleetNode[]> {
  const status = await client.call('mesh.status', {})
  const { peers } = await client.call('mesh.peers', {})
  const { frames } = await client.call('mesh.world.query', { kind: 'host_findings', limit: FLEET_FRAMES_MAX })
  const latest = new Map<string, Frame>()
  for (const frame of frames as Frame[]) {
    if (frame.kind !== 'host_findings' || frame.data.workflow !== 'doctor') continue
    const seen = latest.get(frame.origin)
    if (seen === undefined || seen.timestamp < frame.timestamp) latest.set(frame.origin, frame)
  }
  return [
    {
      deviceId: status.deviceId,
      name: status.name,
      role: status.role,
      state: 'self',
      capabilities: status.capabilities,
      lastSeen: now,
    },
    ...peers.filter((peer) => peer.kind !== 'operator' && peer.deviceId !== status.deviceId),
  ]
    .filter(
      (peer) =>
        peer.capabilities.some((capability) => capability.startsWith('host:')) || latest.has(peer.deviceId),
    )
    .map((peer) => {
      const frame = latest.get(peer.deviceId)
      const data = frame?.kind === 'host_findings' ? frame.data : undefined
      return {
        deviceId: peer.deviceId,
        name: peer.name,
        role: peer.role,
        state: peer.state,
        lastSeen: peer.lastSeen,
        health: data === undefined ? 'unknown' : overallStatus(data.findings),
        checkedAt: frame?.timestamp,
        facts: data?.facts ?? {},
      }
    })
}

/** What a capacity or provision plan says when no node has facts yet. */
export const NO_FLEET_FACTS = 'no node has run doctor yet: run clawmesh monitor-check first'

/** `capability` or `capability/operation`; without an operation, the capability's read. */
export function parseResource(
  resource: string,
  action: PolicyCheckAction,
): { capability: string; operation: string } {
  const slash = resource.lastIndexOf('/')
  if (slash > 0) return { capability: resource.slice(0, slash), operation: resource.slice(slash + 1) }
  const operation = resource.startsWith('actuator:')
    ? 'state'
    : resource.startsWith('host:')
      ? 'doctor'
      : 'read'
  if (action !== 'read_state' && resource.startsWith('actuator:'))
    throw new Error(`name the operation: ${resource}/<operation> (e.g. ${resource}/open)`)
  return { capability: resource, operation }
}

/** Each node's facts from its latest doctor in the world model. */
export async function fleetFacts(client: NodeCaller): Promise<NodeFacts[]> {
  const { frames } = await client.call('mesh.world.query', { kind: 'host_findings', limit: FLEET_FRAMES_MAX })
  const latest = new Map<string, Frame>()
  for (const frame of frames as Frame[]) {
    if (frame.kind !== 'host_findings' || frame.data.workflow !== 'doctor') continue
    const seen = latest.get(frame.data.node)
    if (seen === undefined || seen.timestamp < frame.timestamp) latest.set(frame.data.node, frame)
  }
  const facts: NodeFacts[] = []
  for (const frame of latest.values()) {
    if (frame.kind !== 'host_findings') continue
    const number = (key: string) =>
      typeof frame.data.facts?.[key] === 'number' ? (frame.data.facts[key] as number) : undefined
    const [cpus, load1, memTotalMb, memAvailableMb] = ['cpus', 'load1', 'memTotalMb', 'memAvailableMb'].map(
      number,
    )
    if (cpus === undefined || load1 === undefined || memTotalMb === undefined || memAvailableMb === undefined)
      continue
    const diskFreePct = number('diskFreePct')
    facts.push({
      node: frame.data.node,
      cpus,
      load1,
      memTotalMb,
      memAvailableMb,
      ...(diskFreePct === undefined ? {} : { diskFreePct }),
      checkedAt: frame.timestamp,
    })
  }
  return facts.sort((a, b) => a.node.localeCompare(b.node))
}
