/** Limits of the terminal UI (`clawmesh tui`), each with its reason. */
import { WORLD_QUERY_MAX_LIMIT } from '../../protocol/limits.ts'
import { PLANNER_INPUT_MAX_CHARS } from '../../protocol/planner.ts'

/** How often the UI reads the node: live enough for an operator, one small batch of RPCs a second. */
export const TUI_POLL_INTERVAL_MS = 1_000

/** Newest frames read per poll: more than any pane shows even in a tall terminal. */
export const TUI_FRAMES_READ = Math.min(50, WORLD_QUERY_MAX_LIMIT)

/** Alerts (warn/error events) kept for the alerts pane, newest first. */
export const TUI_ALERTS_KEPT = 50

/** The chat line holds what the planner accepts and no more. */
export const TUI_CHAT_MAX_CHARS = PLANNER_INPUT_MAX_CHARS

/** Below this width the two columns would cut every line to nothing useful: panes stack instead. */
export const TUI_TWO_COLUMN_MIN_WIDTH = 70
