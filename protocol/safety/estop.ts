/**
 * Emergency stop and command cancellation as signed records every hop checks itself.
 *
 * - An estop order is signed by the operator who pressed the button, with their certificate inside:
 *   whoever relays it (the command center, gossip), the actuator node verifies the operator's
 *   signature, the certificate's issuer, expiry and revocation from its own records. Any certified
 *   role may stop (viewers included: stopping is never blocked); nobody else may.
 * - Clearing is an L2 decision: a proposal of the reserved operation `estop.clear`, authored by the
 *   command center on the requesting operator's behalf and approved by an operator or admin; the
 *   actuator runs the one policy over it like any command (docs/safety.md).
 * - A command cancel is signed by the command center that issued (or would issue) the command: the
 *   actuator records it and refuses the command, even one already past its ledger's `started`.
 */
import { z } from 'zod'
import { deviceIdSchema } from '../device-id.ts'
import { capabilitySchema } from '../roles.ts'
import { type Signer, signValue, verifyValue } from '../signing.ts'
import { verifyIssuedRecord } from './command.ts'
import { CLOCK_SKEW_TOLERANCE_MS } from './constants.ts'
import {
  type OperatorCertificate,
  type OperatorRole,
  operatorCertificateSchema,
  verifyOperatorCertificate,
} from './operator-certificate.ts'
import type { OperationManifest } from './policy.ts'
import type { IsOperatorRevoked } from './revocation.ts'
import {
  describeIssues,
  opaqueIdSchema,
  sha256HexSchema,
  signatureSchema,
  type TrustedIssuers,
  timestampSchema,
} from './schemas.ts'

/** Free-text reason for an estop or a cancel: a sentence, not a payload. */
export const ESTOP_REASON_MAX_LENGTH = 500
/** An estop order older than this when it arrives is refused (`stale-order`): a stop is pressed for
 * now, and a captured order replayed an hour later must not re-latch a cleared site. Ten minutes
 * covers a slow relay and an actuator coming back from a short outage. */
export const ESTOP_ORDER_MAX_AGE_MS = 10 * 60_000
/** The reserved operation that clears a latch; `proposal.create` refuses it (only `safety.estop.clear`
 * creates one). */
export const ESTOP_CLEAR_OPERATION = 'estop.clear'
/** Roles that may ask for a clear and approve one. */
export const ESTOP_CLEAR_ROLES: readonly OperatorRole[] = ['operator', 'admin']

/** The manifest entry every actuator implicitly declares for `estop.clear`: L2 (one operator or
 * admin approves), a human decision (no sensor evidence asked for). */
export const ESTOP_CLEAR_MANIFEST: OperationManifest = {
  operation: ESTOP_CLEAR_OPERATION,
  minimumLevel: 'L2',
  humanDecision: true,
}

export const estopScopeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('all') }),
  z.strictObject({ kind: z.literal('zone'), zone: opaqueIdSchema }),
  /** A node by its device ID or its site name. */
  z.strictObject({ kind: z.literal('node'), node: opaqueIdSchema }),
  z.strictObject({ kind: z.literal('actuator'), capability: capabilitySchema }),
])
export type EstopScope = z.infer<typeof estopScopeSchema>

/** What an actuator is, for scope matching. */
export interface EstopTarget {
  readonly capability: string
  readonly zone: string
  /** The site name of the node serving it. */
  readonly nodeName: string
  readonly deviceId: string | undefined
}

export function estopScopeCovers(scope: EstopScope, target: EstopTarget): boolean {
  switch (scope.kind) {
    case 'all':
      return true
    case 'zone':
      return target.zone === scope.zone
    case 'node':
      return target.nodeName === scope.node || target.deviceId === scope.node
    case 'actuator':
      return target.capability === scope.capability
  }
}

export function describeEstopScope(scope: EstopScope): string {
  switch (scope.kind) {
    case 'all':
      return 'every actuator'
    case 'zone':
      return `zone ${scope.zone}`
    case 'node':
      return `node ${scope.node}`
    case 'actuator':
      return scope.capability
  }
}

export const estopOrderBodySchema = z.strictObject({
  version: z.literal(1),
  scope: estopScopeSchema,
  reason: z.string().max(ESTOP_REASON_MAX_LENGTH),
  operatorCertificate: operatorCertificateSchema,
  issuedAt: timestampSchema,
  nonce: opaqueIdSchema,
})
export type EstopOrderBody = z.infer<typeof estopOrderBodySchema>
export const estopOrderSchema = z.strictObject({ body: estopOrderBodySchema, signature: signatureSchema })
export type EstopOrder = z.infer<typeof estopOrderSchema>

export interface EstopOrderFields {
  readonly scope: EstopScope
  readonly reason: string
  readonly operatorCertificate: OperatorCertificate
  readonly issuedAt: number
  readonly nonce?: string
}

