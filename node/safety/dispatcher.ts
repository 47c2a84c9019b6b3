/**
 * Sends approved proposals to their actuator as certified commands, and keeps trying until the
 * actuator answers or the proposal expires: an unreachable actuator is retried with doubling
 * backoff up to a cap; a planner that does not lead holds the proposal (only the leader's commands
 * pass the actuators' term fence) and sends it the moment it gains leadership; after a restart,
 * approved and executing proposals are sent again — the actuator's ledger makes that safe (an
 * executed command is reported, never repeated). Time and timers are injected.
 */
import type { Frame } from '../../protocol/context/index.ts'
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  type CertifiedCommand,
  COMMAND_MAX_EVIDENCE_FRAMES,
  issueCommand,
} from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import type { ExecuteResult } from './actuator-gate.ts'
import type { ProposalStore, StoredProposal } from './proposal-store.ts'
import { refusalOf } from './refusal.ts'
import type { SafetyLeadership } from './safety-facts.ts'

/** First retry after an unreachable actuator; each further one waits twice as long... */
export const DISPATCH_RETRY_INITIAL_MS = 1_000
/** ...up to this, so a returning actuator is reached within seconds without a busy loop. */
export const DISPATCH_RETRY_MAX_MS = 15_000

/**
 * How long past a proposal's expiry the dispatcher keeps asking an actuator that may hold its
 * command: one a send reached or may have reached (the answer was lost to a partition), or one that
 * answered it is still running it. Asking again cannot run it twice (the actuator's ledger answers
 * with the recorded outcome) nor late (a command issued at or after the expiry is refused as
 * `proposal-expired` whatever the actuator's clock says), so this only decides how long the command
 * center waits to learn what happened before it reports the outcome as unknown. Two minutes covers a
 * radio link that drops for a minute or two; a longer gap ends in "outcome unknown, check the
 * device" rather than a proposal left executing.
 */
export const DISPATCH_OUTCOME_GRACE_MS = 120_000

/** Timers as the dispatcher uses them; production passes setTimeout/clearTimeout, tests a fake. */
export interface DispatchScheduler {
  setTimer(callback: () => void, delayMs: number): unknown
  clearTimer(handle: unknown): void
}

export interface DispatcherInit {
  deviceId: string
  signer: Signer
  proposals: Pick<ProposalStore, 'get' | 'move' | 'resumable' | 'expireDue'>
  /** A cited frame from this node's world model, carried in the command for the actuator. */
  evidenceFrame(frameId: string): Frame | undefined
  leadership?: Pick<SafetyLeadership, 'issuing'> | undefined
  /** Delivers the command to its target (this node's own gate, or `actuator.execute` over RPC);
   * throws TIMEOUT / UNAVAILABLE (or a non-ClawMeshError) when the actuator cannot be reached. */
  send(targetNode: string, command: CertifiedCommand): Promise<ExecuteResult>
  now(): number
  scheduler: DispatchScheduler
  /** Cancels an approved proposal a deposed planner will not send (for one already sent, the
   * actuator records the cancel first); resolves false when it could not be cancelled (the actuator
   * ran it already). Without it, a deposed planner holds proposals as one that never led does. */
  cancelUnsent?(hash: string, reason: string): Promise<boolean>
  log(line: string): void
}

export class Dispatcher {
  readonly #init: DispatcherInit
  readonly #retries = new Map<string, unknown>()
  /** Proposals whose command may have reached the actuator (a send timed out or broke off, so the
   * answer, not necessarily the command, was lost): the dispatcher asks for the outcome past the
   * expiry (DISPATCH_OUTCOME_GRACE_MS) instead of giving up. */
  readonly #mayHold = new Set<string>()
  /** Approved proposals held because this planner did not lead when it tried to dispatch them. */
  readonly #heldForLeadership = new Set<string>()
  /** Set when this planner lost the leadership, until it leads again: it cancels instead of holding. */
  #deposedBy: string | undefined
  #deposed = false
  #closed = false

  constructor(init: DispatcherInit) {
    this.#init = init
  }

  /** After a restart: approved or executing proposals are sent again. */
  async resume(): Promise<void> {
    await this.#init.proposals.expireDue()
    for (const record of this.#init.proposals.resumable()) {
      this.#init.log(`resuming proposal ${record.proposal.id} (${record.state}) after restart`)
      void this.dispatch(record.hash)
    }
  }

