/** Limits of the Pi planner backend, with the reason beside each number. */

/** Whole-answer budget (all model turns and tool calls). An operator waits for this answer; past a
 * minute they are better served by an error that says so than by a spinner. */
export const PI_DEFAULT_TIMEOUT_MS = 60_000
/** Floor and ceiling for a configured timeout: below 1 s no hosted model answers; above 10 min a
 * stuck provider would hold the planner session for too long. */
export const PI_MIN_TIMEOUT_MS = 1_000
export const PI_MAX_TIMEOUT_MS = 600_000

/** One retry absorbs a transient 5xx or reset; more would spend the operator's timeout on a
 * provider that is down. */
export const PI_PROVIDER_MAX_RETRIES = 1

/** Model turns per answer (each turn is one model call plus its tool calls). Enough to look,
 * look again, propose and explain; a model still calling tools after this is looping. */
export const PI_MAX_TURNS = 8
/** Tool calls per answer, across turns. */
export const PI_MAX_TOOL_CALLS = 16
/** Proposals one answer may create: an operator reviews each one; a model that wants more is
 * better asked again. */
export const PI_MAX_PROPOSALS_PER_ANSWER = 3

/** Frames `query_world` returns to the model per call (default and ceiling): enough to see a
 * trend, small enough to stay inside small local models' context windows. */
export const PI_QUERY_DEFAULT_LIMIT = 20
export const PI_QUERY_MAX_LIMIT = 100
/** Characters of one tool result given to the model; longer results are cut with a note. */
export const PI_TOOL_RESULT_MAX_CHARS = 16_000
/** Serialised size of `args` in `read_sensor` / `create_proposal`. Capability arguments are a few
 * numbers and words ("durationMinutes": 5); more is not an actuation request. */
export const PI_TOOL_ARGS_MAX_BYTES = 2_048
export const PI_TOOL_ARGS_MAX_KEYS = 16
/** Evidence frame IDs one proposal may cite (the proposal schema's own ceiling). */
export const PI_EVIDENCE_MAX = 32
/** One line for the operator. */
export const PI_REASON_MAX_CHARS = 500

/** The answer becomes an `agent_response` frame; its text limit (FRAME_TEXT_MAX_CHARS) applies. */
export const PI_ANSWER_MAX_CHARS = 8_000
/** Operator input passed to the model. */
export const PI_INPUT_MAX_CHARS = 8_000
/** Upper bound on output tokens per model turn: answers are short; tool calls are small. */
export const PI_MAX_OUTPUT_TOKENS = 4_096
/** Context window assumed for a local model we know nothing about (llama.cpp's common default). */
export const PI_LOCAL_CONTEXT_WINDOW = 32_768
