/** Fleet operations over RPC: the policy's answer for a subject (`policy.check`), `doctor` over the
 * whole fleet (`host.monitor.check`) and the leader's continuous monitor (`host.monitor.agent`). */
import { z } from 'zod'
import { FINDING_LABEL_MAX_CHARS } from '../../host-ops/findings.ts'
import { fleetCheckSchema, MONITOR_INTERVAL_MAX_MS, MONITOR_INTERVAL_MIN_MS } from '../../host-ops/fleet.ts'
import { DISPLAY_NAME_MAX_LENGTH, OPERATION_NAME_MAX_LENGTH } from '../../limits.ts'
import { capabilitySchema } from '../../roles.ts'
import { OPERATOR_ROLES } from '../../safety/operator-certificate.ts'
import { POLICY_CHECK_ACTIONS, policyCheckAnswerSchema } from '../../safety/policy-check.ts'
import { method, noParamsSchema } from './define.ts'

export const policyCheckParamsSchema = z.strictObject({
  /** A role (one of OPERATOR_ROLES), `planner`, `device`, or an operator's name as certified here. */
  subject: z.string().nonempty().max(DISPLAY_NAME_MAX_LENGTH),
  action: z.enum(POLICY_CHECK_ACTIONS),
  capability: capabilitySchema,
  operation: z.string().nonempty().max(OPERATION_NAME_MAX_LENGTH),
})

export const policyCheckResultSchema = z.strictObject({
  /** The subject as this node resolved it. */
  subject: z.strictObject({
    kind: z.enum(['operator', 'planner', 'device']),
    name: z.string().max(DISPLAY_NAME_MAX_LENGTH).optional(),
    roles: z.array(z.enum(OPERATOR_ROLES)).optional(),
  }),
  action: z.enum(POLICY_CHECK_ACTIONS),
  capability: capabilitySchema,
  operation: z.string().max(OPERATION_NAME_MAX_LENGTH),
  answer: policyCheckAnswerSchema,
  /** The node whose records and manifests answered. */
  answeredBy: z.string().max(FINDING_LABEL_MAX_CHARS),
})
export type PolicyCheckResult = z.infer<typeof policyCheckResultSchema>

export const monitorAgentParamsSchema = z.strictObject({
  /** Run every this many ms; absent or `stop` to stop. */
  intervalMs: z.number().int().min(MONITOR_INTERVAL_MIN_MS).max(MONITOR_INTERVAL_MAX_MS).optional(),
  stop: z.boolean().optional(),
})

export const monitorAgentStatusSchema = z.strictObject({
  running: z.boolean(),
  intervalMs: z.number().int().nonnegative().optional(),
  /** Whether this node leads now: a standby keeps its interval and runs only while it leads. */
  leading: z.boolean(),
  runs: z.number().int().nonnegative(),
  alertsRaised: z.number().int().nonnegative(),
  lastRunAt: z.number().int().nonnegative().optional(),
})
export type MonitorAgentStatus = z.infer<typeof monitorAgentStatusSchema>

export const FLEET_METHODS = {
  'policy.check': method({
    params: policyCheckParamsSchema,
    result: policyCheckResultSchema,
    access: 'peer',
    description:
      "The policy's answer (allow / needs approval at a level / deny, with the rule) for a subject, an action and a capability operation, from the rules the hops run.",
  }),
  'host.monitor.check': method({
    params: noParamsSchema,
    result: fleetCheckSchema,
    access: 'peer',
    description:
      'Runs doctor on every node offering host:* at once; one row per node, stored in this node’s evidence log.',
  }),
  'host.monitor.agent': method({
    params: monitorAgentParamsSchema,
    result: monitorAgentStatusSchema,
    access: 'admin',
    description:
      'Starts (intervalMs), stops (stop) or reports the monitor agent: while this node leads it runs host.monitor.check and raises one event per failing crossing.',
  }),
} as const
