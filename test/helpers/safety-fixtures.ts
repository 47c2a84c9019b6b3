/**
 * Keys and well-formed records for the safety core's unit tests. Not imported by runtime code.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  issueOperatorCertificate,
  type OperatorCertificate,
  type OperatorChannel,
  type OperatorRole,
} from '../../protocol/safety/operator-certificate.ts'
import type { Proposal } from '../../protocol/safety/proposal.ts'
import type { ProposalRecord } from '../../protocol/safety/proposal-record.ts'
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
  channel?: OperatorChannel,
): Promise<Operator> {
  const signer = await newSigner()
  const certificate = await issueOperatorCertificate(issuer, {
    operatorId: signer.id,
    displayName,
    roles,
    issuedAt: NOW - HOUR,
    expiresAt: NOW + HOUR,
    ...(channel === undefined ? {} : { channel }),
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

/** A proposal record awaiting approval, as `proposal.create` answers it (for fakes of the planner's
 * tools); `proposal` overrides fields of `makeProposal`'s. */
export function makeProposalRecord(
  fields: { hash?: string; proposal?: Partial<Proposal> } & Partial<Omit<ProposalRecord, 'proposal'>> = {},
): ProposalRecord {
  const { proposal, hash = 'f'.repeat(64), ...overrides } = fields
  return {
    hash,
    proposal: makeProposal({ targetNode: TEST_DEVICE, authorId: TEST_DEVICE, ...proposal }),
    state: 'awaiting_approval',
    approvals: [],
    mergedCount: 0,
    receivedAt: NOW,
    updatedAt: NOW,
    ...overrides,
  }
}

/** A well-formed device ID for records whose target and author a test does not look at. */
const TEST_DEVICE = '12D3KooWPDgUCsmdPD9z8yMxtcBRYWEXZmr8byGpr2fFR4gnottJ'
