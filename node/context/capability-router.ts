/**
 * `capability.invoke`: sends an operation to a node that can do it. Local providers first, then
 * live, trusted, non-viewer members that advertise the capability, fastest first; one failover to
 * the next provider; the error names every provider tried. Actuator capabilities are refused here:
 * actuation runs only through an approved proposal (the safety layer), never through a direct invoke.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { ClawMeshError, normaliseError } from '../../protocol/errors.ts'
import { rpcProtocolId } from '../../protocol/mesh.ts'
import type { CapabilityInvokeParams } from '../../protocol/rpc/methods.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { Membership } from '../mesh/membership.ts'
import { callRpc } from '../rpc/rpc-client.ts'

/** Default time a provider has to answer before the router fails over. */
export const CAPABILITY_INVOKE_TIMEOUT_MS = 5_000
/** Providers tried per invoke: the best one and one failover. */
export const CAPABILITY_MAX_ATTEMPTS = 2

/** Answers in which the provider refused the request itself: another provider would refuse it
 * too, and the caller needs the provider's reason, so these end the call without a failover. */
const PROVIDER_REFUSALS: ReadonlySet<string> = new Set(['INVALID_PARAMS', 'FORBIDDEN', 'NOT_FOUND'])

export type LocalCapabilityHandler = (
  operation: string,
  args: Record<string, unknown>,
) => Promise<Record<string, unknown>> | Record<string, unknown>

export interface CapabilityRouterInit {
  deviceId: string
  libp2p: NodeLibp2p
  generation: number
  membership: Membership
  counters: Counters
}

export function isActuatorCapability(capability: string): boolean {
  return capability.startsWith('actuator:')
}

export class CapabilityRouter {
  readonly #init: CapabilityRouterInit
  readonly #local = new Map<string, LocalCapabilityHandler>()

  constructor(init: CapabilityRouterInit) {
    this.#init = init
  }

  provide(capability: string, handler: LocalCapabilityHandler): void {
    this.#local.set(capability, handler)
  }

  localCapabilities(): string[] {
    return [...this.#local.keys()]
  }

  /** Remote members able to serve the capability, best first. */
  providers(capability: string): string[] {
    return this.#init.membership
      .entries()
      .filter(
        (record) =>
          record.state === 'connected' &&
          record.agent?.kind === 'node' &&
          record.info !== undefined &&
          record.info.role !== 'viewer' &&
          record.info.capabilities.includes(capability),
      )
      .sort((a, b) => (a.latencyMs ?? Number.POSITIVE_INFINITY) - (b.latencyMs ?? Number.POSITIVE_INFINITY))
      .map((record) => record.deviceId)
  }

  async invoke(
    params: CapabilityInvokeParams,
  ): Promise<{ provider: string; result: Record<string, unknown>; tried: string[] }> {
    // Reading an actuator's state is L0; anything that moves it needs an approved proposal.
    if (isActuatorCapability(params.capability) && params.operation !== 'state') {
      this.#init.counters.increment('capability.refused.approval-required')
      throw new ClawMeshError(
        'APPROVAL_REQUIRED',
        `${params.capability} is an actuator: create a proposal and have it approved; it cannot be invoked directly`,
      )
    }
    const local = this.#local.get(params.capability)
    if (local !== undefined) {
      return {
        provider: this.#init.deviceId,
        result: await local(params.operation, params.args ?? {}),
        tried: [this.#init.deviceId],
      }
    }
    if (params.local === true)
      throw new ClawMeshError('NO_PROVIDER', `this node does not provide ${params.capability}`)
    const candidates = this.providers(params.capability).slice(0, CAPABILITY_MAX_ATTEMPTS)
    if (candidates.length === 0) {
      this.#init.counters.increment('capability.no-provider')
      throw new ClawMeshError(
        'NO_PROVIDER',
        `no live, trusted, non-viewer node advertises ${params.capability}`,
        { data: { tried: [] } },
      )
    }
    const tried: string[] = []
    const failures: string[] = []
    for (const provider of candidates) {
      tried.push(provider)
      try {
        const answer = await callRpc(
          this.#init.libp2p,
          peerIdFromString(provider),
          rpcProtocolId(this.#init.generation),
          'capability.invoke',
          { ...params, local: true },
          { timeoutMs: params.timeoutMs ?? CAPABILITY_INVOKE_TIMEOUT_MS },
        )
        return { provider, result: answer.result, tried }
      } catch (error) {
        const normalised = normaliseError(error)
        if (PROVIDER_REFUSALS.has(normalised.code)) throw normalised
        failures.push(`${provider}: ${normalised.code}`)
        this.#init.counters.increment('capability.failover')
      }
    }
    throw new ClawMeshError(
      'UNAVAILABLE',
      `every provider of ${params.capability} failed (${failures.join('; ')})`,
      {
        data: { tried },
      },
    )
  }
}
