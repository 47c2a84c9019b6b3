/**
 * Limits of the planner session and of the planner election. Each number carries the reason it
 * has that value; the failover bound is what docs/planner-election.md promises and
 * test/bench/election-failover.bench.ts measures.
 */
import { DOWN_PROBE_TIMEOUT_MS } from '../mesh/membership.ts'

/** Triggers waiting at once (operator input and proactive checks together). A planner answers one
 * at a time; more than a handful queued means operators would wait minutes behind a model, so the
 * next one is refused at once (RATE_LIMITED) rather than answered late. */
export const PLANNER_QUEUE_LIMIT = 8

/** Budget of one request to the backend, tools included. A hosted model answers within tens of
 * seconds; past a minute the operator is better served by an error than by silence. Stays below
 * PLANNER_ASK_CLIENT_TIMEOUT_MS (protocol/planner.ts) so the client sees the error, not a timeout. */
export const PLANNER_REQUEST_TIMEOUT_MS = 60_000

/** How often the leader runs a proactive check of the world when nothing crossed a threshold.
 * Field conditions change over tens of minutes; every 15 minutes keeps a model's cost low. */
export const PLANNER_PROACTIVE_INTERVAL_MS = 15 * 60_000

/** A sensor that crossed a threshold alerts again only after it recovered by this fraction of its
 * band (or of the bound itself when only one is set): a reading jittering around the bound must
 * not produce an alert per reading. */
export const PLANNER_ALERT_HYSTERESIS_FRACTION = 0.05

/** Even after recovering, the same sensor alerts at most once per cooldown: a value oscillating by
 * more than the hysteresis still raises one alert per half hour, not a storm. */
export const PLANNER_ALERT_COOLDOWN_MS = 30 * 60_000

/** Readings older than this never raise an alert: they arrive by catch-up sync after a reconnect
 * and describe the past; the sensor's next live reading (every few seconds) says whether it still holds. */
export const PLANNER_ALERT_MAX_AGE_MS = 5 * 60_000

/** Sensor keys the alert gate remembers; a farm has tens to hundreds of sensors. The oldest key is
 * forgotten first (it re-arms, which at worst costs one extra alert). */
export const PLANNER_ALERT_MAX_KEYS = 4_096

/** Frame IDs an inference frame cites at most (FRAME_CITES_MAX in protocol/context/constants.ts). */
export const PLANNER_INFERENCE_MAX_CITES = 64

/** How long a non-leader waits for the leader to answer forwarded input: the leader's own request
 * budget plus a few seconds for the hop and the frames it publishes. */
export const PLANNER_FORWARD_TIMEOUT_MS = PLANNER_REQUEST_TIMEOUT_MS + 5_000

/** How often the leader re-signs and re-gossips its announcement. Followers that joined late or
 * missed a message learn the term within this time; 2 s costs one ~400-byte message per interval. */
export const LEADER_HEARTBEAT_MS = 2_000

/** A planner not directly connected to us counts as live while we heard its announcement within
 * this time: three missed heartbeats, so one lost gossip message does not depose it. */
export const LEADER_HEARD_STALE_MS = 3 * LEADER_HEARTBEAT_MS

/** Re-evaluation interval, for changes nothing notifies us about (a role learned late, a relayed
 * leader going quiet). Peer loss itself is handled at once, from the membership events. */
export const ELECTION_TICK_MS = 1_000

/** A freshly started planner listens this long before claiming, so it learns the mesh's current
 * term (from peers' status and heartbeats) instead of claiming a low term that is refused. It is
 * not a safety mechanism: a premature claim is superseded by the rules in protocol/planner-election.ts.
 * A planner whose persisted claim is its own (it led until it stopped) claims at once. */
export const ELECTION_STARTUP_GRACE_MS = 2_000

/**
 * Upper bound from the leader's death to the next planner announcing a higher term, when the dead
 * leader's connections close (process crash, kill -9, reboot): the membership reachability probe
 * (DOWN_PROBE_TIMEOUT_MS at worst, milliseconds when the port refuses) plus one tick, plus a second
 * of gossip and signing slack. A link that dies silently is first noticed by libp2p's connection
 * monitor (a ping every 10 s), which adds up to that interval plus its ping timeout.
 */
export const LEADER_FAILOVER_BOUND_MS = DOWN_PROBE_TIMEOUT_MS + ELECTION_TICK_MS + 1_000

/** At most one catch-up per this interval: after refusing a claim above the term step bound, a node
 * asks the peer that relayed it for its `leader.chain` (a status call). Heartbeats repeat the
 * refused claim every LEADER_HEARTBEAT_MS; one fetch per few of them is plenty. */
export const LEADER_CATCH_UP_INTERVAL_MS = 5_000

/** How long a forwarded request waits for the leader's answer. */
export const LEADER_FORWARD_TIMEOUT_MS = 15_000
