/**
 * The command center's side of an emergency stop, of clearing one, and of withdrawing proposals:
 * - `estop`: checks the operator's signed order (so a bad one is refused at once, not relayed),
 *   hands it as it is to every node that drives an actuator in scope (in parallel, this node's own
 *   gate included) — each node verifies it again itself — and cancels the open and approved
 *   proposals for those actuators with the stop's reason;
 * - `requestClear`: for an operator or admin, one L2 `estop.clear` proposal per latched actuator in
 *   scope, authored by this command center; the clear runs only once approved, and the actuator
 *   checks the approval itself;
 * - `cancel`: the proposal's author or an admin withdraws it; a proposal already sent is cancelled
 *   at its actuator first (a signed cancel), so a command in flight never moves the device;
 * - `cancelUnsent`: what a deposed planner does with approved proposals it will not send
 *   (dispatcher.ts decides when; docs/safety.md says why).
 */
import type { Frame, LocalFrameFields } from '../../protocol/context/index.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import type { CallerRecord } from '../../protocol/rpc/caller-access.ts'
import type { EstopActuatorResult } from '../../protocol/rpc/methods/estop.ts'
import {
  describeEstopScope,
  ESTOP_CLEAR_ROLES,
  type EstopScope,
  estopScopeCovers,
  type IsOperatorRevoked,
  signCommandCancel,
  TERMINAL_PROPOSAL_STATES,
  verifyEstopOrder,
} from '../../protocol/safety/index.ts'
import { isCancellableProposalState } from '../../protocol/safety/proposal-state.ts'
import type { Signer } from '../../protocol/signing.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { SiteBindings } from '../site/site-bindings.ts'
import type { SiteModel } from '../site/site-model.ts'
import type { EvidenceLogWriter } from './evidence-log-writer.ts'
import type { ProposalAuthorRecord } from './forwarder.ts'
import type { ProposalStore, StoredProposal } from './proposal-store.ts'

/** How long the command center waits for a node to answer a stop or a cancel: the stop must not
 * wait on a dead node, and a live one answers in milliseconds. */
export const ESTOP_RELAY_TIMEOUT_MS = 5_000

/** Calls a node (this node included) for the stop's RPCs. */
export interface EstopTransport {
  estop(node: string, order: unknown): Promise<{ actuators: EstopActuatorResult[] }>
  cancel(node: string, cancel: unknown): Promise<{ cancelled: boolean; detail: string }>
  latches(node: string): Promise<{ latches: Array<{ capability: string }> }>
}

export interface EstopCommandInit {
  deviceId: string
  signer: Signer
  site: SiteModel | undefined
  bindings: Pick<SiteBindings, 'deviceFor'>
  proposals: Pick<ProposalStore, 'list' | 'get' | 'move'>
  evidence: Pick<EvidenceLogWriter, 'append'>
  isCommandCenter(deviceId: string): boolean
  isRevoked: IsOperatorRevoked
  transport: EstopTransport
  /** Publishes the order as an `estop` frame too: nodes the command center cannot call directly
   * get it over gossip. */
  publish(fields: LocalFrameFields, options?: { urgent?: boolean }): Promise<Frame>
  /** Creates the clear proposal through the forwarder (the one path proposals take). */
  createClearProposal(capability: string, targetNode: string, requestedBy: string): Promise<StoredProposal>
  counters: Pick<Counters, 'increment'>
  events: Pick<EventRing, 'push'>
  now(): number
  log(line: string): void
}

export class EstopCommand {
  readonly #init: EstopCommandInit

  constructor(init: EstopCommandInit) {
    this.#init = init
  }

