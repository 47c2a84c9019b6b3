/**
 * Wire and storage limits shared by every ClawMesh process. Each number carries the reason it has
 * that value; code resolves its own defaults once from these (`init.x ?? DEFAULT_X`).
 */

/** Largest RPC request or response body. Status/peers/world answers stay well below this; anything
 * bigger is either a bug or an attempt to make the receiver buffer memory for a peer. */
export const RPC_MAX_MESSAGE_BYTES = 256 * 1024

/** Most frames one world query may ask for; the answer is further cut to RPC_ANSWER_FRAMES_MAX_BYTES
 * (and says so). The wire schema and the world model read this one number. */
export const WORLD_QUERY_MAX_LIMIT = 1_000

/** Frames returned by one `context.sync` call, and how far back a reconnecting node catches up. A
 * node offline for longer restores the rest from its own snapshot or the next observations. The
 * answer is further cut to RPC_ANSWER_FRAMES_MAX_BYTES (newest kept). */
export const CONTEXT_SYNC_MAX_FRAMES = 2_000

/** Frame IDs listed by one `context.sync.ids` answer (newest first): one world-model query's worth
 * (WORLD_QUERY_MAX_LIMIT, 1,000 IDs: ~67 KiB of JSON, well inside one answer). */
export const CONTEXT_SYNC_IDS_PER_PAGE = WORLD_QUERY_MAX_LIMIT

/** Pages of IDs one catch-up lists: how far back a node looks for frames it lacks (10,000 frames,
 * 20 s of a site publishing 500 frames/s). A window with more is cut at its oldest end and counted
 * (`context.catchup.cut`). */
export const CONTEXT_SYNC_ID_PAGES = 10

/** Frame IDs one `context.sync.frames` request may name: ~34 KiB of request. The answer carries those
 * that fit RPC_ANSWER_FRAMES_MAX_BYTES and says how many of the asked IDs it covered. */
export const CONTEXT_SYNC_FETCH_IDS_MAX = 500

/** Bytes of frames one answer may carry (world queries, context sync): the message limit less room
 * for the envelope, a world summary and the other fields. */
export const RPC_ANSWER_FRAMES_MAX_BYTES = RPC_MAX_MESSAGE_BYTES - 32 * 1024

/** Largest single context frame once encoded. A 512-byte sensor observation plus trust block and
 * signature is ~1 KiB; 16 KiB leaves room for agent responses without letting one frame crowd a
 * gossip batch. */
export const FRAME_MAX_BYTES = 16 * 1024

/** A request that has not been answered within this time is abandoned by the caller. Remote calls
 * cross at most two hops on a LAN/WAN mesh; 10 s covers a slow satellite link. */
export const RPC_TIMEOUT_MS = 10_000

/** How long the receiver waits for the request body after a stream opens. A peer that opens a
 * stream and sends nothing must not hold a handler slot. */
export const RPC_READ_TIMEOUT_MS = 5_000

/** An RPC stream carries one request at a time but may carry several in turn: after answering, the
 * receiver waits this long for the caller's next request before closing the stream. */
export const RPC_STREAM_IDLE_MS = 30_000
/** The caller keeps an answered stream for its next call to the same peer this long (shorter than
 * RPC_STREAM_IDLE_MS, so the receiver rarely closes a stream the caller is about to use), and at
 * most this many idle streams per peer and protocol. A reused stream skips opening a stream and the
 * protocol negotiation (one round trip) on each call. */
export const RPC_CLIENT_IDLE_MS = 10_000
export const RPC_IDLE_STREAMS_PER_PEER = 4

/** Concurrent RPC streams a single remote peer may have open at once. Legitimate callers (CLI,
 * console, a peer node) issue a handful at a time; more means a bug or abuse. */
export const RPC_MAX_CONCURRENT_PER_PEER = 16

/** Sustained RPC request rate per remote peer (token bucket refill per second) and its burst. */
export const RPC_RATE_PER_SECOND = 50
export const RPC_RATE_BURST = 100

/** How long a connected peer has to present a matching mesh hello before it is dropped. Identify
 * completes in a few round trips; 10 s tolerates a congested link. */
export const HELLO_TIMEOUT_MS = 10_000

/** Mesh names are short, human-chosen labels that appear in topic names and logs. */
export const MESH_NAME_MAX_LENGTH = 64

/** Display names of nodes and operators shown in the console and logs. */
export const DISPLAY_NAME_MAX_LENGTH = 64

/** Capabilities a single node may advertise; a field node serves tens, not thousands. */
export const CAPABILITIES_MAX_PER_NODE = 256

/** Length of one capability string such as `actuator:valve:zone-1`. */
export const CAPABILITY_MAX_LENGTH = 128

/** Entries kept in a node's security/lifecycle event ring (`mesh.events`). */
export const EVENT_RING_SIZE = 500

/** Nesting depth accepted by the canonical encoder: deeper structures are refused rather than
 * risking stack exhaustion on hostile input. */
export const CANONICAL_MAX_DEPTH = 64

