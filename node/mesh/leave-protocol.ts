/**
 * The leave protocol: a stopping node tells each member it is going, so they mark it `left` at
 * once instead of probing it until it is declared down. Started, it answers the announcements of
 * others; stopped, it makes its own.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { leaveProtocolId } from '../../protocol/mesh.ts'
import type { NodeLibp2p } from '../libp2p/create-node-libp2p.ts'
import type { Startable } from '../lifecycle.ts'
import type { Membership } from './membership.ts'

/** How long a stopping node waits for each member to take its leave announcement. */
export const LEAVE_ANNOUNCE_TIMEOUT_MS = 1_000

export interface LeaveProtocolInit {
  libp2p: NodeLibp2p
  generation: number
  membership: Membership
}

export class LeaveProtocol implements Startable {
  readonly name = 'leave-protocol'
  readonly #init: LeaveProtocolInit
  readonly #protocol: string

  constructor(init: LeaveProtocolInit) {
    this.#init = init
    this.#protocol = leaveProtocolId(init.generation)
  }

  async start(): Promise<void> {
    const { libp2p, membership } = this.#init
    await libp2p.handle(
      this.#protocol,
      (stream, connection) => {
        const deviceId = connection.remotePeer.toString()
        stream.abort(new Error('leave noted'))
        if (membership.isMember(deviceId)) membership.peerLeft(deviceId)
      },
      { runOnLimitedConnection: true },
    )
  }

  /** Announces the leave to every connected member (each bounded by LEAVE_ANNOUNCE_TIMEOUT_MS). */
  async stop(): Promise<void> {
    const { libp2p, membership } = this.#init
    await Promise.allSettled(
      membership.connectedMembers().map(async (deviceId) => {
        const stream = await libp2p.dialProtocol(peerIdFromString(deviceId), this.#protocol, {
          signal: AbortSignal.timeout(LEAVE_ANNOUNCE_TIMEOUT_MS),
          runOnLimitedConnection: true,
        })
        await stream
          .close({ signal: AbortSignal.timeout(LEAVE_ANNOUNCE_TIMEOUT_MS) })
          .catch(() => stream.abort(new Error('leave sent')))
      }),
    )
  }
}
