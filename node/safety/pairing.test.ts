import { describe, expect, it } from 'vitest'
import { Counters } from '../mesh/counters.ts'
import { PAIRING_CODE_ALPHABET, PAIRING_MAX_ATTEMPTS } from './constants.ts'
import { PairingWindow } from './pairing.ts'

const T = 1_750_000_000_000
const MINUTE = 60_000

function wrongCodeFor(code: string): string {
  const first = code[0] === 'A' ? 'B' : 'A'
  return `${first}${code.slice(1)}`
}

describe('PairingWindow', () => {
  it('issues a typeable code from the unambiguous alphabet and accepts it once, ignoring case and dashes', () => {
    const pairing = new PairingWindow()
    const { code, expiresAt } = pairing.open(
      { kind: 'operator', operatorName: 'Ana', roles: ['operator'], ttlMs: 5 * MINUTE },
      T,
    )
    expect(code).toMatch(new RegExp(`^[${PAIRING_CODE_ALPHABET}]{4}-[${PAIRING_CODE_ALPHABET}]{4}$`))
    expect(expiresAt).toBe(T + 5 * MINUTE)
    expect(pairing.redeem(` ${code.replace('-', '').toLowerCase()} `, T + 1)).toEqual({
      outcome: 'accept',
      grant: { kind: 'operator', operatorName: 'Ana', roles: ['operator'] },
    })
    expect(pairing.redeem(code, T + 2)).toEqual({ outcome: 'reject', reason: 'already-used' })
  })

  it('refuses a wrong code and still accepts the right one afterwards', () => {
    const counters = new Counters()
    const pairing = new PairingWindow({ counters })
    const { code } = pairing.open({ kind: 'device', ttlMs: MINUTE }, T)
    expect(pairing.redeem(wrongCodeFor(code), T)).toEqual({ outcome: 'reject', reason: 'wrong-code' })
    expect(pairing.redeem('', T)).toEqual({ outcome: 'reject', reason: 'wrong-code' })
    expect(pairing.redeem(code, T)).toEqual({ outcome: 'accept', grant: { kind: 'device' } })
    expect(counters.get('pairing.refused.wrong-code')).toBe(2)
  })

  it('refuses the right code after it expired', () => {
    const counters = new Counters()
    const pairing = new PairingWindow({ counters })
    const { code } = pairing.open({ kind: 'device', ttlMs: MINUTE }, T)
    expect(pairing.redeem(code, T + MINUTE)).toEqual({ outcome: 'reject', reason: 'expired' })
    expect(counters.get('pairing.refused.expired')).toBe(1)
  })

  it('closes the window after too many wrong codes, even for the right one', () => {
    const counters = new Counters()
    const pairing = new PairingWindow({ counters })
    const { code } = pairing.open({ kind: 'device', ttlMs: MINUTE }, T)
    for (let i = 0; i < PAIRING_MAX_ATTEMPTS; i++)
      expect(pairing.redeem(wrongCodeFor(code), T).outcome).toBe('reject')
    expect(pairing.redeem(code, T)).toEqual({ outcome: 'reject', reason: 'too-many-attempts' })
    expect(counters.snapshot()).toEqual({
      'pairing.refused.too-many-attempts': 1,
      'pairing.refused.wrong-code': PAIRING_MAX_ATTEMPTS,
    })
  })

  it('refuses when no window is open, and a new window revokes the previous code', () => {
    const pairing = new PairingWindow()
    expect(pairing.redeem('ABCD-EFGH', T)).toEqual({ outcome: 'reject', reason: 'no-window' })
    const first = pairing.open({ kind: 'device', ttlMs: MINUTE }, T)
    const second = pairing.open({ kind: 'device', ttlMs: MINUTE }, T)
    if (first.code !== second.code) expect(pairing.redeem(first.code, T).outcome).toBe('reject')
    expect(pairing.redeem(second.code, T).outcome).toBe('accept')
    pairing.close()
    expect(pairing.redeem(second.code, T)).toEqual({ outcome: 'reject', reason: 'no-window' })
  })

  it('refuses windows longer than the maximum and operator windows without name and roles', () => {
    const pairing = new PairingWindow()
    expect(() => pairing.open({ kind: 'device', ttlMs: 24 * 60 * MINUTE }, T)).toThrow(
      expect.objectContaining({ name: 'PairingRequestError' }),
    )
    expect(() => pairing.open({ kind: 'operator', ttlMs: MINUTE }, T)).toThrow(
      expect.objectContaining({ name: 'PairingRequestError' }),
    )
  })
})
