/**
 * The node's complete RPC handler table: one module per domain, plus what each surface answers.
 * Every method of protocol/rpc/methods.ts must have exactly one handler: a method left unanswered
 * or answered twice stops the node at startup (HandlerTableError), not at the first call.
 */

import type { MeshStatus } from '../../../protocol/rpc/methods.ts'
import { RPC_METHODS, type RpcMethodName } from '../../../protocol/rpc/methods.ts'
import type { RpcHandlers } from '../../../runtime/rpc/rpc-server.ts'
import type { NodeComponents } from '../../components.ts'
import type { EvidenceCheckpoints } from '../../safety/evidence-checkpoints.ts'
import type { NodeSurface } from '../../surface.ts'
import type { CallerRecords } from '../caller-records.ts'
import { createConsoleHandlers } from './console.ts'
import { createEstopHandlers } from './estop.ts'
import { createMeshHandlers } from './mesh.ts'
import { createOperatorHandlers } from './operators.ts'
import { createPairingHandlers } from './pairing.ts'
import { createProposalHandlers } from './proposals.ts'

export class HandlerTableError extends Error {
  override readonly name = 'HandlerTableError'
}

export interface RpcHandlersInit {
  components: NodeComponents
  callers: CallerRecords
  status: () => MeshStatus
  evidenceCheckpoints: EvidenceCheckpoints
  surfaces: readonly NodeSurface[]
}

export function createRpcHandlers(init: RpcHandlersInit): RpcHandlers {
  const { components } = init
  const parts: Array<[string, Partial<RpcHandlers>]> = [
    ['mesh', createMeshHandlers(components, init.status)],
    ['proposals', createProposalHandlers(components, init.callers)],
    ['estop', createEstopHandlers(components, init.callers)],
    ['operators', createOperatorHandlers(components)],
    ['pairing', createPairingHandlers(components)],
    ['console', createConsoleHandlers(components)],
    ['evidence', init.evidenceCheckpoints.handlers()],
    ...init.surfaces.map((surface): [string, Partial<RpcHandlers>] => [
      surface.name,
      surface.handlers?.() ?? {},
    ]),
  ]
  return mergeHandlerTables(parts)
}

/** Merges named handler tables into the complete table (HandlerTableError on a gap or an overlap). */
export function mergeHandlerTables(
  parts: ReadonlyArray<readonly [string, Partial<RpcHandlers>]>,
): RpcHandlers {
  const table: Partial<Record<RpcMethodName, unknown>> = {}
  const owner = new Map<string, string>()
  for (const [name, handlers] of parts) {
    for (const [method, handler] of Object.entries(handlers)) {
      const taken = owner.get(method)
      if (taken !== undefined)
        throw new HandlerTableError(`${method} is answered by both ${taken} and ${name}`)
      owner.set(method, name)
      table[method as RpcMethodName] = handler
    }
  }
  const missing = (Object.keys(RPC_METHODS) as RpcMethodName[]).filter(
    (method) => table[method] === undefined,
  )
  if (missing.length > 0) throw new HandlerTableError(`no handler for ${missing.join(', ')}`)
  return table as RpcHandlers
}
