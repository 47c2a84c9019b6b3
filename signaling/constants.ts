/**
 * Limits of the signaling relay, each with the reason for its value. The relay exists so two trusted
 * nodes behind NAT can exchange WebRTC SDP/ICE through it and then talk directly; it is not meant to
 * carry the mesh's traffic, and these numbers say so.
 */

const SECOND = 1000
const MINUTE = 60 * SECOND

/** Default WebSocket port of the relay: next to a node's 18789 so one firewall rule range covers both. */
export const DEFAULT_RELAY_PORT = 18790

/** Default port of the `/healthz` endpoint when the relay listens on its default port. With `--port 0`
 * (tests) the health endpoint also picks a free port unless `--health-port` is given. */
export const DEFAULT_HEALTH_PORT = 18791

/** Reservations held at once. A field deployment has tens of nodes and consoles behind NAT, each holding
 * one reservation; 128 leaves headroom without letting a misbehaving member pin unbounded state (the
 * circuit-relay default of 15 is too small for a whole site). */
export const MAX_RESERVATIONS = 128

/** Lifetime of a reservation before the client must refresh it. Clients refresh well before expiry; an
 * hour bounds how long a node that vanished without closing its connection keeps a slot, and how long a
 * node whose trust was removed could keep one if it were not also disconnected on trust reload. */
export const RESERVATION_TTL_MS = 60 * MINUTE

/** Bytes one relayed connection may carry before the relay resets it. A relayed connection is only the
 * signaling channel: Noise + yamux setup, identify in both directions and the WebRTC SDP offer/answer
 * plus ICE candidates come to a few KiB. 1 MiB (8x the circuit-relay default of 128 KiB) tolerates
 * identify pushes and candidate churn on flaky links. Gossipsub does NOT run over this limited link
 * (libp2p marks it `limited` and gossipsub does not open streams on limited connections): frames flow
 * only once the WebRTC connection is up. Raising this would turn the relay into a bulk data path. */
export const RELAYED_CONNECTION_DATA_LIMIT_BYTES = 1n << 20n

/** How long one relayed connection may stay open. Signaling completes in seconds on a good link; five
 * minutes tolerates slow cellular/satellite ICE checks and a retry or two, then the relay reclaims the
 * slot (nodes re-dial through the relay if they still need it). */
export const RELAYED_CONNECTION_DURATION_LIMIT_MS = 5 * MINUTE

/** Hop requests (reserve/connect) must complete within this time, or the stream is reset, so a slow or
 * silent peer cannot hold a hop handler. */
export const HOP_TIMEOUT_MS = 15 * SECOND

/** Connections the relay keeps open at once. Every member holds one connection to the relay, and each
 * signaling exchange is a relayed circuit on top of existing connections, so 256 covers a site with
 * room for reconnect overlap; past it libp2p prunes the least valuable connections. */
export const MAX_CONNECTIONS = 256

/** Connections still in their handshake (before the trust gater has seen the key). Bounds the work an
 * unauthenticated flood can make the relay do. */
export const MAX_INCOMING_PENDING_CONNECTIONS = 16

/** New connections accepted per second from one IP address before the relay refuses more (libp2p's
 * default is 5). A whole site sits behind one NAT address, so after a power cut or an uplink flap tens
 * of nodes reconnect from the same IP within a second or two; at 5/s most of them would be turned away
 * and back off. 32/s still stops a single host from churning handshakes. */
export const INBOUND_CONNECTIONS_PER_HOST_PER_SECOND = 32

/** On SIGINT/SIGTERM the relay stops libp2p and the health server; if that has not finished within
 * this time (a hung socket), the process exits anyway so a service manager can restart it. */
export const SHUTDOWN_GRACE_MS = 5 * SECOND
