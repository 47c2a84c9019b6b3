/**
 * `policy-check`: what the policy answers for a subject (an operator's roles, the planner, a
 * device), an action (`read_state`, `propose`, `approve`, `execute`) and a capability operation.
 * Not a second table: each answer is computed by running the rules the hops run — the RPC access
 * rules (protocol/rpc/caller-access.ts) and the actuation policy (`decideActuationPolicy`) on a
 * what-if proposal built from the capability's own manifest — and names the rule that decided.
 */
import { z } from 'zod'
import { isHostCapability } from '../host-ops/findings.ts'
import {
  type CallerRecord,
  decideInvokeAccess,
  decideMethodAccess,
  type InvokeCaller,
  type MethodAccessVerdict,
} from '../rpc/caller-access.ts'
import type { RpcMethodName } from '../rpc/methods.ts'
import type { ApprovalVerdict } from './approval.ts'
import type { EvidenceFact } from './evidence.ts'
import type { OperatorRole } from './operator-certificate.ts'
import {
  type AuthorFact,
  decideActuationPolicy,
  type OperationManifest,
  type PolicyVerdict,
  requiredApprovers,
} from './policy.ts'
import { type ApprovalLevel, approvalLevelSchema, type Proposal, proposalHash } from './proposal.ts'

export const POLICY_CHECK_ACTIONS = ['read_state', 'propose', 'approve', 'execute'] as const
export type PolicyCheckAction = (typeof POLICY_CHECK_ACTIONS)[number]

/** Who is asked about: certified roles (a role, or an operator by name resolved to the roles of the
 * certificate on record), this node's planner, or a trusted device without a certificate. */
export type PolicySubject =
  | { readonly kind: 'operator'; readonly roles: readonly OperatorRole[] }
  | { readonly kind: 'planner' }
  | { readonly kind: 'device' }

/** Length of a rule name and of the reason shown to a person (a policy detail plus a sentence). */
export const POLICY_CHECK_RULE_MAX_CHARS = 128
export const POLICY_CHECK_REASON_MAX_CHARS = 1_000

export const POLICY_CHECK_DECISIONS = ['allow', 'needs-approval', 'deny'] as const

export const policyCheckAnswerSchema = z.strictObject({
  decision: z.enum(POLICY_CHECK_DECISIONS),
  /** The approval level the operation runs at (its manifest's minimum). */
  level: approvalLevelSchema.optional(),
  /** Distinct operator approvals still needed, for `needs-approval`. */
  approvers: z.number().int().nonnegative().optional(),
  /** The rule that decided: `rpc:<class>`, `host:<class>`, `planner-tools`, `policy:<code>`. */
  rule: z.string().max(POLICY_CHECK_RULE_MAX_CHARS),
  reason: z.string().max(POLICY_CHECK_REASON_MAX_CHARS),
})
export type PolicyCheckAnswer = z.infer<typeof policyCheckAnswerSchema>

export interface PolicyCheckInput {
  readonly subject: PolicySubject
  readonly action: PolicyCheckAction
  readonly capability: string
  readonly operation: string
  /** The capability's manifest as the deciding node holds it (host and sensor reads are L0). */
  readonly manifest: readonly OperationManifest[]
  /** Whether the node answering is a command center (the RPC rules differ on field nodes). */
  readonly commandCenter: boolean
  /** The node that would run the operation (a proposal names it). */
  readonly targetNode: string
  readonly now: number
}

/** Fixed Ed25519 peer IDs that belong to no device: the other author and the approver of the
 * what-if proposal, so it is never authored by the subject it asks about. */
const WHAT_IF_AUTHOR_ID = '12D3KooWHTeCKDMkqfkviFXLkQw6gjDtKA8EJjgKDA3t9ADMWM92'
const WHAT_IF_SUBJECT_ID = '12D3KooWAntBLNL17n85VhiKtdV2Ntx7MeZjvRbpqNmh6waJ7ugX'
/** Lifetime of the what-if proposal: any value inside PROPOSAL_MAX_LIFETIME_MS. */
const WHAT_IF_LIFETIME_MS = 60_000

export function checkPolicy(input: PolicyCheckInput): PolicyCheckAnswer {
  const answer = decide(input)
  return answer.reason.length > POLICY_CHECK_REASON_MAX_CHARS
    ? { ...answer, reason: `${answer.reason.slice(0, POLICY_CHECK_REASON_MAX_CHARS - 1)}…` }
    : answer
}

