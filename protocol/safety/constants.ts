/**
 * Limits and fixed parameters of the safety core. Each value carries the reason it has that value;
 * the sender, the command center and the actuator all read them from here so they cannot disagree.
 */

/** Tolerated clock difference between the node that signed something and the node checking it.
 * Field nodes sync over NTP or GPS when they can; 30 s covers a node that drifted between syncs
 * without letting a certificate be used meaningfully before its issue time. */
export const CLOCK_SKEW_TOLERANCE_MS = 30_000

/** Longest validity an operator certificate may claim. A year matches a shift roster's lifetime;
 * longer-lived certificates are refused as malformed so a leaked one cannot live for ever. */
export const OPERATOR_CERTIFICATE_MAX_VALIDITY_MS = 366 * 24 * 60 * 60 * 1000

/** Longest lifetime of a proposal (expiresAt - createdAt). An actuation decided on yesterday's
 * evidence should be proposed again on today's. */
export const PROPOSAL_MAX_LIFETIME_MS = 24 * 60 * 60 * 1000

/** Window in which a second proposal with the same target, capability, operation and arguments is
 * merged into the first. A planner re-triggered by the same alarm every few seconds must not flood
 * operators with copies; a minute covers a burst of triggers. */
export const PROPOSAL_DEDUP_WINDOW_MS = 60_000

/** Distinct proposals a deduplicator remembers; oldest are forgotten first. Far above what a
 * planner emits in one window, and it bounds memory if one misbehaves. */
export const PROPOSAL_DEDUP_MAX_ENTRIES = 1_024

/** Evidence references one proposal may carry: enough to cite every sensor in a zone. */
export const PROPOSAL_MAX_EVIDENCE = 64

/** Canonical JSON size of a proposal's arguments. Actuator operations take a handful of numbers
 * and names; 4 KiB leaves room without letting a proposal carry a payload. */
export const PROPOSAL_ARGS_MAX_BYTES = 4 * 1024

/** Length of proposal IDs, operation names, frame IDs and nonces (opaque identifiers). */
export const SAFETY_ID_MAX_LENGTH = 128

/** Notes a proposal record keeps on how it ended (why it was rejected, failed or expired; what the
 * execution reported): one line for the operator, not a log. */
export const PROPOSAL_NOTE_MAX_LENGTH = 1_000
/** A refusal code on a proposal record: a policy denial code (`stale-evidence`) or a hop's own
 * (`command-bad-signature`, `unbound-target`); the longest today is under 40 characters. */
export const PROPOSAL_REFUSAL_CODE_MAX_LENGTH = 64

/** Free-text reason an operator may attach to an approval or rejection. */
export const APPROVAL_REASON_MAX_LENGTH = 500

/** Free-text reason a command center gives for revoking an operator: a sentence for the audit
 * trail ("left the company", "tablet lost"), the same bound as an approval's reason. */
export const REVOCATION_REASON_MAX_LENGTH = 500

/** Nonce bytes generated per approval: 128 bits makes two approvals colliding impossible in
 * practice, so each approval certificate is unique even when signed in the same millisecond. */
export const APPROVAL_NONCE_BYTES = 16

/** Approvals one command may carry. L3 needs two; a few more allow extra sign-offs, more than this
 * only makes the actuator verify signatures for an attacker. */
export const COMMAND_MAX_APPROVALS = 8

/** Cited frames a command carries for an actuator that may not hold them. A proposal needs one
 * relevant observation; a few more cover a zone's sensors. Each frame with its batch proof is at
 * most ~5 KiB, so 16 keep a command far below the RPC message limit. */
export const COMMAND_MAX_EVIDENCE_FRAMES = 16

/** Distinct operators whose valid approvals an L2 proposal needs. */
export const L2_REQUIRED_APPROVERS = 1

/** Distinct operators whose valid approvals an L3 proposal needs (four-eyes rule). */
export const L3_REQUIRED_APPROVERS = 2

/** Default longest age of the evidence an actuation rests on, when the manifest names none: a
 * soil reading from a quarter of an hour ago still describes the bed; one from this morning does
 * not. Field sensors report every few seconds, so fresh evidence is always at hand. */
export const DEFAULT_MAX_EVIDENCE_AGE_MS = 15 * 60_000

/** Size of one evidence log entry's `data` in canonical JSON: a decision with its proposal fits
 * easily; bulk telemetry belongs in frames, not the evidence log. */
export const EVIDENCE_ENTRY_DATA_MAX_BYTES = 64 * 1024

/** `prevHash` of the first entry of an evidence log. */
export const EVIDENCE_GENESIS_PREV_HASH = '0'.repeat(64)

/** Checkpoints of one node's evidence log a peer keeps: the latest and the ones before it. The
 * latest alone catches a cut tail and a rewrite up to it; a few older ones let `verify` name the
 * first place a rewritten log departs from what peers saw. Sixteen (a few hundred bytes each) keeps
 * `evidence/peer-checkpoints.json` small enough to rewrite whole on every accepted checkpoint. */
export const EVIDENCE_CHECKPOINT_HISTORY_MAX = 16

/** Nodes whose checkpoints one node keeps. Only trusted origins get this far, so this only bounds
 * the file against a trust store grown far beyond any site (a farm has tens of devices). */
export const EVIDENCE_CHECKPOINT_NODES_MAX = 256

/** Rollback and fork anomalies kept as evidence. The first ones are kept and later ones only
 * counted: a key holder flooding anomalies must not push the first rollback out of the record. */
export const EVIDENCE_CHECKPOINT_ANOMALIES_MAX = 64
