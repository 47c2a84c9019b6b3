/**
 * The actuator node's side of an emergency stop and of a command cancel. A stop order is verified
 * here, from this node's own records (the operator's signature, a certificate from a command center
 * it trusts, not revoked, not expired), whoever relayed it; then every actuator this node drives in
 * the order's scope is latched (in memory at once, so no command slips in; on disk before the
 * answer) and driven to its safe state. A cancel signed by a trusted command center is recorded so
 * the gate refuses that command, even one already started. Both are counted and logged as evidence.
 */
import { ClawMeshError } from '../../protocol/errors.ts'
import type { EstopActuatorResult } from '../../protocol/rpc/methods/estop.ts'
import {
  describeEstopScope,
  estopScopeCovers,
  type IsOperatorRevoked,
  verifyCommandCancel,
  verifyEstopOrder,
} from '../../protocol/safety/index.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { DriveSafeResult } from '../devices/device-driver.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import type { SiteModel } from '../site/site-model.ts'
import type { EstopLatches } from './estop-latch.ts'
import type { EvidenceLogWriter } from './evidence-log-writer.ts'
import type { ExecutionLedger } from './execution-ledger.ts'

/** What the stop needs of this node's actuators: the action timers over the drivers
 * (node/devices/action-timers.ts). `driveSafe` moves the device through its driver's contract, clears
 * the pending end of a bounded action and reports the move (safe-state-records.ts: an execution frame,
 * the state observations, evidence, counter `actuator.safe-state.emergency-stop`). */
export interface SafeStateActuators {
  has(capability: string): boolean
  driveSafe(
    capability: string,
    trigger: 'emergency-stop',
    detail: string,
  ): Promise<DriveSafeResult | undefined>
}

export interface EstopActuatorInit {
  deviceId: string
  site: SiteModel | undefined
  bindings: { actuatorByCapability(capability: string): { deviceId: string | undefined } | undefined }
  actuators: SafeStateActuators | undefined
  latches: EstopLatches
  ledger: Pick<ExecutionLedger, 'outcome'>
  evidence: Pick<EvidenceLogWriter, 'append'>
  isCommandCenter(deviceId: string): boolean
  isRevoked: IsOperatorRevoked
  counters: Pick<Counters, 'increment'>
  events: Pick<EventRing, 'push'>
  now(): number
  log(line: string): void
}

/** Stop orders remembered by nonce: the same order arrives by RPC and by gossip (and a relayer may
 * repeat it); it is acted on once and both answered alike. A burst of stops is a handful. */
const ESTOP_RECENT_ORDERS = 64

export class EstopActuator {
  readonly #init: EstopActuatorInit
  readonly #recent = new Map<string, Promise<{ node: string; actuators: EstopActuatorResult[] }>>()

  constructor(init: EstopActuatorInit) {
    this.#init = init
  }

