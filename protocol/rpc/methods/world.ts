/** The world model over RPC: `mesh.world.query` for readers; `context.sync.ids` and
 * `context.sync.frames` (and `context.sync`, which older nodes ask) for a node catching up. */
import { z } from 'zod'
import { frameIdSchema } from '../../context/batch-proof.ts'
import { FRAME_KINDS, frameSchema, TRUST_TIERS } from '../../context/frame.ts'
import {
  CAPABILITY_MAX_LENGTH,
  CONTEXT_SYNC_FETCH_IDS_MAX,
  CONTEXT_SYNC_IDS_PER_PAGE,
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

/** A page of the frame IDs a node holds in a time window, newest first. `until` (inclusive) pages
 * on: the next page is asked with `until` = the page's `oldest`, whose frames may be listed twice. */
export const contextSyncIdsParamsSchema = z
  .object({
    since: z.number().int().nonnegative().optional(),
    until: z.number().int().nonnegative().optional(),
  })
  .strict()

export const contextSyncIdsResultSchema = z.object({
  frameIds: z.array(frameIdSchema).max(CONTEXT_SYNC_IDS_PER_PAGE),
  /** Timestamp of the oldest frame listed (absent when none was). */
  oldest: z.number().int().nonnegative().optional(),
  /** The page is full: older frames in the window may follow. */
  more: z.boolean(),
})
export type ContextSyncIdsResult = z.infer<typeof contextSyncIdsResultSchema>

export const contextSyncFramesParamsSchema = z
  .object({ frameIds: z.array(frameIdSchema).max(CONTEXT_SYNC_FETCH_IDS_MAX) })
  .strict()

/** The asked frames the node holds, in the asked order, as far as one answer's byte budget goes:
 * `through` asked IDs are covered (sent, or not held); the caller asks for the rest again. Frames
 * cross as signed records, re-verified by the caller like `context.sync`'s. */
export const contextSyncFramesResultSchema = z.object({
  frames: z.array(signed(frameSchema)),
  through: z.number().int().nonnegative().max(CONTEXT_SYNC_FETCH_IDS_MAX),
})

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
  'context.sync.ids': method({
    params: contextSyncIdsParamsSchema,
    result: contextSyncIdsResultSchema,
    access: 'peer',
    description:
      'IDs of the frames held since a moment (at most 30 min old), newest first, a page at a time: a node catching up fetches only those it lacks.',
  }),
  'context.sync.frames': method({
    params: contextSyncFramesParamsSchema,
    result: contextSyncFramesResultSchema,
    access: 'peer',
    description:
      'Frames by ID for a node catching up, as many as fit one answer; the caller re-verifies each.',
  }),
} as const