  async estop(
    order: unknown,
  ): Promise<{ scope: string; actuators: EstopActuatorResult[]; cancelled: string[] }> {
    const init = this.#init
    const verdict = await verifyEstopOrder(order, {
      trustedIssuers: (id) => init.isCommandCenter(id),
      isRevoked: init.isRevoked,
      now: init.now(),
    })
    if (verdict.outcome === 'reject') {
      const code = `estop-${verdict.reason}`
      init.counters.increment(`safety.refused.${code}`)
      await init.evidence.append('refusal', { hop: 'forwarder', code, detail: verdict.detail })
      throw new ClawMeshError('POLICY_DENIED', `emergency stop refused (${code}): ${verdict.detail}`, {
        data: { code },
      })
    }
    const { scope, reason } = verdict.order.body
    const inScope = this.#actuatorsIn(scope)
    const byNode = new Map<string, string[]>()
    const results: EstopActuatorResult[] = []
    for (const actuator of inScope) {
      if (actuator.node === undefined) {
        results.push({
          capability: actuator.capability,
          outcome: 'unreachable',
          latched: false,
          detail: 'the site binds it to no known device',
        })
        continue
      }
      byNode.set(actuator.node, [...(byNode.get(actuator.node) ?? []), actuator.capability])
    }
    // The stop goes out first, by gossip and directly; proposals are cancelled while the nodes act.
    void init
      .publish(
        { kind: 'estop', data: verdict.order, trust: { tier: 'T3', sources: ['operator'] } },
        { urgent: true },
      )
      .catch((error: Error) => init.log(`could not publish the stop: ${error.message}`))
    const relayed = Promise.all(
      [...byNode].map(async ([node, capabilities]) => {
        try {
          const answer = await init.transport.estop(node, order)
          return answer.actuators
        } catch (error) {
          init.counters.increment('safety.estop.unreachable')
          return capabilities.map(
            (capability): EstopActuatorResult => ({
              capability,
              node,
              outcome: 'unreachable',
              latched: false,
              detail: (error as Error).message.slice(0, 300),
            }),
          )
        }
      }),
    )
    const capabilities = new Set(inScope.map((actuator) => actuator.capability))
    const cancelReason = `emergency stop by ${verdict.operatorId}${reason === '' ? '' : `: ${reason}`}`
    const cancelled = await this.#cancelWhere(
      (record) => capabilities.has(record.proposal.capability),
      cancelReason,
    )
    for (const answers of await relayed) results.push(...answers)
    init.counters.increment('safety.estop.relayed')
    await init.evidence.append('estop', {
      operatorId: verdict.operatorId,
      scope,
      reason,
      nonce: verdict.order.body.nonce,
      actuators: results.map((result) => ({ capability: result.capability, outcome: result.outcome })),
      cancelled,
    })
    init.log(
      `emergency stop by ${verdict.operatorId} (${describeEstopScope(scope)}): ${results.filter((r) => r.outcome === 'safe').length}/${results.length} actuators safe, ${cancelled.length} proposal(s) cancelled`,
    )
    return { scope: describeEstopScope(scope), actuators: results, cancelled }
  }

  /** One clear proposal per latched actuator in scope (an actuator whose node cannot be asked is
   * included: clearing an unlatched actuator changes nothing). Operators and admins only. */
  async requestClear(scope: EstopScope, callerId: string, caller: CallerRecord): Promise<StoredProposal[]> {
    const init = this.#init
    const permitted =
      caller.kind === 'local-admin' ||
      (caller.kind === 'operator' && caller.roles.some((role) => ESTOP_CLEAR_ROLES.includes(role)))
    if (!permitted) {
      init.counters.increment('safety.refused.estop-clear-not-permitted')
      await init.evidence.append('refusal', {
        hop: 'forwarder',
        code: 'estop-clear-not-permitted',
        caller: callerId,
        detail: `caller is ${caller.kind === 'operator' ? `an operator with roles ${caller.roles.join(', ') || 'none'}` : 'a device'}`,
      })
      throw new ClawMeshError(
        'POLICY_DENIED',
        'only an operator or admin may ask to clear an emergency stop (a viewer, a planner or a device may not)',
        { data: { code: 'estop-clear-not-permitted' } },
      )
    }
    const inScope = this.#actuatorsIn(scope)
    const nodes = [
      ...new Set(inScope.flatMap((actuator) => (actuator.node === undefined ? [] : [actuator.node]))),
    ]
    const latchedByNode = new Map<string, Set<string> | undefined>()
    await Promise.all(
      nodes.map(async (node) => {
        const answer = await init.transport.latches(node).catch(() => undefined)
        latchedByNode.set(
          node,
          answer === undefined ? undefined : new Set(answer.latches.map((l) => l.capability)),
        )
      }),
    )
    const created: StoredProposal[] = []
    for (const actuator of inScope) {
      if (actuator.node === undefined) continue
      const latched = latchedByNode.get(actuator.node)
      if (latched !== undefined && !latched.has(actuator.capability)) continue
      created.push(await init.createClearProposal(actuator.capability, actuator.node, callerId))
    }
    return created
  }

  /** The proposal's author or an admin withdraws it. */
  async cancel(
    id: string,
    callerId: string,
    caller: CallerRecord,
    author: ProposalAuthorRecord,
    reason: string | undefined,
  ): Promise<{ record: StoredProposal; actuatorConfirmed?: boolean }> {
    const init = this.#init
    const record = init.proposals.get(id)
    if (record === undefined) throw new ClawMeshError('NOT_FOUND', `no proposal ${id}`)
    if (!mayCancel(record, caller, author)) {
      init.counters.increment('safety.refused.cancel-not-permitted')
      await init.evidence.append('refusal', {
        hop: 'forwarder',
        proposalId: record.proposal.id,
        hash: record.hash,
        code: 'cancel-not-permitted',
        caller: callerId,
      })
      throw new ClawMeshError(
        'POLICY_DENIED',
        `only the proposal's author (${record.proposal.author.kind} ${record.proposal.author.id}) or an admin may cancel it`,
        { data: { code: 'cancel-not-permitted' } },
      )
    }
    if (TERMINAL_PROPOSAL_STATES.has(record.state)) {
      throw new ClawMeshError('INVALID_PARAMS', `proposal ${record.proposal.id} is already ${record.state}`)
    }
    const why = `cancelled by ${callerId}${reason ? `: ${reason}` : ''}`
    let actuatorConfirmed: boolean | undefined
    if (record.state === 'approved' || record.state === 'executing') {
      // Sent, or about to be: the actuator records the cancel first, so the command cannot run.
      const answer = await this.#cancelAtActuator(record, why)
      if (answer?.cancelled === false) {
        throw new ClawMeshError('ALREADY_EXECUTED', `too late to cancel: ${answer.detail}`, {
          data: { code: 'replay' },
        })
      }
      actuatorConfirmed = answer !== undefined
    }
    await this.#cancelOne(record, why)
    return {
      record: init.proposals.get(record.hash) ?? record,
      ...(actuatorConfirmed === undefined ? {} : { actuatorConfirmed }),
    }
  }

  /** Cancels a proposal a deposed planner will not send: one already sent (executing) is cancelled
   * at its actuator first; false when the actuator ran it already (its outcome is learned later). */
  async cancelUnsent(hash: string, reason: string): Promise<boolean> {
    const record = this.#init.proposals.get(hash)
    if (record === undefined || !isCancellableProposalState(record.state)) return false
    if (record.state === 'executing') {
      const answer = await this.#cancelAtActuator(record, reason)
      if (answer?.cancelled === false) return false
    }
    return this.#cancelOne(record, reason)
  }

  async #cancelWhere(matches: (record: StoredProposal) => boolean, reason: string): Promise<string[]> {
    const doomed = this.#init.proposals
      .list()
      .filter((record) => isCancellableProposalState(record.state) && matches(record))
    const cancelled = await Promise.all(
      doomed.map(async (record) =>
        (await this.#cancelOne(record, reason)) ? record.proposal.id : undefined,
      ),
    )
    return cancelled.filter((id): id is string => id !== undefined)
  }

  async #cancelOne(record: StoredProposal, reason: string): Promise<boolean> {
    const init = this.#init
    const moved = await init.proposals.move(record.hash, 'cancel', { reason: reason.slice(0, 500) })
    if (moved.outcome === 'reject') return false
    init.counters.increment('safety.cancelled.proposals')
    await init.evidence.append('cancel', { hash: record.hash, proposalId: record.proposal.id, reason })
    return true
  }

  async #cancelAtActuator(
    record: StoredProposal,
    reason: string,
  ): Promise<{ cancelled: boolean; detail: string } | undefined> {
    const init = this.#init
    const cancel = await signCommandCancel(init.signer, {
      commandHash: record.hash,
      proposalId: record.proposal.id,
      reason: reason.slice(0, 500),
      issuedAt: init.now(),
      until: record.proposal.expiresAt,
    })
    try {
      return await init.transport.cancel(record.proposal.targetNode, cancel)
    } catch (error) {
      init.log(
        `could not reach ${record.proposal.targetNode} to cancel ${record.proposal.id} (${(error as Error).message}); it will not be sent again`,
      )
      return undefined
    }
  }

  #actuatorsIn(scope: EstopScope): Array<{ capability: string; node: string | undefined }> {
    const init = this.#init
    return (init.site?.actuators ?? [])
      .map((actuator) => ({ actuator, node: init.bindings.deviceFor(actuator.capability) }))
      .filter(({ actuator, node }) =>
        estopScopeCovers(scope, {
          capability: actuator.capability,
          zone: actuator.zone,
          nodeName: actuator.node,
          deviceId: node,
        }),
      )
      .map(({ actuator, node }) => ({ capability: actuator.capability, node }))
  }
}

/** The proposal's author (as this node recorded it) or an admin; the local admin too. */
function mayCancel(record: StoredProposal, caller: CallerRecord, author: ProposalAuthorRecord): boolean {
  if (caller.kind === 'local-admin') return true
  if (caller.kind === 'operator' && caller.roles.includes('admin')) return true
  return (author.kind === 'operator' || author.kind === 'device') && record.proposal.author.id === author.id
}
