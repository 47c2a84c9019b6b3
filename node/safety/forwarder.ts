/**
 * The command center's side of a proposal: creates it (target from the site's bindings, evidence
 * cited from this node's world model, author from its own records), runs the one policy as the
 * sender and — for each signed operator decision — as the forwarder, and records approvals and
 * decisions (proposal store and evidence log) before handing an allowed proposal to the
 * dispatcher. Nothing here asks a planner or an LLM to execute anything.
 */
import { randomUUID } from 'node:crypto'
import type { Frame, LocalFrameFields } from '../../protocol/context/index.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import type { ProposalCreateParams } from '../../protocol/rpc/methods.ts'
import {
  type ApprovalLevel,
  assessEvidenceFrame,
  classifyOperatorLink,
  ESTOP_CLEAR_OPERATION,
  evaluateActuationPolicy,
  type IsOperatorRevoked,
  isRelevantEvidence,
  type OperationManifest,
  type OperatorCertificate,
  type OperatorLink,
  type Proposal,
  proposalHash,
  type SiteBindingsView,
} from '../../protocol/safety/index.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { SiteBindings } from '../site/site-bindings.ts'
import { findOperation, type SiteModel } from '../site/site-model.ts'
import type { WorldModel } from '../world/world-model.ts'
import type { ExecuteResult } from './actuator-gate.ts'
import type { EvidenceLogWriter } from './evidence-log-writer.ts'
import type { ExecutionLedger } from './execution-ledger.ts'
import type { ProposalStore, StoredProposal } from './proposal-store.ts'
import { refuseProposal } from './refusal.ts'
import { type SafetyFacts, type SafetyLeadership, termFact } from './safety-facts.ts'

/** A proposal nobody decides on within this time expires; long enough for an operator to walk to
 * the field, short enough that stale intentions do not linger. */
export const DEFAULT_PROPOSAL_TTL_MS = 30 * 60_000
/** Observations auto-cited as evidence when a proposal names none: the latest few relevant ones. */
const AUTO_EVIDENCE_FRAMES = 3
/** Recent observations of a zone scanned for relevant ones when auto-citing: a zone has a handful
 * of sensors reporting every few seconds, so the newest 200 always hold the freshest of each. */
const AUTO_EVIDENCE_SCAN = 200

/** Who asks for a proposal, as this node's own records show (never as the caller says):
 * `planner` is this node's planner, stamped with the current leader term. */
export type ProposalAuthorRecord =
  | { readonly kind: 'operator'; readonly id: string; readonly certificate: OperatorCertificate }
  | { readonly kind: 'device'; readonly id: string }
  | { readonly kind: 'planner' }

/** Where an approval came from, as the command center observed it. */
export interface ApprovalArrival {
  readonly callerId: string
  /** The remote address of the connection it arrived over (absent: this node itself). */
  readonly remoteAddr?: string
  /** The link a forwarding planner observed the approval arrive over (a non-leading planner hands
   * approvals to the leader). Believed only when the caller is a command center this node obeys. */
  readonly forwardedLink?: OperatorLink
}

export interface DecideResult {
  record: StoredProposal
  verdict: 'allow' | 'pending' | 'rejected'
  detail: string
  /** The actuator's `execution` frame, when the approval let the proposal run and it answered. */
  executionFrame?: Frame
}

export interface ForwarderInit {
  deviceId: string
  site: SiteModel | undefined
  /** Which device serves each site sensor and actuator, from this node's own records. */
  bindings: SiteBindingsView & Pick<SiteBindings, 'binds' | 'deviceFor'>
  world: Pick<WorldModel, 'get' | 'query'>
  /** Live providers of a capability the site does not name. */
  providersOf(capability: string): string[]
  proposals: Pick<ProposalStore, 'get' | 'create' | 'move' | 'decide' | 'addApproval'>
  ledger: Pick<ExecutionLedger, 'hasExecuted'>
  evidence: Pick<EvidenceLogWriter, 'append'>
  facts: Pick<SafetyFacts, 'manifestFor' | 'assessEvidence' | 'authorFact'>
  isCommandCenter(deviceId: string): boolean
  isRevoked: IsOperatorRevoked
  leadership?: SafetyLeadership | undefined
  /** Sends an approved proposal (the dispatcher); resolves with the actuator's answer if it ran now. */
  dispatch(hash: string): Promise<ExecuteResult | undefined>
  publish(fields: LocalFrameFields, options?: { urgent?: boolean }): Promise<Frame>
  counters: Pick<Counters, 'increment'>
  events: Pick<EventRing, 'push'>
  now(): number
  log(line: string): void
}

