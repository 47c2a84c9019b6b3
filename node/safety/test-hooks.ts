/**
 * Test hooks of the safety runtime, off unless their environment variable is set. Crash tests need
 * to kill a process at a precise point of an execution; a real device write takes time, the mock
 * one does not, so the hook stands in for that time.
 */

/** Milliseconds to hold an execution after the ledger's `started` record is durable and before the
 * device is touched (a test kills the actuator or the command center meanwhile). */
export const HOLD_EXECUTION_ENV = 'CLAWMESH_TEST_HOLD_EXECUTION_MS'
/** A hold never outlasts the command center's wait for the actuator. */
const HOLD_EXECUTION_MAX_MS = 10_000

export async function holdExecutionForTests(proposalId: string, log: (line: string) => void): Promise<void> {
  const holdMs = Math.min(Number(process.env[HOLD_EXECUTION_ENV] ?? 0), HOLD_EXECUTION_MAX_MS)
  if (!(holdMs > 0)) return
  log(`test hook: holding execution of ${proposalId} for ${holdMs} ms (started, device not yet touched)`)
  await new Promise((resolve) => setTimeout(resolve, holdMs))
}
