/**
 * Small schemas shared by the safety records: timestamps, hashes, signatures, the trusted-issuer
 * predicate. Kept apart so every record validates these the same way.
 */
import { z } from 'zod'
import { SAFETY_ID_MAX_LENGTH } from './constants.ts'

/** Milliseconds since the Unix epoch. */
export const timestampSchema = z.number().int().nonnegative()

/** Lowercase hex SHA-256, as produced by `canonicalHash`. */
export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256 hash')

/** Base64url Ed25519 signature (64 bytes = 86 characters unpadded). */
export const signatureSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{86}$/, 'expected a base64url Ed25519 signature')

export const opaqueIdSchema = z.string().min(1).max(SAFETY_ID_MAX_LENGTH)

/** Who may issue operator certificates: a set of command-center device IDs or a predicate over
 * one (so a trust store can answer without copying itself). */
export type TrustedIssuers = ReadonlySet<string> | ((issuerId: string) => boolean)

export function isTrustedIssuer(trustedIssuers: TrustedIssuers, issuerId: string): boolean {
  return typeof trustedIssuers === 'function' ? trustedIssuers(issuerId) : trustedIssuers.has(issuerId)
}

/** First issue of a failed parse, as a one-line detail for a verdict. */
export function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'invalid value'
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)'
  return `${path}: ${issue.message}`
}
