import { describe, expect, it } from 'vitest'
import { HOUR, NOW, newOperator, newSigner } from '../../test/helpers/safety-fixtures.ts'
import {
  ESTOP_ORDER_MAX_AGE_MS,
  estopScopeCovers,
  signCommandCancel,
  signEstopOrder,
  verifyCommandCancel,
  verifyEstopOrder,
} from './estop.ts'

const notRevoked = () => false
const VALVE = { capability: 'actuator:valve:zone-1', zone: 'zone-1', nodeName: 'field-1', deviceId: 'dev-1' }

describe('emergency stop orders', () => {
  it('any certified role may stop, a viewer included; the order is checked against the signer', async () => {
    const commandCenter = await newSigner()
    const viewer = await newOperator(commandCenter, ['viewer'])
    const order = await signEstopOrder(viewer.signer, {
      scope: { kind: 'zone', zone: 'zone-1' },
      reason: 'person in the field',
      operatorCertificate: viewer.certificate,
      issuedAt: NOW,
    })
    const trusted = { trustedIssuers: new Set([commandCenter.id]), now: NOW + 1_000, isRevoked: notRevoked }
    expect(await verifyEstopOrder(order, trusted)).toMatchObject({
      outcome: 'accept',
      operatorId: viewer.signer.id,
    })
    const widened = { ...order, body: { ...order.body, scope: { kind: 'all' as const } } }
    expect(await verifyEstopOrder(widened, trusted)).toMatchObject({
      outcome: 'reject',
      reason: 'bad-signature',
    })
    expect(await verifyEstopOrder(order, { ...trusted, trustedIssuers: new Set<string>() })).toMatchObject({
      outcome: 'reject',
      reason: 'certificate-rejected',
    })
    expect(await verifyEstopOrder(order, { ...trusted, isRevoked: () => true })).toMatchObject({
      outcome: 'reject',
      reason: 'certificate-rejected',
    })
    expect(
      await verifyEstopOrder(order, { ...trusted, now: NOW + ESTOP_ORDER_MAX_AGE_MS + 1 }),
    ).toMatchObject({ outcome: 'reject', reason: 'stale-order' })
    expect(await verifyEstopOrder(order, { ...trusted, now: NOW + ESTOP_ORDER_MAX_AGE_MS })).toMatchObject({
      outcome: 'accept',
    })
  })

  it('refuses to sign with a key other than the certified one', async () => {
    const commandCenter = await newSigner()
    const operator = await newOperator(commandCenter)
    await expect(
      signEstopOrder(await newSigner(), {
        scope: { kind: 'all' },
        reason: '',
        operatorCertificate: operator.certificate,
        issuedAt: NOW,
      }),
    ).rejects.toThrow()
  })

  it('scopes cover what they name', () => {
    expect(estopScopeCovers({ kind: 'all' }, VALVE)).toBe(true)
    expect(estopScopeCovers({ kind: 'zone', zone: 'zone-1' }, VALVE)).toBe(true)
    expect(estopScopeCovers({ kind: 'zone', zone: 'zone-2' }, VALVE)).toBe(false)
    expect(estopScopeCovers({ kind: 'node', node: 'field-1' }, VALVE)).toBe(true)
    expect(estopScopeCovers({ kind: 'node', node: 'dev-1' }, VALVE)).toBe(true)
    expect(estopScopeCovers({ kind: 'node', node: 'field-2' }, VALVE)).toBe(false)
    expect(estopScopeCovers({ kind: 'actuator', capability: 'actuator:valve:zone-1' }, VALVE)).toBe(true)
    expect(estopScopeCovers({ kind: 'actuator', capability: 'actuator:pump:zone-4' }, VALVE)).toBe(false)
  })

  it('a command cancel verifies only from a trusted command center, unaltered', async () => {
    const commandCenter = await newSigner()
    const cancel = await signCommandCancel(commandCenter, {
      commandHash: 'a'.repeat(64),
      proposalId: 'p-1',
      reason: 'withdrawn',
      issuedAt: NOW,
      until: NOW + HOUR,
    })
    const trusted = { trustedCommandCenters: new Set([commandCenter.id]) }
    expect(await verifyCommandCancel(cancel, trusted)).toMatchObject({ outcome: 'accept' })
    expect(await verifyCommandCancel(cancel, { trustedCommandCenters: new Set<string>() })).toMatchObject({
      outcome: 'reject',
      reason: 'untrusted-issuer',
    })
    const retargeted = { ...cancel, body: { ...cancel.body, commandHash: 'b'.repeat(64) } }
    expect(await verifyCommandCancel(retargeted, trusted)).toMatchObject({
      outcome: 'reject',
      reason: 'bad-signature',
    })
  })
})
