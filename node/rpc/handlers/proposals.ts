/**
 * Proposals and commands: create, list, read, approve and reject proposals, and execute a certified
 * command on an actuator node. On a command center, a decision about a proposal this node does not
 * hold goes to the planner leader (one hop) and its answer is relayed.
 */

import { fitFramesToAnswer } from '../../../protocol/rpc/answer-budget.ts'
import type { ProposalRecordWire } from '../../../protocol/rpc/methods.ts'
import { TERMINAL_PROPOSAL_STATES } from '../../../protocol/safety/index.ts'
import type { RpcHandlers } from '../../../runtime/rpc/rpc-server.ts'
import type { NodeComponents } from '../../components.ts'
import { toWire } from '../../safety/safety-runtime.ts'
import { arrivalOf, type CallerRecords, withForwardedLink } from '../caller-records.ts'

export type ProposalHandlers = Pick<
  RpcHandlers,
  | 'proposal.create'
  | 'proposal.list'
  | 'proposal.get'
  | 'proposal.approve'
  | 'proposal.reject'
  | 'actuator.execute'
>

export function createProposalHandlers(
  components: Pick<NodeComponents, 'safety' | 'commandCenter' | 'leaderForwarder'>,
  callers: Pick<CallerRecords, 'authorOf'>,
): ProposalHandlers {
  const { safety, leaderForwarder } = components
  const isCommandCenter = (deviceId: string) => components.commandCenter.is(deviceId)
  const heldByLeader = (id: string, callerId: string) =>
    components.commandCenter.self && safety.proposals.get(id) === undefined
      ? leaderForwarder.leaderFor(callerId) !== undefined
      : false
  return {
    'proposal.create': async (params, call) => {
      const created = await safety.createProposal(params, callers.authorOf(call.callerId))
      return { proposal: toWire(created.record), merged: created.merged }
    },
    'proposal.list': (params) => fitProposalsToAnswer(safety.list(params?.state).map(toWire)),
    'proposal.get': (params, call) => {
      // The approve CLI reads the proposal first: a planner that does not hold it asks the leader.
      if (heldByLeader(params.id, call.callerId))
        return leaderForwarder.forwardToLeader('proposal.get', params)
      return { proposal: toWire(safety.get(params.id)) }
    },
    'proposal.approve': async (params, call) => {
      if (heldByLeader(params.id, call.callerId))
        return leaderForwarder.forwardToLeader(
          'proposal.approve',
          withForwardedLink(params, call, isCommandCenter),
        )
      const decided = await safety.decide(params.id, params.approval, 'approve', arrivalOf(call, params))
      const { executionFrame } = decided
      return {
        proposal: toWire(decided.record),
        verdict: decided.verdict,
        detail: decided.detail,
        ...(executionFrame === undefined ? {} : { executionFrame }),
      }
    },
    'proposal.reject': async (params, call) => {
      if (heldByLeader(params.id, call.callerId))
        return leaderForwarder.forwardToLeader(
          'proposal.reject',
          withForwardedLink(params, call, isCommandCenter),
        )
      const decided = await safety.decide(params.id, params.approval, 'reject', arrivalOf(call, params))
      return { proposal: toWire(decided.record), verdict: decided.verdict, detail: decided.detail }
    },
    'actuator.execute': (params) => safety.executeCommand(params.command),
  }
}

/**
 * A list of proposals that fits in one answer. The store keeps up to 200 ended proposals of a few KB
 * each, more than one answer holds (RPC_MAX_MESSAGE_BYTES): over the limit the whole answer would be
 * refused, and the console, `clawmesh proposals` and the TUI would show nothing. The open ones (awaiting a decision, approved, executing) go in first, so a
 * long history never hides one an operator must act on; then the newest ended ones that fit. The
 * order of `records` (newest first) is kept.
 */
export function fitProposalsToAnswer(records: readonly ProposalRecordWire[]): {
  proposals: ProposalRecordWire[]
  truncated?: true
} {
  const open = records.filter((record) => !TERMINAL_PROPOSAL_STATES.has(record.state))
  const ended = records.filter((record) => TERMINAL_PROPOSAL_STATES.has(record.state))
  const { frames: fitting, truncated } = fitFramesToAnswer([...open, ...ended])
  if (!truncated) return { proposals: [...records] }
  const kept = new Set(fitting)
  return { proposals: records.filter((record) => kept.has(record)), truncated }
}
