import { describe, expect, it } from 'vitest'
import {
  COLLECTING_PROPOSAL_STATES,
  isCollectingProposalState,
  PROPOSAL_EVENTS,
  PROPOSAL_STATES,
  type ProposalEvent,
  type ProposalState,
  TERMINAL_PROPOSAL_STATES,
  transition,
} from './proposal-state.ts'

// Written out independently of the implementation's table: a change to either shows up here.
const LEGAL: ReadonlyArray<readonly [ProposalState, ProposalEvent, ProposalState]> = [
  ['proposed', 'submit', 'awaiting_approval'],
  ['proposed', 'reject', 'rejected'],
  ['proposed', 'expire', 'expired'],
  ['awaiting_approval', 'approve', 'approved'],
  ['awaiting_approval', 'reject', 'rejected'],
  ['awaiting_approval', 'expire', 'expired'],
  ['approved', 'start', 'executing'],
  ['approved', 'reject', 'rejected'],
  ['approved', 'expire', 'expired'],
  ['executing', 'complete', 'completed'],
  ['executing', 'fail', 'failed'],
  // Withdrawn, stopped or handed back after a lost leadership: until the proposal has ended.
  ['proposed', 'cancel', 'cancelled'],
  ['awaiting_approval', 'cancel', 'cancelled'],
  ['approved', 'cancel', 'cancelled'],
  ['executing', 'cancel', 'cancelled'],
]

const legalNext = new Map(LEGAL.map(([state, event, next]) => [`${state}/${event}`, next]))
const allPairs = PROPOSAL_STATES.flatMap((state) => PROPOSAL_EVENTS.map((event) => [state, event] as const))
const illegalPairs = allPairs.filter(([state, event]) => !legalNext.has(`${state}/${event}`))

describe('proposal lifecycle', () => {
  it.each(LEGAL)('%s --%s--> %s', (state, event, next) => {
    expect(transition(state, event)).toEqual({ outcome: 'accept', next })
  })

  it('enumerates every state × event pair', () => {
    expect(allPairs).toHaveLength(PROPOSAL_STATES.length * PROPOSAL_EVENTS.length)
    expect(illegalPairs).toHaveLength(allPairs.length - LEGAL.length)
  })

  it.each(illegalPairs)('refuses %s --%s-->', (state, event) => {
    const result = transition(state, event)
    expect(result.outcome).toBe('reject')
    if (result.outcome === 'reject') {
      expect(result.reason).toBe(
        TERMINAL_PROPOSAL_STATES.has(state) ? 'terminal-state' : 'illegal-transition',
      )
    }
  })

  it('never reaches executing without passing through approved', () => {
    for (const [state, event] of allPairs) {
      const result = transition(state, event)
      if (result.outcome === 'accept' && result.next === 'executing') expect(state).toBe('approved')
    }
  })
})

describe('collecting states', () => {
  it('are exactly the states from which an approval or a rejection is still a legal move', () => {
    const decidable = PROPOSAL_STATES.filter(
      (state) =>
        transition(state, 'reject').outcome === 'accept' && transition(state, 'start').outcome === 'reject',
    )
    expect([...COLLECTING_PROPOSAL_STATES].sort()).toEqual([...decidable].sort())
    expect([...COLLECTING_PROPOSAL_STATES].sort()).toEqual(['awaiting_approval', 'proposed'])
  })

  it('isCollectingProposalState reads a wire string and refuses unknown states', () => {
    expect(isCollectingProposalState('awaiting_approval')).toBe(true)
    expect(isCollectingProposalState('approved')).toBe(false)
    expect(isCollectingProposalState('executing')).toBe(false)
    expect(isCollectingProposalState('Awaiting_Approval')).toBe(false)
    expect(isCollectingProposalState('')).toBe(false)
  })
})
