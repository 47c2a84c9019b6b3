/**
 * The evidence checkpoints this node keeps of its peers, `<stateDir>/evidence/peer-checkpoints.json`:
 * per node the latest signed head of its evidence log and a bounded history, plus the rollbacks and
 * forks seen (both checkpoints of each, signed by the node). This node decides what it keeps
 * (protocol/safety/evidence-checkpoint.ts): the checkpoint names the frame's origin and is signed
 * by it, and sequence numbers only move forward. Every refusal is counted and is an event.
 */
import { join } from 'node:path'
import { z } from 'zod'
import {
  type CheckpointAnomaly,
  type EvidenceCheckpointsResult,
  evidenceCheckpointsResultSchema,
} from '../../protocol/rpc/methods.ts'
import {
  admitEvidenceCheckpoint,
  CHECKPOINT_REFUSALS,
  type CheckpointAdmission,
  EVIDENCE_CHECKPOINT_ANOMALIES_MAX,
  EVIDENCE_CHECKPOINT_HISTORY_MAX,
  EVIDENCE_CHECKPOINT_NODES_MAX,
  type EvidenceCheckpoint,
  evidenceCheckpointSchema,
} from '../../protocol/safety/index.ts'
import type { Counters } from '../../runtime/counters.ts'
import { readJsonFile, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import { SerialQueue } from './durable-append.ts'

export function peerCheckpointsPath(stateDir: string): string {
  return join(statePaths(stateDir).evidenceDir, 'peer-checkpoints.json')
}

const peerCheckpointsFileSchema = evidenceCheckpointsResultSchema.extend({ version: z.literal(1) })

/** Reads a state dir's kept checkpoints without a running node (`clawmesh evidence checkpoints`). */
export async function readPeerCheckpoints(
  stateDir: string,
): Promise<z.infer<typeof peerCheckpointsFileSchema> | undefined> {
  return readJsonFile(peerCheckpointsPath(stateDir), peerCheckpointsFileSchema, 'peer evidence checkpoints')
}

export interface PeerCheckpointBookInit {
  readonly stateDir: string
  /** This node's device ID, recorded as the holder of the file. */
  readonly holder: string
  readonly counters: Counters
  readonly events: EventRing
  readonly log: (line: string) => void
  readonly now?: () => number
}

export class PeerCheckpointBook {
  readonly #init: PeerCheckpointBookInit
  readonly #path: string
  readonly #now: () => number
  /** Per node, oldest first; the last is the latest. */
  readonly #byNode = new Map<string, EvidenceCheckpoint[]>()
  readonly #anomalies: CheckpointAnomaly[] = []
  /** Offers are decided one at a time: two checkpoints of one node checked against the same held
   * one could otherwise both pass and leave the lower one as the latest. */
  readonly #deciding = new SerialQueue()
  /** One write at a time; changes made meanwhile go out with the next write. */
  #dirty = false
  #writing: Promise<void> | undefined

  private constructor(init: PeerCheckpointBookInit) {
    this.#init = init
    this.#path = peerCheckpointsPath(init.stateDir)
    this.#now = init.now ?? Date.now
  }

  static async open(init: PeerCheckpointBookInit): Promise<PeerCheckpointBook> {
    const book = new PeerCheckpointBook(init)
    const stored = await readPeerCheckpoints(init.stateDir)
    for (const checkpoint of stored?.checkpoints ?? []) book.#remember(checkpoint)
    book.#anomalies.push(...(stored?.anomalies ?? []).slice(0, EVIDENCE_CHECKPOINT_ANOMALIES_MAX))
    return book
  }

  latest(nodeId: string): EvidenceCheckpoint | undefined {
    return this.#byNode.get(nodeId)?.at(-1)
  }

  /** Everything kept (of one node when given), in the shape `evidence.checkpoints` answers. */
  snapshot(nodeId?: string): EvidenceCheckpointsResult {
    const nodes = nodeId === undefined ? [...this.#byNode.keys()] : [nodeId]
    return {
      holder: this.#init.holder,
      checkpoints: nodes.flatMap((node) => this.#byNode.get(node) ?? []),
      anomalies: this.#anomalies.filter((anomaly) => nodeId === undefined || anomaly.nodeId === nodeId),
    }
  }

  /** Decides whether to keep a checkpoint that arrived in a frame from `origin`. */
  offer(raw: unknown, origin: string): Promise<CheckpointAdmission> {
    return this.#deciding.run(() => this.#decide(raw, origin))
  }

  async #decide(raw: unknown, origin: string): Promise<CheckpointAdmission> {
    const held = this.latest(origin)
    let admission = await admitEvidenceCheckpoint(raw, origin, held)
    if (
      admission.outcome === 'accept' &&
      held === undefined &&
      this.#byNode.size >= EVIDENCE_CHECKPOINT_NODES_MAX
    ) {
      admission = {
        outcome: 'reject',
        reason: 'too-many-nodes',
        detail: `already keeping checkpoints of ${EVIDENCE_CHECKPOINT_NODES_MAX} nodes`,
      }
    }
    if (admission.outcome === 'duplicate') return admission
    if (admission.outcome === 'accept') {
      this.#remember(admission.checkpoint)
      this.#init.counters.increment('evidence.checkpoint.accepted')
      this.#persist()
      return admission
    }
    this.#init.counters.increment(`evidence.checkpoint.refused.${admission.reason}`)
    const message = `evidence checkpoint from ${origin} refused (${admission.reason}): ${admission.detail}`
    const reason = admission.reason
    const anomaly = reason === 'rollback' || reason === 'fork'
    this.#init.events.push({
      level: anomaly ? 'error' : 'warn',
      type: `evidence.checkpoint.refused.${admission.reason}`,
      message: anomaly ? `${message}. ${CHECKPOINT_REFUSALS[admission.reason]}` : message,
      peer: origin,
    })
    this.#init.log(message)
    if ((reason === 'rollback' || reason === 'fork') && held !== undefined)
      this.#recordAnomaly(reason, origin, held, raw)
    return admission
  }

  /** Resolves once every accepted checkpoint and anomaly is on disk. */
  async flush(): Promise<void> {
    await this.#deciding.idle()
    while (this.#writing !== undefined) await this.#writing
  }

  #remember(checkpoint: EvidenceCheckpoint): void {
    const history = this.#byNode.get(checkpoint.nodeId) ?? []
    history.push(checkpoint)
    if (history.length > EVIDENCE_CHECKPOINT_HISTORY_MAX) history.shift()
    this.#byNode.set(checkpoint.nodeId, history)
  }

  #recordAnomaly(kind: 'rollback' | 'fork', nodeId: string, held: EvidenceCheckpoint, raw: unknown): void {
    if (this.#anomalies.length >= EVIDENCE_CHECKPOINT_ANOMALIES_MAX) {
      this.#init.counters.increment('evidence.checkpoint.anomalies.unrecorded')
      return
    }
    // The offered checkpoint passed its signature check before the sequence comparison.
    const offered = evidenceCheckpointSchema.parse(raw)
    this.#anomalies.push({ kind, nodeId, held, offered, seenAt: this.#now() })
    this.#persist()
  }

  #persist(): void {
    this.#dirty = true
    if (this.#writing !== undefined) return
    this.#writing = (async () => {
      while (this.#dirty) {
        this.#dirty = false
        await writeJsonAtomic(this.#path, {
          version: 1,
          ...this.snapshot(),
        }).catch((error: Error) => {
          this.#init.counters.increment('evidence.checkpoint.persist.failed')
          this.#init.log(`could not write ${this.#path}: ${error.message}`)
        })
      }
      this.#writing = undefined
    })()
  }
}
