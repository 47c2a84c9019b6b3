/** `clawmesh demo-actuate` end to end: the approved run moves the valve; `--llm-only` is refused at the command center and at the actuator. */
import { describe, expect, it } from 'vitest'
import { makeStateDir, runCli } from './helpers/processes.ts'

describe('clawmesh demo-actuate', () => {
  it('executes an approved proposal once and the valve opens', async () => {
    const result = await runCli(['demo-actuate'], await makeStateDir('demo-actuate'))
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/valve open: false\n2\. bob approves/)
    expect(result.stdout).toContain('policy: allow')
    expect(result.stdout).toContain('proposal completed')
    expect(result.stdout).toMatch(/3\. .*\n {3}valve open: true/)
    expect(result.stdout).toContain('execution frames: 1')
  })

  it('--llm-only is refused by the command center and by the actuator, and nothing moves', async () => {
    const result = await runCli(['demo-actuate', '--llm-only'], await makeStateDir('demo-actuate'))
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('refused by the command center: POLICY_DENIED llm-only-evidence')
    expect(result.stdout).toContain('refused by the actuator: POLICY_DENIED llm-only-evidence')
    expect(result.stdout).toContain('valve open: false — nothing moved.')
  })
})
