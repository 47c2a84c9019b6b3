import { describe, expect, it } from 'vitest'
import type { MeshEvent } from '../../protocol/rpc/methods.ts'
import { makeProposalRecord, NOW } from '../../test/helpers/safety-fixtures.ts'
import { TUI_ALERTS_KEPT, TUI_CHAT_MAX_CHARS } from './constants.ts'
import {
  bodyRows,
  confirmationPrompt,
  defaultTuiLink,
  describeProposal,
  INITIAL_UI_STATE,
  mergeAlerts,
  needsConfirmation,
  paneContentRows,
  pendingProposals,
  reduceKey,
  type TuiUiState,
} from './tui-model.ts'

const l1 = makeProposalRecord({ proposal: { id: 'p-l1', level: 'L1' }, receivedAt: NOW - 2_000 })
const l2 = makeProposalRecord({ proposal: { id: 'p-l2', level: 'L2' }, receivedAt: NOW - 1_000 })
const l3 = makeProposalRecord({ proposal: { id: 'p-l3', level: 'L3' }, receivedAt: NOW })
const done = makeProposalRecord({ proposal: { id: 'p-done' }, state: 'completed', receivedAt: NOW - 9_000 })
const pending = [l1, l2, l3]

const press = (state: TuiUiState, input: string, key = {}) => reduceKey(state, input, key, pending)

describe('tui keys', () => {
  it('approving an L0/L1 or rejecting anything acts at once; approving an L2/L3 asks first', () => {
    expect(needsConfirmation('approve', 'L0')).toBe(false)
    expect(needsConfirmation('approve', 'L1')).toBe(false)
    expect(needsConfirmation('approve', 'L2')).toBe(true)
    expect(needsConfirmation('approve', 'L3')).toBe(true)
    expect(needsConfirmation('reject', 'L3')).toBe(false)

    expect(press(INITIAL_UI_STATE, 'a').action).toEqual({ kind: 'decide', id: 'p-l1', decision: 'approve' })
    const onL2 = press(INITIAL_UI_STATE, 'j').state
    expect(press(onL2, 'r').action).toEqual({ kind: 'decide', id: 'p-l2', decision: 'reject' })
    const asking = press(onL2, 'a')
    expect(asking.action).toBeUndefined()
    expect(asking.state.mode).toEqual({
      kind: 'confirm-decision',
      id: 'p-l2',
      decision: 'approve',
      level: 'L2',
    })
  })

  it('a confirmation goes through on y only; any other key cancels and sends nothing', () => {
    const asking = press(press(INITIAL_UI_STATE, 'j').state, 'a').state
    expect(press(asking, 'y')).toEqual({
      state: { ...asking, mode: { kind: 'normal' } },
      action: { kind: 'decide', id: 'p-l2', decision: 'approve' },
    })
    for (const input of ['n', 'a', ' ', 'q']) {
      const cancelled = press(asking, input)
      expect(cancelled.action).toBeUndefined()
      expect(cancelled.state.mode).toEqual({ kind: 'normal' })
    }
    expect(press(asking, '', { escape: true }).action).toBeUndefined()
  })

  it('the emergency stop needs a capital Y after !', () => {
    const asking = press(INITIAL_UI_STATE, '!')
    expect(asking.action).toBeUndefined()
    expect(asking.state.mode).toEqual({ kind: 'confirm-estop' })
    expect(press(asking.state, 'y').action).toBeUndefined()
    expect(press(asking.state, '', { return: true }).action).toBeUndefined()
    expect(press(asking.state, 'Y').action).toEqual({ kind: 'estop' })
  })

  it('the selection stays within the pending proposals', () => {
    let state = INITIAL_UI_STATE
    for (let i = 0; i < 5; i++) state = press(state, '', { downArrow: true }).state
    expect(state.selected).toBe(2)
    for (let i = 0; i < 5; i++) state = press(state, 'k').state
    expect(state.selected).toBe(0)
    // A list that shrank under the selection: the key acts on the last one shown.
    expect(reduceKey({ ...INITIAL_UI_STATE, selected: 7 }, 'r', {}, [l1]).action).toEqual({
      kind: 'decide',
      id: 'p-l1',
      decision: 'reject',
    })
    expect(reduceKey(INITIAL_UI_STATE, 'a', {}, []).action).toBeUndefined()
  })

  it('the chat line edits, sends the trimmed text on Enter, and Esc drops it', () => {
    let state = press(INITIAL_UI_STATE, '/').state
    for (const ch of ' open valve!') state = press(state, ch).state
    state = press(state, '', { backspace: true }).state
    expect(state.mode).toEqual({ kind: 'chat', draft: ' open valve' })
    // Keys that act elsewhere are text here.
    expect(press(state, 'a').action).toBeUndefined()
    expect(press(state, '', { return: true })).toEqual({
      state: { ...state, mode: { kind: 'normal' } },
      action: { kind: 'ask', text: 'open valve' },
    })
    expect(press(state, '', { escape: true }).action).toBeUndefined()
    expect(press(press(INITIAL_UI_STATE, 'c').state, '', { return: true }).action).toBeUndefined()
    const full = {
      ...INITIAL_UI_STATE,
      mode: { kind: 'chat', draft: 'x'.repeat(TUI_CHAT_MAX_CHARS) } as const,
    }
    expect(press(full, 'y').state.mode).toEqual(full.mode)
  })

  it('help opens on ? and closes on any key; q and Ctrl-C quit (Ctrl-C in every mode)', () => {
    const help = press(INITIAL_UI_STATE, '?').state
    expect(help.mode).toEqual({ kind: 'help' })
    expect(press(help, 'a')).toEqual({ state: { ...help, mode: { kind: 'normal' } } })
    expect(press(INITIAL_UI_STATE, 'q').action).toEqual({ kind: 'quit' })
    const chat = press(INITIAL_UI_STATE, '/').state
    expect(press(chat, 'q').action).toBeUndefined()
    expect(press(chat, 'c', { ctrl: true }).action).toEqual({ kind: 'quit' })
  })
})

