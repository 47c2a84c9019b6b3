/**
 * The actuation policy: the one decision the sender, the command center and the actuator each make
 * before anything moves. Split in two so the rules stay a pure, synchronous table:
 * `verifyApprovals` (async) turns approval certificates into verified facts, `decideActuationPolicy`
 * decides from those facts. `evaluateActuationPolicy` runs both.
 */

import { type ApprovalVerdict, type OperatorLink, type VerifiedApproval, verifyApproval } from './approval.ts'
import { COMMAND_MAX_APPROVALS, L2_REQUIRED_APPROVERS, L3_REQUIRED_APPROVERS } from './constants.ts'
import { type EvidenceFact, type EvidenceRequirement, isRelevantEvidence } from './evidence.ts'
import type { ExecutionGuard } from './execution-check.ts'
import { APPROVING_ROLES, type OperatorRole } from './operator-certificate.ts'
import { claimsMoreLocalThan, isOnSiteLink } from './operator-link.ts'
import { type ApprovalLevel, proposalHash, proposalSchema } from './proposal.ts'
import type { IsOperatorRevoked } from './revocation.ts'
import { describeIssues, type TrustedIssuers } from './schemas.ts'

/** Every reason the policy can refuse, with the sentence shown to a person. Closed: adding one is a
 * protocol change, and tests assert on the code, never on the sentence. */
export const POLICY_DENIAL_CODES = {
  'malformed-proposal': 'The proposal does not match the proposal schema.',
  'too-many-approvals': 'The command carries more approvals than any level needs.',
  'hash-mismatch': 'The command or an approval names a different proposal than the one presented.',
  replay: 'This proposal was already executed; a command runs at most once.',
  'proposal-expired': 'The proposal has expired; propose it again with current evidence.',
  'stale-leader-term': 'The proposal comes from a planner that is no longer the leader.',
  'unknown-operation': "The target's capability manifest does not declare this operation.",
  'level-below-manifest': 'The proposal asks for a lower approval level than the manifest requires for it.',
  'llm-only-evidence':
    'Actuation needs measured evidence; nothing this node holds as measured backs the proposal (T0 only).',
  'irrelevant-evidence':
    "The cited measurements are not fresh observations of the actuator's zone of the kind its manifest names.",
  'l1-author-not-permitted':
    'L1 runs without a human only for a certified operator, or for the planner where the manifest allows it.',
  'link-claim-mismatch': 'An approval claims a more local link than the one it was observed to arrive over.',
  'malformed-approval': 'An approval does not match the approval certificate schema.',
  'bad-approval-signature': "An approval's operator or certificate signature does not verify.",
  'untrusted-certificate-issuer': "An approver's certificate was issued by an untrusted command center.",
  'certificate-expired': "An approver's certificate has expired or is not yet valid.",
  'operator-revoked':
    'An approver was revoked by a command center after their certificate was issued; they must be enrolled again.',
  'approval-from-future': 'An approval is dated in the future; check the approving device clock.',
  'rejected-by-operator': 'An operator rejected this proposal.',
  'self-approval': "The proposal's author cannot approve it; another operator must.",
  'viewer-cannot-approve': 'A viewer certificate cannot approve; an operator or admin must.',
  'duplicate-approver':
    'The same operator approved more than once; approvals must come from distinct people.',
  'unbounded-l1': 'L1 auto-execute needs bounds for this operation in the capability manifest.',
  'out-of-bounds': 'An argument is missing, undeclared or outside the bounds the manifest allows for L1.',
  'missing-approval': 'The proposal needs operator approval and has none.',
  'insufficient-approvals': 'The proposal does not have enough distinct operator approvals.',
  'no-local-approver': 'L3 needs at least one approver observed on a local or LAN link.',
  'stale-evidence':
    'At execution the evidence is older than the manifest allows; propose again on fresh readings.',
  'guard-failed':
    "A guard the manifest declares does not hold on the actuator's own latest reading (or it has none).",
} as const
export type PolicyDenialCode = keyof typeof POLICY_DENIAL_CODES

