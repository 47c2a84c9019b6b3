/**
 * The planner inside a node: a session on `planner` / `standby-planner` nodes (over the node's own
 * tools and the selected backend), the leader this node believes in, and the RPC handlers
 * `planner.ask`, `planner.status` and `mesh.message.forward`. Input reaching a node that does not
 * lead is forwarded to the leader once and its answer relayed back; with no leader known the caller
 * gets NO_PLANNER.
 *
 * It is a NodeSurface (node/surface.ts): the node lists it once and takes its RPC methods and its
 * start/stop from it.
 */
import { ClawMeshError } from '../../protocol/errors.ts'
import type { MessageForwardParams, PlannerStatus } from '../../protocol/planner.ts'
import { isCommandCenterRole, type NodeRole } from '../../protocol/roles.ts'
import type { PlannerAnswer } from '../../protocol/rpc/methods.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { RpcHandlers } from '../../runtime/rpc/rpc-server.ts'
import type { FrameListener } from '../context/context-service.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { NodeSurface } from '../surface.ts'
import type { PlannerBackend, PlannerTools } from './backend.ts'
import type { LeaderView } from './leader-view.ts'
import { PlannerSession, type PlannerSessionInit } from './planner-session.ts'

export type PlannerHandlers = Pick<RpcHandlers, 'planner.ask' | 'planner.status' | 'mesh.message.forward'>

export interface PlannerRuntimeInit {
  deviceId: string
  role: NodeRole
  leaderView: LeaderView
  /** Only consulted on roles that run a planner. */
  backend: () => PlannerBackend
  tools: () => PlannerTools
  publish: PlannerSessionInit['publish']
  /** Asks the leader (`mesh.message.forward`). */
  forward(leaderId: string, params: MessageForwardParams): Promise<PlannerAnswer>
  /** Display name of a caller (trust-store name), when known. */
  nameOf(deviceId: string): string | undefined
  events: EventRing
  counters: Counters
  log: (line: string) => void
  /** The node's verified frames: while started, the session observes each (alerts, answers). */
  onFrame?: (listener: FrameListener) => () => void
  session?: Partial<PlannerSessionInit>
}

export class PlannerRuntime implements NodeSurface {
  readonly name = 'planner'
  readonly #init: PlannerRuntimeInit
  readonly session: PlannerSession | undefined
  #stopObserving = () => {}

  constructor(init: PlannerRuntimeInit) {
    this.#init = init
    this.session = isCommandCenterRole(init.role)
      ? new PlannerSession({
          deviceId: init.deviceId,
          backend: init.backend(),
          tools: init.tools(),
          leaderView: init.leaderView,
          publish: init.publish,
          events: init.events,
          counters: init.counters,
          log: init.log,
          ...init.session,
        })
      : undefined
  }

  get leaderView(): LeaderView {
    return this.#init.leaderView
  }

  start(): void {
    const session = this.session
    if (session !== undefined && this.#init.onFrame !== undefined)
      this.#stopObserving = this.#init.onFrame((frame) => session.observe(frame))
    session?.start()
  }

  stop(): void {
    this.#stopObserving()
    this.session?.stop()
  }

  status(): PlannerStatus {
    const leader = this.#init.leaderView.leader()
    return {
      ...(this.session?.status() ?? { mode: 'idle', queueDepth: 0, backend: 'none', ruleBased: false }),
      isLeader: this.session !== undefined && this.#init.leaderView.isLeader(),
      ...(leader === undefined ? {} : { leader }),
    }
  }

  handlers(): PlannerHandlers {
    return {
      'planner.ask': (params, call) => this.#answerOrForward(params.text, call.callerId),
      'planner.status': () => this.status(),
      'mesh.message.forward': async (params, call) => {
        if (this.session === undefined || !this.#init.leaderView.isLeader()) {
          // One hop only: a node that is not the leader does not forward again.
          this.#init.counters.increment('planner.forward.refused.not-leader')
          throw new ClawMeshError(
            'NO_PLANNER',
            `input forwarded by ${call.callerId} reached ${this.#init.deviceId}, which does not lead planning`,
          )
        }
        this.#init.counters.increment('planner.forward.received')
        return this.session.ask(params.text, { operator: this.#operator(params.from) })
      },
    }
  }

  async #answerOrForward(text: string, callerId: string): Promise<PlannerAnswer> {
    if (this.session !== undefined && this.#init.leaderView.isLeader()) {
      return this.session.ask(text, { operator: this.#operator(callerId) })
    }
    const leader = this.#init.leaderView.leader()
    if (leader === undefined || leader.deviceId === this.#init.deviceId) {
      this.#init.counters.increment('planner.refused.no-leader')
      throw new ClawMeshError(
        'NO_PLANNER',
        'no planner leader is known: start a node with --role planner (or standby-planner) and connect it to this one',
      )
    }
    this.#init.counters.increment('planner.forwarded')
    try {
      return await this.#init.forward(leader.deviceId, { text, from: callerId, hops: 1 })
    } catch (error) {
      if (error instanceof ClawMeshError) throw error
      this.#init.counters.increment('planner.forward.failed')
      throw new ClawMeshError(
        'NO_PLANNER',
        `the planner leader ${leader.deviceId} could not be reached (${(error as Error).message})`,
        { cause: error },
      )
    }
  }

  #operator(deviceId: string): { id: string; name: string } {
    return { id: deviceId, name: this.#init.nameOf(deviceId) ?? deviceId.slice(-8) }
  }
}