describe('tui model', () => {
  it('lists only proposals still collecting approvals, the longest waiting first', () => {
    expect(pendingProposals([l3, done, l1, l2]).map((record) => record.proposal.id)).toEqual([
      'p-l1',
      'p-l2',
      'p-l3',
    ])
  })

  it('keeps the newest warn/error events, newest first, each once', () => {
    const event = (seq: number, level: MeshEvent['level']): MeshEvent => ({
      seq,
      at: NOW + seq,
      level,
      type: 'peer.refused',
      message: `event ${seq}`,
    })
    const kept = mergeAlerts([event(1, 'warn')], [event(1, 'warn'), event(2, 'info'), event(3, 'error')])
    expect(kept.map((e) => e.seq)).toEqual([3, 1])
    const many = Array.from({ length: TUI_ALERTS_KEPT + 5 }, (_, i) => event(i, 'warn'))
    expect(mergeAlerts([], many)).toHaveLength(TUI_ALERTS_KEPT)
    expect(mergeAlerts([], many)[0]?.seq).toBe(TUI_ALERTS_KEPT + 4)
  })

  it('describes a proposal with level, operation, arguments, approvals so far and age', () => {
    expect(describeProposal(l2, NOW + 60_000)).toBe('L2 open actuator:valve:zone-1 durationSec=120 0/1 1m')
    expect(describeProposal(l3, NOW)).toBe('L3 open actuator:valve:zone-1 durationSec=120 0/2 0s')
  })

  it('asks about the proposal by name, and warns an L3 needs a second operator on site', () => {
    expect(
      confirmationPrompt({ kind: 'confirm-decision', id: 'p-l3', decision: 'approve', level: 'L3' }, pending),
    ).toBe(
      'Approve L3 open actuator:valve:zone-1 (L3: needs a second operator, one on site)? y approves, any other key cancels.',
    )
    expect(confirmationPrompt({ kind: 'normal' }, pending)).toBeUndefined()
  })

  it('fits 80×24: four bordered panes in two columns, with header and three bottom lines', () => {
    expect(bodyRows(24)).toBe(20)
    const { top, bottom } = paneContentRows(bodyRows(24))
    expect(top + 3 + bottom + 3).toBe(20)
    expect(Math.min(top, bottom)).toBeGreaterThanOrEqual(5)
    // A tiny terminal still gets one line per pane rather than negative heights.
    expect(paneContentRows(bodyRows(5))).toEqual({ top: 1, bottom: 1 })
  })

  it("under SSH to a loopback node, approvals claim the SSH client's link, never a more local one", () => {
    expect(defaultTuiLink('local', undefined)).toBe('local')
    expect(defaultTuiLink('local', '127.0.0.1 50022 127.0.0.1 22')).toBe('local')
    expect(defaultTuiLink('local', '192.168.1.20 50022 192.168.1.5 22')).toBe('lan')
    expect(defaultTuiLink('local', '203.0.113.9 50022 192.168.1.5 22')).toBe('wan')
    expect(defaultTuiLink('local', '2001:db8::7 50022 2001:db8::1 22')).toBe('wan')
    // A node reached over the LAN or the WAN keeps that claim whatever the SSH client is.
    expect(defaultTuiLink('wan', '127.0.0.1 50022 127.0.0.1 22')).toBe('wan')
    expect(defaultTuiLink('lan', '10.0.0.2 50022 10.0.0.1 22')).toBe('lan')
  })
})
