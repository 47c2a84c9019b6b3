/**
 * What the planner shows over the wire: its modes, the `planner.ask` / `mesh.message.forward`
 * parameters and the planner part of `mesh.status`. Node, CLI and console import these from here so
 * a mode name or a text limit cannot drift between them.
 */
import { z } from 'zod'
import { deviceIdSchema } from './device-id.ts'

/** idle: nothing to do. queued: input waits for its turn. thinking: the backend is working.
 * tool: the backend runs a tool (its name is shown). */
export const PLANNER_MODES = ['idle', 'queued', 'thinking', 'tool'] as const
export const plannerModeSchema = z.enum(PLANNER_MODES)
export type PlannerMode = z.infer<typeof plannerModeSchema>

/** Operator input: a question or a request is a sentence or a short paragraph, not a document;
 * 4,000 characters keeps it well inside one frame (FRAME_TEXT_MAX_CHARS) and one model turn. */
export const PLANNER_INPUT_MAX_CHARS = 4_000

/** A non-leader forwards operator input to the leader once; the leader never forwards again, so a
 * disagreement about who leads cannot bounce a message around the mesh. */
export const PLANNER_FORWARD_MAX_HOPS = 1

/** How long a client waits for `planner.ask`: the leader's own per-request budget
 * (PLANNER_REQUEST_TIMEOUT_MS on the node, 60 s for a hosted model) plus one forwarding hop. */
export const PLANNER_ASK_CLIENT_TIMEOUT_MS = 75_000

export const plannerAskParamsSchema = z
  .object({ text: z.string().trim().min(1).max(PLANNER_INPUT_MAX_CHARS) })
  .strict()
export type PlannerAskParams = z.infer<typeof plannerAskParamsSchema>

export const messageForwardParamsSchema = z
  .object({
    text: z.string().trim().min(1).max(PLANNER_INPUT_MAX_CHARS),
    /** Who asked at the forwarding node (the caller it authenticated); recorded, not trusted for access. */
    from: deviceIdSchema,
    hops: z.number().int().min(1).max(PLANNER_FORWARD_MAX_HOPS),
  })
  .strict()
export type MessageForwardParams = z.infer<typeof messageForwardParamsSchema>

export const leaderInfoSchema = z.object({ deviceId: deviceIdSchema, term: z.number().int().nonnegative() })

export const plannerStatusSchema = z.object({
  mode: plannerModeSchema,
  tool: z.string().max(64).optional(),
  queueDepth: z.number().int().nonnegative(),
  /** Backend label, e.g. `rule-based` or `pi:anthropic/claude-sonnet-4-5`; `none` without a session. */
  backend: z.string().max(128),
  ruleBased: z.boolean(),
  isLeader: z.boolean(),
  leader: leaderInfoSchema.optional(),
})
export type PlannerStatus = z.infer<typeof plannerStatusSchema>
