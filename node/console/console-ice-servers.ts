/**
 * `console.iceServers`: the node's STUN/TURN servers with their credentials, for an operator
 * console's WebRTC. TURN credentials let whoever holds them relay traffic through the site's TURN
 * server, so they go only over the Noise-authenticated libp2p link, to a key this node's own trust
 * store lists as an operator (paired, certificate not expired) or to the local admin — never in
 * `console-config.json`, which anyone who loads the page can read.
 */
import { ClawMeshError } from '../../protocol/errors.ts'
import { type IceServer, rtcConfigurationFor } from '../../protocol/ice-servers.ts'
import type { RpcHandler } from '../../runtime/rpc/rpc-server.ts'

export interface ConsoleIceServersInit {
  readonly iceServers: readonly IceServer[] | undefined
  /** True when the trust store lists this key as an operator (kind `operator`, not expired). */
  isOperator(callerId: string): boolean
}

export function consoleIceServersHandler(init: ConsoleIceServersInit): RpcHandler<'console.iceServers'> {
  return (_params, call) => {
    if (call.access !== 'admin' && !init.isOperator(call.callerId))
      throw new ClawMeshError(
        'FORBIDDEN',
        'ICE server credentials are given to paired operator consoles only: pair with `clawmesh pair --operator`',
      )
    return rtcConfigurationFor(init.iceServers)
  }
}