/** Numeric bound on one argument of an operation, as a capability manifest declares it. */
export interface ArgumentBound {
  readonly arg: string
  /** Defaults to 0: durations, volumes and percentages are never negative. */
  readonly min?: number
  readonly max: number
  /** Whole numbers only (a duration in seconds): 59.5 is out of bounds. */
  readonly integer?: boolean
}

/** What the target's capability manifest says about one operation. */
export interface OperationManifest {
  readonly operation: string
  /** Lowest level this operation may be proposed at. Only read-only operations declare L0, so a
   * proposal cannot dodge approval by labelling "open valve" as L0. */
  readonly minimumLevel: ApprovalLevel
  /** Present only for operations that may auto-execute at L1. Every argument must be bounded. */
  readonly bounds?: readonly ArgumentBound[]
  /** Arguments that must be whole numbers, at every level. */
  readonly integerArgs?: readonly string[]
  /** Moves the actuator to its declared safe state: a certified operator runs it at once. */
  readonly safeState?: boolean
  /** The planner may be the author of an L1 run of this operation. */
  readonly plannerMayAutoRun?: boolean
  /** A human decision about the site, not a measured one (clearing an emergency stop): no evidence
   * is asked for; the level's approvals still are. */
  readonly humanDecision?: boolean
  /** What counts as evidence; absent (no site zone), any measured fact does. */
  readonly evidence?: EvidenceRequirement
  /** Conditions re-checked by the actuator just before it moves the device (execution-check.ts). */
  readonly guards?: readonly ExecutionGuard[]
}

/** Who wrote the proposal, as the deciding hop's own records show: an operator whose certificate
 * it verified (with its roles), a planner it obeys (`eligible`) or not, or a plain device. */
export type AuthorFact =
  | { readonly kind: 'operator'; readonly roles: readonly OperatorRole[] }
  | { readonly kind: 'planner'; readonly eligible: boolean }
  | { readonly kind: 'device' }
  | { readonly kind: 'unverified'; readonly detail: string }

/** Where the policy is being run. Forwarders and senders may hold a proposal that is still
 * collecting approvals; the actuator must have them all. */
export type PolicyHop = 'sender' | 'forwarder' | 'actuator'

interface PolicyContext {
  readonly proposal: unknown
  readonly manifest: readonly OperationManifest[]
  readonly now: number
  /** The persisted execution ledger already holds this proposal hash. */
  readonly executedBefore: boolean
  /** The proposal hash the command claims to carry. */
  readonly commandHash: string
  readonly currentLeaderTerm?: number
  readonly hop: PolicyHop
  /** This hop's assessment of each cited frame (protocol/safety/evidence.ts), never the tier the
   * proposal or the frame states. */
  readonly evidence: readonly EvidenceFact[]
  readonly author: AuthorFact
  /** Per approval nonce, the link the command center observed it arrive over (a relayed approval
   * is `relay`). An approval without an observation counts as WAN. */
  readonly observedLinks: Readonly<Record<string, OperatorLink>>
}

export interface PolicyFacts extends PolicyContext {
  /** Result of `verifyApprovals`, one per approval presented. */
  readonly approvals: readonly ApprovalVerdict[]
}

export interface PolicyInput extends PolicyContext {
  readonly approvals: readonly unknown[]
  readonly trustedIssuers: TrustedIssuers
  /** This node's own revocation records. */
  readonly isRevoked: IsOperatorRevoked
}

export type PolicyVerdict =
  | { readonly verdict: 'allow'; readonly level: ApprovalLevel; readonly approvers: readonly string[] }
  | { readonly verdict: 'deny'; readonly code: PolicyDenialCode; readonly detail: string }
  | { readonly verdict: 'pending'; readonly needed: number; readonly detail: string }