  /** Verifies the order, latches and drives safe every actuator of this node in its scope. */
  estop(candidate: unknown): Promise<{ node: string; actuators: EstopActuatorResult[] }> {
    const nonce = (candidate as { body?: { nonce?: unknown } } | null)?.body?.nonce
    const signature = (candidate as { signature?: unknown } | null)?.signature
    // Keyed by nonce and signature, so a forged copy of a real order's nonce is not answered as it.
    const key =
      typeof nonce === 'string' && typeof signature === 'string' ? `${nonce}:${signature}` : undefined
    const seen = key === undefined ? undefined : this.#recent.get(key)
    if (seen !== undefined) return seen
    const acting = this.#estop(candidate)
    if (key !== undefined) {
      this.#recent.set(key, acting)
      acting.catch(() => this.#recent.delete(key))
      if (this.#recent.size > ESTOP_RECENT_ORDERS)
        this.#recent.delete(this.#recent.keys().next().value as string)
    }
    return acting
  }

  async #estop(candidate: unknown): Promise<{ node: string; actuators: EstopActuatorResult[] }> {
    const init = this.#init
    const now = init.now()
    const verdict = await verifyEstopOrder(candidate, {
      trustedIssuers: (id) => init.isCommandCenter(id),
      isRevoked: init.isRevoked,
      now,
    })
    if (verdict.outcome === 'reject') {
      const code = `estop-${verdict.reason}`
      init.counters.increment(`safety.refused.${code}`)
      await init.evidence.append('refusal', { hop: 'actuator', code, detail: verdict.detail })
      throw new ClawMeshError('POLICY_DENIED', `emergency stop refused (${code}): ${verdict.detail}`, {
        data: { code },
      })
    }
    const { body } = verdict.order
    const mine = (init.site?.actuators ?? []).filter((actuator) => {
      const bound = init.bindings.actuatorByCapability(actuator.capability)
      return (
        bound?.deviceId === init.deviceId &&
        init.actuators?.has(actuator.capability) === true &&
        estopScopeCovers(body.scope, {
          capability: actuator.capability,
          zone: actuator.zone,
          nodeName: actuator.node,
          deviceId: init.deviceId,
        })
      )
    })
    // Not this node's to stop (a command center without actuators, a frame for other nodes).
    if (mine.length === 0) return { node: init.deviceId, actuators: [] }
    const results: EstopActuatorResult[] = []
    const latched: Parameters<EstopLatches['set']>[0][number][] = []
    for (const actuator of mine) {
      const { capability } = actuator
      if (init.latches.clearedAfter(capability, body.issuedAt)) {
        init.counters.increment('safety.estop.stale-after-clear')
        results.push({
          capability,
          node: init.deviceId,
          outcome: 'refused',
          latched: init.latches.latch(capability) !== undefined,
          detail: 'the order was signed before the last clear of this actuator',
        })
        continue
      }
      latched.push({
        capability,
        latchedAt: now,
        operatorId: verdict.operatorId,
        reason: body.reason,
        orderIssuedAt: body.issuedAt,
      })
    }
    // Latch in memory first (synchronously, so no command passes the gate from here on), then move
    // the devices through their drivers (each moves before its first await: the action timers cancel
    // the pending end and report the move), then make the latches durable before answering.
    const written = init.latches.set(latched)
    const detail = `emergency stop by ${verdict.operatorId}: ${body.reason}`
    const driven = latched.map((latch) =>
      (init.actuators?.driveSafe(latch.capability, 'emergency-stop', detail) ?? Promise.resolve()).then(
        (): EstopActuatorResult => ({
          capability: latch.capability,
          node: init.deviceId,
          outcome: 'safe',
          latched: true,
        }),
        (error: Error): EstopActuatorResult => {
          init.counters.increment('safety.estop.drive-failed')
          init.log(`could not drive ${latch.capability} safe: ${error.message}`)
          return {
            capability: latch.capability,
            node: init.deviceId,
            outcome: 'failed',
            latched: true,
            detail: `the driver failed: ${error.message}`,
          }
        },
      ),
    )
    await written
    results.push(...(await Promise.all(driven)))
    init.counters.increment('safety.estop.orders')
    if (latched.length > 0) init.counters.increment('safety.estop.latched', latched.length)
    await init.evidence.append('estop', {
      operatorId: verdict.operatorId,
      scope: body.scope,
      reason: body.reason,
      nonce: body.nonce,
      issuedAt: body.issuedAt,
      latched: latched.map((latch) => latch.capability),
    })
    init.events.push({
      level: 'warn',
      type: 'safety.estop',
      message: `emergency stop (${describeEstopScope(body.scope)}) by ${verdict.operatorId}: ${latched.length} actuator(s) latched safe`,
    })
    init.log(
      `emergency stop by ${verdict.operatorId} (${describeEstopScope(body.scope)}): latched ${latched.map((l) => l.capability).join(', ') || 'nothing here'}`,
    )
    return { node: init.deviceId, actuators: results }
  }

  /** Records a command center's signed cancel; answers whether the command can no longer run. */
  async cancel(candidate: unknown): Promise<{ cancelled: boolean; detail: string }> {
    const init = this.#init
    const verdict = await verifyCommandCancel(candidate, {
      trustedCommandCenters: (id) => init.isCommandCenter(id),
    })
    if (verdict.outcome === 'reject') {
      const code = `cancel-${verdict.reason}`
      init.counters.increment(`safety.refused.${code}`)
      await init.evidence.append('refusal', { hop: 'actuator', code, detail: verdict.detail })
      throw new ClawMeshError('POLICY_DENIED', `cancel refused (${code}): ${verdict.detail}`, {
        data: { code },
      })
    }
    const { body } = verdict.cancel
    const previous = init.ledger.outcome(body.commandHash)
    // `started` but not yet at the device still counts as cancellable: the gate checks again
    // right before the device write.
    if (previous !== undefined && previous.state !== 'executing') {
      return { cancelled: false, detail: `the command already ran here (${previous.state})` }
    }
    await init.latches.cancel(
      { hash: body.commandHash, proposalId: body.proposalId, reason: body.reason, until: body.until },
      init.now(),
    )
    init.counters.increment('safety.cancelled.commands')
    await init.evidence.append('cancel', {
      hash: body.commandHash,
      proposalId: body.proposalId,
      reason: body.reason,
      issuedBy: body.issuedBy,
    })
    return { cancelled: true, detail: 'recorded: the actuator refuses this command' }
  }
}
