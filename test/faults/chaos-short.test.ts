/**
 * The chaos loop's CI cut (issue #20; the bench is test/bench/chaos.bench.ts): a command center and
 * three field nodes, real processes, proposals made and approved every 2 s for 20 s, one field node
 * and then the command center killed with SIGKILL and restarted on their state dirs; then the
 * invariant checker reads every ledger and evidence log and must find nothing.
 *
 * What it pins is the chain end to end, under kills the test does not aim: the actuator's ledger
 * (`started` durable before the device, a replay answered from it), the command center's resume of
 * approved and executing proposals after a restart, the dispatcher's retry of an unreachable
 * actuator, and every ending recorded with its reason. Which guard a given run exercises depends on
 * where the kills land; the guards are pinned one by one in test/safety-crash.test.ts and in the
 * checker's own tests (test/tools/chaos-invariants.test.ts), which break each invariant on purpose.
 */
import { rm } from 'node:fs/promises'
import { afterAll, expect, it } from 'vitest'
import { runChaosLoop } from '../bench/chaos-loop.ts'
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
    })
    try {
      expect(result.report.violations).toEqual([])
      expect(Object.values(result.kills).reduce((sum, count) => sum + count, 0)).toBe(2)
      expect(result.kills['command-center']).toBe(1)
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
