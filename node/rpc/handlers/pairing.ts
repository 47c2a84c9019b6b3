/** `pair.open`: opens a pairing window with a one-time code (the `/clawmesh/pair` protocol takes it). */

import type { RpcHandlers } from '../../../runtime/rpc/rpc-server.ts'
import type { NodeComponents } from '../../components.ts'

/** A pairing code is typed within minutes of being shown; five keeps the window short. */
export const DEFAULT_PAIRING_TTL_MS = 5 * 60_000

export function createPairingHandlers(
  components: Pick<NodeComponents, 'pairing' | 'events' | 'identity' | 'libp2p'>,
): Pick<RpcHandlers, 'pair.open'> {
  return {
    'pair.open': (params) => {
      const opened = components.pairing.open({
        kind: params.kind,
        ttlMs: params.ttlMs ?? DEFAULT_PAIRING_TTL_MS,
        ...(params.operatorName === undefined ? {} : { operatorName: params.operatorName }),
        ...(params.roles === undefined ? {} : { roles: params.roles }),
        ...(params.certificateTtlMs === undefined ? {} : { certificateTtlMs: params.certificateTtlMs }),
      })
      components.events.push({
        level: 'info',
        type: 'pairing.opened',
        message: `pairing window open for a ${params.kind} until ${new Date(opened.expiresAt).toISOString()}`,
      })
      return {
        ...opened,
        deviceId: components.identity.deviceId,
        listenAddrs: components.libp2p.getMultiaddrs().map((address) => address.toString()),
      }
    },
  }
}
