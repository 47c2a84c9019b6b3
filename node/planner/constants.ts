/**
 * Limits and timings of the planner election. The failover bound below is what docs/planner-election.md
 * promises and test/bench/election-failover.bench.ts measures.
 */
import { DOWN_PROBE_TIMEOUT_MS } from '../mesh/membership.ts'

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

/** How long a forwarded request waits for the leader's answer. */
export const LEADER_FORWARD_TIMEOUT_MS = 15_000
