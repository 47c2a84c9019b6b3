/**
 * The actuator side of a command: the last gate before a device moves. In order, and each refusal
 * before the device is touched: the issuer must be a command center this node trusts, the command
 * must target this node and the site must bind the actuator here, the ledger must never have seen
 * it (a replay is answered with the recorded outcome), its leader term must not be older than the
 * newest this node has seen, and the one policy (protocol/safety) must allow it on this node's own
 * facts. Last, the re-check at execution (protocol/safety/execution-check.ts): the evidence must
 * still be fresh now and every guard the manifest declares must hold on this node's own latest
 * readings. Then: ledger `started` (durable) → device, exactly once, through the action timers (a
 * bounded action's end is durable before the device moves) → ledger `finished`, the `execution`
 * frame (T3) and its evidence entry.
 */
import type { Frame, LocalFrameFields } from '../../protocol/context/index.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  type CertifiedCommand,
  checkAtExecution,
  checkCommandTerm,
  ESTOP_CLEAR_OPERATION,
  evaluateCommandPolicy,
  type IsOperatorRevoked,
  type SiteBindingsView,
  verifyCommandIssuer,
} from '../../protocol/safety/index.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { ObservationData } from '../devices/mock-sensor.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import { DurableAppendError } from './durable-append.ts'
import type { EstopLatches } from './estop-latch.ts'
import type { EvidenceLogWriter } from './evidence-log-writer.ts'
import type { ExecutionLedger } from './execution-ledger.ts'
import { refuseProposal } from './refusal.ts'
import { type SafetyFacts, type SafetyLeadership, termFact } from './safety-facts.ts'
import { ACTUATION_MIN_FREE_BYTES } from './storage-headroom.ts'

/** What an actuator answers for a command it executed (`actuator.execute`). */
export interface ExecuteResult {
  proposalHash: string
  status: 'completed' | 'failed'
  result: Record<string, unknown>
  executionFrameId?: string
  executionFrame?: Frame
}

/** What clearing a latch reports in place of a device outcome. */
interface ClearOutcome {
  readonly ok: true
  readonly result: { readonly operation: string; readonly cleared: boolean }
}

/** What applying an operation did: a device's new state (node/devices/device-driver.ts) or a host
 * repair's outcome (node/host-ops/repairs), with the observations to publish. */
export type DeviceOutcome =
  | {
      readonly ok: true
      readonly result: Readonly<Record<string, unknown>>
      readonly state?: unknown
      readonly observations: readonly ObservationData[]
    }
  | {
      readonly ok: false
      readonly code: string
      readonly message: string
      /** What the attempt produced anyway (a command's exit code and output), kept as evidence. */
      readonly result?: Readonly<Record<string, unknown>>
    }

/** The devices this node drives, by capability (node/devices/action-timers.ts over the drivers,
 * and this node's host repairs). */
export interface GateActuators {
  has(capability: string): boolean
  apply(
    capability: string,
    operation: string,
    args: Record<string, unknown>,
    proposalId: string,
  ): Promise<DeviceOutcome>
}

export interface PublishFrameOptions {
  urgent?: boolean
  onSealed?: ((frame: Frame) => void) | undefined
}

export interface ActuatorGateInit {
  deviceId: string
  bindings: Pick<SiteBindingsView, 'actuatorByCapability'>
  ledger: Pick<ExecutionLedger, 'outcome' | 'begin' | 'finish'>
  /** Emergency-stop latches and cancelled commands (estop-latch.ts): checked before the policy and
   * again right before the device moves. */
  latches: Pick<EstopLatches, 'latch' | 'cancelled' | 'clear'>
  evidence: Pick<EvidenceLogWriter, 'append'>
  facts: Pick<SafetyFacts, 'manifestFor' | 'assessEvidence' | 'authorFact' | 'guardReading'>
  actuators: GateActuators | undefined
  /** Command centers whose commands this node accepts. */
  isCommandCenter(deviceId: string): boolean
  isRevoked: IsOperatorRevoked
  leadership?: Pick<SafetyLeadership, 'currentTerm'> | undefined
  /** `urgent` skips the coalescing window (an execution result is waited for); `onSealed` sees the
   * signed frame before its batch is sent. */
  publish(fields: LocalFrameFields, options?: PublishFrameOptions): Promise<Frame>
  /** Bytes free on the state dir's file system (storage-headroom.ts); below
   * ACTUATION_MIN_FREE_BYTES the gate refuses before the ledger. Unset: not checked. */
  storageFreeBytes?: (() => Promise<number>) | undefined
  /** Awaited after the ledger's `started` record is durable and before the device is touched.
   * Only crash tests pass it (to kill a process at that precise point); production never does. */
  beforeDeviceWrite?: ((proposalId: string) => Promise<void>) | undefined
  counters: Pick<Counters, 'increment'>
  events: Pick<EventRing, 'push'>
  now(): number
  log(line: string): void
}