/** Signs a stop with the operator's own key (the one the certificate names). */
export async function signEstopOrder(operatorSigner: Signer, fields: EstopOrderFields): Promise<EstopOrder> {
  if (operatorSigner.id !== fields.operatorCertificate.body.operatorId) {
    throw new Error(
      `this key (${operatorSigner.id}) is not the operator named in the certificate; sign with the certified operator key`,
    )
  }
  const body = estopOrderBodySchema.parse({
    version: 1,
    scope: fields.scope,
    reason: fields.reason,
    operatorCertificate: fields.operatorCertificate,
    issuedAt: fields.issuedAt,
    nonce: fields.nonce ?? randomNonce(),
  })
  return { body, signature: await signValue(operatorSigner, 'estop', body) }
}

export type EstopOrderRejection =
  | 'malformed'
  | 'certificate-rejected'
  | 'bad-signature'
  | 'stale-order'
  | 'from-future'

export type EstopOrderVerdict =
  | { readonly outcome: 'accept'; readonly order: EstopOrder; readonly operatorId: string }
  | { readonly outcome: 'reject'; readonly reason: EstopOrderRejection; readonly detail: string }

/** Checks the certificate (trusted issuer, signature, revocation, validity), the operator's
 * signature over the order, and its age. Never throws. Any role may stop. */
export async function verifyEstopOrder(
  candidate: unknown,
  options: {
    readonly trustedIssuers: TrustedIssuers
    readonly now: number
    readonly isRevoked: IsOperatorRevoked
  },
): Promise<EstopOrderVerdict> {
  const parsed = estopOrderSchema.safeParse(candidate)
  if (!parsed.success) return { outcome: 'reject', reason: 'malformed', detail: describeIssues(parsed.error) }
  const { body, signature } = parsed.data
  const certificate = await verifyOperatorCertificate(body.operatorCertificate, options)
  if (certificate.outcome === 'reject') {
    return {
      outcome: 'reject',
      reason: 'certificate-rejected',
      detail: `${certificate.reason}: ${certificate.detail}`,
    }
  }
  const operatorId = body.operatorCertificate.body.operatorId
  if (!(await verifyValue(operatorId, 'estop', body, signature))) {
    return {
      outcome: 'reject',
      reason: 'bad-signature',
      detail: `signature does not verify against ${operatorId}`,
    }
  }
  if (body.issuedAt > options.now + CLOCK_SKEW_TOLERANCE_MS) {
    return {
      outcome: 'reject',
      reason: 'from-future',
      detail: `issued at ${body.issuedAt}, now is ${options.now}`,
    }
  }
  if (options.now - body.issuedAt > ESTOP_ORDER_MAX_AGE_MS) {
    return {
      outcome: 'reject',
      reason: 'stale-order',
      detail: `issued at ${body.issuedAt}, more than ${ESTOP_ORDER_MAX_AGE_MS} ms ago`,
    }
  }
  return { outcome: 'accept', order: parsed.data, operatorId }
}

export const commandCancelBodySchema = z.strictObject({
  version: z.literal(1),
  commandHash: sha256HexSchema,
  proposalId: opaqueIdSchema,
  reason: z.string().max(ESTOP_REASON_MAX_LENGTH),
  /** The command center that cancels (and issues commands): the actuator obeys only those. */
  issuedBy: deviceIdSchema,
  issuedAt: timestampSchema,
  /** Until when the actuator must remember it: the proposal's expiry (a command is refused after it
   * anyway). */
  until: timestampSchema,
})
export type CommandCancelBody = z.infer<typeof commandCancelBodySchema>
export const commandCancelSchema = z.strictObject({
  body: commandCancelBodySchema,
  signature: signatureSchema,
})
export type CommandCancel = z.infer<typeof commandCancelSchema>

export async function signCommandCancel(
  issuer: Signer,
  fields: Omit<CommandCancelBody, 'version' | 'issuedBy'>,
): Promise<CommandCancel> {
  const body = commandCancelBodySchema.parse({ version: 1, ...fields, issuedBy: issuer.id })
  return { body, signature: await signValue(issuer, 'command-cancel', body) }
}

export type CommandCancelVerdict =
  | { readonly outcome: 'accept'; readonly cancel: CommandCancel }
  | {
      readonly outcome: 'reject'
      readonly reason: 'malformed' | 'untrusted-issuer' | 'bad-signature'
      readonly detail: string
    }

export async function verifyCommandCancel(
  candidate: unknown,
  options: { readonly trustedCommandCenters: TrustedIssuers },
): Promise<CommandCancelVerdict> {
  const verdict = await verifyIssuedRecord(commandCancelSchema, 'command-cancel', candidate, options)
  return verdict.outcome === 'accept' ? { outcome: 'accept', cancel: verdict.record } : verdict
}

function randomNonce(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}
