/**
 * The node follows its trust files while it runs. `mesh/trusted-peers.json` edited by
 * `clawmesh trust add/remove`: reloaded, and the connections of keys no longer trusted closed.
 * The revocations file written by `clawmesh trust remove <operator>`: each new revocation taken
 * into the records, the operator's entry and connections dropped and, on a command center, handed
 * on. A file that does not parse keeps the previous records in force.
 */
import type { FSWatcher } from 'node:fs'
import type { Counters } from '../../runtime/counters.ts'
import { removeOperatorEntry } from '../../runtime/trust/revocation-admission.ts'
import { type RevocationStore, revocationsPath } from '../../runtime/trust/revocations.ts'
import type { TrustStore } from '../../runtime/trust/trust-store.ts'
import { watchTrustFile } from '../../runtime/trust/watch-trust-file.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { Startable } from '../lifecycle.ts'
import type { EventRing } from '../mesh/event-ring.ts'
import { disconnectPeer, type RevocationDistribution } from './revocation-distribution.ts'

/** Watches one file while started. */
export class FileWatchPart implements Startable {
  readonly name: string
  readonly #path: string
  readonly #onChange: () => Promise<void>
  #watcher: FSWatcher | undefined

  constructor(name: string, path: string, onChange: () => Promise<void>) {
    this.name = name
    this.#path = path
    this.#onChange = onChange
  }

  async start(): Promise<void> {
    this.#watcher = await watchTrustFile(this.#path, this.#onChange)
  }

  stop(): void {
    this.#watcher?.close()
  }
}

export interface TrustReloadInit {
  path: string
  trust: TrustStore
  libp2p: NodeLibp2p
  /** The local CLI key keeps its connection: it is never in the trust store. */
  localAdminId: string
  counters: Counters
  events: EventRing
  log: (line: string) => void
}

export function watchTrustedPeers(init: TrustReloadInit): FileWatchPart {
  const { trust, libp2p, counters, events, log } = init
  return new FileWatchPart('trusted-peers-watcher', init.path, async () => {
    try {
      await trust.reload()
      for (const connection of libp2p.getConnections()) {
        const remote = connection.remotePeer.toString()
        if (remote !== init.localAdminId && !trust.has(remote)) {
          log(`trust for ${remote} was removed: closing its connections`)
          await connection.close().catch(() => {})
        }
      }
      events.push({
        level: 'info',
        type: 'trust.reloaded',
        message: `trust store reloaded (${trust.size} peers)`,
      })
    } catch (error) {
      counters.increment('trust.reload.failed')
      events.push({ level: 'error', type: 'trust.reload.failed', message: (error as Error).message })
      log(`${(error as Error).message} — keeping the previous trust list in force`)
    }
  })
}

export interface RevocationReloadInit {
  stateDir: string
  revocations: RevocationStore
  trust: TrustStore
  libp2p: NodeLibp2p
  /** On a command center: hands new revocations to members and relays. */
  distribution: RevocationDistribution | undefined
  counters: Counters
  events: EventRing
  log: (line: string) => void
}

export function watchRevocations(init: RevocationReloadInit): FileWatchPart {
  const { revocations, trust, libp2p, counters, events, log, distribution } = init
  return new FileWatchPart('revocations-watcher', revocationsPath(init.stateDir), async () => {
    try {
      const learned = await revocations.reload()
      for (const revocation of learned) {
        const { operatorId, reason } = revocation.body
        await removeOperatorEntry(trust, operatorId)
        await disconnectPeer(libp2p, operatorId)
        counters.increment('operator.revocation.issued')
        const message = `operator ${operatorId} revoked here (${reason})${distribution === undefined ? '' : ': handing the revocation to members and relays'}`
        events.push({ level: 'warn', type: 'trust.operator.revoked', message, peer: operatorId })
        log(message)
      }
      if (learned.length > 0) await distribution?.issued(learned)
    } catch (error) {
      counters.increment('trust.revocation.reload.failed')
      events.push({
        level: 'error',
        type: 'trust.revocation.reload.failed',
        message: (error as Error).message,
      })
      log(`${(error as Error).message} — keeping the revocations already held`)
    }
  })
}
