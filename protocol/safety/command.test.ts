import { describe, expect, it } from 'vitest'
import { makeProposal, NOW, newOperator, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { signApproval } from './approval.ts'
import { evaluateCommandPolicy, issueCommand, verifyCommandIssuer } from './command.ts'
import { proposalHash } from './proposal.ts'

describe('certified command', () => {
  it('is issued, verified and allowed end to end; tampering is caught', async () => {
    const commandCenter = await newSigner()
    const alice = await newOperator(commandCenter)
    const proposal = makeProposal({ targetNode: (await newSigner()).id, authorId: (await newSigner()).id })
    const approval = await signApproval(alice.signer, {
      proposalHash: proposalHash(proposal),
      decision: 'approve',
      operatorCertificate: alice.certificate,
      operatorLink: 'lan',
      at: NOW,
    })
    const command = await issueCommand(commandCenter, {
      proposal,
      approvals: [approval],
      issuedAt: NOW,
      observedLinks: { [approval.body.nonce]: 'lan' },
    })
    expect(command.body.commandHash).toBe(proposalHash(proposal))

    const trusted = { trustedCommandCenters: new Set([commandCenter.id]) }
    expect((await verifyCommandIssuer(command, trusted)).outcome).toBe('accept')
    expect(await verifyCommandIssuer(command, { trustedCommandCenters: new Set() })).toMatchObject({
      reason: 'untrusted-issuer',
    })
    const tampered = {
      ...command,
      body: { ...command.body, proposal: { ...proposal, args: { durationSec: 9 } } },
    }
    expect(await verifyCommandIssuer(tampered, trusted)).toMatchObject({ reason: 'bad-signature' })

    const context = {
      manifest: [{ operation: 'open', minimumLevel: 'L2' as const }],
      trustedIssuers: new Set([commandCenter.id]),
      isRevoked: () => false,
      now: NOW,
      executedBefore: false,
      evidence: [{ frameId: 'frame-1', tier: 'T1' as const, kind: 'observation' as const, basis: 'test' }],
      author: { kind: 'planner' as const, eligible: true },
    }
    expect(await evaluateCommandPolicy(command, context)).toMatchObject({ verdict: 'allow', level: 'L2' })
    expect(await evaluateCommandPolicy(tampered, context)).toMatchObject({ code: 'hash-mismatch' })
    expect(await evaluateCommandPolicy(command, { ...context, executedBefore: true })).toMatchObject({
      code: 'replay',
    })
  })

  // Guard of the dispatcher's asking past the expiry (node/safety/dispatcher.ts): a command issued
  // at or after the proposal's expiry never starts an execution, even where the actuator's clock is
  // behind the issuer's and still sees the proposal as live.
  it('refuses a command issued at or after the proposal expired, whatever the actuator clock says', async () => {
    const commandCenter = await newSigner()
    const proposal = makeProposal({ targetNode: (await newSigner()).id, authorId: (await newSigner()).id })
    const context = {
      manifest: [{ operation: 'open', minimumLevel: 'L1' as const }],
      trustedIssuers: new Set([commandCenter.id]),
      isRevoked: () => false,
      now: NOW,
      executedBefore: false,
      evidence: [{ frameId: 'frame-1', tier: 'T1' as const, kind: 'observation' as const, basis: 'test' }],
      author: { kind: 'planner' as const, eligible: true },
    }
    const issuedAt = (at: number) => issueCommand(commandCenter, { proposal, approvals: [], issuedAt: at })
    expect(await evaluateCommandPolicy(await issuedAt(proposal.expiresAt), context)).toMatchObject({
      verdict: 'deny',
      code: 'proposal-expired',
    })
    expect(await evaluateCommandPolicy(await issuedAt(proposal.expiresAt - 1), context)).not.toMatchObject({
      code: 'proposal-expired',
    })
  })

  it('believes only the link the command center observed, never the approval claim', async () => {
    const commandCenter = await newSigner()
    const alice = await newOperator(commandCenter)
    const proposal = makeProposal({ targetNode: (await newSigner()).id, authorId: (await newSigner()).id })
    const approval = await signApproval(alice.signer, {
      proposalHash: proposalHash(proposal),
      decision: 'approve',
      operatorCertificate: alice.certificate,
      operatorLink: 'lan',
      at: NOW,
    })
    const context = {
      manifest: [{ operation: 'open', minimumLevel: 'L2' as const }],
      trustedIssuers: new Set([commandCenter.id]),
      isRevoked: () => false,
      now: NOW,
      executedBefore: false,
      evidence: [{ frameId: 'frame-1', tier: 'T1' as const, kind: 'observation' as const, basis: 'test' }],
      author: { kind: 'planner' as const, eligible: true },
    }
    for (const observedLinks of [undefined, { [approval.body.nonce]: 'relay' as const }]) {
      const command = await issueCommand(commandCenter, {
        proposal,
        approvals: [approval],
        issuedAt: NOW,
        ...(observedLinks === undefined ? {} : { observedLinks }),
      })
      expect(await evaluateCommandPolicy(command, context)).toMatchObject({ code: 'link-claim-mismatch' })
    }
  })
})
