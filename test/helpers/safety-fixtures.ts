/**
 * Keys and well-formed records for the safety core's unit tests. Not imported by runtime code.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  issueOperatorCertificate,
  type OperatorCertificate,
  type OperatorRole,
} from '../../protocol/safety/operator-certificate.ts'
import type { Proposal } from '../../protocol/safety/proposal.ts'
import { type Signer, signerFromPrivateKey } from '../../protocol/signing.ts'

export const NOW = 1_750_000_000_000
export const HOUR = 60 * 60 * 1000

export async function newSigner(): Promise<Signer> {
  return signerFromPrivateKey(await generateKeyPair('Ed25519'))
}

export interface Operator {
  readonly signer: Signer
  readonly certificate: OperatorCertificate
}

export async function newOperator(
  issuer: Signer,
  roles: OperatorRole[] = ['operator'],
  displayName = 'Test operator',
): Promise<Operator> {
  const signer = await newSigner()
  const certificate = await issueOperatorCertificate(issuer, {
    operatorId: signer.id,
    displayName,
    roles,
    issuedAt: NOW - HOUR,
    expiresAt: NOW + HOUR,
  })
  return { signer, certificate }
}

export function makeProposal(fields: { targetNode: string; authorId: string } & Partial<Proposal>): Proposal {
  const { targetNode, authorId, ...overrides } = fields
  return {
    version: 1,
    id: 'proposal-1',
    capability: 'actuator:valve:zone-1',
    targetNode,
    operation: 'open',
    args: { durationSec: 120 },
    level: 'L2',
    evidence: [{ frameId: 'frame-1', tier: 'T1' }],
    author: { kind: 'planner', id: authorId },
    createdAt: NOW - 1_000,
    expiresAt: NOW + HOUR,
    ...overrides,
  }
}