export async function verifyApprovals(
  approvals: readonly unknown[],
  options: {
    readonly trustedIssuers: TrustedIssuers
    readonly now: number
    readonly isRevoked: IsOperatorRevoked
  },
): Promise<ApprovalVerdict[]> {
  // Bounded before verifying so a flood of approvals cannot make the actuator burn CPU on signatures.
  if (approvals.length > COMMAND_MAX_APPROVALS) return []
  return Promise.all(approvals.map((approval) => verifyApproval(approval, options)))
}

/** Verifies the approvals, then decides. */
export async function evaluateActuationPolicy(input: PolicyInput): Promise<PolicyVerdict> {
  if (input.approvals.length > COMMAND_MAX_APPROVALS) {
    return deny('too-many-approvals', `${input.approvals.length} approvals, at most ${COMMAND_MAX_APPROVALS}`)
  }
  const approvals = await verifyApprovals(input.approvals, input)
  return decideActuationPolicy({ ...input, approvals })
}

const APPROVAL_REJECTION_TO_DENIAL = {
  malformed: 'malformed-approval',
  'untrusted-issuer': 'untrusted-certificate-issuer',
  'bad-certificate-signature': 'bad-approval-signature',
  'certificate-revoked': 'operator-revoked',
  'certificate-not-yet-valid': 'certificate-expired',
  'certificate-expired': 'certificate-expired',
  'bad-signature': 'bad-approval-signature',
  'from-future': 'approval-from-future',
} as const satisfies Record<string, PolicyDenialCode>

const LEVEL_RANK: Readonly<Record<ApprovalLevel, number>> = { L0: 0, L1: 1, L2: 2, L3: 3 }

const REQUIRED_APPROVERS: Readonly<Record<ApprovalLevel, number>> = {
  L0: 0,
  L1: 0,
  L2: L2_REQUIRED_APPROVERS,
  L3: L3_REQUIRED_APPROVERS,
}

/** Distinct operator approvals a proposal of this level needs before the policy allows it (L0 and
 * L1 need none). The policy counts with it; the CLI and the console show it. */
export function requiredApprovers(level: ApprovalLevel): number {
  return REQUIRED_APPROVERS[level]
}

