/**
 * RPC methods of the emergency stop and of proposal cancellation (docs/safety.md), kept in their own
 * block of the closed method table (spread into RPC_METHODS in methods.ts).
 */
import { z } from 'zod'
import { deviceIdSchema } from '../device-id.ts'
import { capabilitySchema } from '../roles.ts'
import { ESTOP_REASON_MAX_LENGTH, estopScopeSchema } from '../safety/estop.ts'
import type { MethodDefinition } from './methods.ts'

const signedRecordSchema = z.record(z.string(), z.unknown())
const proposalIdSchema = z.string().min(1).max(128)

/** One actuator after a stop, as the node that drives it answered. */
export const estopActuatorResultSchema = z.strictObject({
  capability: capabilitySchema,
  /** The node serving it (absent: the site binds it to no known device). */
  node: deviceIdSchema.optional(),
  outcome: z.enum(['safe', 'unreachable', 'refused']),
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

export const ESTOP_RPC_METHODS = {
  'safety.estop': {
    params: z.strictObject({ order: signedRecordSchema }),
    result: estopResultSchema,
    access: 'peer',
    description:
      "An operator's signed emergency stop: every actuator in scope is driven to its safe state and latched, and proposals for them are cancelled.",
  },
  'actuator.estop': {
    params: z.strictObject({ order: signedRecordSchema }),
    result: actuatorEstopResultSchema,
    access: 'peer',
    description:
      "Latches this node's actuators in the signed stop's scope and drives them safe; the node verifies the operator's signature and certificate itself.",
  },
  'safety.estop.clear': {
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
  },
  'safety.estop.status': {
    params: z.strictObject({}).optional(),
    result: z.strictObject({ latches: z.array(latchWireSchema) }),
    access: 'peer',
    description: "This node's latched actuators.",
  },
  'proposal.cancel': {
    params: z.strictObject({
      id: proposalIdSchema,
      reason: z.string().max(ESTOP_REASON_MAX_LENGTH).optional(),
    }),
    result: z.strictObject({
      id: proposalIdSchema,
      state: z.string(),
      reason: z.string(),
      /** The actuator recorded the cancel (for a proposal already sent); false when it could not be
       * reached (the command center still never sends it again). */
      actuatorConfirmed: z.boolean().optional(),
    }),
    access: 'peer',
    description:
      'Withdraws a proposal (its author or an admin): it never executes, the actuator refusing a command already in flight.',
  },
  'actuator.cancel': {
    params: z.strictObject({ cancel: signedRecordSchema }),
    result: z.strictObject({ cancelled: z.boolean(), detail: z.string() }),
    access: 'peer',
    description: "A command center's signed cancel of a command: the actuator refuses it from now on.",
  },
} as const satisfies Record<string, MethodDefinition>
