/** Limits of the node's context service, each with its reason. */

/** Frames a forwarding peer may deliver per second before its excess is ignored (not propagated).
 * The busiest legitimate source here is a field node batching sensor readings: 6,000 frames/s in
 * batches of up to 64 is ~100 gossip messages/s; 400 messages/s leaves headroom for relaying several
 * such sources without letting one flooding peer monopolise validation CPU. */
export const GOSSIP_MESSAGES_PER_PEER_PER_SECOND = 400
export const GOSSIP_MESSAGES_PER_PEER_BURST = 800

export { CONTEXT_SYNC_MAX_FRAMES } from '../../protocol/limits.ts'
export const CONTEXT_SYNC_MAX_AGE_MS = 30 * 60_000

/** How often the world model is written to disk (and once more at shutdown). */
export const WORLD_SNAPSHOT_INTERVAL_MS = 30_000

/** A peer heard again after this long without a gossip message from it may have been cut off
 * meanwhile (node/context/peer-contact.ts), and is asked for the frames since it was last heard.
 * Below libp2p's ping timeout (5 s, after which the link is aborted and a reconnect catches up
 * anyway) so a cut the connection survives is caught too; above the gaps of a busy peer, which
 * forwards gossip many times a second. A quiet peer (one frame every ten seconds) costs one small
 * catch-up per frame it sends. */
export const CATCHUP_AFTER_SILENCE_MS = 3_000

/** Peers whose last-heard time is kept. Only peers the trust gater admits forward gossip, so a site
 * fits many times over; the bound keeps a flood of peer IDs from growing memory. */
export const PEER_CONTACT_MAX_PEERS = 1_000