/** The rules, in the order they are checked. Pure and synchronous. */
export function decideActuationPolicy(facts: PolicyFacts): PolicyVerdict {
  const parsed = proposalSchema.safeParse(facts.proposal)
  if (!parsed.success) return deny('malformed-proposal', describeIssues(parsed.error))
  const proposal = parsed.data
  const hash = proposalHash(proposal)

  if (facts.approvals.length > COMMAND_MAX_APPROVALS) {
    return deny('too-many-approvals', `${facts.approvals.length} approvals, at most ${COMMAND_MAX_APPROVALS}`)
  }
  if (facts.commandHash !== hash) {
    return deny('hash-mismatch', `command names ${facts.commandHash}, the proposal hashes to ${hash}`)
  }
  if (facts.executedBefore) return deny('replay', `proposal ${proposal.id} (${hash}) was already executed`)
  if (facts.now >= proposal.expiresAt) {
    return deny('proposal-expired', `expired at ${proposal.expiresAt}, now is ${facts.now}`)
  }
  // A planner proposal without a term is treated as stale once terms are known: omitting the field
  // must not be a way for a deposed leader around the check.
  if (proposal.author.kind === 'planner' && facts.currentLeaderTerm !== undefined) {
    if (proposal.leaderTerm === undefined || proposal.leaderTerm < facts.currentLeaderTerm) {
      return deny(
        'stale-leader-term',
        `proposal term ${proposal.leaderTerm ?? 'none'}, current leader term ${facts.currentLeaderTerm}`,
      )
    }
  }

  const operation = facts.manifest.find((entry) => entry.operation === proposal.operation)
  if (operation === undefined) {
    return deny('unknown-operation', `${proposal.capability} declares no operation "${proposal.operation}"`)
  }
  // A manifest naming an unknown level (hand-edited config) is read as the strictest one.
  const minimumRank = LEVEL_RANK[operation.minimumLevel] ?? LEVEL_RANK.L3
  if (LEVEL_RANK[proposal.level] < minimumRank) {
    return deny(
      'level-below-manifest',
      `"${proposal.operation}" needs at least ${operation.minimumLevel}, proposed ${proposal.level}`,
    )
  }
  for (const arg of operation.integerArgs ?? []) {
    const value = proposal.args[arg]
    if (value !== undefined && !Number.isInteger(value)) {
      return deny('out-of-bounds', `argument "${arg}" must be a whole number, got ${JSON.stringify(value)}`)
    }
  }

  const movesToSafeState = operation.safeState === true && isCertifiedOperator(facts.author)
  if (proposal.level !== 'L0' && !movesToSafeState && operation.humanDecision !== true) {
    const evidence = decideEvidence(facts.evidence, operation, proposal.createdAt)
    if (evidence !== undefined) return evidence
  }

  // Every presented approval must be valid: a command carrying a forged or foreign approval is
  // refused whole rather than silently trimmed.
  const verified: VerifiedApproval[] = []
  for (const verdict of facts.approvals) {
    if (verdict.outcome === 'reject')
      return deny(APPROVAL_REJECTION_TO_DENIAL[verdict.reason], verdict.detail)
    if (verdict.approval.proposalHash !== hash) {
      return deny(
        'hash-mismatch',
        `approval by ${verdict.approval.operatorId} is for ${verdict.approval.proposalHash}`,
      )
    }
    verified.push(verdict.approval)
  }
  const rejection = verified.find((approval) => approval.decision === 'reject')
  if (rejection !== undefined) return deny('rejected-by-operator', `rejected by ${rejection.operatorId}`)

  const approvers = new Set<string>()
  for (const approval of verified) {
    if (approval.operatorId === proposal.author.id) {
      return deny('self-approval', `${approval.operatorId} authored proposal ${proposal.id}`)
    }
    if (!approval.roles.some((role) => APPROVING_ROLES.includes(role))) {
      return deny('viewer-cannot-approve', `${approval.operatorId} holds roles ${approval.roles.join(', ')}`)
    }
    if (approvers.has(approval.operatorId)) {
      return deny('duplicate-approver', `${approval.operatorId} approved more than once`)
    }
    approvers.add(approval.operatorId)
    const observed = facts.observedLinks[approval.nonce] ?? 'wan'
    if (claimsMoreLocalThan(approval.operatorLink, observed)) {
      return deny(
        'link-claim-mismatch',
        `${approval.operatorId} claims ${approval.operatorLink}, observed ${observed}`,
      )
    }
  }

  // Stopping is never blocked: a certified operator moves an actuator to its safe state at once.
  if (movesToSafeState) return allow(proposal.level, approvers)

  switch (proposal.level) {
    case 'L0':
      return allow('L0', approvers)
    case 'L1': {
      const author = facts.author
      const permitted =
        isCertifiedOperator(author) ||
        (author.kind === 'planner' && author.eligible && operation.plannerMayAutoRun === true)
      const bounded = decideBoundedAutoExecute(proposal.operation, proposal.args, operation, approvers)
      if (bounded.verdict !== 'allow' || permitted) return bounded
      return deny(
        'l1-author-not-permitted',
        `author ${proposal.author.kind} ${proposal.author.id} (${describeAuthor(author)}) may not auto-run "${proposal.operation}"`,
      )
    }
    case 'L2':
      return decideApprovalCount('L2', requiredApprovers('L2'), approvers, facts.hop)
    case 'L3': {
      const counted = decideApprovalCount('L3', requiredApprovers('L3'), approvers, facts.hop)
      if (counted.verdict !== 'allow') return counted
      // A claim is never more local than the observation (checked above), so the claim is what
      // the observation allows.
      const hasLocal = verified.some((approval) => isOnSiteLink(facts.observedLinks[approval.nonce] ?? 'wan'))
      if (hasLocal) return counted
      const detail = `approvals observed over ${[...new Set(verified.map((a) => facts.observedLinks[a.nonce] ?? 'wan'))].join(', ')}`
      return facts.hop === 'actuator'
        ? deny('no-local-approver', detail)
        : { verdict: 'pending', needed: 1, detail: `L3 needs an approver on a local or LAN link; ${detail}` }
    }
  }
}

