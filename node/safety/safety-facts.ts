/**
 * What this node's own records say about a proposal, asked by the policy at every hop: the site's
 * manifest for a capability, a fact for each cited evidence frame (found in its world model or, at
 * an actuator, among the signed frames a command carries, assessed from its own site bindings), and
 * the author's fact (an operator certificate it verifies itself, a planner it obeys, or a device).
 * The forwarder and the actuator gate share these, so both hops judge from the same records.
 */
import { type Frame, verifyFrame } from '../../protocol/context/index.ts'
import type { MeshIdentity } from '../../protocol/mesh.ts'
import {
  type AuthorFact,
  assessEvidenceFrame,
  DEFAULT_MAX_EVIDENCE_AGE_MS,
  ESTOP_CLEAR_MANIFEST,
  type EvidenceFact,
  type GuardReading,
  type IsOperatorRevoked,
  missingEvidence,
  type OperationManifest,
  type OperatorCertificate,
  PROPOSAL_MAX_LIFETIME_MS,
  type Proposal,
  type SiteBindingsView,
  verifyOperatorCertificate,
} from '../../protocol/safety/index.ts'
import type { SiteModel } from '../site/site-model.ts'
import type { WorldModel } from '../world/world-model.ts'

/** The planner election's fence as the safety parts see it. */
export interface SafetyLeadership {
  /** Highest leader term this node has seen; commands and planner proposals below it are refused. */
  currentTerm(): number | undefined
  /** The term this node issues commands under: set while it leads, `{ leading: false }` for a
   * planner that does not lead (it holds approved proposals until it does), undefined otherwise. */
  issuing(): { readonly leading: true; readonly term: number } | { readonly leading: false } | undefined
}

export interface SafetyFactsInit {
  site: SiteModel | undefined
  bindings: SiteBindingsView
  mesh: MeshIdentity
  world: Pick<WorldModel, 'get' | 'latestFor'>
  /** Frame origins this node trusts: evidence frames carried in a command are checked against it. */
  isTrustedOrigin(deviceId: string): boolean
  /** Command centers whose operator certificates this node accepts. */
  isCommandCenter(deviceId: string): boolean
  isRevoked: IsOperatorRevoked
  now(): number
}

export class SafetyFacts {
  readonly #init: SafetyFactsInit

  constructor(init: SafetyFactsInit) {
    this.#init = init
  }

  manifestFor(capability: string): OperationManifest[] {
    const actuator = this.#init.site?.actuators.find((candidate) => candidate.capability === capability)
    if (actuator === undefined) return []
    // Every site actuator can be latched by an emergency stop, so every one declares its clear.
    const declared: OperationManifest[] = actuator.operations.map((operation) => ({
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
      guards: operation.guards,
    }))
    return [...declared, ESTOP_CLEAR_MANIFEST]
  }

  /** This node's own latest measured reading of a site sensor, for an execution guard: only an
   * observation from the device the site binds the sensor to counts (T1 as this node assesses it). */
  guardReading(sensorId: string): GuardReading | undefined {
    const binding = this.#init.bindings.bySiteId(sensorId)
    if (binding?.kind !== 'sensor' || binding.deviceId === undefined) return undefined
    const frame = this.#init.world.latestFor(binding.deviceId, 'observation', binding.zone, binding.metric)
    if (frame === undefined || frame.kind !== 'observation' || frame.data.sensor !== sensorId)
      return undefined
    if (assessEvidenceFrame(frame, this.#init.bindings).tier !== 'T1') return undefined
    return { value: frame.data.value, timestamp: frame.timestamp }
  }

  /** What this node believes about each cited frame: found in its world model (or, at an actuator,
   * among the signed frames the command carries) and assessed from its own site bindings. */
  async assessEvidence(proposal: Proposal, carried: readonly unknown[] = []): Promise<EvidenceFact[]> {
    const facts: EvidenceFact[] = []
    for (const ref of proposal.evidence) {
      let frame = this.#init.world.get(ref.frameId)
      if (frame === undefined) {
        const candidate = carried.find((item) => frameIdOf(item) === ref.frameId)
        if (candidate !== undefined) {
          const verdict = await verifyFrame(candidate, {
            ...this.#init.mesh,
            now: this.#init.now(),
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
  async authorFact(proposal: Proposal, certificate: OperatorCertificate | undefined): Promise<AuthorFact> {
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
          now: this.#init.now(),
        })
        return verdict.outcome === 'accept'
          ? { kind: 'operator', roles: certificate.body.roles }
          : { kind: 'unverified', detail: `${verdict.reason}: ${verdict.detail}` }
      }
    }
  }
}

/** The ID a carried (not yet verified) frame names; verifyFrame then checks it is its body's hash. */
function frameIdOf(candidate: unknown): unknown {
  return typeof candidate === 'object' && candidate !== null
    ? (candidate as { frameId?: unknown }).frameId
    : undefined
}

/** The policy's `currentLeaderTerm` fact: absent before any term is seen (no term checks). */
export function termFact(currentTerm: number | undefined): { currentLeaderTerm?: number } {
  return currentTerm === undefined ? {} : { currentLeaderTerm: currentTerm }
}
