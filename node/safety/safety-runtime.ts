/**
 * The safety runtime: where proposals are created, approved, executed and recorded. The command
 * center side keeps proposals (ProposalStore), collects operator-signed approvals, runs the one
 * policy (protocol/safety) as the forwarder, and — once the policy allows — issues a certified
 * command and routes it to the actuator node. The actuator side runs the same policy again, checks
 * its persisted execution ledger, and only then touches the device, exactly once, publishing an
 * `execution` frame (T3). Every decision, refusal and execution is appended to the evidence log.
 * Nothing here asks a planner or an LLM to execute anything.
 */
import { randomUUID } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Frame, type LocalFrameFields, verifyFrame } from '../../protocol/context/index.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import { type MeshIdentity, rpcProtocolId } from '../../protocol/mesh.ts'
import type { ProposalCreateParams, ProposalRecordWire } from '../../protocol/rpc/methods.ts'
import {
  type ApprovalLevel,
  type AuthorFact,
  assessEvidenceFrame,
  type CertifiedCommand,
  COMMAND_MAX_EVIDENCE_FRAMES,
  checkCommandTerm,
  classifyOperatorLink,
  DEFAULT_MAX_EVIDENCE_AGE_MS,
  type EvidenceFact,
  evaluateActuationPolicy,
  evaluateCommandPolicy,
  type IsOperatorRevoked,
  isRelevantEvidence,
  issueCommand,
  issueOperatorCertificate,
  missingEvidence,
  type OperationManifest,
  type OperatorCertificate,
  type OperatorLink,
  type OperatorRole,
  PROPOSAL_MAX_LIFETIME_MS,
  type Proposal,
  proposalHash,
  verifyCommandIssuer,
  verifyOperatorCertificate,
} from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import type { MockActuators } from '../devices/mock-actuator.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { Counters } from '../mesh/counters.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import { callRpc } from '../rpc/rpc-client.ts'
import type { SiteBindings } from '../site/site-bindings.ts'
import { findOperation, type SiteModel } from '../site/site-model.ts'
import { IssuedCertificates } from '../trust/issued-certificates.ts'
import type { WorldModel } from '../world/world-model.ts'
import { EvidenceLogWriter } from './evidence-log-writer.ts'
import { ExecutionLedger } from './execution-ledger.ts'
import { ProposalStore, type StoredProposal } from './proposal-store.ts'
import { holdExecutionForTests } from './test-hooks.ts'

/** A proposal nobody decides on within this time expires; long enough for an operator to walk to
 * the field, short enough that stale intentions do not linger. */
export const DEFAULT_PROPOSAL_TTL_MS = 30 * 60_000
/** Operator certificates last a week unless asked otherwise, and are renewed (`operator.renew`,
 * `clawmesh operator renew`) while the person is still trusted. A revocation reaches only the nodes
 * connected to a command center (now or when they rejoin); a node cut off from it never hears of
 * one, so the certificate's own end is the bound on how long a revoked operator's signature can
 * still pass there. A week covers a shift rotation with a weekend and a field trip without renewal. */
export const DEFAULT_OPERATOR_CERT_TTL_MS = 7 * 24 * 3_600_000
/** Observations auto-cited as evidence when a proposal names none: the latest few relevant ones. */
const AUTO_EVIDENCE_FRAMES = 3
/** Recent observations of a zone scanned for relevant ones when auto-citing: a zone has a handful
 * of sensors reporting every few seconds, so the newest 200 always hold the freshest of each. */
const AUTO_EVIDENCE_SCAN = 200
/** Execution results are waited for: they skip the coalescing window. */
const URGENT = { urgent: true } as const
/** Retry schedule for dispatching an approved proposal to an unreachable actuator. */
const DISPATCH_RETRY_INITIAL_MS = 1_000
const DISPATCH_RETRY_MAX_MS = 15_000
/** How long the command center waits for the actuator to execute. */
const EXECUTE_TIMEOUT_MS = 15_000

