/**
 * WebSocket dials of a CLI process through the `ws` client instead of Node's built-in WebSocket
 * (undici).
 *
 * @libp2p/websockets dials with the global `WebSocket` and serves inbound connections with `ws`'s
 * server; both reach its connection code through the same browser-style API. In Node the global is
 * undici's, whose first use loads and compiles undici and whose handshake and receive path run
 * through WebIDL conversions: about a tenth of a `clawmesh status` run on its one dial. `ws` is
 * already loaded for the listener, speaks the same RFC 6455 bytes, and is what every inbound
 * connection of a node runs on. Installed by the CLI's client (node/cli/client-node.ts) only: a
 * node's own dials stay on undici. Every node of the fan-out bench dialling through `ws` measured no
 * different from undici on the 10-process site or the chain of 3, in CPU per frame or latency
 * (`FANOUT_WS_DIALER=1`, docs/benchmarks-fanout.md, 2026-12-07 eleventh session). Per-message
 * deflate stays off, as on the listener.
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
