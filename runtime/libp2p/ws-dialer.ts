/**
 * WebSocket dials of a Node process through the `ws` client instead of Node's built-in WebSocket
 * (undici).
 *
 * @libp2p/websockets dials with the global `WebSocket` and serves inbound connections with `ws`'s
 * server; both reach its connection code through the same browser-style API. In Node the global is
 * undici's, whose first use loads and compiles undici and whose receive path runs every message
 * through WebIDL conversions, a `MessageEvent` and `EventTarget` dispatch: about a tenth of a
 * `clawmesh status` run on its one dial, and on a busy gossip link the receive path a field node
 * spent most on after validation. `ws` is already loaded for the listener, speaks the same RFC 6455
 * bytes, and is what every inbound connection of a node runs on. Per-message deflate stays off, as
 * on the listener.
 *
 * Installed by each Node composition root that dials: the CLI's client (node/cli/client-node.ts) and
 * the node (startClawMeshNode). On the 10-process site at 500 frames/s the nodes spent 10–15 % less
 * CPU per frame and the far median fell from ~12 to ~10 ms; on the chain of 3 the relay's CPU per
 * frame fell by a quarter and nothing was lost at 6,000 frames/s (docs/benchmarks-fanout.md, "Field
 * nodes dial through ws"). The flood bench's hostile peer (test/helpers/flood-peer.ts) keeps undici,
 * as an attacker's stock stack would.
 */
import { WebSocket as WsWebSocket } from 'ws'

/** The `ws` client with the options a libp2p dial needs; constructed as `new WebSocket(url)`. */
class DialWebSocket extends WsWebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols, { perMessageDeflate: false })
  }
}

let installed = false

export function installWsDialer(): void {
  if (installed) return
  installed = true
  // Node defines the global as a lazy accessor whose setter stores a value without loading undici.
  ;(globalThis as { WebSocket: unknown }).WebSocket = DialWebSocket
}
