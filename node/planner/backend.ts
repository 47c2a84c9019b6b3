/**
 * The contract between the planner session and whatever does the reasoning: the built-in
 * rule-based planner or a Pi (`@mariozechner/pi-ai`) model. A backend reads the mesh only through
 * `PlannerTools`; none of them approves or executes anything — the only action a backend can take
 * is to create a proposal, which then goes through the safety core like any other.
 */
import type { Frame } from '../../protocol/context/frame.ts'
import type { PeerEntry, ProposalRecordWire, WorldQueryParams } from '../../protocol/rpc/methods.ts'

/** Arguments of the `create_proposal` tool; the level defaults to the manifest's. */
export interface ProposalDraft {
  capability: string
  operation: string
  args?: Record<string, unknown>
  level?: 'L0' | 'L1' | 'L2' | 'L3'
  /** Frame IDs the planner cites; their tiers come from the world model, never from the planner. */
  evidence: string[]
  /** One line for the operator: why the planner proposes this. */
  reason: string
}

export interface CapabilityListing {
  capability: string
  providers: Array<{ deviceId: string; name?: string; local: boolean }>
}

/** What a backend may do: read the world, list capabilities and peers, read a sensor (L0),
 * create a proposal. Nothing else. */
export interface PlannerTools {
  queryWorld(params: WorldQueryParams): Promise<{ frames: Frame[]; summary: string }>
  listCapabilities(): Promise<CapabilityListing[]>
  listPeers(): Promise<PeerEntry[]>
  readSensor(capability: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>
  createProposal(draft: ProposalDraft): Promise<ProposalRecordWire>
}

export type PlannerTrigger = 'operator' | 'proactive'

type ObservationFrame = Extract<Frame, { kind: 'observation' }>

/** Why a proactive trigger fired, for backends that act on structure rather than on `text`
 * (the built-in planner). `text` always describes the same thing in words. */
export type ProactiveContext =
  | {
      kind: 'threshold'
      /** The observation that left its band. */
      frame: ObservationFrame
      bound: 'low' | 'high'
      limit: number
    }
  | { kind: 'periodic' }

export interface PlannerRequest {
  text: string
  trigger: PlannerTrigger
  operator?: { id: string; name: string }
  /** Set for proactive triggers. */
  proactive?: ProactiveContext
  signal: AbortSignal
  /** The session shows `tool` mode with this name while a tool runs. */
  onToolStart(name: string): void
  onToolEnd(name: string): void
  /** Streamed answer text, when the backend streams. */
  onToken?(delta: string): void
}

export interface PlannerReply {
  answer: string
  /** Frames the answer relied on; the session cites them in the `inference` frame. */
  citedFrameIds: string[]
  proposals: ProposalRecordWire[]
  /** The reasoning behind the answer in a sentence or two, published as the T0 `inference` frame;
   * defaults to the answer. An empty answer to a proactive trigger means "nothing to report". */
  inference?: string
  /** Set when the backend failed (provider error, timeout); `answer` then explains it. */
  error?: string
}

export interface PlannerBackend {
  /** Shown in answers and status, e.g. `rule-based` or `pi:anthropic/claude-sonnet-4-5`. */
  readonly label: string
  readonly ruleBased: boolean
  respond(request: PlannerRequest, tools: PlannerTools): Promise<PlannerReply>
}