  /** This node became the planner leader: dispatch what it held at once instead of at the next retry. */
  leadershipGained(): void {
    this.#deposed = false
    for (const hash of [...this.#heldForLeadership]) {
      this.#cancelRetry(hash)
      void this.dispatch(hash)
    }
  }

  /**
   * This planner lost the leadership (docs/safety.md, "A planner that loses leadership"): its
   * approved proposals not yet answered are cancelled with the reason rather than handed over — the
   * new leader's own planner sees the same world and proposes again under its own term, and the
   * operators decide afresh; a hand-over would make an approval given to one leader a command of
   * another. Until it leads again, approvals that reach it are cancelled the same way. A planner that
   * has not led since it started (a restart) still holds them, as before.
   */
  async leadershipLost(newLeader: string | undefined): Promise<string[]> {
    this.#deposed = true
    this.#deposedBy = newLeader
    const waiting = new Set([...this.#heldForLeadership, ...this.#retries.keys()])
    for (const record of this.#init.proposals.resumable()) {
      if (record.state === 'approved') waiting.add(record.hash)
    }
    const cancelled: string[] = []
    for (const hash of waiting) {
      this.#cancelRetry(hash)
      this.#heldForLeadership.delete(hash)
      if (await this.#cancelAsDeposed(hash)) cancelled.push(hash)
    }
    return cancelled
  }

  async #cancelAsDeposed(hash: string): Promise<boolean> {
    const cancelUnsent = this.#init.cancelUnsent
    if (cancelUnsent === undefined) return false
    const reason = `this planner lost the leadership${this.#deposedBy === undefined ? '' : ` to ${this.#deposedBy}`} before the command was carried out; propose it again to the leader`
    this.#init.log(`cancelling ${hash}: ${reason}`)
    return cancelUnsent(hash, reason)
  }

  /** Stops retrying dispatches (the proposals stay persisted and resume at the next start). */
  close(): void {
    this.#closed = true
    for (const timer of this.#retries.values()) this.#init.scheduler.clearTimer(timer)
    this.#retries.clear()
  }

  /** Sends the command; resolves with the actuator's answer when it executed now, else undefined
   * (held, retried later, refused or reported as executed before). */
  async dispatch(hash: string, attempt = 0): Promise<ExecuteResult | undefined> {
    this.#retries.delete(hash)
    this.#heldForLeadership.delete(hash)
    if (this.#closed) return undefined
    const { proposals } = this.#init
    let record = proposals.get(hash)
    if (record === undefined) throw new ClawMeshError('NOT_FOUND', `no proposal ${hash}`)
    // Cancelled (or otherwise ended) while held or waiting for a retry: never sent again.
    if (record.state !== 'approved' && record.state !== 'executing') return undefined
    let sending = false
    try {
      const issuing = this.#init.leadership?.issuing()
      if (issuing?.leading === false && this.#deposed && this.#init.cancelUnsent !== undefined) {
        await this.#cancelAsDeposed(hash)
        return undefined
      }
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
      // The frames kept with the proposal when it was made; the world model only for records
      // written before they were kept.
      const kept = new Map((record.evidenceFrames ?? []).map((frame) => [frame.frameId, frame]))
      const evidenceFrames = record.proposal.evidence
        .map((ref) => kept.get(ref.frameId) ?? this.#init.evidenceFrame(ref.frameId))
        .filter((frame): frame is Frame => frame !== undefined)
        .slice(0, COMMAND_MAX_EVIDENCE_FRAMES)
      const command = await issueCommand(this.#init.signer, {
        proposal: record.proposal,
        approvals: record.approvals,
        issuedAt: this.#init.now(),
        ...(issuing?.leading === true ? { leaderTerm: issuing.term } : {}),
        evidenceFrames,
        ...(record.authorCertificate === undefined ? {} : { authorCertificate: record.authorCertificate }),
        observedLinks: record.observedLinks ?? {},
      })
      sending = true
      const result = await this.#init.send(record.proposal.targetNode, command)
      this.#mayHold.delete(hash)
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
        const previous = (clawError.data?.['previous'] ?? {}) as {
          state?: string
          status?: string
          detail?: string
        }
        if (previous.state === 'executing') {
          // The actuator began it (a send whose answer was lost, e.g. to a partition during the
          // execution) and is still at it: its outcome is on the way, not a failure.
          return this.#retryOrGiveUp(record, hash, attempt, error as Error, 'running')
        }
        this.#mayHold.delete(hash)
        await this.#move(hash, previous.status === 'completed' ? 'complete' : 'fail', {
          reason:
            previous.detail ??
            'outcome as recorded by the actuator (an earlier answer was lost, or the command center restarted)',
          // The actuator's ledger record is the outcome on record, so a completed proposal shows what
          // its actuator recorded rather than nothing (found by the chaos loop's invariant checker).
          outcome: JSON.stringify({ recordedByActuator: clawError.data?.['previous'] ?? null }).slice(0, 500),
        })
        return undefined
      }
      const refusal = clawError.data?.['code']
      if (refusal === 'cancelled' || refusal === 'estop-latched') {
        // The actuator refused because the proposal was withdrawn or its actuator stopped: the
        // proposal is cancelled (unless the withdrawal already recorded it so), with the refusal
        // its card shows.
        const refusedBy = refusalOf(error)
        await this.#move(hash, 'cancel', {
          reason: clawError.message.slice(0, 500),
          ...(refusedBy === undefined ? {} : { refusal: refusedBy }),
        })
        return undefined
      }
      const unanswered = !(error instanceof ClawMeshError) || error.code === 'TIMEOUT'
      if (sending && unanswered) this.#mayHold.add(hash)
      const unreachable = unanswered || clawError.code === 'UNAVAILABLE'
      if (unreachable && !this.#closed) {
        // A flaky link must not lose an approved proposal: keep it executing and try again. The
        // actuator's ledger makes a retry after a lost answer safe (it reports, never repeats).
        return this.#retryOrGiveUp(record, hash, attempt, error as Error, 'unreachable')
      }
      this.#mayHold.delete(hash)
      this.#init.log(`proposal ${record.proposal.id} could not be executed: ${(error as Error).message}`)
      const refusedBy = refusalOf(error)
      await this.#move(hash, 'fail', {
        reason: (error as Error).message.slice(0, 500),
        ...(refusedBy === undefined ? {} : { refusal: refusedBy }),
      })
      return undefined
    }
  }

  /**
   * Asks again with doubling backoff while there is reason to: until the proposal expires, and
   * past it by DISPATCH_OUTCOME_GRACE_MS when the actuator may hold the command (sent before, or
   * answering that it runs it). Then the proposal fails with why: never reached, or outcome unknown.
   */
  async #retryOrGiveUp(
    record: StoredProposal,
    hash: string,
    attempt: number,
    error: Error,
    why: 'unreachable' | 'running',
  ): Promise<undefined> {
    const { expiresAt, id, targetNode } = record.proposal
    const mayHoldIt = why === 'running' || this.#mayHold.has(hash)
    const deadline = mayHoldIt ? expiresAt + DISPATCH_OUTCOME_GRACE_MS : expiresAt
    if (this.#init.now() < deadline && !this.#closed) {
      const delay = Math.min(DISPATCH_RETRY_MAX_MS, DISPATCH_RETRY_INITIAL_MS * 2 ** attempt)
      if (attempt === 0) {
        this.#init.log(
          why === 'running'
            ? `actuator ${targetNode} is still running proposal ${id}; asking for its outcome`
            : `actuator for proposal ${id} unreachable (${error.message}); retrying until it expires`,
        )
      }
      this.#retries.set(
        hash,
        this.#init.scheduler.setTimer(() => void this.dispatch(hash, attempt + 1), delay),
      )
      return undefined
    }
    this.#mayHold.delete(hash)
    const reason = mayHoldIt
      ? `outcome unknown: the actuator ${why === 'running' ? 'was still running it' : 'could not be reached'} ${DISPATCH_OUTCOME_GRACE_MS / 1_000} s after the proposal expired (${error.message}); check the device`
      : `actuator unreachable until the proposal expired: ${error.message}`
    this.#init.log(`proposal ${id} could not be executed: ${reason}`)
    const refusedBy = refusalOf(error)
    await this.#move(hash, 'fail', {
      reason: reason.slice(0, 500),
      ...(refusedBy === undefined ? {} : { refusal: refusedBy }),
    })
    return undefined
  }

  #cancelRetry(hash: string): void {
    const timer = this.#retries.get(hash)
    if (timer !== undefined) this.#init.scheduler.clearTimer(timer)
    this.#retries.delete(hash)
  }

  async #move(
    hash: string,
    event: Parameters<ProposalStore['move']>[1],
    options: Parameters<ProposalStore['move']>[2] = {},
  ) {
    const moved = await this.#init.proposals.move(hash, event, options)
    return moved.outcome === 'accept' ? moved.record : undefined
  }
}