export class Forwarder {
  readonly #init: ForwarderInit

  constructor(init: ForwarderInit) {
    this.#init = init
  }

  /** The author comes from this node's records (the caller's certificate on record, its trust
   * entry, or this node's own planner, stamped with the leader term it proposes under). A planner
   * proposal goes through the same policy and needs the same approvals as an operator's. */
  async createProposal(
    params: ProposalCreateParams,
    author: ProposalAuthorRecord,
    options: { readonly estopClear?: boolean } = {},
  ): Promise<{ record: StoredProposal; merged: boolean }> {
    const init = this.#init
    if (params.operation === ESTOP_CLEAR_OPERATION && options.estopClear !== true) {
      // Only safety.estop.clear writes these (for an operator or admin, authored by this node).
      init.counters.increment('safety.refused.estop-clear-reserved')
      throw new ClawMeshError(
        'POLICY_DENIED',
        `"${ESTOP_CLEAR_OPERATION}" is reserved: ask with \`clawmesh estop clear\` (operators and admins)`,
        { data: { code: 'estop-clear-reserved' } },
      )
    }
    const now = init.now()
    const currentTerm = init.leadership?.currentTerm()
    const site = init.site
    const found = site === undefined ? undefined : findOperation(site, params.capability, params.operation)
    const level: ApprovalLevel | undefined = params.level ?? found?.operation.level
    if (level === undefined) {
      throw new ClawMeshError(
        'INVALID_PARAMS',
        `no manifest for ${params.capability} ${params.operation}: give the level explicitly`,
      )
    }
    const targetNode = this.#targetOf(params.capability, params.targetNode)
    const manifest = init.facts
      .manifestFor(params.capability)
      .find((entry) => entry.operation === params.operation)
    const proposal: Proposal = {
      version: 1,
      id: `p-${randomUUID()}`,
      capability: params.capability,
      targetNode,
      operation: params.operation,
      args: params.args ?? {},
      level,
      evidence: this.#cite(params, manifest, now),
      author: author.kind === 'planner' ? { kind: 'planner', id: init.deviceId } : author,
      createdAt: now,
      expiresAt: now + (params.ttlMs ?? DEFAULT_PROPOSAL_TTL_MS),
      ...(author.kind === 'planner' && currentTerm !== undefined ? { leaderTerm: currentTerm } : {}),
    }
    if (author.kind === 'operator') proposal.author = { kind: 'operator', id: author.id }
    if (author.kind === 'device') proposal.author = { kind: 'device', id: author.id }
    const authorCertificate = author.kind === 'operator' ? author.certificate : undefined
    // The sender's run of the policy: refuse at once what can never pass (T0-only evidence,
    // unbounded L1, a level below the manifest) instead of waiting for approvals.
    const verdict = await evaluateActuationPolicy({
      proposal,
      approvals: [],
      manifest: init.facts.manifestFor(proposal.capability),
      trustedIssuers: (id) => init.isCommandCenter(id),
      isRevoked: init.isRevoked,
      now,
      executedBefore: false,
      commandHash: proposalHash(proposal),
      ...termFact(currentTerm),
      hop: 'sender',
      evidence: await init.facts.assessEvidence(proposal),
      author: await init.facts.authorFact(proposal, authorCertificate),
      observedLinks: {},
    })
    if (verdict.verdict === 'deny') {
      await refuseProposal(init, 'sender', proposal, verdict.code, verdict.detail)
    }
    const evidenceFrames = proposal.evidence
      .map((ref) => init.world.get(ref.frameId))
      .filter((frame): frame is Frame => frame !== undefined)
    const created = await init.proposals.create(proposal, now, authorCertificate, evidenceFrames)
    if (created.outcome === 'reject')
      throw new ClawMeshError('INVALID_PARAMS', `proposal refused: ${created.detail}`)
    if (created.merged) return { record: created.record, merged: true }
    await init.evidence.append('proposal', { hash: created.record.hash, proposal })
    await init.proposals.move(created.record.hash, 'submit')
    await this.#publishProposalFrame(created.record.hash)
    if (verdict.verdict === 'allow') await this.#approveAndDispatch(created.record.hash, verdict.approvers)
    return { record: this.get(created.record.hash), merged: false }
  }

