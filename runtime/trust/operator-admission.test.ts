import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ClawMeshError } from '../../protocol/errors.ts'
import { HOUR, NOW, newOperator, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { Counters } from '../counters.ts'
import { createOperatorAdmission, type OperatorAdmissionReport } from './operator-admission.ts'
import { TrustStore } from './trust-store.ts'

async function setup() {
  const commandCenter = await newSigner()
  const path = join(await mkdtemp(join(tmpdir(), 'operator-admission-')), 'trusted-peers.json')
  const trust = await TrustStore.open(path)
  const counters = new Counters()
  const reports: OperatorAdmissionReport[] = []
  const admit = createOperatorAdmission({
    trust,
    isCommandCenter: (id) => id === commandCenter.id,
    isRevoked: () => false,
    counters,
    report: (report) => reports.push(report),
    now: () => NOW,
  })
  return { commandCenter, path, trust, counters, reports, admit }
}

const refusalOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(ClawMeshError)
  return { code: (error as ClawMeshError).code, reason: (error as ClawMeshError).data?.['reason'] }
}

describe('operator admission (trust.addOperator on a relay or member)', () => {
  it('trusts the operator key as an operator entry that expires with the certificate, kept in the trust file', async () => {
    const { commandCenter, path, trust, counters, admit } = await setup()
    const operator = await newOperator(commandCenter, ['operator'], 'alice')
    const admitted = await admit(commandCenter.id, operator.certificate)
    expect(admitted).toEqual({ operatorId: operator.signer.id, expiresAt: NOW + HOUR, added: true })
    expect(trust.get(operator.signer.id)).toMatchObject({
      kind: 'operator',
      expiresAt: NOW + HOUR,
      name: 'alice',
    })
    expect(trust.has(operator.signer.id, NOW)).toBe(true)
    expect(trust.has(operator.signer.id, NOW + HOUR)).toBe(false)
    expect((await TrustStore.open(path)).get(operator.signer.id)?.kind).toBe('operator')
    expect(counters.get('trust.operator.accepted')).toBe(1)
    expect((await admit(commandCenter.id, operator.certificate)).added).toBe(false)
  })

  it('refuses a certificate handed over by a peer that is not a command center, counted and reported', async () => {
    const { commandCenter, trust, counters, reports, admit } = await setup()
    const member = await newSigner()
    const operator = await newOperator(commandCenter)
    expect(await refusalOf(admit(member.id, operator.certificate))).toEqual({
      code: 'FORBIDDEN',
      reason: 'not-command-center',
    })
    expect(trust.has(operator.signer.id, NOW)).toBe(false)
    expect(counters.get('trust.operator.refused.not-command-center')).toBe(1)
    expect(reports).toMatchObject([{ outcome: 'reject', callerId: member.id, reason: 'not-command-center' }])
  })

  it('refuses a certificate issued by another command center, a forged one and an expired one', async () => {
    const { commandCenter, trust, counters, admit } = await setup()
    const stranger = await newSigner()
    const foreign = await newOperator(stranger)
    expect((await refusalOf(admit(commandCenter.id, foreign.certificate))).reason).toBe('untrusted-issuer')
    const genuine = await newOperator(commandCenter)
    const forged = {
      ...genuine.certificate,
      body: { ...genuine.certificate.body, roles: ['admin'] },
    }
    expect((await refusalOf(admit(commandCenter.id, forged))).reason).toBe('bad-signature')
    const late = await setup()
    const expired = await newOperator(late.commandCenter)
    const lateAdmit = createOperatorAdmission({
      trust: late.trust,
      isCommandCenter: (id) => id === late.commandCenter.id,
      isRevoked: () => false,
      counters: late.counters,
      report: () => {},
      now: () => NOW + 2 * HOUR,
    })
    expect((await refusalOf(lateAdmit(late.commandCenter.id, expired.certificate))).reason).toBe('expired')
    expect(trust.size + late.trust.size).toBe(0)
    expect(counters.get('trust.operator.refused.untrusted-issuer')).toBe(1)
    expect(counters.get('trust.operator.refused.bad-signature')).toBe(1)
  })

  it('never turns a trusted device into an expiring operator entry', async () => {
    const { commandCenter, trust, admit } = await setup()
    const operator = await newOperator(commandCenter)
    await trust.add(operator.signer.id, 'field-2')
    expect((await refusalOf(admit(commandCenter.id, operator.certificate))).reason).toBe('device-key')
    expect(trust.get(operator.signer.id)).toMatchObject({ name: 'field-2' })
    expect(trust.get(operator.signer.id)?.expiresAt).toBeUndefined()
  })
})
