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