function decide(input: PolicyCheckInput): PolicyCheckAnswer {
  switch (input.action) {
    case 'read_state':
      return checkRead(input)
    case 'propose':
      return checkPropose(input)
    case 'approve':
      return checkApprove(input)
    case 'execute':
      return checkExecute(input)
  }
}

function callerOf(subject: PolicySubject): CallerRecord {
  return subject.kind === 'operator' ? { kind: 'operator', roles: subject.roles } : { kind: 'device' }
}

function rpcDenial(method: RpcMethodName, verdict: MethodAccessVerdict): PolicyCheckAnswer | undefined {
  return verdict.verdict === 'deny'
    ? { decision: 'deny', rule: `rpc:${method}`, reason: verdict.reason }
    : undefined
}

function checkRead(input: PolicyCheckInput): PolicyCheckAnswer {
  const { subject, capability, operation } = input
  if (subject.kind !== 'planner') {
    const method = rpcDenial(
      'capability.invoke',
      decideMethodAccess(callerOf(subject), 'capability.invoke', { commandCenter: input.commandCenter }),
    )
    if (method !== undefined) return method
  }
  const invoker: InvokeCaller = subject.kind === 'planner' ? { kind: 'planner' } : callerOf(subject)
  const access = decideInvokeAccess(invoker, capability, operation)
  const rule =
    subject.kind === 'planner' ? 'planner-tools' : isHostCapability(capability) ? 'host-access' : 'rpc'
  if (access.verdict === 'deny') return { decision: 'deny', rule, reason: access.reason }
  const declared = input.manifest.find((entry) => entry.operation === operation)
  if (declared !== undefined && declared.minimumLevel !== 'L0') {
    return {
      decision: 'deny',
      level: declared.minimumLevel,
      rule: 'capability-router',
      reason: `"${operation}" is ${declared.minimumLevel}: it changes something and runs only through an approved proposal, not a read`,
    }
  }
  return { decision: 'allow', level: 'L0', rule, reason: `${capability} ${operation} is a read (L0)` }
}

function checkPropose(input: PolicyCheckInput): PolicyCheckAnswer {
  const level = input.manifest.find((entry) => entry.operation === input.operation)?.minimumLevel
  const then =
    level === undefined
      ? `; ${input.capability} declares no operation "${input.operation}", so the proposal would be refused`
      : `; the proposal then runs at ${level}${requiredApprovers(level) > 0 ? ` after ${requiredApprovers(level)} distinct operator approval(s)` : ''}`
  if (input.subject.kind === 'planner') {
    return {
      decision: 'allow',
      ...(level === undefined ? {} : { level }),
      rule: 'planner-tools',
      reason: `the planner proposes through its create_proposal tool while it leads${then}`,
    }
  }
  const method = rpcDenial(
    'proposal.create',
    decideMethodAccess(callerOf(input.subject), 'proposal.create', { commandCenter: input.commandCenter }),
  )
  if (method !== undefined) return method
  return {
    decision: 'allow',
    ...(level === undefined ? {} : { level }),
    rule: 'rpc:proposal.create',
    reason: `proposal.create is open to this subject${then}`,
  }
}

function checkApprove(input: PolicyCheckInput): PolicyCheckAnswer {
  const { subject } = input
  const method = rpcDenial(
    'proposal.approve',
    decideMethodAccess(callerOf(subject), 'proposal.approve', { commandCenter: input.commandCenter }),
  )
  if (method !== undefined) return method
  const proposal = whatIfProposal(input, { kind: 'operator', id: WHAT_IF_AUTHOR_ID })
  if (proposal === undefined) return unknownOperation(input)
  // An approval is an operator certificate's signature: the planner and devices hold none, so what
  // they hand in fails verification as malformed — exactly what verifyApproval answers a node.
  const approval: ApprovalVerdict =
    subject.kind === 'operator'
      ? {
          outcome: 'accept',
          approval: {
            operatorId: WHAT_IF_SUBJECT_ID,
            roles: subject.roles,
            proposalHash: proposalHash(proposal),
            decision: 'approve',
            operatorLink: 'local',
            at: input.now,
            nonce: 'policy-check',
          },
        }
      : {
          outcome: 'reject',
          reason: 'malformed',
          detail: `${subject.kind === 'planner' ? 'the planner' : 'a device'} holds no operator certificate; an approval carries one`,
        }
  const verdict = decideWhatIf(input, proposal, [approval], { kind: 'operator', roles: ['operator'] })
  return answerOf(verdict, proposal.level, 'approval')
}

