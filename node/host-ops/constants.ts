/**
 * Limits of the host workflows (docs/host-operations.md). Every workflow is read-only and bounded in
 * time and entries: it must answer within one `capability.invoke` (the CLI's RPC gives 10 s).
 */

/** Budget of a whole workflow run; what is not done by then is reported as cut short. */
export const HOST_WORKFLOW_BUDGET_MS = 6_000
/** Time given to the caller's `capability.invoke` of a workflow (the router's default is 5 s). */
export const HOST_INVOKE_TIMEOUT_MS = 9_000
/** One external tool (systemctl, journalctl, nft, apt-get -s) gets this long before it is killed. */
export const HOST_TOOL_TIMEOUT_MS = 3_000
/** Output read from one external tool; the rest is cut (and said so). */
export const HOST_TOOL_OUTPUT_MAX_BYTES = 512 * 1024

/** Entries a disk walk visits by default before it stops (its sizes are then lower bounds). */
export const DISK_WALK_MAX_ENTRIES = 50_000
/** Largest directories and files a disk report lists. */
export const DISK_TOP_ENTRIES = 10
/** Free space below this share of a file system is a warning, below the next a failure. */
export const DISK_FREE_WARN_RATIO = 0.15
export const DISK_FREE_FAIL_RATIO = 0.05

/** Available memory below this share of the total is a warning, below the next a failure. */
export const MEMORY_AVAILABLE_WARN_RATIO = 0.15
export const MEMORY_AVAILABLE_FAIL_RATIO = 0.05
/** 1-minute load per CPU above which the host is short of CPU headroom (warn), or saturated (fail). */
export const LOAD_PER_CPU_WARN = 1.0
export const LOAD_PER_CPU_FAIL = 2.0
/** Clock difference to the caller (transit included) that is a warning, and a failure: frames
 * further in the future than FRAME_DEFAULT_MAX_FUTURE_MS are refused by peers. */
export const CLOCK_SKEW_WARN_MS = 2_000
export const CLOCK_SKEW_FAIL_MS = 30_000
/** An evidence log larger than this is not re-verified by `doctor` (it reports the size instead). */
export const DOCTOR_EVIDENCE_VERIFY_MAX_BYTES = 8 * 1024 * 1024

/** Log bytes read from the end of a configured file. */
export const LOG_TAIL_MAX_BYTES = 512 * 1024
/** Journal entries read for one unit. */
export const JOURNAL_MAX_LINES = 2_000
/** How far back `analyze-logs` looks in the journal. */
export const JOURNAL_SINCE = '-24h'
/** Patterns an `analyze-logs` report lists, and lines it cites per pattern. */
export const LOG_PATTERNS_MAX = 20
export const LOG_CITED_LINES_PER_PATTERN = 3
/** Last log lines a `service-check` cites. */
export const SERVICE_LOG_LINES = 10
/** Restarts of a unit (NRestarts) from which it counts as flapping. */
export const SERVICE_RESTARTS_WARN = 3

/** Processes whose open sockets are scanned to name a listening port's owner. */
export const PROC_SCAN_MAX_PIDS = 2_000
/** Listening sockets, users and similar lists cited per finding. */
export const HOST_LIST_CITED_MAX = 20

/** Largest log `log-redact-copy` copies (and `hygiene-plan` hashes to offer it). The copy reads,
 * hashes, redacts and writes the whole file inside one `actuator.execute`, answered within the
 * approval's 10 s RPC wait: the whole repair measured ~35 ms/MiB on a 2-core machine at load 11
 * (test/bench/log-redact.bench.ts: 50 MiB in 1.7 s, the redaction alone 0.94 s), so 64 MiB takes
 * ~2.2 s, leaving room for a slower board. A larger log is rotated first. */
export const LOG_REDACT_MAX_BYTES = 64 * 1024 * 1024
/** Largest file `secret-quarantine` moves: keys, env files and keystores are small; a larger file
 * in a secret path is not what this repair is for (and hashing it twice must stay quick). */
export const SECRET_QUARANTINE_MAX_BYTES = 16 * 1024 * 1024

/** GPU temperature from which `doctor` warns, and fails: NVIDIA boards start to slow their clocks
 * in the high 80s °C and shut down near 100 °C; a Jetson throttles from ~97 °C (tj). */
export const GPU_TEMP_WARN_C = 85
export const GPU_TEMP_FAIL_C = 95
/** Share of a GPU's memory in use from which `doctor` warns (the next allocation fails). */
export const GPU_MEMORY_WARN_RATIO = 0.95
