/**
 * The planner's chat RPC (`planner.ask`, `planner.status`), called by name: nodes without a planner
 * (or builds before it) answer UNKNOWN_METHOD, which the Command view shows as "planner not
 * available" — the console never makes up an answer.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import { z } from 'zod'
import { ClawMeshError } from '../../../protocol/errors.ts'
import { callRpcRaw } from '../../../protocol/rpc/client.ts'
import { rpcResponseSchema } from '../../../protocol/rpc/envelope.ts'

/** Planner answers can take a model's full turn; the RPC default (10 s) is too short for that. */
export const PLANNER_ASK_TIMEOUT_MS = 120_000

export const plannerStatusSchema = z.object({
  mode: z.enum(['idle', 'queued', 'thinking', 'tool']),
  tool: z.string().optional(),
  queueDepth: z.number().int().nonnegative(),
  backend: z.string(),
  ruleBased: z.boolean(),
  isLeader: z.boolean(),
  leader: z.object({ deviceId: z.string(), term: z.number() }).optional(),
})
export type PlannerStatus = z.infer<typeof plannerStatusSchema>

export const plannerAnswerSchema = z.object({
  answer: z.string(),
  planner: z.string(),
  ruleBased: z.boolean(),
  proposals: z.array(z.record(z.string(), z.unknown())),
  responseFrameId: z.string().optional(),
  answeredBy: z.string(),
  error: z.string().optional(),
})
export type PlannerAnswer = z.infer<typeof plannerAnswerSchema>

let nextId = 1

async function callPlanner<T>(
  libp2p: Libp2p,
  target: PeerId,
  protocol: string,
  method: string,
  params: unknown,
  schema: z.ZodType<T>,
  timeoutMs?: number,
): Promise<T> {
  const raw = await callRpcRaw(
    libp2p,
    target,
    protocol,
    { id: `console-${nextId++}`, method, params },
    timeoutMs === undefined ? {} : { timeoutMs },
  )
  const response = rpcResponseSchema.safeParse(raw)
  if (!response.success) throw new ClawMeshError('BAD_REQUEST', 'malformed RPC response')
  if (!response.data.ok) throw ClawMeshError.fromWire(response.data.error)
  const result = schema.safeParse(response.data.result)
  if (!result.success) throw new ClawMeshError('BAD_REQUEST', `${method} answered outside its contract`)
  return result.data
}

export function askPlanner(libp2p: Libp2p, target: PeerId, protocol: string, text: string) {
  return callPlanner(
    libp2p,
    target,
    protocol,
    'planner.ask',
    { text },
    plannerAnswerSchema,
    PLANNER_ASK_TIMEOUT_MS,
  )
}

export function plannerStatus(libp2p: Libp2p, target: PeerId, protocol: string) {
  return callPlanner(libp2p, target, protocol, 'planner.status', {}, plannerStatusSchema)
}
