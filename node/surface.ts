/**
 * A surface is one way in to a node — the planner today; MCP, Telegram, a TUI or host operations
 * next. It is added as ONE part: the RPC methods it answers, the capabilities it advertises and
 * its start/stop. The composition root lists it once; the RPC handler table, the advertised
 * capabilities and the lifecycle pick it up from there (docs/architecture.md, "Adding a surface").
 */
import type { RpcHandlers } from '../runtime/rpc/rpc-server.ts'

export interface NodeSurface {
  /** Names the surface in logs and in a start failure (PartStartError.part). */
  readonly name: string
  /** The RPC methods it answers; each method is declared in protocol/rpc/methods.ts first. A method
   * two parts answer is a startup error. */
  handlers?(): Partial<RpcHandlers>
  /** Capability strings this node advertises while the surface is part of it. */
  capabilities?(): readonly string[]
  /** Starts after the mesh, RPC server and safety runtime are running; stops before them. */
  start(): void | Promise<void>
  stop(): void | Promise<void>
}
