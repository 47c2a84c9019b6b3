/**
 * The safety runtime: where proposals are created, approved, executed and recorded. A thin facade
 * that opens the safety stores and composes the parts, each in its own file:
 * - forwarder.ts — the command center: creates proposals, runs the policy as sender and forwarder,
 *   records approvals and decisions;
 * - dispatcher.ts — sends approved proposals as certified commands: retry with backoff, hold until
 *   leading, resume after a restart;
 * - actuator-gate.ts — the actuator: issuer, target, ledger, term fence, policy, then the device,
 *   exactly once, and the `execution` frame (T3);
 * - certificate-issuer.ts — operator certificates a command center signs;
 * - safety-facts.ts — what this node's own records say (manifest, evidence, author), shared by the
 *   forwarder and the gate.
 * - proposal-outcomes.ts — the `outcome` evidence entry of each proposal that ends.
 * Every decision, refusal, execution and ending is appended to the evidence log.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Frame, LocalFrameFields } from '../../protocol/context/index.ts'
import { type MeshIdentity, rpcProtocolId } from '../../protocol/mesh.ts'
import type { CallerRecord } from '../../protocol/rpc/caller-access.ts'
import type { EstopActuatorResult } from '../../protocol/rpc/methods/estop.ts'
import type { ProposalCreateParams, ProposalRecordWire } from '../../protocol/rpc/methods.ts'
import {
  ESTOP_CLEAR_OPERATION,
  type EstopScope,
  type IsOperatorRevoked,
  type OperationManifest,
  type OperatorCertificate,
} from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import { callRpc } from '../rpc/rpc-client.ts'
import type { SiteBindings } from '../site/site-bindings.ts'
import type { SiteModel } from '../site/site-model.ts'
import { IssuedCertificates } from '../trust/issued-certificates.ts'
import type { WorldModel } from '../world/world-model.ts'
import {
  ActuatorGate,
  type ExecuteResult,
  type GateActuators,
  type PublishFrameOptions,
} from './actuator-gate.ts'
import { CertificateIssuer, type OperatorCertificateFields } from './certificate-issuer.ts'
import { Dispatcher } from './dispatcher.ts'
import { EstopActuator, type SafeStateActuators } from './estop-actuator.ts'
import { ESTOP_RELAY_TIMEOUT_MS, EstopCommand } from './estop-command.ts'
import { EstopLatches } from './estop-latch.ts'
import { EvidenceLogWriter } from './evidence-log-writer.ts'
import { ExecutionLedger } from './execution-ledger.ts'
import { type ApprovalArrival, type DecideResult, Forwarder, type ProposalAuthorRecord } from './forwarder.ts'
import { ProposalOutcomes } from './proposal-outcomes.ts'
import { ProposalStore, type StoredProposal } from './proposal-store.ts'
import { SafetyFacts, type SafetyLeadership } from './safety-facts.ts'
import { freeBytes } from './storage-headroom.ts'

export type { ExecuteResult } from './actuator-gate.ts'
export { DEFAULT_OPERATOR_CERT_TTL_MS } from './certificate-issuer.ts'
export {
  type ApprovalArrival,
  DEFAULT_PROPOSAL_TTL_MS,
  observedLinkOf,
  type ProposalAuthorRecord,
} from './forwarder.ts'
export type { SafetyLeadership } from './safety-facts.ts'

/** How long the command center waits for the actuator to execute. */
const EXECUTE_TIMEOUT_MS = 15_000

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
  /** This node's actuators as the gate and the emergency stop drive them (node/devices/action-timers.ts,
   * and its host repairs when it has host operations). */
  actuators: (GateActuators & SafeStateActuators) | undefined
  /** This node's manifest for its own `host:<name>` (host repairs, bounds from its settings). */
  ownHostManifest?: ((capability: string) => OperationManifest[] | undefined) | undefined
  /** Command centers whose operator certificates and commands this node accepts. */
  isCommandCenter(deviceId: string): boolean
  /** This node's revocation records (runtime/trust/revocations.ts), asked by every policy run. */
  isRevoked: IsOperatorRevoked
  publish(fields: LocalFrameFields, options?: PublishFrameOptions): Promise<Frame>
  providersOf(capability: string): string[]
  /** The planner election's fence, when this node takes part in one or follows its term. Absent
   * (or before any term is seen): no term checks, exactly as before elections existed. */
  leadership?: SafetyLeadership
  /** Test-only (see ActuatorGateInit): awaited between the ledger's `started` and the device. */
  beforeDeviceWrite?: ((proposalId: string) => Promise<void>) | undefined
  counters: Counters
  events: EventRing
  log: (line: string) => void
}