/** Parsed public keys kept per signer ID (device and operator IDs), least recently used dropped
 * first. A mesh has tens of devices and a handful of operators; 4,096 covers every origin a node
 * will meet while bounding what a flood of made-up IDs can make it hold. */
export const PUBLIC_KEY_CACHE_SIZE = 4_096

/** Signatures already verified over exactly the same bytes, for the domains whose signed values
 * come back again and again (an operator's certificate rides in every proposal and approval it
 * signs, at every hop). A hit still compares the full signed bytes; only the Ed25519 check is
 * skipped. */
export const VERIFIED_SIGNATURE_CACHE_SIZE = 1_024
/** Longest device-ID field a request may carry before it is checked as one (an Ed25519 peer ID is
 * 52 characters): world-query origins, proposal targets, operator IDs. */
export const DEVICE_ID_FIELD_MAX_LENGTH = 64

/** Longest operation name a caller may invoke or propose (`open`, `set-position`): short verbs. */
export const OPERATION_NAME_MAX_LENGTH = 64

/** Longest zone or metric name a world query may filter on (site-model names are short labels). */
export const WORLD_FILTER_MAX_LENGTH = 128

/** Longest proposal ID or hash a caller may refer to (a hash is 64 hex characters). */
export const PROPOSAL_REF_MAX_LENGTH = 128

/** Bounds of the timeout a caller may give `capability.invoke`: below 100 ms no provider on a
 * LAN answers; above a minute the caller should poll rather than hold a stream. */
export const CAPABILITY_INVOKE_MIN_TIMEOUT_MS = 100
export const CAPABILITY_INVOKE_MAX_TIMEOUT_MS = 60_000

/** Shortest lifetime a caller may give a proposal: an operator needs some seconds to read it. (The
 * longest is the safety core's PROPOSAL_MAX_LIFETIME_MS.) */
export const PROPOSAL_MIN_TTL_MS = 10_000

/** Shortest validity `operator.issue` grants: a certificate must outlive its own delivery. */
export const OPERATOR_CERTIFICATE_MIN_VALIDITY_MS = 60_000

/** Bounds of a pairing window (`pair.open`): long enough to walk to the device and type the code,
 * short enough that a code seen over a shoulder soon stops working. */
export const PAIRING_WINDOW_MIN_MS = 10_000
export const PAIRING_WINDOW_MAX_MS = 15 * 60_000

/** Shortest validity of the certificate a pairing hands an operator (tests use short ones). */
export const PAIRED_CERTIFICATE_MIN_VALIDITY_MS = 10_000

/** Gossip batches one origin may have validated per second, and the burst it may save up. A field
 * node's busiest legitimate publishing is ~100 batches/s (6,000 frames/s in batches of 64, or 200/s
 * of lone urgent frames at the 5 ms coalescing window); 250/s leaves headroom above both, and the
 * burst covers a reconnect's backlog, while a peer publishing as fast as it can is cut to this
 * before its signatures are checked (node/context/origin-throttle.ts). */
export const GOSSIP_ORIGIN_BATCHES_PER_SECOND = 250
export const GOSSIP_ORIGIN_BATCHES_BURST = 500

/** Frames one origin may have validated per second (and twice that as a burst): each frame of a
 * batch is checked and ingested on its own, so full batches at the batch rate would still be 16,000
 * frames/s. 8,000 is above the 6,000 frames/s a loaded site's busiest field node publishes. */
export const GOSSIP_ORIGIN_FRAMES_PER_SECOND = 8_000
export const GOSSIP_ORIGIN_FRAMES_BURST = 16_000

/** Gossip messages over a limit from one peer before it is scored down: a few dozen overruns can be
 * a burst after a reconnect; fifty in a row within the penalty window is a flood. */
export const GOSSIP_OVERRUNS_BEFORE_PENALTY = 50

/** gossipsub application score of a flooding peer: far below its graylist threshold (-80), so
 * gossipsub drops everything the peer sends before hashing or validating it, and publishes nothing
 * to it. */
export const GOSSIP_FLOOD_PENALTY_SCORE = -1_000

/** How long the penalty lasts after the peer's last overrun. While graylisted it cannot overrun, so
 * the penalty lifts after this; a peer still flooding is graylisted again after the next fifty,
 * i.e. it gets one burst per window. */
export const GOSSIP_FLOOD_PENALTY_MS = 30_000

/** A request refused as RATE_LIMITED is answered only after this delay, so a caller that fires its
 * next request as soon as it is refused is slowed to the rate its open streams allow
 * (RPC_MAX_CONCURRENT_PER_PEER × 4 per 250 ms) instead of spinning on cheap refusals. */
export const RPC_RATE_LIMITED_ANSWER_DELAY_MS = 250

/** A peer is listed as throttled (`mesh.health` throttledPeers, `clawmesh status`) until this long
 * after its last throttled request or gossip message. */
export const THROTTLED_PEER_LISTED_MS = 10 * 60_000

/** Throttled peers remembered (and listed in `mesh.health`) at once. Only trusted keys connect, and a
 * mesh has tens of them; the bound keeps made-up relayed origins from growing the table. */
export const THROTTLED_PEERS_MAX = 256
