/**
 * Why a proposal was refused, as its card and the alerts panel say it: the code the refusing hop
 * named (`stale-evidence`, `guard-failed`, `rejected-by-operator`, …), which hop, the policy's own
 * sentence for that code (protocol/safety/policy.ts, the one table every hop uses) and the hop's
 * detail. Read from the record's `refusal`, never parsed out of the free-text `reason`.
 */
import type { ProposalRecordWire } from '../../../protocol/rpc/methods.ts'
import { POLICY_DENIAL_CODES } from '../../../protocol/safety/policy.ts'

export interface RefusalSummary {
  readonly code: string
  readonly hop: string
  /** What the code means, when it is one of the policy's codes. */
  readonly meaning?: string
  readonly detail: string
}

/** A hop's own codes (outside the policy table) that the console can still explain. */
const HOP_CODES: Readonly<Record<string, string>> = {
  'wrong-target': 'The command names another node than the one the site binds the actuator to.',
  'unbound-target': 'The site does not bind this actuator to the node the command reached.',
}

export function refusalSummary(record: Pick<ProposalRecordWire, 'refusal'>): RefusalSummary | undefined {
  const refusal = record.refusal
  if (refusal === undefined) return undefined
  const meaning = meaningOf(refusal.code)
  return {
    code: refusal.code,
    hop: refusal.hop,
    ...(meaning === undefined ? {} : { meaning }),
    detail: refusal.detail,
  }
}

export function meaningOf(code: string): string | undefined {
  if (Object.hasOwn(POLICY_DENIAL_CODES, code))
    return POLICY_DENIAL_CODES[code as keyof typeof POLICY_DENIAL_CODES]
  if (code.startsWith('command-')) return 'The actuator refused the certified command itself.'
  return HOP_CODES[code]
}
