/** The planner over RPC: questions and requests (`planner.ask`, forwarded to the leader as
 * `mesh.message.forward`) and its status. */
import { z } from 'zod'
import { deviceIdSchema } from '../../device-id.ts'
import { messageForwardParamsSchema, plannerAskParamsSchema, plannerStatusSchema } from '../../planner.ts'
import { proposalRecordSchema } from '../../safety/proposal-record.ts'
import { method, noParamsSchema } from './define.ts'

/** What `planner.ask` and `mesh.message.forward` answer: the planner's text, the backend that wrote
 * it (honestly labelled), the proposals it created (awaiting approval, never executed by it), and
 * the device that answered (the leader, when the question was forwarded). */
export const plannerAnswerSchema = z.object({
  answer: z.string(),
  planner: z.string(),
  ruleBased: z.boolean(),
  proposals: z.array(proposalRecordSchema),
  responseFrameId: z.string().optional(),
  answeredBy: deviceIdSchema,
  error: z.string().optional(),
})
export type PlannerAnswer = z.infer<typeof plannerAnswerSchema>

export const PLANNER_METHODS = {
  'planner.ask': method({
    params: plannerAskParamsSchema,
    result: plannerAnswerSchema,
    access: 'peer',
    description:
      'Asks the planner a question or for an action; a non-leader forwards to the leader. Proposals it creates await approval.',
  }),
  'planner.status': method({
    params: noParamsSchema,
    result: plannerStatusSchema,
    access: 'peer',
    description: 'Planner mode, current tool, queue depth, backend label and the leader this node knows.',
  }),
  'mesh.message.forward': method({
    params: messageForwardParamsSchema,
    result: plannerAnswerSchema,
    access: 'peer',
    description:
      'Operator input forwarded by a non-leader to the planner leader (one hop at most); answered like planner.ask.',
  }),
} as const
