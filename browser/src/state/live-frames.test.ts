import { describe, expect, it } from 'vitest'
import type { PeerEntry } from '../../../protocol/rpc/methods.ts'
import { changesProposals, isTrustedOrigin, withArrivals } from './live-frames.ts'
import { FRAME_RATE_WINDOW_MS } from './mesh-state.ts'

const CC = '12D3KooWCommandCenter'
const peers = [
  { deviceId: 'field-trusted', trusted: true },
  { deviceId: 'field-listed', trusted: false },
] as PeerEntry[]

describe('live frames', () => {
  it('are taken from the command center and the origins it trusts, never from one it only lists', () => {
    expect(isTrustedOrigin(CC, CC, [])).toBe(true)
    expect(isTrustedOrigin('field-trusted', CC, peers)).toBe(true)
    expect(isTrustedOrigin('field-listed', CC, peers)).toBe(false)
    expect(isTrustedOrigin('stranger', CC, peers)).toBe(false)
  })

  it('count in the rates for the window only: older arrivals are dropped as new ones come', () => {
    const now = 10 * FRAME_RATE_WINDOW_MS
    const current = [
      { at: now - FRAME_RATE_WINDOW_MS - 1, kind: 'observation' },
      { at: now - FRAME_RATE_WINDOW_MS, kind: 'observation' },
    ]
    expect(withArrivals(current, [{ kind: 'proposal' }], now)).toEqual([
      { at: now - FRAME_RATE_WINDOW_MS, kind: 'observation' },
      { at: now, kind: 'proposal' },
    ])
  })

  it('of a proposal, approval or execution make the console re-read the proposals; observations do not', () => {
    expect(changesProposals([{ kind: 'observation' }])).toBe(false)
    for (const kind of ['proposal', 'approval', 'execution'] as const)
      expect(changesProposals([{ kind: 'observation' }, { kind }])).toBe(true)
  })
})
