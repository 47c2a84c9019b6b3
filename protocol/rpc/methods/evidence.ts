/** `evidence.checkpoints`: the signed evidence-log heads a node keeps of its peers. */
import { z } from 'zod'
import { deviceIdSchema } from '../../device-id.ts'
import { evidenceCheckpointSchema } from '../../safety/evidence-checkpoint.ts'
import { method } from './define.ts'

/** A checkpoint refused as a step back (`rollback`) or a second hash for one sequence (`fork`):
 * both the checkpoint held and the one offered, each signed by the node, kept as evidence. */
export const checkpointAnomalySchema = z.strictObject({
  kind: z.enum(['rollback', 'fork']),
  nodeId: deviceIdSchema,
  held: evidenceCheckpointSchema,
  offered: evidenceCheckpointSchema,
  seenAt: z.number().int().nonnegative(),
})
export type CheckpointAnomaly = z.infer<typeof checkpointAnomalySchema>

export const evidenceCheckpointsResultSchema = z.strictObject({
  /** The node that kept these checkpoints. */
  holder: deviceIdSchema,
  /** Oldest first per node; the last one of a node is its latest. */
  checkpoints: z.array(evidenceCheckpointSchema),
  anomalies: z.array(checkpointAnomalySchema),
})
export type EvidenceCheckpointsResult = z.infer<typeof evidenceCheckpointsResultSchema>

export const EVIDENCE_METHODS = {
  'evidence.checkpoints': method({
    params: z.strictObject({ node: deviceIdSchema.optional() }).optional(),
    result: evidenceCheckpointsResultSchema,
    access: 'peer',
    description:
      "Signed evidence-log checkpoints this node keeps of its peers (optionally one node's), and the rollbacks and forks it saw.",
  }),
} as const