export class ActuatorGate {
  readonly #init: ActuatorGateInit

  constructor(init: ActuatorGateInit) {
    this.#init = init
  }

  /** Fails closed on a (nearly) full disk, before the ledger and the device: an execution whose
   * records could not all be written would leave a moved device the records do not tell. */
  async #ensureStorage(proposalId: string, commandHash: string): Promise<void> {
    const free = await this.#init.storageFreeBytes?.()
    if (free === undefined || free >= ACTUATION_MIN_FREE_BYTES) return
    throw await this.#storageFull(
      proposalId,
      commandHash,
      `${free} bytes free on the state dir's file system, ${ACTUATION_MIN_FREE_BYTES} needed`,
    )
  }

  /** The refusal of a full disk: counted, an event, and an evidence entry if one still fits. */
  async #storageFull(proposalId: string, commandHash: string, detail: string): Promise<ClawMeshError> {
    const init = this.#init
    init.counters.increment('safety.refused.storage-full')
    const message = `actuator refused proposal ${proposalId}: its state dir is full (${detail}); the device was not touched`
    init.events.push({ level: 'error', type: 'safety.refused.storage-full', message })
    init.log(message)
    await init.evidence
      .append('refusal', { hop: 'actuator', proposalId, hash: commandHash, code: 'storage-full', detail })
      .catch(() => undefined)
    // UNAVAILABLE: the command center keeps the proposal and retries until it expires.
    return new ClawMeshError('UNAVAILABLE', message, { data: { code: 'storage-full' } })
  }

  /** Runs the checks, then the ledger, then the device; throws a ClawMeshError with the refusal's
   * code in its data when any check fails (the device untouched). */
  async executeCommand(candidate: unknown): Promise<ExecuteResult> {
    const init = this.#init
    const issuer = await verifyCommandIssuer(candidate, {
      trustedCommandCenters: (id) => init.isCommandCenter(id),
    })
    if (issuer.outcome === 'reject') {
      init.counters.increment(`safety.refused.command-${issuer.reason}`)
      await init.evidence.append('refusal', {
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
    if (proposal.targetNode !== init.deviceId) {
      throw new ClawMeshError('POLICY_DENIED', `command targets ${proposal.targetNode}, not this node`, {
        data: { code: 'wrong-target' },
      })
    }
    // The site decides which device serves an actuator; a command for one it binds elsewhere (or to
    // no device this node knows) is not this node's to run, whoever issued it.
    const bound = init.bindings.actuatorByCapability(proposal.capability)
    if (bound !== undefined && bound.deviceId !== init.deviceId) {
      init.counters.increment('safety.refused.unbound-target')
      await init.evidence.append('refusal', {
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
    await this.#refuseIfStopped(command)
    const previous = init.ledger.outcome(commandHash)
    if (previous !== undefined) {
      init.counters.increment('safety.refused.replay')
      await init.evidence.append('refusal', {
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
    const currentTerm = init.leadership?.currentTerm()
    const fenced = checkCommandTerm(command.body.leaderTerm, currentTerm)
    if (fenced.outcome === 'reject') {
      init.counters.increment(`safety.refused.${fenced.reason}`)
      await init.evidence.append('refusal', {
        hop: 'actuator',
        proposalId: proposal.id,
        hash: commandHash,
        code: fenced.reason,
        detail: fenced.detail,
        issuedBy: command.body.issuedBy,
        commandTerm: command.body.leaderTerm ?? null,
        currentTerm: currentTerm ?? null,
      })
      init.events.push({
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
    const manifest = init.facts.manifestFor(proposal.capability)
    const evidence = await init.facts.assessEvidence(proposal, command.evidenceFrames)
    const verdict = await evaluateCommandPolicy(command, {
      manifest,
      trustedIssuers: (id) => init.isCommandCenter(id),
      isRevoked: init.isRevoked,
      now: init.now(),
      executedBefore: false,
      ...termFact(currentTerm),
      evidence,
      author: await init.facts.authorFact(proposal, command.body.authorCertificate),
    })
    if (verdict.verdict !== 'allow') {
      const code = verdict.verdict === 'deny' ? verdict.code : 'insufficient-approvals'
      return refuseProposal(init, 'actuator', proposal, code, verdict.detail)
    }
    const clearing = proposal.operation === ESTOP_CLEAR_OPERATION
    if (clearing && !(proposal.author.kind === 'device' && init.isCommandCenter(proposal.author.id))) {
      // Only a command center writes clear proposals (safety.estop.clear, for an operator or admin):
      // a planner's or a device's never clears, whoever approved it.
      return refuseProposal(
        init,
        'actuator',
        proposal,
        'estop-clear-author',
        `an estop clear must be requested through a command center, not by ${proposal.author.kind} ${proposal.author.id}`,
      )
    }
    // Approval took time: the world must still be what the proposal described, on this node's view.
    // A clear moves nothing, so there is nothing to re-check.
    const operation = manifest.find((entry) => entry.operation === proposal.operation)
    const recheck = checkAtExecution({
      requirement: operation?.evidence,
      guards: operation?.guards ?? [],
      safeState: clearing || operation?.safeState === true,
      evidence,
      readings: (sensor) => init.facts.guardReading(sensor),
      now: init.now(),
    })
    if (recheck.outcome === 'reject') {
      return refuseProposal(init, 'actuator', proposal, recheck.code, recheck.detail)
    }
    const actuator = init.actuators
    if (actuator === undefined || !actuator.has(proposal.capability)) {
      throw new ClawMeshError('NO_PROVIDER', `this node has no actuator for ${proposal.capability}`)
    }
    await this.#ensureStorage(proposal.id, commandHash)
    const begun = await init.ledger.begin(commandHash).catch(async (error: unknown) => {
      if (!(error instanceof DurableAppendError)) throw error
      throw await this.#storageFull(proposal.id, commandHash, error.message)
    })
    if (begun.outcome === 'refused') {
      // A second delivery of the same command racing the first: the dispatcher reads `previous`
      // (executing: it asks again for the outcome).
      throw new ClawMeshError('ALREADY_EXECUTED', `proposal ${proposal.id} was executed before`, {
        data: { code: 'replay', previous: begun.previous },
      })
    }
    await init.beforeDeviceWrite?.(proposal.id)
    // A stop or a cancel may have arrived while the command was on its way to the device.
    const stoppedMeanwhile = this.#stopReason(command)
    if (stoppedMeanwhile !== undefined) {
      await init.ledger.finish(commandHash, { status: 'failed', detail: stoppedMeanwhile.detail })
      return this.#refuseStopped(command, stoppedMeanwhile)
    }
    const outcome: DeviceOutcome | ClearOutcome = clearing
      ? await this.#clearLatch(proposal.capability, proposal.createdAt)
      : await actuator.apply(proposal.capability, proposal.operation, proposal.args, proposal.id)
    const status = outcome.ok ? 'completed' : 'failed'
    // The device has moved: from here the ledger's `finished` record, the execution frame and its
    // evidence entry go out together, and the command center is answered once all are durable.
    // `started` is already on disk, so a crash in between still counts the command as executed
    // (never re-run); the frame may then be out before `finished` is, as it could before be out
    // without its evidence entry.
    const finished = init.ledger.finish(
      commandHash,
      outcome.ok ? { status } : { status, detail: outcome.message },
    )
    const result: Record<string, unknown> = outcome.ok
      ? {
          ...outcome.result,
          ...('state' in outcome && outcome.state !== undefined ? { state: outcome.state } : {}),
        }
      : { ...outcome.result, error: outcome.code, message: outcome.message }
    const logExecution = (frame: Frame) =>
      init.evidence.append('execution', {
        hash: commandHash,
        proposalId: proposal.id,
        status,
        result,
        frameId: frame.frameId,
      })
    // The execution frame's evidence entry is written as soon as the frame is signed, alongside the
    // gossip send and the ledger's `finished` record rather than after them.
    let logged: Promise<unknown> | undefined
    // The execution frame and the actuator's state observations go out in one gossip batch.
    const published = Promise.all([
      init.publish(
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
        {
          urgent: true,
          onSealed: (sealed) => {
            logged = logExecution(sealed)
            // Awaited below; until then a failure must not count as unhandled.
            logged.catch(() => undefined)
          },
        },
      ),
      ...(outcome.ok && 'observations' in outcome ? outcome.observations : []).map((data) =>
        init.publish({
          kind: 'observation',
          data,
          trust: { tier: 'T3', sources: [proposal.capability] },
        }),
      ),
    ])
    // A failed publish is still answered only after `finished` (and an entry already begun) is on
    // disk.
    const [frame] = await published.catch(async (error: unknown) => {
      await Promise.allSettled([finished, logged])
      throw error
    })
    await Promise.all([finished, logged ?? logExecution(frame)])
    init.log(`executed ${proposal.capability} ${proposal.operation} for proposal ${proposal.id}: ${status}`)
    return {
      proposalHash: commandHash,
      status,
      result,
      executionFrameId: frame.frameId,
      executionFrame: frame,
    }
  }

  /** Why this command must not reach the device now: its actuator is latched by an emergency stop
   * (only its clear and moves to the safe state pass), or its command center cancelled it. */
  #stopReason(
    command: CertifiedCommand,
  ): { code: 'estop-latched' | 'cancelled'; detail: string } | undefined {
    const { proposal, commandHash } = command.body
    const cancelled = this.#init.latches.cancelled(commandHash)
    if (cancelled !== undefined) return { code: 'cancelled', detail: `cancelled: ${cancelled.reason}` }
    const latch = this.#init.latches.latch(proposal.capability)
    if (latch !== undefined && !this.#keepsSafe(proposal.capability, proposal.operation)) {
      return {
        code: 'estop-latched',
        detail: `${proposal.capability} is latched by an emergency stop (by ${latch.operatorId}: ${latch.reason}); an operator must clear it first`,
      }
    }
    return undefined
  }

  /** A latched actuator still takes its clear and the operations its manifest marks `safeState`
   * (a close, a stop): neither can move it out of its safe state. */
  #keepsSafe(capability: string, operation: string): boolean {
    if (operation === ESTOP_CLEAR_OPERATION) return true
    const entry = this.#init.facts
      .manifestFor(capability)
      .find((candidate) => candidate.operation === operation)
    return entry?.safeState === true
  }

  async #refuseIfStopped(command: CertifiedCommand): Promise<void> {
    const stopped = this.#stopReason(command)
    if (stopped !== undefined) await this.#refuseStopped(command, stopped)
  }

  #refuseStopped(
    command: CertifiedCommand,
    stopped: { code: 'estop-latched' | 'cancelled'; detail: string },
  ): Promise<never> {
    return refuseProposal(this.#init, 'actuator', command.body.proposal, stopped.code, stopped.detail)
  }

  async #clearLatch(capability: string, requestedAt: number): Promise<ClearOutcome> {
    const init = this.#init
    const latch = init.latches.latch(capability)
    await init.latches.clear(capability, requestedAt)
    init.counters.increment('safety.estop.cleared')
    await init.evidence.append('estop-clear', { capability, latch: latch ?? null })
    init.events.push({
      level: 'info',
      type: 'safety.estop.cleared',
      message: `emergency-stop latch of ${capability} cleared`,
    })
    return { ok: true, result: { operation: ESTOP_CLEAR_OPERATION, cleared: latch !== undefined } }
  }
}