function isCertifiedOperator(author: AuthorFact): boolean {
  return author.kind === 'operator' && author.roles.some((role) => APPROVING_ROLES.includes(role))
}

function describeAuthor(author: AuthorFact): string {
  switch (author.kind) {
    case 'operator':
      return `operator with roles ${author.roles.join(', ')}`
    case 'planner':
      return author.eligible ? 'a planner this node obeys' : 'not a planner this node obeys'
    case 'device':
      return 'a device, not a certified operator'
    case 'unverified':
      return `unverified: ${author.detail}`
  }
}

/** Measured (T1-T3 as this hop assessed it), and relevant: fresh observations of the actuator's zone
 * of a metric the manifest names. */
function decideEvidence(
  facts: readonly EvidenceFact[],
  operation: OperationManifest,
  createdAt: number,
): PolicyVerdict | undefined {
  const measured = facts.filter((fact) => fact.tier !== 'T0')
  if (measured.length === 0) {
    const bases = facts.map((fact) => `${fact.frameId}: ${fact.basis}`).join('; ')
    return deny(
      'llm-only-evidence',
      facts.length === 0 ? 'no evidence cited' : `no measured evidence (${bases})`,
    )
  }
  const requirement = operation.evidence
  if (requirement === undefined) return undefined
  if (measured.some((fact) => isRelevantEvidence(fact, requirement, createdAt))) return undefined
  const wanted = requirement.metrics?.join(' or ') ?? 'any metric'
  return deny(
    'irrelevant-evidence',
    `needs an observation of ${wanted} in ${requirement.zone} at most ${Math.round(requirement.maxAgeMs / 1000)} s old; cited ${measured.map((fact) => `${fact.metric ?? fact.kind} in ${fact.zone ?? '?'}`).join(', ')}`,
  )
}

function decideBoundedAutoExecute(
  operationName: string,
  args: Record<string, unknown>,
  operation: OperationManifest,
  approvers: ReadonlySet<string>,
): PolicyVerdict {
  const bounds = operation.bounds
  if (bounds === undefined || bounds.length === 0) {
    return deny('unbounded-l1', `the manifest declares no bounds for "${operationName}"`)
  }
  for (const name of Object.keys(args)) {
    if (!bounds.some((bound) => bound.arg === name)) {
      return deny('out-of-bounds', `argument "${name}" has no declared bound`)
    }
  }
  for (const bound of bounds) {
    const value = args[bound.arg]
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return deny(
        'out-of-bounds',
        `argument "${bound.arg}" must be a number, got ${JSON.stringify(value) ?? 'nothing'}`,
      )
    }
    if (bound.integer === true && !Number.isInteger(value)) {
      return deny('out-of-bounds', `argument "${bound.arg}" must be a whole number, got ${value}`)
    }
    const min = bound.min ?? 0
    if (value < min || value > bound.max) {
      return deny('out-of-bounds', `argument "${bound.arg}" = ${value} is outside [${min}, ${bound.max}]`)
    }
  }
  return allow('L1', approvers)
}

function decideApprovalCount(
  level: ApprovalLevel,
  required: number,
  approvers: ReadonlySet<string>,
  hop: PolicyHop,
): PolicyVerdict {
  if (approvers.size >= required) return allow(level, approvers)
  const needed = required - approvers.size
  const detail = `${level} needs ${required} distinct approver(s), has ${approvers.size}`
  if (hop !== 'actuator') return { verdict: 'pending', needed, detail }
  return deny(approvers.size === 0 ? 'missing-approval' : 'insufficient-approvals', detail)
}

function allow(level: ApprovalLevel, approvers: ReadonlySet<string>): PolicyVerdict {
  return { verdict: 'allow', level, approvers: [...approvers] }
}

function deny(code: PolicyDenialCode, detail: string): PolicyVerdict {
  return { verdict: 'deny', code, detail }
}
