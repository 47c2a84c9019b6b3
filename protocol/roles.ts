/**
 * Node roles and capability strings. Roles decide what a node does in the mesh (a `viewer` never
 * receives routed work); capabilities (`kind:what:where`, e.g. `actuator:valve:zone-1`) decide
 * where work is routed.
 */
import { z } from 'zod'
import { CAPABILITY_MAX_LENGTH } from './limits.ts'

export const NODE_ROLES = [
  'planner',
  'standby-planner',
  'field',
  'sensor',
  'actuator',
  'viewer',
  'node',
] as const
export const nodeRoleSchema = z.enum(NODE_ROLES)
export type NodeRole = z.infer<typeof nodeRoleSchema>

/** Roles of a command center: the node runs a planner session, stands for planner leadership
 * (best first: a `planner` outranks a `standby-planner`), serves the console and is a command center
 * for itself. */
export const COMMAND_CENTER_ROLES = ['planner', 'standby-planner'] as const satisfies readonly NodeRole[]
export type CommandCenterRole = (typeof COMMAND_CENTER_ROLES)[number]

/** Takes any value, so a role read from flags or the wire can be asked before it is parsed. */
export function isCommandCenterRole(role: unknown): role is CommandCenterRole {
  return COMMAND_CENTER_ROLES.some((candidate) => candidate === role)
}

export const capabilitySchema = z
  .string()
  .min(3)
  .max(CAPABILITY_MAX_LENGTH)
  .regex(
    /^[a-z][a-z0-9-]*(:[a-z0-9][a-z0-9._-]*)+$/,
    'capabilities look like "sensor:soil-moisture:zone-1" (lowercase segments separated by ":")',
  )
export type Capability = z.infer<typeof capabilitySchema>
