/**
 * Limits of a node's world model. Each number carries the reason it has that value.
 */

/** Frames kept in the history ring. At ~600 B per frame in memory this is ~30 MB, affordable on a
 * Jetson-class field node, and holds about a day of a small farm's readings (40 sensors, one
 * reading a minute ≈ 57,600 frames). The latest frame per key is kept even after it leaves the ring. */
export const WORLD_HISTORY_LIMIT = 50_000

/** Frames a query returns when the caller does not say; a planner prompt or console table
 * shows tens of rows, not thousands. */
export const WORLD_QUERY_DEFAULT_LIMIT = 100

export { WORLD_QUERY_MAX_LIMIT } from '../../protocol/limits.ts'

/** A snapshot older than this is not restored at start-up: the field has moved on, and stale
 * "latest" values would mislead the planner. Peers re-sync the recent history instead. */
export const WORLD_SNAPSHOT_MAX_AGE_MS = 6 * 60 * 60_000

/** Half-life-like time constant for the recency part of `rank()`: a frame this old has lost ~63%
 * of its recency weight. Field conditions change over tens of minutes. */
export const WORLD_RANK_RECENCY_MS = 15 * 60_000

/** Default size of the planner summary; a few thousand characters keep the prompt small. */
export const WORLD_SUMMARY_DEFAULT_CHARS = 4_000
