/**
 * The closed RPC method table: every method a ClawMesh node answers, with the zod schemas of its
 * params and result and who may call it. Server and clients import this one table, so a method,
 * a field or a permission cannot drift between them. Each domain keeps its methods in its own file
 * here; this file only merges them. Numbers in those schemas are named limits (`no-literals.test.ts`).
 */
import type { z } from 'zod'
import { CAPABILITY_METHODS } from './capabilities.ts'
import { CONSOLE_METHODS } from './console.ts'
import { ESTOP_METHODS } from './estop.ts'
import { EVIDENCE_METHODS } from './evidence.ts'
import { FLEET_METHODS } from './fleet.ts'
import { MESH_METHODS } from './mesh.ts'
import { OPERATOR_METHODS } from './operators.ts'
import { PAIRING_METHODS } from './pairing.ts'
import { PLANNER_METHODS } from './planner.ts'
import { PROPOSAL_METHODS } from './proposals.ts'
import { TELEGRAM_METHODS } from './telegram.ts'
import { WORLD_METHODS } from './world.ts'

export * from './capabilities.ts'
export * from './define.ts'
export * from './estop.ts'
export * from './evidence.ts'
export * from './fleet.ts'
export * from './mesh.ts'
export * from './operators.ts'
export * from './pairing.ts'
export * from './planner.ts'
export * from './proposals.ts'
export * from './telegram.ts'
export * from './world.ts'

export const RPC_METHODS = {
  ...MESH_METHODS,
  ...WORLD_METHODS,
  ...CAPABILITY_METHODS,
  ...PROPOSAL_METHODS,
  ...OPERATOR_METHODS,
  ...PAIRING_METHODS,
  ...PLANNER_METHODS,
  ...CONSOLE_METHODS,
  ...EVIDENCE_METHODS,
  ...FLEET_METHODS,
  ...ESTOP_METHODS,
  ...TELEGRAM_METHODS,
} as const

export type RpcMethodName = keyof typeof RPC_METHODS
export type RpcParams<M extends RpcMethodName> = z.input<(typeof RPC_METHODS)[M]['params']>
export type RpcResult<M extends RpcMethodName> = z.output<(typeof RPC_METHODS)[M]['result']>

export function isRpcMethodName(name: string): name is RpcMethodName {
  return Object.hasOwn(RPC_METHODS, name)
}
