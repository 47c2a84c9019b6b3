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

export const capabilitySchema = z
  .string()
  .min(3)
  .max(CAPABILITY_MAX_LENGTH)
  .regex(
    /^[a-z][a-z0-9-]*(:[a-z0-9][a-z0-9._-]*)+$/,
    'capabilities look like "sensor:soil-moisture:zone-1" (lowercase segments separated by ":")',
  )
export type Capability = z.infer<typeof capabilitySchema>
