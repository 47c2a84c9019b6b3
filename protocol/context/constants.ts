/**
 * Limits for context frames and frame batches. Each number carries the reason it has that value;
 * the single-frame size limit (`FRAME_MAX_BYTES`) lives in `protocol/limits.ts` beside the RPC limits.
 */

/** How far behind the receiver's clock a gossiped frame may be. Gossip delivers in well under a
 * second; a frame older than this is a replay or a late relay, and `context.sync` is the path for
 * catching up on history, not the live topic. */
export const FRAME_DEFAULT_MAX_PAST_MS = 10 * 60_000

/** How far ahead of the receiver's clock a frame may be. Field nodes without GPS or NTP drift by
 * seconds; 30 s tolerates that while refusing frames dated to sort first "forever". */
export const FRAME_DEFAULT_MAX_FUTURE_MS = 30_000

/** Free text in a frame (notes, operator input, agent answers). Keeps a frame well below
 * FRAME_MAX_BYTES (16 KiB) after JSON escaping and the trust/signature overhead. */
export const FRAME_TEXT_MAX_CHARS = 8_000

/** Short labels (metric names, units, zone IDs, event types, display names). */
export const FRAME_LABEL_MAX_CHARS = 128

/** Trust sources listed on a frame; evidence is a handful of sensors/operators, not a crawl. */
export const FRAME_TRUST_SOURCES_MAX = 32

/** Frames an inference may cite; a planner answer rests on tens of observations at most. */
export const FRAME_CITES_MAX = 64

/** Frames a publisher coalesces into one gossip message. Per-message cost dominates on 2-core
 * nodes; 64 frames amortise it well while keeping the per-frame proof (64 hashes ≈ 4.2 KiB) small. */
export const BATCH_MAX_FRAMES = 64

/** Largest encoded batch. gossipsub's default max message size is 1 MiB; 256 KiB keeps a batch
 * of 64 typical (~1 KiB) frames comfortably in, and a hostile batch cheap to refuse before parsing. */
export const BATCH_MAX_BYTES = 256 * 1024

/** The coalescing window: the longest a published frame waits for others to share its gossip
 * message, and the shortest gap between two batches that are not full. A node that has been quiet
 * for a window sends a frame at once (node/context/publish-coalescer.ts), so the window only costs
 * latency under load, when it caps a publisher at 200 gossip messages/s plus full batches. */
export const BATCH_COALESCE_WINDOW_MS = 5

/** The longest coalescing window, used while the publisher's machine is short of CPU
 * (node/context/publish-coalescer.ts): a frame then waits up to this long so the mesh handles
 * fewer gossip messages. 20 ms leaves room for the 50 ms delivery target of a loaded site. */
export const BATCH_COALESCE_WINDOW_MAX_MS = 20

/** Verified batch signatures remembered so frames unpacked from one batch (and re-served later)
 * cost one signature check, not one each. */
export const BATCH_VERIFIED_CACHE_SIZE = 1_024

/** A frame's trust tiers, lowest first. */
export const TRUST_TIERS = ['T0', 'T1', 'T2', 'T3'] as const

/** The severities an event frame may carry. */
export const EVENT_SEVERITIES = ['info', 'warning', 'critical'] as const