  /** An operator's signed decision. Approvals run the forwarder's policy; when it allows, the
   * proposal is dispatched at once. */
  async decide(
    id: string,
    approval: unknown,
    expected: 'approve' | 'reject',
    arrival: ApprovalArrival,
  ): Promise<DecideResult> {
    const init = this.#init
    const record = this.get(id)
    const decision = (approval as { body?: { decision?: unknown } } | null)?.body?.decision
    if (decision !== expected)
      throw new ClawMeshError(
        'INVALID_PARAMS',
        `the signed decision is "${String(decision)}", not "${expected}"`,
      )
    const observedLink = observedLinkOf(approval, arrival, (id) => this.#init.isCommandCenter(id))
    const nonce = (approval as { body?: { nonce?: unknown } }).body?.nonce
    const verdict = await evaluateActuationPolicy({
      proposal: record.proposal,
      approvals: [...record.approvals, approval],
      manifest: init.facts.manifestFor(record.proposal.capability),
      trustedIssuers: (issuer) => init.isCommandCenter(issuer),
      isRevoked: init.isRevoked,
      now: init.now(),
      executedBefore: init.ledger.hasExecuted(record.hash),
      commandHash: record.hash,
      ...termFact(init.leadership?.currentTerm()),
      hop: 'forwarder',
      evidence: await init.facts.assessEvidence(record.proposal),
      author: await init.facts.authorFact(record.proposal, record.authorCertificate),
      observedLinks: {
        ...record.observedLinks,
        ...(typeof nonce === 'string' ? { [nonce]: observedLink } : {}),
      },
    })
    if (verdict.verdict === 'deny' && verdict.code !== 'rejected-by-operator') {
      await refuseProposal(init, 'forwarder', record.proposal, verdict.code, verdict.detail)
    }
    if (verdict.verdict === 'allow') {
      const executed = await this.#approveAndDispatch(record.hash, verdict.approvers, approval, observedLink)
      return {
        record: this.get(record.hash),
        verdict: 'allow',
        detail: `approved by ${verdict.approvers.join(', ')}`,
        ...(executed?.executionFrame === undefined ? {} : { executionFrame: executed.executionFrame }),
      }
    }
    const added = await init.proposals.addApproval(record.hash, approval, init.now(), observedLink)
    if (added.outcome === 'reject')
      throw new ClawMeshError('INVALID_PARAMS', `decision not recorded: ${added.detail}`)
    // The approval's evidence entry is made durable alongside the next store write rather than
    // before it: both are awaited before this call answers.
    const approvalLogged = init.evidence.append('approval', { hash: record.hash, approval })
    if (verdict.verdict === 'deny') {
      await approvalLogged
      await init.proposals.move(record.hash, 'reject', {
        reason: verdict.detail,
        refusal: { code: verdict.code, hop: 'forwarder', detail: verdict.detail },
      })
      await init.evidence.append('decision', {
        hash: record.hash,
        decision: 'rejected',
        detail: verdict.detail,
      })
      return { record: this.get(record.hash), verdict: 'rejected', detail: verdict.detail }
    }
    await approvalLogged
    return { record: this.get(record.hash), verdict: 'pending', detail: verdict.detail }
  }

  get(id: string): StoredProposal {
    const record = this.#init.proposals.get(id)
    if (record === undefined) throw new ClawMeshError('NOT_FOUND', `no proposal ${id}`)
    return record
  }

  /**
   * The policy allowed the proposal (with `approval`, the one that completed it, if any): records
   * the approval, `approved` and — when this node sends the command now — `executing` as one
   * journal line, with the approval and decision evidence entries (one group-committed fsync) in
   * parallel; the command leaves only once all of them are on disk. A planner that does not lead
   * records `approved` and the dispatcher holds it.
   */
  async #approveAndDispatch(
    hash: string,
    approvers: readonly string[],
    approval?: unknown,
    observedLink?: OperatorLink,
  ): Promise<ExecuteResult | undefined> {
    const init = this.#init
    const sendsNow = init.leadership?.issuing()?.leading !== false
    const decided = init.proposals.decide(
      hash,
      approval,
      sendsNow ? ['approve', 'start'] : ['approve'],
      init.now(),
      observedLink,
    )
    if (decided.outcome === 'reject')
      throw new ClawMeshError('INVALID_PARAMS', `decision not recorded: ${decided.detail}`)
    await Promise.all([
      decided.written,
      approval === undefined ? undefined : init.evidence.append('approval', { hash, approval }),
      init.evidence.append('decision', { hash, decision: 'approved', approvers }),
    ])
    return init.dispatch(hash)
  }