export class SafetyRuntime {
  readonly proposals: ProposalStore
  readonly ledger: ExecutionLedger
  readonly evidence: EvidenceLogWriter
  readonly issued: IssuedCertificates
  readonly latches: EstopLatches
  readonly #facts: SafetyFacts
  readonly #estopActuator: EstopActuator
  readonly #estopCommand: EstopCommand
  readonly #forwarder: Forwarder
  readonly #dispatcher: Dispatcher
  readonly #gate: ActuatorGate
  readonly #certificates: CertificateIssuer

  private constructor(
    init: SafetyRuntimeInit,
    stores: {
      proposals: ProposalStore
      ledger: ExecutionLedger
      evidence: EvidenceLogWriter
      issued: IssuedCertificates
      latches: EstopLatches
    },
  ) {
    const { proposals, ledger, evidence, issued, latches } = stores
    this.latches = latches
    this.proposals = proposals
    this.ledger = ledger
    this.evidence = evidence
    this.issued = issued
    const now = Date.now
    this.#facts = new SafetyFacts({ ...init, now })
    this.#gate = new ActuatorGate({
      ...init,
      ledger,
      latches,
      evidence,
      facts: this.#facts,
      now,
      storageFreeBytes: () => freeBytes(init.stateDir),
    })
    this.#estopActuator = new EstopActuator({ ...init, ledger, latches, evidence, now })
    const call = <T>(
      node: string,
      method: 'actuator.estop' | 'actuator.cancel' | 'safety.estop.status',
      params: Record<string, unknown>,
    ) =>
      callRpc(init.libp2p, peerIdFromString(node), rpcProtocolId(init.generation), method, params as never, {
        timeoutMs: ESTOP_RELAY_TIMEOUT_MS,
      }) as Promise<T>
    this.#estopCommand = new EstopCommand({
      ...init,
      proposals,
      evidence,
      now,
      transport: {
        estop: (node, order) =>
          node === init.deviceId
            ? this.#estopActuator.estop(order)
            : call<{ actuators: EstopActuatorResult[] }>(node, 'actuator.estop', { order }),
        cancel: (node, cancel) =>
          node === init.deviceId
            ? this.#estopActuator.cancel(cancel)
            : call<{ cancelled: boolean; detail: string }>(node, 'actuator.cancel', { cancel }),
        latches: async (node) =>
          node === init.deviceId
            ? { latches: latches.list() }
            : call<{ latches: Array<{ capability: string }> }>(node, 'safety.estop.status', {}),
      },
      createClearProposal: async (capability, targetNode, requestedBy) => {
        const created = await this.#forwarder.createProposal(
          // The request time keeps a second clear within the dedup window from merging into the
          // first (already carried out) one.
          {
            capability,
            operation: ESTOP_CLEAR_OPERATION,
            args: { requestedBy, requestedAt: now() },
            targetNode,
            level: 'L2',
          },
          { kind: 'device', id: init.deviceId },
          { estopClear: true },
        )
        return created.record
      },
    })
    this.#dispatcher = new Dispatcher({
      ...init,
      proposals,
      evidenceFrame: (frameId) => init.world.get(frameId),
      send: (targetNode, command) =>
        targetNode === init.deviceId
          ? this.#gate.executeCommand(command)
          : callRpc(
              init.libp2p,
              peerIdFromString(targetNode),
              rpcProtocolId(init.generation),
              'actuator.execute',
              { command },
              { timeoutMs: EXECUTE_TIMEOUT_MS },
            ),
      now,
      cancelUnsent: (hash, reason) => this.#estopCommand.cancelUnsent(hash, reason),
      scheduler: {
        setTimer: (callback, delayMs) => setTimeout(callback, delayMs),
        clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
      },
    })
    this.#forwarder = new Forwarder({
      ...init,
      proposals,
      ledger,
      evidence,
      facts: this.#facts,
      dispatch: (hash) => this.#dispatcher.dispatch(hash),
      now,
    })
    this.#certificates = new CertificateIssuer({ signer: init.signer, issued, evidence, now })
  }

  static async open(init: SafetyRuntimeInit): Promise<SafetyRuntime> {
    // The evidence log first: the proposal store logs each ending there, from its open on (expiry).
    const { writer: evidence, entries } = await EvidenceLogWriter.openReading({
      stateDir: init.stateDir,
      signer: init.signer,
    })
    const outcomes = new ProposalOutcomes({
      evidence,
      onUnlogged: (record, error) => {
        init.counters.increment('safety.evidence.outcome-unlogged')
        init.log(
          `the ending of proposal ${record.proposal.id} (${record.state}) could not be logged as evidence ` +
            `(${error.message}); it is logged at the next start`,
        )
      },
    })
    const [proposals, ledger, issued, latches] = await Promise.all([
      ProposalStore.open({ stateDir: init.stateDir, recordOutcome: outcomes.record }),
      ExecutionLedger.open({ stateDir: init.stateDir }),
      IssuedCertificates.open(init.stateDir),
      EstopLatches.open(init.stateDir),
    ])
    const late = await outcomes.logMissing(proposals.list(), entries)
    if (late.length > 0)
      init.log(`logged the ending of ${late.length} proposal(s) a crash had left out of the evidence log`)
    const runtime = new SafetyRuntime(init, { proposals, ledger, evidence, issued, latches })
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
  resume(): Promise<void> {
    return this.#dispatcher.resume()
  }

  manifestFor(capability: string): OperationManifest[] {
    return this.#facts.manifestFor(capability)
  }

  issueOperatorCertificate(fields: OperatorCertificateFields): Promise<OperatorCertificate> {
    return this.#certificates.issue(fields)
  }

  createProposal(
    params: ProposalCreateParams,
    author: ProposalAuthorRecord,
  ): Promise<{ record: StoredProposal; merged: boolean }> {
    return this.#forwarder.createProposal(params, author)
  }

  decide(
    id: string,
    approval: unknown,
    expected: 'approve' | 'reject',
    arrival: ApprovalArrival,
  ): Promise<DecideResult> {
    return this.#forwarder.decide(id, approval, expected, arrival)
  }

  /** The actuator side: runs the policy itself, then the ledger, then the device. */
  executeCommand(candidate: unknown): Promise<ExecuteResult> {
    return this.#gate.executeCommand(candidate)
  }

  list(state?: string): StoredProposal[] {
    return this.proposals
      .list(state === undefined ? {} : { state: state as never })
      .sort((a, b) => b.receivedAt - a.receivedAt)
  }

  get(id: string): StoredProposal {
    return this.#forwarder.get(id)
  }

  /** The command center's side of an operator's signed stop (estop-command.ts). */
  estop(order: unknown) {
    return this.#estopCommand.estop(order)
  }

  /** An actuator node's side of a stop: verify, latch, drive safe (estop-actuator.ts). */
  latchAndDriveSafe(order: unknown) {
    return this.#estopActuator.estop(order)
  }

  /** An actuator node records a command center's signed cancel. */
  cancelCommand(cancel: unknown) {
    return this.#estopActuator.cancel(cancel)
  }

  requestEstopClear(scope: EstopScope, callerId: string, caller: CallerRecord): Promise<StoredProposal[]> {
    return this.#estopCommand.requestClear(scope, callerId, caller)
  }

  cancelProposal(
    id: string,
    callerId: string,
    caller: CallerRecord,
    author: ProposalAuthorRecord,
    reason: string | undefined,
  ) {
    return this.#estopCommand.cancel(id, callerId, caller, author, reason)
  }

  /** This node lost the planner leadership: its approved, unsent proposals are cancelled. */
  leadershipLost(newLeader: string | undefined): Promise<string[]> {
    return this.#dispatcher.leadershipLost(newLeader)
  }

  /** This node became the planner leader: dispatch what it held at once instead of at the next retry. */
  leadershipGained(): void {
    this.#dispatcher.leadershipGained()
  }

  /** Stops retrying dispatches (the proposals stay persisted and resume at the next start). */
  close(): void {
    this.#dispatcher.close()
  }
}

function describe(record: StoredProposal): string {
  const { proposal } = record
  return `${proposal.id}: ${proposal.operation} ${proposal.capability} ${JSON.stringify(proposal.args)} (${proposal.level})`
}

/** A proposal record as answers carry it: without the kept evidence frames (the actuator gets them
 * in the command; a list of proposals must stay small). */
export function toWire(record: StoredProposal): ProposalRecordWire {
  const { evidenceFrames: _kept, ...wire } = record
  return JSON.parse(JSON.stringify(wire)) as ProposalRecordWire
}
