/**
 * Fleet host operations over a real 2-node site (command center + field node, both with
 * `--host-ops`; PATH starts with a systemctl stand-in whose failed units the test switches per node):
 * `monitor-check` returns a valid row per node and is stored as evidence; the monitor agent on the
 * leader raises one `event` per crossing, with hysteresis; `policy-check` answers match what the
 * command center actually does for a viewer, an operator and the planner; the host-sensitive access
 * class refuses a viewer; capacity and provision plans come from the nodes' real facts.
 */
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliClient, connectCliClient } from '../node/cli/client-node.ts'
import { evidenceLogPaths } from '../node/safety/evidence-log-writer.ts'
import type { ClawMeshError } from '../protocol/errors.ts'
import { findingsReportSchema } from '../protocol/host-ops/findings.ts'
import { type FleetCheck, fleetCheckSchema } from '../protocol/host-ops/fleet.ts'
import type { PolicyCheckResult } from '../protocol/rpc/methods.ts'
import { type OperatorCertificate, signApproval } from '../protocol/safety/index.ts'
import { signerFromPrivateKey, signValue } from '../protocol/signing.ts'
import { loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { statePaths } from '../runtime/state/state-dir.ts'
import { type FarmSite, startFarmSite, waitForZoneObservations } from './helpers/farm-site.ts'
import { cliJson, runCli, stopAll, waitFor, waitForPlannerLead } from './helpers/processes.ts'

const FIXTURES = join(import.meta.dirname, 'fixtures/host-ops')
const VALVE = 'actuator:valve:zone-1'
/** The monitor agent's interval in this test: the shortest allowed. */
const INTERVAL = '5s'
const AGENT_WAIT_MS = 40_000

let site: FarmSite<'bob' | 'viewer'>

beforeAll(async () => {
  const path = process.env['PATH']
  process.env['PATH'] = `${join(FIXTURES, 'monitor-bin')}:${join(FIXTURES, 'bin')}:${path}`
  try {
    site = await startFarmSite({
      ccArgs: ['--host-ops'],
      extraFieldArgs: ['--host-ops'],
      operators: [
        { name: 'bob', roles: 'operator' },
        { name: 'viewer', roles: 'viewer' },
      ],
    })
  } finally {
    process.env['PATH'] = path
  }
  await waitFor('the field node advertising host:field-1', async () => {
    const { capabilities } = await cliJson<{ capabilities: { capability: string }[] }>(
      ['capabilities', '--url', site.cc.url],
      site.dirs.cc,
    )
    return capabilities.some((entry) => entry.capability === 'host:field-1') ? true : undefined
  })
  await waitForPlannerLead(site.cc, site.dirs.cc)
}, 90_000)

afterAll(async () => {
  await stopAll()
})

async function withClient<T>(dir: string, use: (client: CliClient) => Promise<T>): Promise<T> {
  const client = await connectCliClient(site.cc.url, dir)
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

async function errorOf(call: Promise<unknown>): Promise<{ code: string; data?: Record<string, unknown> }> {
  try {
    await call
  } catch (error) {
    const clawError = error as ClawMeshError
    return { code: clawError.code, ...(clawError.data === undefined ? {} : { data: clawError.data }) }
  }
  throw new Error('the call succeeded; it should have been refused')
}

const policyCheck = (subject: string, action: string, resource: string) =>
  cliJson<PolicyCheckResult>(['policy-check', subject, action, resource, '--url', site.cc.url], site.dirs.cc)

async function monitorCheck(): Promise<FleetCheck> {
  return fleetCheckSchema.parse(await cliJson(['monitor-check', '--url', site.cc.url], site.dirs.cc))
}

async function alertEvents(): Promise<{ type: string; message: string }[]> {
  const { frames } = await cliJson<{ frames: { data: { type: string; message: string } }[] }>(
    ['world', '--url', site.cc.url, '--kind', 'event', '--limit', '500'],
    site.dirs.cc,
  )
  return frames
    .map((frame) => frame.data)
    .filter((data) => data.type.startsWith('host-finding-') && data.message.includes('field-1: failed-units'))
}

const failedUnitsFile = () => join(site.dirs.field, 'failed-units.txt')

describe('fleet host operations over a real mesh', () => {
  it('monitor-check runs doctor on both nodes at once, one valid row each, stored as evidence', async () => {
    const check = await monitorCheck()
    expect(check.checkedBy).toBe('command-center')
    expect(check.rows.map((row) => row.node).sort()).toEqual(['command-center', 'field-1'])
    for (const row of check.rows) {
      expect(row.status).not.toBe('unreachable')
      expect(row.counts.ok + row.counts.warn + row.counts.fail + row.counts.unavailable).toBeGreaterThan(0)
    }
    // No failed-units file yet: the stand-in lists no failed unit.
    expect(check.rows.find((row) => row.node === 'field-1')?.failing.map((item) => item.id)).not.toContain(
      'failed-units',
    )
    const entries = (await readFile(evidenceLogPaths(site.dirs.cc).log, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { seq: number; type: string; data: FleetCheck })
    const stored = entries.find((entry) => entry.seq === check.evidenceSeq)
    expect(stored?.type).toBe('fleet_check')
    expect(stored?.data.rows.map((row) => row.node).sort()).toEqual(['command-center', 'field-1'])
    expect((await runCli(['evidence', 'verify'], site.dirs.cc)).code).toBe(0)
  })

  it('a viewer runs doctor but is refused security-check; an operator runs both (host-sensitive)', async () => {
    const invoke = (dir: string, operation: string) =>
      withClient(dir, (client) =>
        client.call('capability.invoke', {
          capability: 'host:field-1',
          operation,
          args: {},
          timeoutMs: 9_000,
        }),
      )
    const doctor = await invoke(site.dirs.viewer, 'doctor')
    expect(findingsReportSchema.parse(doctor.result).node).toBe('field-1')
    for (const operation of ['security-check', 'analyze-logs', 'disk-investigate']) {
      expect(await errorOf(invoke(site.dirs.viewer, operation))).toMatchObject({ code: 'FORBIDDEN' })
    }
    const security = await invoke(site.dirs.bob, 'security-check')
    expect(findingsReportSchema.parse(security.result).workflow).toBe('security-check')
    // Its frame reaches viewers too: statuses for the Fleet view, no summaries.
    const report = findingsReportSchema.parse(security.result)
    const frame = await waitFor('the security-check frame at the command center', async () => {
      const { frames } = await cliJson<{
        frames: { data: { workflow: string; startedAt: number; findings: { summary: string }[] } }[]
      }>(['world', '--url', site.cc.url, '--kind', 'host_findings', '--limit', '100'], site.dirs.cc)
      return frames.find(
        (item) => item.data.workflow === 'security-check' && item.data.startedAt === report.startedAt,
      )
    })
    expect(frame.data.findings.length).toBeGreaterThan(0)
    expect(frame.data.findings.every((finding) => finding.summary === '')).toBe(true)
    expect(report.findings.some((finding) => finding.summary !== '')).toBe(true)
    // policy-check says the same, from the same rule.
    expect((await policyCheck('viewer', 'read_state', 'host:field-1/security-check')).answer).toMatchObject({
      decision: 'deny',
      rule: 'host-access',
    })
    expect((await policyCheck('viewer', 'read_state', 'host:field-1/doctor')).answer.decision).toBe('allow')
    expect((await policyCheck('bob', 'read_state', 'host:field-1/security-check')).answer.decision).toBe(
      'allow',
    )
  })

  it("policy-check answers match the node: a viewer's proposal and approval, bob's L2, the planner's approval", async () => {
    await waitForZoneObservations(site, 'zone-1')
    // A viewer proposes: refused by the node, and policy-check says deny.
    const viewerProposes = await policyCheck('viewer', 'propose', `${VALVE}/open`)
    expect(viewerProposes.answer).toMatchObject({ decision: 'deny', rule: 'rpc:proposal.create' })
    expect(
      await errorOf(
        withClient(site.dirs.viewer, (client) =>
          client.call('proposal.create', { capability: VALVE, operation: 'open', args: { durationSec: 30 } }),
        ),
      ),
    ).toMatchObject({ code: 'FORBIDDEN' })

    // Bob (by name) proposes an L2: policy-check says one approval is needed, the node agrees.
    const bobExecutes = await policyCheck('bob', 'execute', `${VALVE}/open`)
    expect(bobExecutes.subject).toEqual({ kind: 'operator', name: 'bob', roles: ['operator'] })
    expect(bobExecutes.answer).toMatchObject({ decision: 'needs-approval', level: 'L2', approvers: 1 })
    const created = (await withClient(site.dirs.bob, (client) =>
      client.call('proposal.create', { capability: VALVE, operation: 'open', args: { durationSec: 30 } }),
    )) as { proposal: { hash: string; state: string; proposal: { id: string; level: string } } }
    expect(created.proposal.proposal.level).toBe('L2')
    expect(created.proposal.state).toBe('awaiting_approval')
    const { id } = created.proposal.proposal

    // The viewer's signed approval: policy-check and the node refuse it with the same code.
    expect((await policyCheck('viewer', 'approve', `${VALVE}/open`)).answer).toMatchObject({
      decision: 'deny',
      rule: 'policy:viewer-cannot-approve',
    })
    const viewerApproval = await approvalBy('viewer', created.proposal.hash)
    expect(
      await errorOf(
        withClient(site.dirs.viewer, (client) =>
          client.call('proposal.approve', { id, approval: viewerApproval }),
        ),
      ),
    ).toMatchObject({ code: 'POLICY_DENIED', data: { code: 'viewer-cannot-approve' } })

    // The planner holds no operator certificate: what it could hand in is an approval without one.
    const plannerApproves = await policyCheck('planner', 'approve', `${VALVE}/open`)
    expect(plannerApproves.answer).toMatchObject({ decision: 'deny', rule: 'policy:malformed-approval' })
    const plannerKey = await loadOrCreateIdentity(statePaths(site.dirs.cc).deviceIdentity)
    const body = {
      version: 1,
      proposalHash: created.proposal.hash,
      decision: 'approve',
      at: Date.now(),
      nonce: 'planner-approval',
      operatorLink: 'local',
    }
    const withoutCertificate = {
      body,
      signature: await signValue(signerFromPrivateKey(plannerKey.privateKey), 'approval', body),
    }
    expect(
      await errorOf(
        withClient(site.dirs.cc, (client) =>
          // Deliberately outside the approval schema: what a key without a certificate can sign.
          client.call('proposal.approve', { id, approval: withoutCertificate as never }),
        ),
      ),
    ).toMatchObject({ code: 'POLICY_DENIED', data: { code: 'malformed-approval' } })
    // And the planner may propose (through its tool), as the node lets it.
    expect((await policyCheck('planner', 'propose', `${VALVE}/open`)).answer.decision).toBe('allow')
    expect(
      (
        await runCli(
          ['policy-check', 'nobody', 'approve', `${VALVE}/open`, '--url', site.cc.url],
          site.dirs.cc,
        )
      ).code,
    ).toBe(1)
  })

  it('the monitor agent raises one alert per crossing, with hysteresis', async () => {
    const started = await cliJson<{ running: boolean; leading: boolean }>(
      ['monitor-agent', INTERVAL, '--url', site.cc.url],
      site.dirs.cc,
    )
    expect(started).toMatchObject({ running: true, leading: true })
    expect(await alertEvents()).toEqual([])
    await writeFile(failedUnitsFile(), await readFile(join(FIXTURES, 'failed-units.txt')))
    await waitFor(
      'the failed-units alert',
      async () => ((await alertEvents()).length > 0 ? true : undefined),
      AGENT_WAIT_MS,
    )
    const runsAtAlert = await agentRuns()
    // Still failing over two more runs: no second alert.
    await waitFor(
      'two more monitor runs',
      async () => ((await agentRuns()) >= runsAtAlert + 2 ? true : undefined),
      AGENT_WAIT_MS,
    )
    expect((await alertEvents()).map((event) => event.type)).toEqual(['host-finding-failed'])

    await rm(failedUnitsFile())
    await waitFor(
      'the recovery after two clear runs',
      async () => ((await alertEvents()).length === 2 ? true : undefined),
      AGENT_WAIT_MS,
    )
    await writeFile(failedUnitsFile(), await readFile(join(FIXTURES, 'failed-units.txt')))
    await waitFor(
      'the second crossing',
      async () => ((await alertEvents()).length === 3 ? true : undefined),
      AGENT_WAIT_MS,
    )
    const events = await alertEvents()
    expect(events.map((event) => event.type).sort()).toEqual([
      'host-finding-failed',
      'host-finding-failed',
      'host-finding-recovered',
    ])
    expect(events.find((event) => event.type === 'host-finding-failed')?.message).toContain('nginx.service')
    const stopped = await cliJson<{ running: boolean }>(
      ['monitor-agent', 'off', '--url', site.cc.url],
      site.dirs.cc,
    )
    expect(stopped.running).toBe(false)
  }, 150_000)

  it('capacity-plan and provision-plan plan from the real facts and never create anything', async () => {
    await monitorCheck()
    const budgetFile = join(site.dirs.cc, 'budget.json')
    await writeFile(
      budgetFile,
      JSON.stringify({
        workloads: { tiny: { cpus: 0.01, memMb: 1 }, huge: { cpus: 512, memMb: 1024 } },
        nodeTypes: [{ name: 'gpu-box', cpus: 1024, memMb: 1_048_576, monthlyCost: 400 }],
        monthlyBudget: 100,
      }),
    )
    const plan = await cliJson<{
      nodes: { node: string; memFreeMb: number; fits: Record<string, number> }[]
    }>(['capacity-plan', '--budget', budgetFile, '--url', site.cc.url], site.dirs.cc)
    expect(plan.nodes.map((node) => node.node).sort()).toEqual(['command-center', 'field-1'])
    for (const node of plan.nodes) expect(node.fits['huge']).toBe(0)
    const provision = await cliJson<{
      unplaced: number
      additional?: { nodeType: string; nodes: number; withinBudget: boolean }
    }>(['provision-plan', 'huge', '3', '--budget', budgetFile, '--url', site.cc.url], site.dirs.cc)
    expect(provision.unplaced).toBe(3)
    // A gpu-box keeps a fifth of its 1024 CPUs free: 819 hold one 512-CPU instance each.
    expect(provision.additional).toMatchObject({ nodeType: 'gpu-box', nodes: 3, withinBudget: false })
    // The plan created nothing: the mesh still has its two nodes.
    const { capabilities } = await cliJson<{ capabilities: { capability: string }[] }>(
      ['capabilities', '--url', site.cc.url],
      site.dirs.cc,
    )
    expect(
      capabilities
        .filter((entry) => entry.capability.startsWith('host:'))
        .map((entry) => entry.capability)
        .sort(),
    ).toEqual(['host:command-center', 'host:field-1'])
  })
})

async function agentRuns(): Promise<number> {
  return (await cliJson<{ runs: number }>(['monitor-agent', 'status', '--url', site.cc.url], site.dirs.cc))
    .runs
}

async function approvalBy(name: 'bob' | 'viewer', proposalHash: string) {
  const dir = site.dirs[name]
  const key = await loadOrCreateIdentity(statePaths(dir).cliIdentity)
  const certificate = JSON.parse(
    await readFile(join(dir, `${name}-cert.json`), 'utf8'),
  ) as OperatorCertificate
  return signApproval(signerFromPrivateKey(key.privateKey), {
    proposalHash,
    decision: 'approve',
    operatorCertificate: certificate,
    operatorLink: 'local',
    at: Date.now(),
  })
}
