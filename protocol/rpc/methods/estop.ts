/**
 * The emergency stop and proposal withdrawal (docs/safety.md): an operator's signed stop, relayed by a
 * command center to every actuator node in scope; the clear, an L2 proposal per actuator; a
 * command center's signed cancel of a command already sent.
 */
import { z } from 'zod'
import { deviceIdSchema } from '../../device-id.ts'
import { PROPOSAL_REF_MAX_LENGTH } from '../../limits.ts'
import { capabilitySchema } from '../../roles.ts'
import {
  commandCancelSchema,
  ESTOP_REASON_MAX_LENGTH,
  estopOrderSchema,
  estopScopeSchema,
} from '../../safety/estop.ts'
import { proposalStateSchema } from '../../safety/proposal-record.ts'
import { signed } from '../signed.ts'
import { method, noParamsSchema } from './define.ts'

const proposalIdSchema = z.string().nonempty().max(PROPOSAL_REF_MAX_LENGTH)

/** One actuator after a stop, as the node that drives it answered. */
export const estopActuatorResultSchema = z.strictObject({
  capability: capabilitySchema,
  /** The node serving it (absent: the site binds it to no known device). */
  node: deviceIdSchema.optional(),
  /** `failed`: the driver threw while driving it safe (the node logs why): check it on site. */
  outcome: z.enum(['safe', 'unreachable', 'refused', 'failed']),
  /** The actuator is latched (persisted) and refuses commands until a clear. */
  latched: z.boolean(),
  detail: z.string().optional(),
})
export type EstopActuatorResult = z.infer<typeof estopActuatorResultSchema>

export const estopResultSchema = z.strictObject({
  scope: z.string(),
  actuators: z.array(estopActuatorResultSchema),
  /** Proposals for the stopped actuators cancelled with the stop's reason. */
  cancelled: z.array(proposalIdSchema),
})

export const actuatorEstopResultSchema = z.strictObject({
  node: deviceIdSchema,
  actuators: z.array(estopActuatorResultSchema),
})

export const latchWireSchema = z.strictObject({
  capability: capabilitySchema,
  latchedAt: z.number(),
  operatorId: z.string(),
  reason: z.string(),
})

export const ESTOP_METHODS = {
  'safety.estop': method({
    params: z.strictObject({ order: signed(estopOrderSchema) }),
    result: estopResultSchema,
    access: 'peer',
    description:
      "An operator's signed emergency stop: every actuator in scope is driven to its safe state and latched, and proposals for them are cancelled.",
  }),
  'actuator.estop': method({
    params: z.strictObject({ order: signed(estopOrderSchema) }),
    result: actuatorEstopResultSchema,
    access: 'peer',
    description:
      "Latches this node's actuators in the signed stop's scope and drives them safe; the node verifies the operator's signature and certificate itself.",
  }),
  'safety.estop.clear': method({
    params: z.strictObject({ scope: estopScopeSchema }),
    result: z.strictObject({
      proposals: z.array(
        z.strictObject({
          id: proposalIdSchema,
          hash: z.string(),
          capability: capabilitySchema,
          targetNode: z.string(),
        }),
      ),
    }),
    access: 'peer',
    description:
      'Asks to clear the stop latches in scope (operator or admin): one L2 `estop.clear` proposal per actuator, to be approved.',
  }),
  'safety.estop.status': method({
    params: noParamsSchema,
    result: z.strictObject({ latches: z.array(latchWireSchema) }),
    access: 'peer',
    description: "This node's latched actuators.",
  }),
  'proposal.cancel': method({
    params: z.strictObject({
      id: proposalIdSchema,
      reason: z.string().max(ESTOP_REASON_MAX_LENGTH).optional(),
    }),
    result: z.strictObject({
      id: proposalIdSchema,
      state: proposalStateSchema,
      reason: z.string(),
      /** The actuator recorded the cancel (for a proposal already sent); false when it could not be
       * reached (the command center still never sends it again). */
      actuatorConfirmed: z.boolean().optional(),
    }),
    access: 'peer',
    description:
      'Withdraws a proposal (its author or an admin): it never executes, the actuator refusing a command already in flight.',
  }),
  'actuator.cancel': method({
    params: z.strictObject({ cancel: signed(commandCancelSchema) }),
    result: z.strictObject({ cancelled: z.boolean(), detail: z.string() }),
    access: 'peer',
    description: "A command center's signed cancel of a command: the actuator refuses it from now on.",
  }),
} as const
