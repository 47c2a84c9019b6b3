import { describe, expect, it } from 'vitest'
import { Counters } from '../../runtime/counters.ts'
import {
  PAIRING_CODE_ALPHABET,
  PAIRING_MAX_ATTEMPTS_PER_PEER,
  PAIRING_MAX_FAILED_ATTEMPTS_PER_WINDOW,
} from './constants.ts'
import { PairingWindow } from './pairing.ts'

const T = 1_750_000_000_000
const MINUTE = 60_000
const ADMIN_DEVICE = 'peer-admin-device'
const STRANGER = 'peer-stranger'

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
    expect(pairing.redeem(` ${code.replace('-', '').toLowerCase()} `, ADMIN_DEVICE, T + 1)).toEqual({
      outcome: 'accept',
      grant: { kind: 'operator', operatorName: 'Ana', roles: ['operator'] },
    })
    expect(pairing.redeem(code, ADMIN_DEVICE, T + 2)).toEqual({ outcome: 'reject', reason: 'already-used' })
  })

  it('refuses a wrong code and still accepts the right one afterwards', () => {
    const counters = new Counters()
    const pairing = new PairingWindow({ counters })
    const { code } = pairing.open({ kind: 'device', ttlMs: MINUTE }, T)
    expect(pairing.redeem(wrongCodeFor(code), ADMIN_DEVICE, T)).toEqual({
      outcome: 'reject',
      reason: 'wrong-code',
    })
    expect(pairing.redeem('', ADMIN_DEVICE, T)).toEqual({ outcome: 'reject', reason: 'wrong-code' })
    expect(pairing.redeem(code, ADMIN_DEVICE, T)).toEqual({ outcome: 'accept', grant: { kind: 'device' } })
    expect(counters.get('pairing.refused.wrong-code')).toBe(2)
  })

  it('refuses the right code after it expired', () => {
    const counters = new Counters()
    const pairing = new PairingWindow({ counters })
    const { code } = pairing.open({ kind: 'device', ttlMs: MINUTE }, T)
    expect(pairing.redeem(code, ADMIN_DEVICE, T + MINUTE)).toEqual({ outcome: 'reject', reason: 'expired' })
    expect(counters.get('pairing.refused.expired')).toBe(1)
  })

  it('a stranger guessing wrong codes locks out only itself: the real device still pairs', () => {
    const counters = new Counters()
    const pairing = new PairingWindow({ counters })
    const { code } = pairing.open({ kind: 'device', ttlMs: MINUTE }, T)
    for (let i = 0; i < PAIRING_MAX_ATTEMPTS_PER_PEER; i++)
      expect(pairing.redeem(wrongCodeFor(code), STRANGER, T).outcome).toBe('reject')
    // Over its limit, the stranger is refused even with the right code…
    expect(pairing.redeem(code, STRANGER, T)).toEqual({ outcome: 'reject', reason: 'peer-too-many-attempts' })
    expect(pairing.isOpen(T)).toBe(true)
    // …while the admin's device, with its own key, pairs.
    expect(pairing.redeem(code, ADMIN_DEVICE, T)).toEqual({ outcome: 'accept', grant: { kind: 'device' } })
    expect(counters.snapshot()).toEqual({
      'pairing.refused.peer-too-many-attempts': 1,
      'pairing.refused.wrong-code': PAIRING_MAX_ATTEMPTS_PER_PEER,
    })
  })

  it('closes the window once all keys together reach the ceiling, even for the right code', () => {
    const counters = new Counters()
    const pairing = new PairingWindow({ counters, maxFailedAttemptsPerWindow: 7 })
    const { code } = pairing.open({ kind: 'device', ttlMs: MINUTE }, T)
    // A guesser rotating keys: one wrong code per key, never reaching the per-key limit.
    for (let i = 0; i < 7; i++)
      expect(pairing.redeem(wrongCodeFor(code), `rotated-${i}`, T).outcome).toBe('reject')
    expect(pairing.isOpen(T)).toBe(false)
    expect(pairing.redeem(code, ADMIN_DEVICE, T)).toEqual({ outcome: 'reject', reason: 'too-many-attempts' })
    expect(counters.get('pairing.refused.too-many-attempts')).toBe(1)
  })

  it("the window ceiling keeps a distributed guesser's chance per window below one in ten million", () => {
    const codeSpace = PAIRING_CODE_ALPHABET.length ** 8
    expect(PAIRING_MAX_FAILED_ATTEMPTS_PER_WINDOW / codeSpace).toBeLessThan(1e-7)
    // …and one stranger's typos are far from closing the window on the admin.
    expect(PAIRING_MAX_FAILED_ATTEMPTS_PER_WINDOW).toBeGreaterThanOrEqual(100 * PAIRING_MAX_ATTEMPTS_PER_PEER)
  })

  it('refuses when no window is open, and a new window revokes the previous code', () => {
    const pairing = new PairingWindow()
    expect(pairing.redeem('ABCD-EFGH', ADMIN_DEVICE, T)).toEqual({ outcome: 'reject', reason: 'no-window' })
    const first = pairing.open({ kind: 'device', ttlMs: MINUTE }, T)
    const second = pairing.open({ kind: 'device', ttlMs: MINUTE }, T)
    if (first.code !== second.code) expect(pairing.redeem(first.code, ADMIN_DEVICE, T).outcome).toBe('reject')
    expect(pairing.redeem(second.code, ADMIN_DEVICE, T).outcome).toBe('accept')
    pairing.close()
    expect(pairing.redeem(second.code, ADMIN_DEVICE, T)).toEqual({ outcome: 'reject', reason: 'no-window' })
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
