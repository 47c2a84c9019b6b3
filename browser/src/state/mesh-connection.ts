/**
 * Everything the console runs while it is paired, in one reactive root: the link to the command
 * center, the live gossip subscription, the direct links to field nodes and the two poll loops.
 * Made anew at each pairing and disposed whole when the pairing is dropped, so nothing of an old
 * pairing (a stopped link, a loop, a subscription) outlives it or blocks the next one.
 */
import { type Accessor, batch, createEffect, createMemo, createRoot, on, onCleanup } from 'solid-js'
import type { SetStoreFunction } from 'solid-js/store'
import type { ConsoleConfig } from '../../../protocol/console-config.ts'
import type { Frame } from '../../../protocol/context/frame.ts'
import type { ConsoleNode } from '../mesh/browser-node.ts'
import { createCommandCenterLink, type LinkState } from '../mesh/command-center-link.ts'
import type { CommandCenterRpc } from '../mesh/command-center-rpc.ts'
import type { Refusal } from './command-center-refusal.ts'
import { createFieldLinks, type FieldLink } from './field-links.ts'
import { mergeHostReports } from './fleet.ts'
import { changesProposals, createLiveFrames, isTrustedOrigin, withArrivals } from './live-frames.ts'
import { createMeshPolling, type ProposalEdits, refreshProposals } from './mesh-polling.ts'
import { type MeshState, mergeObservations, observationOf, siteBindings } from './mesh-state.ts'
import type { OperatorPairing } from './operator-pairing.ts'

export interface MeshConnection {
  readonly link: Accessor<LinkState>
  readonly fieldLinks: Accessor<readonly FieldLink[]>
  readonly framesFrom: Accessor<Readonly<Record<string, number>>>
  reconnectNow(): void
  /** Stops the link, the field links, both poll loops and the subscription. */
  dispose(): void
}

export interface MeshConnectionInit {
  readonly node: ConsoleNode
  readonly config: ConsoleConfig
  readonly rpc: CommandCenterRpc
  readonly state: MeshState
  readonly setState: SetStoreFunction<MeshState>
  readonly proposalEdits: ProposalEdits
  readonly refusal: Refusal
  readonly pairing: OperatorPairing
  saveSnapshot(): Promise<void>
  /** The certificate expired: the session drops this connection and asks for a new pairing. */
  onExpired(): void
}

export function createMeshConnection(init: MeshConnectionInit): MeshConnection {
  return createRoot((dispose) => {
    const { node, config, rpc, state, setState, refusal } = init
    const bindings = siteBindings(config.site)
    const link = createCommandCenterLink(node, config)
    onCleanup(() => link.stop())
    const connected = createMemo(() => link.state().kind === 'connected')
    // A poll still in flight when the pairing is dropped must not store credentials again.
    let disposed = false
    onCleanup(() => {
      disposed = true
    })

    const stillPaired = () => {
      if (init.pairing.isCurrent()) return true
      init.onExpired()
      return false
    }
    const polling = createMeshPolling({
      rpc,
      state,
      setState,
      proposalEdits: init.proposalEdits,
      bindings,
      refusal,
      isConnected: connected,
      stillPaired,
      acceptIceServers: async (servers) => {
        if (!disposed) await init.pairing.acceptIceServers(servers)
      },
      saveSnapshot: init.saveSnapshot,
    })

    const ingest = (frames: readonly Frame[]) => {
      const now = Date.now()
      const points = frames.flatMap((frame) => {
        const point = observationOf(frame, bindings)
        return point === undefined ? [] : [point]
      })
      batch(() => {
        setState('observations', (current) => mergeObservations(current, points))
        setState('frameArrivals', (current) => withArrivals(current, frames, now))
        setState('hostReports', (current) => mergeHostReports(current ?? [], frames))
      })
      if (changesProposals(frames))
        void refreshProposals(rpc, setState, init.proposalEdits).catch(refusal.note)
    }
    const live = createLiveFrames(node, config, {
      isTrustedOrigin: (origin) => isTrustedOrigin(origin, config.commandCenter.deviceId, state.peers),
      onFrames: ingest,
    })
    const fieldLinks = createFieldLinks(node, config.fieldNodes, live.framesFrom)

    // A fresh connection is polled at once rather than at the next tick of the loop.
    createEffect(
      on(connected, (isConnected) => {
        if (isConnected) void polling.pollNow()
      }),
    )

    link.start()
    fieldLinks.start()
    polling.start()
    return {
      link: link.state,
      fieldLinks: fieldLinks.links,
      framesFrom: live.framesFrom,
      reconnectNow: () => link.reconnectNow(),
      dispose,
    }
  })
}