  /** The device the site binds the capability to — never one that merely advertises it. Only a
   * capability the site does not name is routed to a live provider. */
  #targetOf(capability: string, requested: string | undefined): string {
    const { bindings } = this.#init
    if (bindings.binds(capability)) {
      const bound = bindings.deviceFor(capability)
      if (bound === undefined) {
        throw new ClawMeshError(
          'NO_PROVIDER',
          `the site assigns ${capability} to a node no trusted device is named after; trust the device under that name`,
        )
      }
      if (requested !== undefined && requested !== bound) {
        this.#init.counters.increment('safety.refused.wrong-target')
        throw new ClawMeshError(
          'POLICY_DENIED',
          `the site binds ${capability} to ${bound}, not ${requested}`,
          { data: { code: 'wrong-target' } },
        )
      }
      return bound
    }
    if (requested !== undefined) return requested
    const [provider] = this.#init.providersOf(capability)
    if (provider === undefined) throw new ClawMeshError('NO_PROVIDER', `no live node offers ${capability}`)
    return provider
  }

  /** Cited frames must exist here; their tiers are this node's assessment (site bindings and frame
   * kind), never the caller's nor the frame's own label. Without citations, the freshest relevant
   * observations of the actuator's zone are cited. */
  #cite(
    params: ProposalCreateParams,
    manifest: OperationManifest | undefined,
    now: number,
  ): Proposal['evidence'] {
    const { world, bindings } = this.#init
    if (params.evidence !== undefined) {
      return params.evidence.map((frameId) => {
        const frame = world.get(frameId)
        if (frame === undefined)
          throw new ClawMeshError(
            'INVALID_PARAMS',
            `cited frame ${frameId} is not in this node's world model`,
          )
        return { frameId, tier: assessEvidenceFrame(frame, bindings).tier }
      })
    }
    const requirement = manifest?.evidence
    if (requirement === undefined) return []
    return world
      .query({ kind: 'observation', zone: requirement.zone, limit: AUTO_EVIDENCE_SCAN })
      .map((frame) => assessEvidenceFrame(frame, bindings))
      .filter((fact) => isRelevantEvidence(fact, requirement, now))
      .slice(0, AUTO_EVIDENCE_FRAMES)
      .map((fact) => ({ frameId: fact.frameId, tier: fact.tier }))
  }

  async #publishProposalFrame(hash: string): Promise<void> {
    const record = this.get(hash)
    await this.#init
      .publish({
        kind: 'proposal',
        data: { hash, state: record.state, proposal: record.proposal },
        trust: { tier: 'T2', sources: ['proposal-store'] },
      })
      .catch((error: Error) =>
        this.#init.log(`could not publish proposal ${record.proposal.id}: ${error.message}`),
      )
  }
}

/** An approval's link as this node saw it arrive: the connection's own link when the operator who
 * signed it sent it; the forwarding command center's observation when one this node obeys handed it
 * on; `relay` when anyone else (a device) handed it on. */
export function observedLinkOf(
  approval: unknown,
  arrival: ApprovalArrival,
  isCommandCenter: (deviceId: string) => boolean,
): OperatorLink {
  const signer = (approval as { body?: { operatorCertificate?: { body?: { operatorId?: unknown } } } }).body
    ?.operatorCertificate?.body?.operatorId
  if (signer === arrival.callerId) {
    return arrival.remoteAddr === undefined ? 'local' : classifyOperatorLink(arrival.remoteAddr)
  }
  if (arrival.forwardedLink !== undefined && isCommandCenter(arrival.callerId)) return arrival.forwardedLink
  return 'relay'
}
