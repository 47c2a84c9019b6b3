/**
 * The planner's tools over the real node: the world model, the peer table, capability routing (a
 * sensor read is an L0 `capability.invoke`) and the safety runtime, where a proposal is created with
 * the planner as its author and the leader term it was made under. Arguments are validated here,
 * because a model writes them. None of these tools approves or executes anything.
 */
import { z } from 'zod'
import { ClawMeshError } from '../../protocol/errors.ts'
import { capabilitySchema } from '../../protocol/roles.ts'
import { decideInvokeAccess } from '../../protocol/rpc/caller-access.ts'
import {
  type PeerEntry,
  type ProposalRecordWire,
  worldQueryParamsSchema,
} from '../../protocol/rpc/methods.ts'
import { APPROVAL_LEVELS } from '../../protocol/safety/proposal.ts'
import type { CapabilityRouter } from '../context/capability-router.ts'
import { isActuatorCapability } from '../context/capability-router.ts'
import type { SafetyRuntime } from '../safety/safety-runtime.ts'
import { toWire } from '../safety/safety-runtime.ts'
import type { WorldModel } from '../world/world-model.ts'
import type { CapabilityListing, PlannerTools, ProposalDraft } from './backend.ts'
import type { LeaderView } from './leader-view.ts'

/** Frame IDs one proposal may cite (the proposal schema's own limit is PROPOSAL_MAX_EVIDENCE). */
const DRAFT_MAX_EVIDENCE = 32
/** The operator reads the reason in one line. */
const DRAFT_REASON_MAX_CHARS = 500

export const proposalDraftSchema = z
  .object({
    capability: capabilitySchema,
    operation: z.string().min(1).max(64),
    args: z.record(z.string().max(64), z.json()).optional(),
    level: z.enum(APPROVAL_LEVELS).optional(),
    evidence: z.array(z.string().max(128)).max(DRAFT_MAX_EVIDENCE),
    reason: z.string().max(DRAFT_REASON_MAX_CHARS),
  })
  .strict()

const sensorArgsSchema = z.record(z.string().max(64), z.json()).optional()

export interface MeshToolsInit {
  deviceId: string
  name: string
  world: WorldModel
  router: CapabilityRouter
  safety: SafetyRuntime
  leaderView: LeaderView
  /** The node's peer table (`mesh.peers`). */
  peers(): PeerEntry[]
  /** Capabilities this node itself advertises. */
  localCapabilities(): readonly string[]
  now?: () => number
}

export function createMeshTools(init: MeshToolsInit): PlannerTools {
  const now = init.now ?? Date.now
  return {
    async queryWorld(params) {
      const parsed = worldQueryParamsSchema.safeParse(params)
      if (!parsed.success) throw invalid('query_world', parsed.error)
      const { summary: _summary, ...query } = parsed.data
      return { frames: init.world.query(query), summary: init.world.summary({ now: now() }) }
    },

    async listCapabilities() {
      const byCapability = new Map<string, CapabilityListing>()
      const add = (capability: string, provider: CapabilityListing['providers'][number]) => {
        const listing = byCapability.get(capability) ?? { capability, providers: [] }
        listing.providers.push(provider)
        byCapability.set(capability, listing)
      }
      for (const capability of init.localCapabilities())
        add(capability, { deviceId: init.deviceId, name: init.name, local: true })
      for (const peer of init.peers()) {
        if (peer.state !== 'connected' || peer.role === 'viewer') continue
        for (const capability of peer.capabilities) {
          add(capability, {
            deviceId: peer.deviceId,
            ...(peer.name === undefined ? {} : { name: peer.name }),
            local: false,
          })
        }
      }
      return [...byCapability.values()].sort((a, b) => a.capability.localeCompare(b.capability))
    },

    async listPeers() {
      return init.peers()
    },

    async readSensor(capability, args) {
      const parsedCapability = capabilitySchema.safeParse(capability)
      if (!parsedCapability.success) throw invalid('read_sensor', parsedCapability.error)
      const parsedArgs = sensorArgsSchema.safeParse(args)
      if (!parsedArgs.success) throw invalid('read_sensor', parsedArgs.error)
      // L0 only: a sensor is read, an actuator's state is read; nothing moves through this tool.
      const operation = isActuatorCapability(parsedCapability.data) ? 'state' : 'read'
      const access = decideInvokeAccess({ kind: 'planner' }, parsedCapability.data, operation)
      if (access.verdict === 'deny') throw new ClawMeshError('FORBIDDEN', `read_sensor: ${access.reason}`)
      const answer = await init.router.invoke({
        capability: parsedCapability.data,
        operation,
        ...(parsedArgs.data === undefined ? {} : { args: parsedArgs.data as Record<string, unknown> }),
      })
      return { ...answer.result, provider: answer.provider }
    },

    async createProposal(draft: ProposalDraft): Promise<ProposalRecordWire> {
      const parsed = proposalDraftSchema.safeParse(draft)
      if (!parsed.success) throw invalid('create_proposal', parsed.error)
      // Fencing: only the leader proposes, and its proposal carries the term it leads under.
      const leader = init.leaderView.leader()
      if (!init.leaderView.isLeader() || leader === undefined || leader.deviceId !== init.deviceId) {
        throw new ClawMeshError('NO_PLANNER', 'this planner is not the leader; it cannot propose')
      }
      const { reason: _reason, evidence, ...fields } = parsed.data
      const created = await init.safety.createProposal({ ...fields, evidence }, { kind: 'planner' })
      return toWire(created.record)
    },
  }
}

function invalid(tool: string, error: z.ZodError): ClawMeshError {
  const issue = error.issues[0]
  return new ClawMeshError(
    'INVALID_PARAMS',
    `${tool}: ${issue === undefined ? 'invalid arguments' : `${issue.path.join('.') || '(root)'} ${issue.message}`}`,
  )
}
