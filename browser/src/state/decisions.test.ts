import { describe, expect, it } from 'vitest'
import { ClawMeshError } from '../../../protocol/errors.ts'
import { decisionFailure, operatorLinkOf } from './decisions.ts'

describe('the link an approval is signed with', () => {
  it('is classified from the address the console is connected over', () => {
    const connected = (address: string) => operatorLinkOf({ kind: 'connected', since: 0, address })
    expect(connected('/ip4/127.0.0.1/tcp/443/tls/ws/p2p/12D3KooW')).toBe('local')
    expect(connected('/ip4/192.168.1.20/tcp/443/tls/ws/p2p/12D3KooW')).toBe('lan')
    expect(connected('/ip4/203.0.113.7/tcp/443/tls/ws/p2p/12D3KooW')).toBe('wan')
  })

  it('claims nothing more local than the WAN while not connected', () => {
    expect(operatorLinkOf({ kind: 'backoff', retryAt: 0, attempt: 2, error: 'closed' })).toBe('wan')
    expect(operatorLinkOf({ kind: 'stopped' })).toBe('wan')
  })
})

describe('a decision', () => {
  it('that failed shows the error code first, so the operator sees why', () => {
    expect(decisionFailure(new ClawMeshError('FORBIDDEN', 'self-approval'))).toEqual({
      ok: false,
      message: 'FORBIDDEN: self-approval',
    })
    expect(decisionFailure(new Error('stream reset'))).toEqual({ ok: false, message: 'stream reset' })
  })
})
