/**
 * Mesh identity: a mesh has a name and a protocol generation. Protocol ids and gossip topics are
 * derived from them here, once, so every process agrees on them.
 */
import { z } from 'zod'
import { MESH_NAME_MAX_LENGTH } from './limits.ts'

/** Protocol generation of this build. Bump when the wire changes incompatibly: peers of another
 * generation are refused before any frame or RPC is exchanged. */
export const PROTOCOL_GENERATION = 1

export const DEFAULT_MESH_NAME = 'clawmesh'

/** What a mesh name may contain (its length is bounded by MESH_NAME_MAX_LENGTH). */
export const MESH_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/

export const meshNameSchema = z
  .string()
  .min(1)
  .max(MESH_NAME_MAX_LENGTH)
  .regex(MESH_NAME_PATTERN, 'mesh names use lowercase letters, digits, ".", "_" and "-"')

/** The highest protocol generation a mesh can name. */
export const GENERATION_MAX = 65_535

export const generationSchema = z.number().int().min(1).max(GENERATION_MAX)

export interface MeshIdentity {
  readonly meshName: string
  readonly generation: number
}

export function rpcProtocolId(generation: number): string {
  return `/clawmesh/rpc/${generation}`
}

/** A stopping node opens this protocol on each member so they drop it at once (graceful leave). */
export function leaveProtocolId(generation: number): string {
  return `/clawmesh/leave/${generation}`
}

export function contextTopic(mesh: MeshIdentity): string {
  return `clawmesh/${mesh.meshName}/ctx/${mesh.generation}`
}

/** Signed planner leader announcements (protocol/planner-election.ts): control state, kept off the
 * context topic so it is neither coalesced, stored in the world model nor aged out by sync. */
export function leaderTopic(mesh: MeshIdentity): string {
  return `clawmesh/${mesh.meshName}/leader/${mesh.generation}`
}

/**
 * The identify `agentVersion` a ClawMesh process announces. Identify runs on every new connection in
 * both directions, so both ends learn the other's mesh and generation and can refuse a mismatch.
 * `kind` separates mesh members (`node`, `relay`) from clients (`cli`, `console`) that talk RPC
 * but never join the mesh's gossip.
 */
export type AgentKind = 'node' | 'relay' | 'cli' | 'console'

export interface AgentAnnouncement extends MeshIdentity {
  readonly kind: AgentKind
  readonly version: string
}

const AGENT_PREFIX = 'clawmesh/'
const agentPattern = /^clawmesh\/([^ ]+) \(kind=(node|relay|cli|console); mesh=([^;]+); gen=(\d+)\)$/

export function formatAgentVersion(announcement: AgentAnnouncement): string {
  return `${AGENT_PREFIX}${announcement.version} (kind=${announcement.kind}; mesh=${announcement.meshName}; gen=${announcement.generation})`
}

export function parseAgentVersion(agentVersion: string | undefined): AgentAnnouncement | undefined {
  const match = agentVersion === undefined ? null : agentPattern.exec(agentVersion)
  if (match === null) return undefined
  const [, version, kind, meshName, generation] = match
  const parsedMesh = meshNameSchema.safeParse(meshName)
  const parsedGeneration = generationSchema.safeParse(Number(generation))
  if (!parsedMesh.success || !parsedGeneration.success) return undefined
  return {
    version: version as string,
    kind: kind as AgentKind,
    meshName: parsedMesh.data,
    generation: parsedGeneration.data,
  }
}

export type MeshCompatibility =
  | { readonly verdict: 'accept' }
  | {
      readonly verdict: 'reject'
      readonly reason: 'not-clawmesh' | 'mesh-mismatch' | 'generation-mismatch'
      readonly detail: string
    }

/** Decides whether a remote announcement may stay connected. Clients (cli/console) must still
 * speak our generation but may be of another mesh at this point: a key that is only pairing cannot
 * know the mesh name yet, and is confined to the pairing protocol anyway. Being *served* (RPC,
 * frames) asks more: see checkServedPeerMesh. */
export function checkMeshCompatibility(
  local: MeshIdentity,
  remote: AgentAnnouncement | undefined,
): MeshCompatibility {
  if (remote === undefined) {
    return {
      verdict: 'reject',
      reason: 'not-clawmesh',
      detail: 'peer did not announce a ClawMesh agent version',
    }
  }
  if (remote.generation !== local.generation) {
    return {
      verdict: 'reject',
      reason: 'generation-mismatch',
      detail: `peer speaks protocol generation ${remote.generation}, this node speaks ${local.generation}`,
    }
  }
  if ((remote.kind === 'node' || remote.kind === 'relay') && remote.meshName !== local.meshName) {
    return {
      verdict: 'reject',
      reason: 'mesh-mismatch',
      detail: `peer belongs to mesh "${remote.meshName}", this node to "${local.meshName}"`,
    }
  }
  return { verdict: 'accept' }
}

/** Whether a peer whose hello was accepted may be served RPC or frames: whatever its kind (node,
 * relay, cli, console), it must speak for this mesh. A trusted key of another mesh announcing itself
 * as a client is refused here instead of slipping past the member check. */
export function checkServedPeerMesh(
  local: MeshIdentity,
  remote: AgentAnnouncement | undefined,
): MeshCompatibility {
  const hello = checkMeshCompatibility(local, remote)
  if (hello.verdict === 'reject' || remote === undefined) return hello
  if (remote.meshName !== local.meshName)
    return {
      verdict: 'reject',
      reason: 'mesh-mismatch',
      detail: `${remote.kind} of mesh "${remote.meshName}" is not served by this node of mesh "${local.meshName}"`,
    }
  return { verdict: 'accept' }
}