/** Who authors a proposal created through `createProposal`; defaults to the calling operator. */
export interface SafetyRuntimeInit {
  deviceId: string
  signer: Signer
  stateDir: string
  libp2p: NodeLibp2p
  generation: number
  site: SiteModel | undefined
  /** Which device serves each site sensor and actuator, from this node's own records. */
  bindings: SiteBindings
  mesh: MeshIdentity
  /** Frame origins this node trusts: evidence frames carried in a command are checked against it. */
  isTrustedOrigin(deviceId: string): boolean
  world: WorldModel
  actuators: MockActuators | undefined
  /** Command centers whose operator certificates and commands this node accepts. */
  isCommandCenter(deviceId: string): boolean
  /** This node's revocation records (node/trust/revocations.ts), asked by every policy run. */
  isRevoked: IsOperatorRevoked
  publish(fields: LocalFrameFields, options?: { urgent?: boolean }): Promise<Frame>
  providersOf(capability: string): string[]
  /** The planner election's fence, when this node takes part in one or follows its term. Absent
   * (or before any term is seen): no term checks, exactly as before elections existed. */
  leadership?: SafetyLeadership
  counters: Counters
  events: EventRing
  log: (line: string) => void
}

/** What an actuator answers for a command it executed (`actuator.execute`). */
export interface ExecuteResult {
  proposalHash: string
  status: 'completed' | 'failed'
  result: Record<string, unknown>
  executionFrameId?: string
  executionFrame?: Record<string, unknown>
}

export interface SafetyLeadership {
  /** Highest leader term this node has seen; commands and planner proposals below it are refused. */
  currentTerm(): number | undefined
  /** The term this node issues commands under: set while it leads, `{ leading: false }` for a
   * planner that does not lead (it holds approved proposals until it does), undefined otherwise. */
  issuing(): { readonly leading: true; readonly term: number } | { readonly leading: false } | undefined
}

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

export class SafetyRuntime {
  readonly #init: SafetyRuntimeInit
  readonly proposals: ProposalStore
  readonly ledger: ExecutionLedger
  readonly evidence: EvidenceLogWriter
  readonly issued: IssuedCertificates
  readonly #retries = new Map<string, ReturnType<typeof setTimeout>>()
  /** Approved proposals held because this planner did not lead when it tried to dispatch them. */
  readonly #heldForLeadership = new Set<string>()
  #closed = false

  private constructor(
    init: SafetyRuntimeInit,
    proposals: ProposalStore,
    ledger: ExecutionLedger,
    evidence: EvidenceLogWriter,
    issued: IssuedCertificates,
  ) {
    this.#init = init
    this.proposals = proposals
    this.ledger = ledger
    this.evidence = evidence
    this.issued = issued
  }

  static async open(init: SafetyRuntimeInit): Promise<SafetyRuntime> {
    const [proposals, ledger, evidence, issued] = await Promise.all([
      ProposalStore.open({ stateDir: init.stateDir }),
      ExecutionLedger.open({ stateDir: init.stateDir }),
      EvidenceLogWriter.open({ stateDir: init.stateDir, signer: init.signer }),
      IssuedCertificates.open(init.stateDir),
    ])
    const runtime = new SafetyRuntime(init, proposals, ledger, evidence, issued)
    proposals.onChange((change) => {
      if (change.kind === 'created') {
        init.events.push({ level: 'info', type: 'planner.proposal', message: describe(change.record) })
      } else if (change.kind === 'transition' && change.resolved) {
        init.events.push({
          level: change.record.state === 'completed' ? 'info' : 'warn',
          type: 'planner.proposal.resolved',
          message: `${describe(change.record)} → ${change.record.state}${change.record.reason ? ` (${change.record.reason})` : ''}`,
        })
      }
    })
    return runtime
  }

  /** After a restart: approved or executing proposals are sent again. The actuator's ledger makes
   * that safe: an executed command is reported, never repeated. */
  async resume(): Promise<void> {
    await this.proposals.expireDue()
    for (const record of this.proposals.resumable()) {
      this.#init.log(`resuming proposal ${record.proposal.id} (${record.state}) after restart`)
      void this.#dispatch(record.hash)
    }
  }

