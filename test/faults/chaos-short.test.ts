/**
 * The chaos loop's CI cut (issue #20; the bench is test/bench/chaos.bench.ts): a command center and
 * three field nodes, real processes, proposals made and approved every 2 s for 20 s, one field node
 * and then the command center killed with SIGKILL and restarted on their state dirs; then the
 * invariant checker reads every ledger and evidence log and must find nothing.
 *
 * What it pins is the chain end to end, under kills the test does not aim: the actuator's ledger
 * (`started` durable before the device, a replay answered from it), the command center's resume of
 * approved and executing proposals after a restart, the dispatcher's retry of an unreachable
 * actuator, and every ending recorded with its reason (in the proposal store and as an `outcome`
 * evidence entry). Which guard a given run exercises depends on where the kills land; the guards are
 * pinned one by one in test/safety-crash.test.ts and in the checker's own tests
 * (test/tools/chaos-invariants.test.ts), which break each invariant on purpose.
 *
 * The second test pins the loop itself: a restart that never listens does not end the run; it is
 * retried, then reported as not back, and the checker still reads that node's records.
 */
import { rm } from 'node:fs/promises'
import { afterAll, expect, it } from 'vitest'
import { RESTART_ATTEMPTS, runChaosLoop } from '../bench/chaos-loop.ts'
import { stopAll } from '../helpers/processes.ts'

/** 20 s of chaos, start-up and settling: about a minute on a quiet 2-core machine, more when it is
 * shared. */
const CHAOS_SHORT_TIMEOUT_MS = 180_000

afterAll(stopAll)

it(
  'kill -9 of a field node and of the command center while operators approve: no invariant broken',
  async () => {
    const result = await runChaosLoop({
      durationMs: 20_000,
      killEveryMs: 8_000,
      proposalsPerSecond: 0.5,
      killPlan: ['field', 'command-center'],
      downMs: [500, 1_500],
      proposalTtlMs: 20_000,
      seed: 7,
      // Every restart counts as slow: one past the bound is recorded and waited for, not fatal.
      restartReadyBoundMs: 1,
    })
    try {
      expect(result.report.violations).toEqual([])
      expect(result.notBack).toEqual({})
      expect(Object.values(result.kills).reduce((sum, count) => sum + count, 0)).toBe(2)
      expect(result.kills['command-center']).toBe(1)
      expect(result.restarts.map((restart) => restart.node).sort()).toEqual(Object.keys(result.kills).sort())
      expect(result.restarts.every((restart) => restart.readyMs > result.restartReadyBoundMs)).toBe(true)
      // The checker saw real work: proposals approved and executed, not an idle mesh.
      expect(result.report.approved).toBeGreaterThan(0)
      expect(result.report.executed).toBeGreaterThan(0)
      expect(result.unsettled).toBe(0)
    } finally {
      await Promise.all(
        Object.values(result.stateDirs).map((dir) => rm(dir, { recursive: true, force: true })),
      )
    }
  },
  CHAOS_SHORT_TIMEOUT_MS,
)

it(
  'a node that never listens again is retried, reported as not back, and its records still read',
  async () => {
    const result = await runChaosLoop({
      durationMs: 8_000,
      killEveryMs: 5_000,
      proposalsPerSecond: 0.5,
      killPlan: ['field'],
      downMs: [500, 500],
      proposalTtlMs: 10_000,
      seed: 7,
      // No start can listen this fast: each is killed at the bound.
      restartGiveUpMs: 1,
    })
    try {
      const [victim] = Object.keys(result.kills)
      expect(Object.keys(result.kills)).toHaveLength(1)
      expect(Object.keys(result.notBack)).toEqual([victim])
      expect(result.failedStarts.map((failed) => [failed.node, failed.why])).toEqual(
        Array.from({ length: RESTART_ATTEMPTS }, () => [victim, 'timeout']),
      )
      expect(result.restarts).toEqual([])
      // The node that is not back is still read: its records are part of the verdict.
      expect(result.report.nodes.map((node) => node.name)).toContain(victim)
    } finally {
      await Promise.all(
        Object.values(result.stateDirs).map((dir) => rm(dir, { recursive: true, force: true })),
      )
    }
  },
  CHAOS_SHORT_TIMEOUT_MS,
)
