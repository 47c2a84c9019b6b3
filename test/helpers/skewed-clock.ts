/**
 * Test-only preload: `node --import ./test/helpers/skewed-clock.ts …` with
 * CLAWMESH_TEST_CLOCK_OFFSET_MS=<ms> shifts this process's wall clock (`Date.now()`, `new Date()`)
 * by that much, as a board whose clock drifted or jumped would be. Monotonic time (`performance.now`,
 * timers) is left alone, as NTP skew leaves it. Production entries (node/bin) never load it; the
 * fault tests pass it through `ProcessPlacement.nodeFlags` (test/faults/clock-skew.test.ts).
 *
 * Chosen over libfaketime (not installed here, and an LD_PRELOAD that also fakes the monotonic
 * clock unless told not to): this shifts exactly the clock ClawMesh reads, in any environment.
 */
export const CLOCK_OFFSET_ENV = 'CLAWMESH_TEST_CLOCK_OFFSET_MS'

const offset = Number(process.env[CLOCK_OFFSET_ENV] ?? 0)
if (Number.isFinite(offset) && offset !== 0) {
  const RealDate = Date
  const realNow = RealDate.now.bind(RealDate)
  const SkewedDate = function (this: unknown, ...args: unknown[]) {
    if (!new.target) return new RealDate(realNow() + offset).toString()
    return args.length === 0
      ? new RealDate(realNow() + offset)
      : new (RealDate as unknown as new (...values: unknown[]) => Date)(...args)
  } as unknown as DateConstructor
  Object.setPrototypeOf(SkewedDate, RealDate)
  ;(SkewedDate as { prototype: Date }).prototype = RealDate.prototype
  SkewedDate.now = () => realNow() + offset
  globalThis.Date = SkewedDate
}
