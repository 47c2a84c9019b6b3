/**
 * RPC polling of the command center while the console is paired: a fast loop (status, peers,
 * proposals, events, planner) and a slow one (health, the observation backfill, the snapshot).
 * Each loop has its own AbortController; `stop()` (or the owner's cleanup) ends both.
 */
import { onCleanup } from 'solid-js'
import { reconcile, type SetStoreFunction } from 'solid-js/store'
import { ClawMeshError } from '../../../protocol/errors.ts'
import type { IceServer } from '../../../protocol/ice-servers.ts'
import type { MeshEvent } from '../../../protocol/rpc/methods.ts'
import type { CommandCenterRpc } from '../mesh/command-center-rpc.ts'
import type { Refusal } from './command-center-refusal.ts'
import { HOST_FINDINGS_POLL_LIMIT, mergeHostReports } from './fleet.ts'
import {
  MAX_EVENTS,
  type MeshState,
  mergeObservations,
  type ObservationPoint,
  observationOf,
} from './mesh-state.ts'
import { type PollLoop, startPollLoop } from './poll-loop.ts'

/** RPC polling: often enough that a proposal or a peer going down shows within seconds, rarely
 * enough that a tablet's radio and the command center are not kept busy. */
export const POLL_INTERVAL_MS = 2_000
/** Health and the observation backfill change slowly or arrive by gossip anyway. */
export const SLOW_POLL_INTERVAL_MS = 5_000
/** How far back the first observation backfill reaches (the charts' window). */
export const BACKFILL_WINDOW_MS = 10 * 60_000
/** Events asked for on the first poll; later polls ask for everything after the last seen. */
export const FIRST_EVENTS_LIMIT = 50
/** Observation frames per backfill answer. */
export const BACKFILL_LIMIT = 1_000

/** Counts this console's own writes of proposal records (the answer to a decision or a safe-state
 * request). A poll answered before such a write but applied after it would show the older state
 * again — a rejected proposal with its approve button back — until the next poll; a poll or refresh
 * that saw the count move while it was in flight leaves the proposals to the next one. */
export class ProposalEdits {
  #count = 0

  mark(): void {
    this.#count++
  }

  /** Taken when a proposal list is asked for: true while no edit has been made since. */
  watch(): () => boolean {
    const before = this.#count
    return () => this.#count === before
  }
}

export interface MeshPollingInit {
  readonly rpc: CommandCenterRpc
  readonly state: MeshState
  readonly setState: SetStoreFunction<MeshState>
  readonly proposalEdits: ProposalEdits
  readonly bindings: ReadonlyMap<string, string>
  readonly refusal: Refusal
  isConnected(): boolean
  /** False once the certificate expired: nothing is asked (the session asks for a new pairing). */
  stillPaired(): boolean
  acceptIceServers(servers: readonly IceServer[]): Promise<void>
  saveSnapshot(): Promise<void>
}

export interface MeshPolling {
  start(): void
  /** Everything at once (a fresh connection), unless a poll is already running. */
  pollNow(): Promise<void>
  stop(): void
}