  manifestFor(capability: string): OperationManifest[] {
    const actuator = this.#init.site?.actuators.find((candidate) => candidate.capability === capability)
    if (actuator === undefined) return []
    return actuator.operations.map((operation) => ({
      operation: operation.name,
      minimumLevel: operation.level,
      ...(operation.level === 'L1'
        ? {
            bounds: Object.entries(operation.args).map(([arg, spec]) => ({
              arg,
              ...(spec.min === undefined ? {} : { min: spec.min }),
              max: spec.max as number,
              integer: spec.type === 'integer',
            })),
          }
        : {}),
      integerArgs: Object.entries(operation.args)
        .filter(([, spec]) => spec.type === 'integer')
        .map(([arg]) => arg),
      safeState: operation.safeState,
      plannerMayAutoRun: operation.plannerMayAutoRun,
      evidence: {
        zone: actuator.zone,
        ...(operation.evidence?.metrics === undefined ? {} : { metrics: operation.evidence.metrics }),
        maxAgeMs:
          operation.evidence?.maxAgeSec === undefined
            ? DEFAULT_MAX_EVIDENCE_AGE_MS
            : operation.evidence.maxAgeSec * 1000,
      },
    }))
  }

  /** What this node believes about each cited frame: found in its world model (or, at an actuator,
   * among the signed frames the command carries) and assessed from its own site bindings. */
  async #assessEvidence(proposal: Proposal, carried: readonly Frame[] = []): Promise<EvidenceFact[]> {
    const facts: EvidenceFact[] = []
    for (const ref of proposal.evidence) {
      let frame = this.#init.world.get(ref.frameId)
      if (frame === undefined) {
        const candidate = carried.find((item) => item.frameId === ref.frameId)
        if (candidate !== undefined) {
          const verdict = await verifyFrame(candidate, {
            ...this.#init.mesh,
            now: Date.now(),
            maxPastMs: PROPOSAL_MAX_LIFETIME_MS * 2,
            isTrustedOrigin: (origin) => this.#init.isTrustedOrigin(origin),
          })
          if (verdict.verdict === 'accept') frame = verdict.frame
        }
      }
      facts.push(
        frame === undefined ? missingEvidence(ref.frameId) : assessEvidenceFrame(frame, this.#init.bindings),
      )
    }
    return facts
  }

  /** The author as this node's records show: an operator certificate it verifies itself, a planner
   * it obeys, or a device. */
  async #authorFact(proposal: Proposal, certificate: OperatorCertificate | undefined): Promise<AuthorFact> {
    switch (proposal.author.kind) {
      case 'planner':
        return { kind: 'planner', eligible: this.#init.isCommandCenter(proposal.author.id) }
      case 'device':
        return { kind: 'device' }
      case 'operator': {
        if (certificate === undefined) return { kind: 'unverified', detail: 'no operator certificate' }
        if (certificate.body.operatorId !== proposal.author.id)
          return { kind: 'unverified', detail: 'the certificate names another operator' }
        const verdict = await verifyOperatorCertificate(certificate, {
          trustedIssuers: (id) => this.#init.isCommandCenter(id),
          isRevoked: this.#init.isRevoked,
          now: Date.now(),
        })
        return verdict.outcome === 'accept'
          ? { kind: 'operator', roles: certificate.body.roles }
          : { kind: 'unverified', detail: `${verdict.reason}: ${verdict.detail}` }
      }
    }
  }

