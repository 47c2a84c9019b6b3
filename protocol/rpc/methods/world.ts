/** The world model over RPC: `mesh.world.query` for readers, `context.sync` for a node catching up. */
import { z } from 'zod'
import { FRAME_KINDS, frameSchema, TRUST_TIERS } from '../../context/frame.ts'
import {
  CAPABILITY_MAX_LENGTH,
  CONTEXT_SYNC_MAX_FRAMES,
  DEVICE_ID_FIELD_MAX_LENGTH,
  WORLD_FILTER_MAX_LENGTH,
  WORLD_QUERY_MAX_LIMIT,
} from '../../limits.ts'
import { signed } from '../signed.ts'
import { method } from './define.ts'

export const worldQueryParamsSchema = z
  .object({
    kind: z.enum(FRAME_KINDS).optional(),
    origin: z.string().max(DEVICE_ID_FIELD_MAX_LENGTH).optional(),
    zone: z.string().max(WORLD_FILTER_MAX_LENGTH).optional(),
    metric: z.string().max(WORLD_FILTER_MAX_LENGTH).optional(),
    capability: z.string().max(CAPABILITY_MAX_LENGTH).optional(),
    since: z.number().int().nonnegative().optional(),
    until: z.number().int().nonnegative().optional(),
    minTier: z.enum(TRUST_TIERS).optional(),
    limit: z.number().int().positive().max(WORLD_QUERY_MAX_LIMIT).optional(),
    summary: z.boolean().optional(),
  })
  .strict()
export type WorldQueryParams = z.infer<typeof worldQueryParamsSchema>

/** The answering node's world model holds verified frames only, so they cross with their schema. */
export const worldQueryResultSchema = z.object({
  frames: z.array(frameSchema),
  summary: z.string().optional(),
  /** More frames matched than fit in one answer (RPC_ANSWER_FRAMES_MAX_BYTES): narrow the query. */
  truncated: z.boolean().optional(),
})

export const contextSyncParamsSchema = z
  .object({
    since: z.number().int().nonnegative().optional(),
    limit: z.number().int().positive().max(CONTEXT_SYNC_MAX_FRAMES).optional(),
  })
  .strict()

/** The catching-up node re-verifies every frame (signature, mesh, trust) and counts each one it
 * refuses, so one bad frame costs that frame, not the whole answer: frames cross as signed records. */
export const contextSyncResultSchema = z.object({ frames: z.array(signed(frameSchema)) })

export const WORLD_METHODS = {
  'mesh.world.query': method({
    params: worldQueryParamsSchema.optional(),
    result: worldQueryResultSchema,
    access: 'peer',
    description:
      'Frames in the world model by kind, origin, zone, capability, time window and minimum trust tier.',
  }),
  'context.sync': method({
    params: contextSyncParamsSchema.optional(),
    result: contextSyncResultSchema,
    access: 'peer',
    description:
      'Recent frames for a reconnecting node (bounded by count and age); the caller re-verifies each.',
  }),
} as const
