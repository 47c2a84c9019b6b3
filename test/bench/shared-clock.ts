/**
 * The clock every process of a bench run stamps and reads send times with, in ms: the machine's
 * monotonic clock (CLOCK_MONOTONIC through `process.hrtime`), one clock for all processes on one
 * machine and never stepped.
 *
 * Until 2026-12-07 the benches used the wall clock at each process's start plus its
 * `performance.now()`. When the wall clock moved between two processes' starts, their stamps
 * disagreed by as much: a fan-out mqtt round measured every frame at −7 ms (22:23 UTC that day), and
 * a move the other way would have added to every latency unseen.
 */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6
