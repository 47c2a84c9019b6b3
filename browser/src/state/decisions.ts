/**
 * The operator's decisions on proposals: an approval certificate signed in the browser with the
 * operator key and the link the console is connected over, sent to the command center, which checks
 * it like any other approval. The proposal's new state replaces the old one at once.
 */
import type { Accessor } from 'solid-js'
import type { SetStoreFunction } from 'solid-js/store'
import { ClawMeshError } from '../../../protocol/errors.ts'
import type { ProposalRecordWire } from '../../../protocol/rpc/methods.ts'
import { type OperatorLink, signApproval } from '../../../protocol/safety/approval.ts'
import { signEstopOrder } from '../../../protocol/safety/estop.ts'
import type { OperatorCertificate } from '../../../protocol/safety/operator-certificate.ts'
import { classifyOperatorLink } from '../../../protocol/safety/operator-link.ts'
import type { LinkState } from '../mesh/command-center-link.ts'
import type { CommandCenterRpc } from '../mesh/command-center-rpc.ts'
import type { OperatorKey } from '../mesh/operator-key.ts'
import type { Refusal } from './command-center-refusal.ts'
import type { ProposalEdits } from './mesh-polling.ts'
import type { MeshState } from './mesh-state.ts'

export interface DecisionOutcome {
  readonly ok: boolean
  readonly message: string
}

export type Decision = 'approve' | 'reject'

export interface Decisions {
  decide(record: ProposalRecordWire, decision: Decision, reason?: string): Promise<DecisionOutcome>
  /** Emergency stop of every actuator, signed with the operator key (any role may stop). */
  estop(reason: string): Promise<DecisionOutcome>
  /** Withdraws a proposal (its author or an admin). */
  cancel(record: ProposalRecordWire, reason?: string): Promise<DecisionOutcome>
}

export function createDecisions(init: {
  readonly rpc: CommandCenterRpc
  readonly key: OperatorKey
  readonly certificate: Accessor<OperatorCertificate | undefined>
  readonly link: Accessor<LinkState>
  readonly setState: SetStoreFunction<MeshState>
  readonly proposalEdits: ProposalEdits
  readonly refusal: Refusal
}): Decisions {
  return {
    async decide(record, decision, reason) {
      const certificate = init.certificate()
      if (certificate === undefined) return { ok: false, message: 'this console is not paired' }
      try {
        const approval = await signApproval(init.key.signer, {
          proposalHash: record.hash,
          decision,
          operatorCertificate: certificate,
          operatorLink: operatorLinkOf(init.link()),
          at: Date.now(),
          ...(reason === undefined || reason === '' ? {} : { reason }),
        })
        const result = await init.rpc.call(decision === 'approve' ? 'proposal.approve' : 'proposal.reject', {
          id: record.proposal.id,
          approval,
        })
        init.proposalEdits.mark()
        init.setState('proposals', (current) =>
          current.map((entry) => (entry.hash === result.proposal.hash ? result.proposal : entry)),
        )
        return { ok: true, message: `${result.verdict}: ${result.detail}` }
      } catch (error) {
        init.refusal.note(error)
        return decisionFailure(error)
      }
    },
    async estop(reason) {
      const certificate = init.certificate()
      if (certificate === undefined) return { ok: false, message: 'this console is not paired' }
      try {
        const order = await signEstopOrder(init.key.signer, {
          scope: { kind: 'all' },
          reason,
          operatorCertificate: certificate,
          issuedAt: Date.now(),
        })
        const result = await init.rpc.call('safety.estop', { order })
        const safe = result.actuators.filter((actuator) => actuator.outcome === 'safe').length
        const ok = safe === result.actuators.length
        return {
          ok,
          message: `${safe} of ${result.actuators.length} actuators safe and latched${ok ? '' : ' — check the others on site'}; ${result.cancelled.length} proposal(s) cancelled`,
        }
      } catch (error) {
        init.refusal.note(error)
        return decisionFailure(error)
      }
    },
    async cancel(record, reason) {
      try {
        const result = await init.rpc.call('proposal.cancel', {
          id: record.proposal.id,
          ...(reason === undefined || reason === '' ? {} : { reason }),
        })
        init.setState('proposals', (current) =>
          current.map((entry) =>
            entry.hash === record.hash ? { ...entry, state: result.state, reason: result.reason } : entry,
          ),
        )
        return { ok: true, message: `${result.state}: ${result.reason}` }
      } catch (error) {
        init.refusal.note(error)
        return decisionFailure(error)
      }
    },
  }
}

/** The link an approval is signed with: the one classifier every node uses (a relayed or WebRTC
 * path is the relay, loopback local, private addresses the LAN, anything else the WAN). */
export const linkOf = classifyOperatorLink

/** Not connected to the command center: the least local claim, `wan`. */
export function operatorLinkOf(link: LinkState): OperatorLink {
  return link.kind === 'connected' ? linkOf(link.address) : 'wan'
}

/** The ID the command center files the proposal under (its hash for a proposal without one). */
/** What the Command view shows for a failed decision: the error's code first, when it has one. */
export function decisionFailure(error: unknown): DecisionOutcome {
  const code = error instanceof ClawMeshError ? `${error.code}: ` : ''
  return { ok: false, message: `${code}${(error as Error).message}` }
}
