/** Limits of the Telegram surface, each with its reason (docs/telegram.md). */

/** Seconds one `getUpdates` long poll waits for an update: Telegram's recommended range is 25-50;
 * 25 keeps a stopping node waiting at most that long for the poll to come back. */
export const TELEGRAM_POLL_TIMEOUT_SEC = 25
/** Updates fetched per poll: a burst of taps in a busy chat, not a backlog worth a large answer. */
export const TELEGRAM_POLL_LIMIT = 50
/** HTTP budget of one Bot API call: the long poll plus margin, so a dead connection is noticed. */
export const TELEGRAM_REQUEST_TIMEOUT_SEC = TELEGRAM_POLL_TIMEOUT_SEC + 10

/** Backoff after a failed Bot API poll: starts short (a blip), doubles, caps at a minute (an outage
 * or a wrong token must not spin the CPU or flood the log). */
export const TELEGRAM_BACKOFF_INITIAL_MS = 500
export const TELEGRAM_BACKOFF_MAX_MS = 60_000

/** Per-user command budget: a person types or taps a few commands in a row, not dozens; a burst of
 * 8 then one every 3 s (20 a minute) covers an operator working through a queue of proposals and
 * stops a stuck client or a script from hammering the node. */
export const TELEGRAM_USER_BURST = 8
export const TELEGRAM_USER_PER_MINUTE = 20
/** Bounds of the per-user budget a site may configure (node.json `telegram.userBurst` and
 * `telegram.userPerMinute`): at least one command, at most a script's worth (benchmarks). */
export const TELEGRAM_USER_BURST_MAX = 1_000
export const TELEGRAM_USER_PER_MINUTE_MAX = 6_000

/** Telegram refuses messages over 4096 characters; answers are cut below it with a note. */
export const TELEGRAM_MESSAGE_MAX_CHARS = 4_000
/** Proposals and alerts listed in one answer: a phone screen, not the whole store. */
export const TELEGRAM_LIST_MAX = 10
/** World frames summarised by `/world`. */
export const TELEGRAM_WORLD_MAX = 12
/** `/ask` text forwarded to the planner: a sentence or two, like the console's chat line. */
export const TELEGRAM_ASK_MAX_CHARS = 1_000
/** Reason given with `/approve` or `/reject`, bounded below the approval certificate's own limit. */
export const TELEGRAM_REASON_MAX_CHARS = 200

/** Proposals whose pushed messages are remembered for editing with the outcome: far more than are
 * ever awaiting approval at once. */
export const TELEGRAM_PUSHED_PROPOSALS_MAX = 256
/** Alerts pushed per minute to the chats: a sensor storm must not bury the approve buttons. */
export const TELEGRAM_ALERTS_PER_MINUTE = 6
export const TELEGRAM_ALERT_WINDOW_MS = 60_000

/** A Telegram pairing code is read off a terminal and typed on a phone: ten minutes. */
export const DEFAULT_TELEGRAM_PAIRING_TTL_MS = 10 * 60_000

/** Telegram operators a command center holds keys for (each key is one credential-store entry, and
 * the store holds 64): a farm crew, not a call centre. */
export const TELEGRAM_OPERATORS_MAX = 32

/** A `/estop` confirmation button works this long: an old message tapped by accident must not stop
 * the site, and a person who means it taps within seconds. */
export const TELEGRAM_ESTOP_CONFIRM_TTL_MS = 2 * 60_000
/** `/estop` confirmations remembered at once (the oldest is forgotten: its tap says "answered"). */
export const TELEGRAM_ESTOP_PENDING_MAX = 64