export function createMeshPolling(init: MeshPollingInit): MeshPolling {
  const { rpc, state, setState, refusal } = init
  let loops: PollLoop[] = []
  let polling = false
  let lastEventSeq: number | undefined

  const pollOnce = async () => {
    const noEditSince = init.proposalEdits.watch()
    const [status, peers, proposals, events, planner] = await Promise.allSettled([
      rpc.call('mesh.status', {}),
      rpc.call('mesh.peers', {}),
      rpc.call('proposal.list', {}),
      rpc.call('mesh.events', eventsQuery(lastEventSeq)),
      rpc.plannerStatus(),
    ])
    if (status.status === 'rejected') {
      refusal.note(status.reason)
      return
    }
    refusal.clear()
    setState('status', reconcile(status.value))
    if (peers.status === 'fulfilled') setState('peers', reconcile(peers.value.peers, { key: 'deviceId' }))
    if (proposals.status === 'fulfilled' && noEditSince())
      setState('proposals', reconcile(proposals.value.proposals, { key: 'hash' }))
    if (events.status === 'fulfilled') {
      lastEventSeq = events.value.lastSeq
      if (events.value.events.length > 0)
        setState('events', (current) => appendEvents(current, events.value.events))
    }
    if (planner.status === 'fulfilled') {
      setState('planner', reconcile(planner.value))
      setState('plannerUnavailable', undefined)
    } else {
      setState('planner', undefined)
      setState('plannerUnavailable', plannerUnavailable(planner.reason))
    }
    setState('freshAt', Date.now())
  }

  const slowPollOnce = async () => {
    const since = backfillSince(state.observations, Date.now())
    const [health, world, hosts] = await Promise.allSettled([
      rpc.call('mesh.health', {}),
      rpc.call('mesh.world.query', { kind: 'observation', since, limit: BACKFILL_LIMIT }),
      rpc.call('mesh.world.query', { kind: 'host_findings', limit: HOST_FINDINGS_POLL_LIMIT }),
    ])
    if (hosts.status === 'fulfilled')
      setState('hostReports', (current) => mergeHostReports(current ?? [], hosts.value.frames))
    if (health.status === 'fulfilled') setState('health', reconcile(health.value))
    if (world.status === 'fulfilled') {
      const points = world.value.frames.flatMap((frame) => {
        const point = observationOf(frame, init.bindings)
        return point === undefined ? [] : [point]
      })
      setState('observations', (current) => mergeObservations(current, points))
    }
    await init.saveSnapshot()
  }

  /** TURN credentials go to paired operators only, over the Noise-authenticated link: fetched at
   * each (re)connection, kept for the next start (a WAN-only tablet may need them to connect). */
  const refreshIceServers = async () => {
    const given = await rpc.call('console.iceServers', {})
    await init.acceptIceServers(given.iceServers)
  }

  const pollNow = async () => {
    if (polling || !init.stillPaired()) return
    polling = true
    try {
      await Promise.all([
        pollOnce().catch(refusal.note),
        slowPollOnce().catch(refusal.note),
        refreshIceServers().catch(refusal.note),
      ])
    } finally {
      polling = false
    }
  }

  const stop = () => {
    for (const loop of loops.splice(0)) loop.stop()
  }
  onCleanup(stop)

  return {
    start() {
      if (loops.length > 0) return
      loops = [
        startPollLoop(POLL_INTERVAL_MS, async () => {
          if (init.isConnected() && !polling && init.stillPaired()) await pollOnce().catch(refusal.note)
        }),
        startPollLoop(SLOW_POLL_INTERVAL_MS, async () => {
          if (init.isConnected()) await slowPollOnce().catch(refusal.note)
        }),
      ]
    },
    pollNow,
    stop,
  }
}

/** Re-reads the proposals at once (a proposal frame arrived, the planner made one). */
export async function refreshProposals(
  rpc: CommandCenterRpc,
  setState: SetStoreFunction<MeshState>,
  proposalEdits: ProposalEdits,
) {
  const noEditSince = proposalEdits.watch()
  const { proposals } = await rpc.call('proposal.list', {})
  if (noEditSince()) setState('proposals', reconcile(proposals, { key: 'hash' }))
}

/** The first poll asks for the latest events; later ones for everything after the last one seen. */
export function eventsQuery(lastSeq: number | undefined): { limit: number } | { afterSeq: number } {
  return lastSeq === undefined ? { limit: FIRST_EVENTS_LIMIT } : { afterSeq: lastSeq }
}

export function appendEvents(current: readonly MeshEvent[], incoming: readonly MeshEvent[]): MeshEvent[] {
  return [...current, ...incoming].slice(-MAX_EVENTS)
}

/** The backfill continues after the newest observation held, or covers the charts' window. */
export function backfillSince(observations: readonly ObservationPoint[], now: number): number {
  return observations.at(-1)?.at ?? now - BACKFILL_WINDOW_MS
}

/** Why the planner has no status: a command center without a planner is not an error. */
export function plannerUnavailable(error: unknown): string {
  return error instanceof ClawMeshError && error.code === 'UNKNOWN_METHOD'
    ? 'planner not available on this command center'
    : `planner status unavailable: ${(error as Error).message}`
}
