/**
 * The clock every process of a bench run stamps and reads send times with, in ms: the machine's
 * monotonic clock (CLOCK_MONOTONIC through `process.hrtime`), one clock for all processes on one
 * machine, read in one call and never stepped.
 *
 * Until 2026-12-07 the benches used each process's time origin (the wall clock read as it starts)
 * plus its `performance.now()`. A process that read its two clocks apart at start-up (descheduled
 * between them on a loaded machine), or a wall-clock step between two starts, put every stamp of
 * that process off by as much: a fan-out mqtt round measured every frame at −7 ms (22:23 UTC that
 * day), and 3 of 193 fresh processes watched under bench load were 0.4–1.3 ms off. An offset the
 * other way adds to every latency unseen.
 */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6