function checkExecute(input: PolicyCheckInput): PolicyCheckAnswer {
  const { subject } = input
  const author: Proposal['author'] =
    subject.kind === 'planner'
      ? { kind: 'planner', id: WHAT_IF_SUBJECT_ID }
      : { kind: subject.kind, id: WHAT_IF_SUBJECT_ID }
  const proposal = whatIfProposal(input, author)
  if (proposal === undefined) return unknownOperation(input)
  if (proposal.level === 'L0') return checkRead({ ...input, action: 'read_state' })
  // Above L0 an operation runs only as a proposal: a subject that cannot propose cannot start it.
  const propose = checkPropose(input)
  if (propose.decision === 'deny') return propose
  const authorFact: AuthorFact =
    subject.kind === 'planner'
      ? { kind: 'planner', eligible: true }
      : subject.kind === 'operator'
        ? { kind: 'operator', roles: subject.roles }
        : { kind: 'device' }
  return answerOf(decideWhatIf(input, proposal, [], authorFact), proposal.level, 'execution')
}

function unknownOperation(input: PolicyCheckInput): PolicyCheckAnswer {
  return {
    decision: 'deny',
    rule: 'policy:unknown-operation',
    reason: `${input.capability} declares no operation "${input.operation}" on this node`,
  }
}

/** A proposal of the operation at its manifest's minimum level, with arguments at their lower
 * bounds (an L1 run is then within bounds), created now by `author`. */
function whatIfProposal(input: PolicyCheckInput, author: Proposal['author']): Proposal | undefined {
  const declared = input.manifest.find((entry) => entry.operation === input.operation)
  if (declared === undefined) return undefined
  const args: Record<string, number> = {}
  for (const bound of declared.bounds ?? []) args[bound.arg] = bound.min ?? 0
  return {
    version: 1,
    id: 'policy-check',
    capability: input.capability,
    targetNode: input.targetNode,
    operation: input.operation,
    args,
    level: declared.minimumLevel,
    evidence: [{ frameId: 'policy-check', tier: 'T1' }],
    author,
    createdAt: input.now,
    expiresAt: input.now + WHAT_IF_LIFETIME_MS,
  }
}

/** Runs the actuation policy as a forwarding hop would, with fresh measured evidence that meets the
 * manifest's requirement: the answer is about who may act, not about today's readings. */
function decideWhatIf(
  input: PolicyCheckInput,
  proposal: Proposal,
  approvals: readonly ApprovalVerdict[],
  author: AuthorFact,
): PolicyVerdict {
  const declared = input.manifest.find((entry) => entry.operation === input.operation)
  const requirement = declared?.evidence
  const evidence: EvidenceFact = {
    frameId: 'policy-check',
    tier: 'T1',
    kind: 'observation',
    ...(requirement === undefined
      ? {}
      : {
          zone: requirement.zone,
          ...(requirement.metrics?.[0] === undefined ? {} : { metric: requirement.metrics[0] }),
        }),
    timestamp: input.now,
    basis: 'policy-check assumes fresh measured evidence',
  }
  return decideActuationPolicy({
    proposal,
    manifest: input.manifest,
    now: input.now,
    executedBefore: false,
    commandHash: proposalHash(proposal),
    hop: 'forwarder',
    evidence: [evidence],
    author,
    observedLinks: { 'policy-check': 'local' },
    approvals,
  })
}

function answerOf(
  verdict: PolicyVerdict,
  level: ApprovalLevel,
  what: 'approval' | 'execution',
): PolicyCheckAnswer {
  switch (verdict.verdict) {
    case 'allow':
      return {
        decision: 'allow',
        level,
        rule: `policy:allow-${level}`,
        reason:
          what === 'approval'
            ? `the approval counts (${level} needs ${requiredApprovers(level)} distinct approver(s); approver assumed on site)`
            : level === 'L1'
              ? 'L1 runs within the manifest bounds without a human'
              : `${level} runs without approval`,
      }
    case 'pending':
      return what === 'approval'
        ? {
            decision: 'allow',
            level,
            approvers: verdict.needed,
            rule: `policy:pending-${level}`,
            reason: `the approval counts; ${verdict.detail}`,
          }
        : {
            decision: 'needs-approval',
            level,
            approvers: verdict.needed,
            rule: `policy:pending-${level}`,
            reason: verdict.detail,
          }
    case 'deny':
      return { decision: 'deny', level, rule: `policy:${verdict.code}`, reason: verdict.detail }
  }
}