  async issueOperatorCertificate(fields: {
    operatorId: string
    displayName: string
    roles: OperatorRole[]
    ttlMs?: number
  }): Promise<OperatorCertificate> {
    const now = Date.now()
    const certificate = await issueOperatorCertificate(this.#init.signer, {
      operatorId: fields.operatorId,
      displayName: fields.displayName,
      roles: fields.roles,
      issuedAt: now,
      expiresAt: now + (fields.ttlMs ?? DEFAULT_OPERATOR_CERT_TTL_MS),
    })
    await Promise.all([
      this.issued.record(certificate),
      this.evidence.append('decision', { kind: 'operator-certificate-issued', body: certificate.body }),
    ])
    return certificate
  }

  /** The author comes from this node's records (the caller's certificate on record, its trust
   * entry, or this node's own planner, stamped with the leader term it proposes under). A planner
   * proposal goes through the same policy and needs the same approvals as an operator's. */
  async createProposal(
    params: ProposalCreateParams,
    author: ProposalAuthorRecord,
  ): Promise<{ record: StoredProposal; merged: boolean }> {
    const now = Date.now()
    const currentTerm = this.#init.leadership?.currentTerm()
    const site = this.#init.site
    const found = site === undefined ? undefined : findOperation(site, params.capability, params.operation)
    const level: ApprovalLevel | undefined = params.level ?? found?.operation.level
    if (level === undefined) {
      throw new ClawMeshError(
        'INVALID_PARAMS',
        `no manifest for ${params.capability} ${params.operation}: give the level explicitly`,
      )
    }
    const targetNode = this.#targetOf(params.capability, params.targetNode)
    const manifest = this.manifestFor(params.capability).find((entry) => entry.operation === params.operation)
    const proposal: Proposal = {
      version: 1,
      id: `p-${randomUUID()}`,
      capability: params.capability,
      targetNode,
      operation: params.operation,
      args: params.args ?? {},
      level,
      evidence: this.#cite(params, manifest, now),
      author: author.kind === 'planner' ? { kind: 'planner', id: this.#init.deviceId } : author,
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
      manifest: this.manifestFor(proposal.capability),
      trustedIssuers: (id) => this.#init.isCommandCenter(id),
      isRevoked: this.#init.isRevoked,
      now,
      executedBefore: false,
      commandHash: proposalHash(proposal),
      ...termFact(currentTerm),
      hop: 'sender',
      evidence: await this.#assessEvidence(proposal),
      author: await this.#authorFact(proposal, authorCertificate),
      observedLinks: {},
    })
    if (verdict.verdict === 'deny') {
      await this.#refuse('sender', proposal, verdict.code, verdict.detail)
    }
    const created = await this.proposals.create(proposal, now, authorCertificate)
    if (created.outcome === 'reject')
      throw new ClawMeshError('INVALID_PARAMS', `proposal refused: ${created.detail}`)
    if (created.merged) return { record: created.record, merged: true }
    await this.evidence.append('proposal', { hash: created.record.hash, proposal })
    await this.proposals.move(created.record.hash, 'submit')
    await this.#publishProposalFrame(created.record.hash)
    if (verdict.verdict === 'allow') await this.#approveAndDispatch(created.record.hash, verdict.approvers)
    return { record: this.#get(created.record.hash), merged: false }
  }

  /** An operator's signed decision. Approvals run the forwarder's policy; when it allows, the
   * runtime executes the proposal itself. */
  async decide(
    id: string,
    approval: unknown,
    expected: 'approve' | 'reject',
    arrival: ApprovalArrival,
  ): Promise<{
    record: StoredProposal
    verdict: 'allow' | 'pending' | 'rejected'
    detail: string
    /** The actuator's `execution` frame, when the approval let the proposal run and it answered. */
    executionFrame?: Record<string, unknown>
  }> {
    const record = this.#get(id)
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
      manifest: this.manifestFor(record.proposal.capability),
      trustedIssuers: (issuer) => this.#init.isCommandCenter(issuer),
      isRevoked: this.#init.isRevoked,
      now: Date.now(),
      executedBefore: this.ledger.hasExecuted(record.hash),
      commandHash: record.hash,
      ...termFact(this.#init.leadership?.currentTerm()),
      hop: 'forwarder',
      evidence: await this.#assessEvidence(record.proposal),
      author: await this.#authorFact(record.proposal, record.authorCertificate),
      observedLinks: {
        ...record.observedLinks,
        ...(typeof nonce === 'string' ? { [nonce]: observedLink } : {}),
      },
    })
    if (verdict.verdict === 'deny' && verdict.code !== 'rejected-by-operator') {
      await this.#refuse('forwarder', record.proposal, verdict.code, verdict.detail)
    }
    if (verdict.verdict === 'allow') {
      const executed = await this.#approveAndDispatch(record.hash, verdict.approvers, approval, observedLink)
      return {
        record: this.#get(record.hash),
        verdict: 'allow',
        detail: `approved by ${verdict.approvers.join(', ')}`,
        ...(executed?.executionFrame === undefined ? {} : { executionFrame: executed.executionFrame }),
      }
    }
    const added = await this.proposals.addApproval(record.hash, approval, Date.now(), observedLink)
    if (added.outcome === 'reject')
      throw new ClawMeshError('INVALID_PARAMS', `decision not recorded: ${added.detail}`)
    // The approval's evidence entry is made durable alongside the next store write rather than
    // before it: both are awaited before this call answers.
    const approvalLogged = this.evidence.append('approval', { hash: record.hash, approval })
    if (verdict.verdict === 'deny') {
      await approvalLogged
      await this.proposals.move(record.hash, 'reject', { reason: verdict.detail })
      await this.evidence.append('decision', {
        hash: record.hash,
        decision: 'rejected',
        detail: verdict.detail,
      })
      return { record: this.#get(record.hash), verdict: 'rejected', detail: verdict.detail }
    }
    await approvalLogged
    return { record: this.#get(record.hash), verdict: 'pending', detail: verdict.detail }
  }

  /** The actuator side: runs the policy itself, then the ledger, then the device. */
  async executeCommand(candidate: unknown): Promise<ExecuteResult> {
    const issuer = await verifyCommandIssuer(candidate, {
      trustedCommandCenters: (id) => this.#init.isCommandCenter(id),
    })
    if (issuer.outcome === 'reject') {
      this.#init.counters.increment(`safety.refused.command-${issuer.reason}`)
      await this.evidence.append('refusal', {
        hop: 'actuator',
        reason: `command-${issuer.reason}`,
        detail: issuer.detail,
      })
      throw new ClawMeshError('POLICY_DENIED', `command refused: ${issuer.detail}`, {
        data: { code: `command-${issuer.reason}` },
      })
    }
    const command: CertifiedCommand = issuer.command
    const { proposal, commandHash } = command.body
    if (proposal.targetNode !== this.#init.deviceId) {
      throw new ClawMeshError('POLICY_DENIED', `command targets ${proposal.targetNode}, not this node`, {
        data: { code: 'wrong-target' },
      })
    }
    // The site decides which device serves an actuator; a command for one it binds elsewhere (or to
    // no device this node knows) is not this node's to run, whoever issued it.
    const bound = this.#init.bindings.actuatorByCapability(proposal.capability)
    if (bound !== undefined && bound.deviceId !== this.#init.deviceId) {
      this.#init.counters.increment('safety.refused.unbound-target')
      await this.evidence.append('refusal', {
        hop: 'actuator',
        proposalId: proposal.id,
        hash: commandHash,
        code: 'unbound-target',
        detail: `the site binds ${proposal.capability} to ${bound.deviceId ?? 'no known device'}`,
      })
      throw new ClawMeshError('POLICY_DENIED', `the site does not bind ${proposal.capability} to this node`, {
        data: { code: 'unbound-target' },
      })
    }
    const previous = this.ledger.outcome(commandHash)
    if (previous !== undefined) {
      this.#init.counters.increment('safety.refused.replay')
      await this.evidence.append('refusal', {
        hop: 'actuator',
        hash: commandHash,
        reason: 'replay',
        previous,
      })
      throw new ClawMeshError(
        'ALREADY_EXECUTED',
        `proposal ${proposal.id} was executed before (${previous.state})`,
        {
          data: { code: 'replay', previous },
        },
      )
    }
    // Fencing: a command issued under an older leader term comes from a deposed leader.
    const currentTerm = this.#init.leadership?.currentTerm()
    const fenced = checkCommandTerm(command.body.leaderTerm, currentTerm)
    if (fenced.outcome === 'reject') {
      this.#init.counters.increment(`safety.refused.${fenced.reason}`)
      await this.evidence.append('refusal', {
        hop: 'actuator',
        proposalId: proposal.id,
        hash: commandHash,
        code: fenced.reason,
        detail: fenced.detail,
        issuedBy: command.body.issuedBy,
        commandTerm: command.body.leaderTerm ?? null,
        currentTerm: currentTerm ?? null,
      })
      this.#init.events.push({
        level: 'warn',
        type: `safety.refused.${fenced.reason}`,
        message: `actuator refused proposal ${proposal.id} from ${command.body.issuedBy}: ${fenced.detail}`,
        peer: command.body.issuedBy,
      })
      throw new ClawMeshError('STALE_LEADER_TERM', `actuator refused: ${fenced.detail}`, {
        data: {
          code: fenced.reason,
          commandTerm: command.body.leaderTerm ?? null,
          currentTerm: currentTerm ?? null,
        },
      })
    }
    const verdict = await evaluateCommandPolicy(command, {
      manifest: this.manifestFor(proposal.capability),
      trustedIssuers: (id) => this.#init.isCommandCenter(id),
      isRevoked: this.#init.isRevoked,
      now: Date.now(),
      executedBefore: false,
      ...termFact(currentTerm),
      evidence: await this.#assessEvidence(proposal, command.body.evidenceFrames),
      author: await this.#authorFact(proposal, command.body.authorCertificate),
    })
    if (verdict.verdict !== 'allow') {
      const code = verdict.verdict === 'deny' ? verdict.code : 'insufficient-approvals'
      await this.#refuse('actuator', proposal, code, verdict.detail)
      throw new ClawMeshError('POLICY_DENIED', `actuator refused: ${verdict.detail}`, { data: { code } })
    }
    const actuator = this.#init.actuators?.get(proposal.capability)
    if (actuator === undefined) {
      throw new ClawMeshError('NO_PROVIDER', `this node has no actuator for ${proposal.capability}`)
    }
    const begun = await this.ledger.begin(commandHash)
    if (begun.outcome === 'refused') {
      throw new ClawMeshError('ALREADY_EXECUTED', `proposal ${proposal.id} was executed before`, {
        data: { code: 'replay' },
      })
    }
    await holdExecutionForTests(proposal.id, this.#init.log)
    const outcome = actuator.execute(proposal.operation, proposal.args, Date.now())
    const status = outcome.ok ? 'completed' : 'failed'
    // The device has moved: from here the ledger's `finished` record, the execution frame and its
    // evidence entry go out together, and the command center is answered once all are durable.
    // `started` is already on disk, so a crash in between still counts the command as executed
    // (never re-run); the frame may then be out before `finished` is, as it could before be out
    // without its evidence entry.
    const finished = this.ledger.finish(
      commandHash,
      outcome.ok ? { status } : { status, detail: outcome.message },
    )
    const result: Record<string, unknown> = outcome.ok
      ? { ...outcome.result, state: outcome.state }
      : { error: outcome.code, message: outcome.message }
    // The execution frame and the actuator's state observations go out in one gossip batch.
    const published = Promise.all([
      this.#init.publish(
        {
          kind: 'execution',
          data: {
            proposalId: proposal.id,
            proposalHash: commandHash,
            capability: proposal.capability,
            operation: proposal.operation,
            status,
            result,
            approvers: verdict.approvers,
          },
          trust: { tier: 'T3', sources: [proposal.capability] },
        },
        URGENT,
      ),
      ...(outcome.ok ? outcome.observations : []).map((data) =>
        this.#init.publish({
          kind: 'observation',
          data,
          trust: { tier: 'T3', sources: [proposal.capability] },
        }),
      ),
    ])
    // A failed publish is still answered only after `finished` is on disk.
    const [frame] = await published.catch(async (error: unknown) => {
      await finished
      throw error
    })
    await Promise.all([
      finished,
      this.evidence.append('execution', {
        hash: commandHash,
        proposalId: proposal.id,
        status,
        result,
        frameId: frame.frameId,
      }),
    ])
    this.#init.log(
      `executed ${proposal.capability} ${proposal.operation} for proposal ${proposal.id}: ${status}`,
    )
    return {
      proposalHash: commandHash,
      status,
      result,
      executionFrameId: frame.frameId,
      executionFrame: frame as unknown as Record<string, unknown>,
    }
  }

  list(state?: string): StoredProposal[] {
    return this.proposals
      .list(state === undefined ? {} : { state: state as never })
      .sort((a, b) => b.receivedAt - a.receivedAt)
  }

  get(id: string): StoredProposal {
    return this.#get(id)
  }

  /**
   * The policy allowed the proposal (with `approval`, the one that completed it, if any): records
   * the approval, `approved` and — when this node sends the command now — `executing` as one
   * journal line, with the approval and decision evidence entries (one group-committed fsync) in
   * parallel; the command leaves only once all of them are on disk. A planner that does not lead
   * records `approved` and holds it (see #dispatch).
   */
  async #approveAndDispatch(
    hash: string,
    approvers: readonly string[],
    approval?: unknown,
    observedLink?: OperatorLink,
  ): Promise<ExecuteResult | undefined> {
    const sendsNow = this.#init.leadership?.issuing()?.leading !== false
    const decided = this.proposals.decide(
      hash,
      approval,
      sendsNow ? ['approve', 'start'] : ['approve'],
      Date.now(),
      observedLink,
    )
    if (decided.outcome === 'reject')
      throw new ClawMeshError('INVALID_PARAMS', `decision not recorded: ${decided.detail}`)
    await Promise.all([
      decided.written,
      approval === undefined ? undefined : this.evidence.append('approval', { hash, approval }),
      this.evidence.append('decision', { hash, decision: 'approved', approvers }),
    ])
    return this.#dispatch(hash)
  }

  /** This node became the planner leader: dispatch what it held at once instead of at the next retry. */
  leadershipGained(): void {
    for (const hash of [...this.#heldForLeadership]) {
      clearTimeout(this.#retries.get(hash))
      void this.#dispatch(hash)
    }
  }

  /** Stops retrying dispatches (the proposals stay persisted and resume at the next start). */
  close(): void {
    this.#closed = true
    for (const timer of this.#retries.values()) clearTimeout(timer)
    this.#retries.clear()
  }

  /** Sends the command; resolves with the actuator's answer when it executed now, else undefined
   * (held, retried later, refused or reported as executed before). */
  async #dispatch(hash: string, attempt = 0): Promise<ExecuteResult | undefined> {
    this.#retries.delete(hash)
    this.#heldForLeadership.delete(hash)
    if (this.#closed) return undefined
    let record = this.#get(hash)
    try {
      const issuing = this.#init.leadership?.issuing()
      if (issuing?.leading === false) {
        // Only the leader's commands pass the actuators' fence; a planner that does not lead (yet:
        // right after a restart, or after losing an election) holds the proposal and retries.
        this.#heldForLeadership.add(hash)
        throw new ClawMeshError(
          'UNAVAILABLE',
          'this planner is not the leader; holding the proposal until it leads',
        )
      }
      if (record.state === 'approved') record = (await this.#move(hash, 'start')) ?? record
      const evidenceFrames = record.proposal.evidence
        .map((ref) => this.#init.world.get(ref.frameId))
        .filter((frame): frame is Frame => frame !== undefined)
        .slice(0, COMMAND_MAX_EVIDENCE_FRAMES)
      const command = await issueCommand(this.#init.signer, {
        proposal: record.proposal,
        approvals: record.approvals,
        issuedAt: Date.now(),
        ...(issuing?.leading === true ? { leaderTerm: issuing.term } : {}),
        evidenceFrames,
        ...(record.authorCertificate === undefined ? {} : { authorCertificate: record.authorCertificate }),
        observedLinks: record.observedLinks ?? {},
      })
      const result =
        record.proposal.targetNode === this.#init.deviceId
          ? await this.executeCommand(command)
          : await callRpc(
              this.#init.libp2p,
              peerIdFromString(record.proposal.targetNode),
              rpcProtocolId(this.#init.generation),
              'actuator.execute',
              { command: command as unknown as Record<string, unknown> },
              { timeoutMs: EXECUTE_TIMEOUT_MS },
            )
      await this.#move(hash, result.status === 'completed' ? 'complete' : 'fail', {
        outcome: JSON.stringify(result.result).slice(0, 500),
        ...(result.status === 'failed'
          ? { reason: String(result.result['message'] ?? 'device refused') }
          : {}),
      })
      return result
    } catch (error) {
      const clawError = error as ClawMeshError
      if (clawError.code === 'ALREADY_EXECUTED') {
        const previous = (clawError.data?.['previous'] ?? {}) as { status?: string; detail?: string }
        await this.#move(hash, previous.status === 'completed' ? 'complete' : 'fail', {
          reason: previous.detail ?? 'executed before a restart; outcome as recorded by the actuator',
        })
        return undefined
      }
      const unreachable =
        !(error instanceof ClawMeshError) || error.code === 'TIMEOUT' || error.code === 'UNAVAILABLE'
      if (unreachable && Date.now() < record.proposal.expiresAt && !this.#closed) {
        // A flaky link must not lose an approved proposal: keep it executing and try again. The
        // actuator's ledger makes a retry after a lost answer safe (it reports, never repeats).
        const delay = Math.min(DISPATCH_RETRY_MAX_MS, DISPATCH_RETRY_INITIAL_MS * 2 ** attempt)
        if (attempt === 0) {
          this.#init.log(
            `actuator for proposal ${record.proposal.id} unreachable (${(error as Error).message}); retrying until it expires`,
          )
        }
        this.#retries.set(
          hash,
          setTimeout(() => void this.#dispatch(hash, attempt + 1), delay),
        )
        return undefined
      }
      this.#init.log(`proposal ${record.proposal.id} could not be executed: ${(error as Error).message}`)
      await this.#move(hash, 'fail', {
        reason: unreachable
          ? `actuator unreachable until the proposal expired: ${(error as Error).message}`.slice(0, 500)
          : (error as Error).message.slice(0, 500),
      })
      return undefined
    }
  }

  async #move(
    hash: string,
    event: Parameters<ProposalStore['move']>[1],
    options: Parameters<ProposalStore['move']>[2] = {},
  ) {
    const moved = await this.proposals.move(hash, event, options)
    return moved.outcome === 'accept' ? moved.record : undefined
  }

  async #refuse(hop: string, proposal: Proposal, code: string, detail: string): Promise<never> {
    this.#init.counters.increment(`safety.refused.${code}`)
    await this.evidence.append('refusal', {
      hop,
      proposalId: proposal.id,
      hash: proposalHash(proposal),
      code,
      detail,
    })
    this.#init.events.push({
      level: 'warn',
      type: `safety.refused.${code}`,
      message: `${hop} refused proposal ${proposal.id}: ${detail}`,
    })
    throw new ClawMeshError('POLICY_DENIED', `${hop} refused (${code}): ${detail}`, { data: { code } })
  }

  #get(id: string): StoredProposal {
    const record = this.proposals.get(id)
    if (record === undefined) throw new ClawMeshError('NOT_FOUND', `no proposal ${id}`)
    return record
  }

  /** The device the site binds the capability to — never one that merely advertises it. Only a
   * capability the site does not name is routed to a live provider. */
  #targetOf(capability: string, requested: string | undefined): string {
    if (this.#init.bindings.binds(capability)) {
      const bound = this.#init.bindings.deviceFor(capability)
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
    if (params.evidence !== undefined) {
      return params.evidence.map((frameId) => {
        const frame = this.#init.world.get(frameId)
        if (frame === undefined)
          throw new ClawMeshError(
            'INVALID_PARAMS',
            `cited frame ${frameId} is not in this node's world model`,
          )
        return { frameId, tier: assessEvidenceFrame(frame, this.#init.bindings).tier }
      })
    }
    const requirement = manifest?.evidence
    if (requirement === undefined) return []
    return this.#init.world
      .query({ kind: 'observation', zone: requirement.zone, limit: AUTO_EVIDENCE_SCAN })
      .map((frame) => assessEvidenceFrame(frame, this.#init.bindings))
      .filter((fact) => isRelevantEvidence(fact, requirement, now))
      .slice(0, AUTO_EVIDENCE_FRAMES)
      .map((fact) => ({ frameId: fact.frameId, tier: fact.tier }))
  }

  async #publishProposalFrame(hash: string): Promise<void> {
    const record = this.#get(hash)
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

function termFact(currentTerm: number | undefined): { currentLeaderTerm?: number } {
  return currentTerm === undefined ? {} : { currentLeaderTerm: currentTerm }
}

function describe(record: StoredProposal): string {
  const { proposal } = record
  return `${proposal.id}: ${proposal.operation} ${proposal.capability} ${JSON.stringify(proposal.args)} (${proposal.level})`
}

export function toWire(record: StoredProposal): ProposalRecordWire {
  return JSON.parse(JSON.stringify(record)) as ProposalRecordWire
}
