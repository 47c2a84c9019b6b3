/** Limits of `clawmesh demo`'s process supervision. */

/** A node or relay that has not printed "ready" by then has failed to start (cold start on a busy
 * 2-core machine takes a few seconds; libp2p and node-datachannel load first). */
export const CHILD_READY_TIMEOUT_MS = 60_000

/** How long a child gets to stop after SIGINT before it is killed (a node announces its leave and
 * saves its world snapshot; node-datachannel's stop can hang, see DESIGN "Known traps"). */
export const CHILD_STOP_GRACE_MS = 10_000

/** Building the console on first run (vite) on a 2-core machine. */
export const CONSOLE_BUILD_TIMEOUT_MS = 5 * 60_000

/** Validity of each demo pairing code; a fresh one is opened when it expires or is used. */
export const DEMO_PAIRING_TTL_MS = 10 * 60_000

/** How often the demo looks at the command center's events to notice a completed pairing. */
export const PAIRING_POLL_INTERVAL_MS = 2_000

/** Lines of a failed child's log shown when the demo stops because of it. */
export const FAILED_CHILD_LOG_LINES = 20
