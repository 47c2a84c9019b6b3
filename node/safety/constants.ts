/**
 * Limits of the node's safety runtime (files and pairing). Each number carries its reason; the
 * protocol-level limits (proposal lifetime, dedup window, approval counts) live in
 * protocol/safety/constants.ts.
 */

/** Terminal proposals (completed, failed, rejected, expired) kept in `safety/proposals.json`. The
 * file is rewritten whole on every change, so it must stay small; the evidence log is the permanent
 * record of every proposal, and the console only needs recent history. */
export const PROPOSAL_STORE_MAX_TERMINAL = 200

/** Changes the proposal journal (`safety/proposals.journal.jsonl`) holds before it is folded into
 * `safety/proposals.json`. Each change is one small fsynced line instead of a rewrite of the whole
 * store (the cost that dominated an approval); a thousand lines of a few KB each replay in
 * milliseconds at start, and the occasional fold (one atomic rewrite) lands on about one approval in
 * 250. */
export const PROPOSAL_JOURNAL_COMPACT_LINES = 1_000

/** Characters of a pairing code. Read aloud or typed from a screen, so 0/O, 1/I/L and U/V are
 * left out (Crockford's reasoning); 30 symbols. */
export const PAIRING_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ'

/** Length of a pairing code: 30^8 ≈ 2^39 codes, so even with PAIRING_MAX_FAILED_ATTEMPTS_PER_WINDOW
 * guesses an attacker's chance is about 1 in 6·10^7 per window, while a person still types it in a
 * few seconds. */
export const PAIRING_CODE_LENGTH = 8

/** Wrong codes one attempting key (the Noise-authenticated peer) may try in a window. Five covers
 * typos; beyond that this key is guessing and is refused for the rest of the window — while the
 * real device, with its own key, can still pair with the right code. */
export const PAIRING_MAX_ATTEMPTS_PER_PEER = 5

/** Wrong codes a window accepts from all keys together before it closes. Keys cost nothing to make,
 * so the per-key limit alone does not stop a guesser who rotates keys; this ceiling does. With
 * 30^8 ≈ 6.6·10^11 codes, 10 000 guesses win with probability ≈ 1.5·10^-8 per window, while one
 * stranger (or a handful) typing wrong codes is nowhere near closing the window on the admin: to
 * burn it takes 2 000 fresh keys and connections, which `pairing.refused.*` counters make visible. */
export const PAIRING_MAX_FAILED_ATTEMPTS_PER_WINDOW = 10_000

/** Longest a pairing window may stay open. Enrolment happens with both people (or devices) at hand;
 * a code left valid for longer is just a credential lying around. */
export const PAIRING_MAX_TTL_MS = 15 * 60 * 1000

/** Text recorded as the outcome of an execution that started and never reported how it ended
 * (the node stopped in between): it is not retried, and a person must look at the device. */
export const INTERRUPTED_EXECUTION_DETAIL = 'interrupted during execution, device state must be checked'

/** Evidence entries after which a node hands its peers a new checkpoint of its log head
 * (node/safety/evidence-checkpoints.ts). Each entry already costs a signature and an fsync; one
 * checkpoint (a signature and one small gossip frame) per sixteen adds about a sixteenth to that,
 * and bounds what a burst can add before peers hear of it. */
export const EVIDENCE_CHECKPOINT_EVERY_ENTRIES = 16

/** How often a node checks whether its log moved since the last checkpoint and, if so, publishes
 * one. This is the time a thief with the disk can cut from the end unseen (docs/safety.md); ten
 * seconds keeps that short while a quiet node publishes nothing. */
export const EVIDENCE_CHECKPOINT_INTERVAL_MS = 10_000

/** A checkpoint is published again after this long even when the log did not move, so a peer that
 * was away longer than context.sync reaches back (30 minutes) still receives one. */
export const EVIDENCE_CHECKPOINT_REFRESH_MS = 10 * 60_000
