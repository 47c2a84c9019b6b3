/**
 * Lifecycle of a proposal as a closed transition table. Every node tracking a proposal (command
 * center, console, actuator) moves it with this one function, so "executing a rejected proposal"
 * is not a state any of them can reach.
 *
 * `approve` means the policy allowed the proposal (for L2/L3 the last needed approval arrived; for
 * L0/L1 the policy allowed it without one), not that one operator clicked approve.
 */

export const PROPOSAL_STATES = [
  'proposed',
  'awaiting_approval',
  'approved',
  'executing',
  'completed',
  'failed',
  'rejected',
  'expired',
  'cancelled',
] as const
export type ProposalState = (typeof PROPOSAL_STATES)[number]

export const PROPOSAL_EVENTS = [
  'submit',
  'approve',
  'reject',
  'start',
  'complete',
  'fail',
  'expire',
  'cancel',
] as const
export type ProposalEvent = (typeof PROPOSAL_EVENTS)[number]

export const TERMINAL_PROPOSAL_STATES: ReadonlySet<ProposalState> = new Set([
  'completed',
  'failed',
  'rejected',
  'expired',
  'cancelled',
])

/** States in which approvals are still being collected: an operator may approve or reject. */
export const COLLECTING_PROPOSAL_STATES: ReadonlySet<ProposalState> = new Set([
  'proposed',
  'awaiting_approval',
])

/** Whether approvals are still collected in this state; takes a state as read from the wire. */
export function isCollectingProposalState(state: string): boolean {
  return COLLECTING_PROPOSAL_STATES.has(state as ProposalState)
}

/** The only legal moves. Once executing, expiry no longer applies (the actuator is already acting
 * and must report how it ended) and a rejection is too late. A cancel (the author or an admin
 * withdrew it, an emergency stop, a lost leadership) is still possible while executing: the actuator
 * keeps its own record of cancelled commands and checks it again right before the device moves. */
const TRANSITIONS: Readonly<Record<ProposalState, Partial<Record<ProposalEvent, ProposalState>>>> = {
  proposed: { submit: 'awaiting_approval', reject: 'rejected', expire: 'expired', cancel: 'cancelled' },
  awaiting_approval: { approve: 'approved', reject: 'rejected', expire: 'expired', cancel: 'cancelled' },
  approved: { start: 'executing', reject: 'rejected', expire: 'expired', cancel: 'cancelled' },
  executing: { complete: 'completed', fail: 'failed', cancel: 'cancelled' },
  completed: {},
  failed: {},
  rejected: {},
  expired: {},
  cancelled: {},
}

/** Whether a proposal in this state can still be withdrawn (author, admin, emergency stop, lost
 * leadership); takes a state as read from the wire. The console and the command center both ask. */
export function isCancellableProposalState(state: string): boolean {
  return (
    (PROPOSAL_STATES as readonly string[]).includes(state) &&
    TRANSITIONS[state as ProposalState].cancel !== undefined
  )
}

export type TransitionRejection = 'terminal-state' | 'illegal-transition'

export type TransitionResult =
  | { readonly outcome: 'accept'; readonly next: ProposalState }
  | { readonly outcome: 'reject'; readonly reason: TransitionRejection; readonly detail: string }

export function transition(state: ProposalState, event: ProposalEvent): TransitionResult {
  const next = TRANSITIONS[state][event]
  if (next !== undefined) return { outcome: 'accept', next }
  if (TERMINAL_PROPOSAL_STATES.has(state)) {
    return { outcome: 'reject', reason: 'terminal-state', detail: `the proposal is already ${state}` }
  }
  return {
    outcome: 'reject',
    reason: 'illegal-transition',
    detail: `cannot ${event} a proposal that is ${state}`,
  }
}
