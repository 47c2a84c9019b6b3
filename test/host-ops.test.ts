/**
 * Host operations over a real 2-node mesh: a command center (started with `--host-ops`) and a
 * field node (hostOps in node.json) whose PATH starts with stand-ins for systemctl/journalctl
 * (test/fixtures/host-ops). Every workflow answers with findings that parse against the protocol
 * schema, is in the field node's evidence log and in the command center's world model; absent
 * sources are `unavailable`; disk-investigate stays within its paths and its entry limit.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliClient, connectCliClient } from '../node/cli/client-node.ts'
import { evidenceLogPaths } from '../node/safety/evidence-log-writer.ts'
import {
  type FindingsReport,
  findingsReportSchema,
  hostFindingsFrameDataSchema,
} from '../protocol/host-ops/findings.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  runCli,
  startNode,
  startNodeFromConfig,
  stopAll,
  trustEachOther,
  waitFor,
} from './helpers/processes.ts'

const STAND_INS = join(import.meta.dirname, 'fixtures/host-ops/bin')
/** The field node's walk limit: the test tree has more entries than this. */
const WALK_LIMIT = 50
const FIELD = 'host:field-1'

let hub: NodeProcess
let field: NodeProcess
let client: CliClient
let diskRoot: string
let logFile: string
let missingLog: string

beforeAll(async () => {
  const [hubDir, fieldDir] = await Promise.all([makeStateDir('hub'), makeStateDir('field')])
  const work = await makeStateDir('host-data')
  diskRoot = join(work, 'data')
  // 3 directories × 30 files: 93 entries, more than WALK_LIMIT; `big` holds the largest files.
  for (const [dir, size] of [
    ['big', 4096],
    ['mid', 1024],
    ['small', 16],
  ] as const) {
    await mkdir(join(diskRoot, dir), { recursive: true })
    for (let index = 0; index < 30; index++)
      await writeFile(join(diskRoot, dir, `f${index}.bin`), Buffer.alloc(size + index))
  }
  logFile = join(work, 'app.log')
  missingLog = join(work, 'never-written.log')
  await writeFile(
    logFile,
    [
      '2026-01-02T03:04:05Z app[12]: ERROR connection to 10.0.0.7:5432 failed after 3 retries',
      '2026-01-02T03:05:05Z app[12]: ERROR connection to 10.0.0.9:5432 failed after 4 retries',
      '2026-01-02T03:06:05Z app[12]: all good',
    ].join('\n'),
  )
  const [hubId] = await trustEachOther([hubDir, fieldDir], ['hub', 'field-1'])
  hub = await startNode(hubDir, ['--name', 'hub', '--role', 'planner', '--host-ops'])
  const path = process.env['PATH']
  process.env['PATH'] = `${STAND_INS}:${path}`
  try {
    field = await startNodeFromConfig(fieldDir, {
      name: 'field-1',
      peers: [`${hubId}=${hub.url}`],
      hostOps: {
        enabled: true,
        diskPaths: [diskRoot],
        logSources: [logFile, missingLog],
        diskWalkMaxEntries: WALK_LIMIT,
      },
    })
  } finally {
    process.env['PATH'] = path
  }
  client = await connectCliClient(hub.url, hub.stateDir)
  await waitFor('the field node advertising host:field-1', async () => {
    const { peers } = await client.call('mesh.peers', {})
    return peers.some((peer) => peer.state === 'connected' && peer.capabilities.includes(FIELD))
      ? true
      : undefined
  })
}, 60_000)

afterAll(async () => {
  await client?.close()
  await stopAll()
})

async function invoke(operation: string, args: Record<string, unknown> = {}): Promise<FindingsReport> {
  const answer = await client.call('capability.invoke', {
    capability: FIELD,
    operation,
    args,
    timeoutMs: 9_000,
  })
  expect(answer.provider).toBe(field.deviceId)
  return findingsReportSchema.parse(answer.result)
}

const byId = (report: FindingsReport, id: string) => report.findings.find((finding) => finding.id === id)

/** The run is in the field node's evidence log and, as a frame, in the command center's world model. */
async function expectRecorded(report: FindingsReport): Promise<void> {
  const lines = (await readFile(evidenceLogPaths(field.stateDir).log, 'utf8')).trim().split('\n')
  const entry = lines
    .map((line) => JSON.parse(line) as { type: string; data: FindingsReport })
    .find(
      (item) =>
        item.type === 'host_findings' &&
        item.data.startedAt === report.startedAt &&
        item.data.workflow === report.workflow,
    )
  expect(entry, `${report.workflow} in the evidence log`).toBeDefined()
  expect(findingsReportSchema.parse(entry?.data).findings.map((finding) => finding.id)).toEqual(
    report.findings.map((finding) => finding.id),
  )
  const frame = await waitFor(`${report.workflow} findings in the hub's world model`, async () => {
    const { frames } = await client.call('mesh.world.query', {
      kind: 'host_findings',
      origin: field.deviceId,
      limit: 100,
    })
    return frames
      .map((item) => hostFindingsFrameDataSchema.parse((item as { data: unknown }).data))
      .find((data) => data.workflow === report.workflow && data.startedAt === report.startedAt)
  })
  expect(frame.node).toBe('field-1')
  expect(frame.findings.length + frame.omitted).toBe(report.findings.length)
}

describe('host operations over a real mesh', () => {
  it('doctor (from the CLI, --node) reports this machine and the stand-in systemd, and is recorded', async () => {
    const report = findingsReportSchema.parse(
      await cliJson(['doctor', '--node', 'field-1', '--url', hub.url], hub.stateDir),
    )
    expect(report).toMatchObject({ node: 'field-1', workflow: 'doctor' })
    expect(report.facts?.['cpus']).toBeGreaterThan(0)
    expect(report.facts?.['memTotalMb']).toBeGreaterThan(0)
    // systemctl here is the stand-in: its failed nginx unit is a failure, not "ok".
    expect(byId(report, 'failed-units')).toMatchObject({ status: 'fail' })
    expect(byId(report, 'failed-units')?.summary).toContain('nginx.service')
    expect(byId(report, 'clock-skew')?.status).toBe('ok')
    expect(byId(report, 'evidence-log')?.status).toBe('ok')
    // No GPU and no GPU tool in this container: said, with the reason, never `ok`.
    expect(byId(report, 'gpu')?.status).toBe('unavailable')
    expect(byId(report, 'gpu')?.evidence[0]?.fact).toContain('nvidia-smi is not installed')
    expect(report.facts?.['gpu']).toMatch(/^(none|\d+ present, load unknown)$/)
    await expectRecorded(report)
  })

  it('disk-investigate stops at its entry limit and names the largest directory', async () => {
    const cut = await invoke('disk-investigate', { path: diskRoot })
    expect(byId(cut, 'walk')).toMatchObject({ status: 'warn' })
    expect(byId(cut, 'walk')?.evidence[0]?.fact).toContain(`visited ${WALK_LIMIT}, limit ${WALK_LIMIT}`)
    const whole = await invoke('disk-investigate', { path: join(diskRoot, 'big') })
    expect(byId(whole, 'walk')?.status).toBe('ok')
    expect(byId(whole, 'largest-files')?.evidence[0]).toEqual({
      source: join(diskRoot, 'big', 'f29.bin'),
      fact: '4125 bytes',
    })
    await expectRecorded(whole)
  })

  it('disk-investigate refuses a path outside its configured paths', async () => {
    const refused = await runCli(
      ['disk-investigate', '/etc', '--node', 'field-1', '--url', hub.url],
      hub.stateDir,
    )
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain('outside the paths this node may investigate')
    const lines = (await readFile(evidenceLogPaths(field.stateDir).log, 'utf8')).trim().split('\n')
    expect(lines.some((line) => line.includes('"target":"/etc"'))).toBe(false)
    // The refusal is counted where it happened, visible in the field node's health.
    const local = await connectCliClient(field.url, field.stateDir)
    try {
      const health = await local.call('mesh.health', {})
      expect(health.counters['host-ops.refused.forbidden']).toBeGreaterThanOrEqual(1)
    } finally {
      await local.close()
    }
  })

  it('security-check reads accounts and the listening sockets of this machine', async () => {
    const report = await invoke('security-check')
    expect(new Set(report.findings.map((finding) => finding.check))).toEqual(
      new Set(['ssh', 'accounts', 'network', 'firewall', 'updates', 'secrets']),
    )
    // This field node has no hostOps.secretPaths: nothing was looked at, so nothing is `ok`.
    expect(byId(report, 'exposed-secrets')?.status).toBe('unavailable')
    expect(byId(report, 'uid0-accounts')?.summary).toContain('root')
    // The field node's own listener is a fact this check must see.
    expect(
      byId(report, 'listening-sockets')?.evidence.some((item) =>
        item.fact.includes(`127.0.0.1:${field.port}`),
      ),
    ).toBe(true)
    for (const finding of report.findings) {
      if (finding.status === 'unavailable') expect(finding.evidence[0]?.fact).not.toBe('')
    }
    await expectRecorded(report)
  })

  it('analyze-logs groups journal and file errors; an absent source is unavailable, an unlisted one refused', async () => {
    const journal = await invoke('analyze-logs', { source: 'nginx.service' })
    expect(byId(journal, 'log-pattern-1')?.summary).toMatch(/^3× error: .*bind\(\) to <ip> failed/)
    await expectRecorded(journal)
    const file = await invoke('analyze-logs', { source: logFile })
    expect(byId(file, 'log-pattern-1')).toMatchObject({ status: 'warn' })
    expect(byId(file, 'log-pattern-1')?.summary).toContain('2× error')
    expect(byId(file, 'log-pattern-1')?.evidence[0]?.fact).toBe(
      'first seen 2026-01-02T03:04:05Z, last seen 2026-01-02T03:05:05Z',
    )
    const absent = await invoke('analyze-logs', { source: missingLog })
    expect(absent.findings).toHaveLength(1)
    expect(absent.findings[0]).toMatchObject({ status: 'unavailable' })
    expect(absent.findings[0]?.summary).toContain('ENOENT')
    await expect(invoke('analyze-logs', { source: '/etc/shadow' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
  })

  it('service-check reports a failing, restarting unit and a missing one', async () => {
    const nginx = await invoke('service-check', { unit: 'nginx.service' })
    expect(byId(nginx, 'service-state')).toMatchObject({ status: 'fail', risk: 'high' })
    expect(byId(nginx, 'service-state')?.summary).toContain('5 restart(s)')
    expect(byId(nginx, 'service-log')?.evidence.length).toBeGreaterThan(0)
    await expectRecorded(nginx)
    const missing = await invoke('service-check', { unit: 'nosuch.service' })
    expect(byId(missing, 'service-state')?.summary).toContain('no such unit')
  })

  it('list shows both nodes with the facts and health of their last doctor', async () => {
    await invoke('doctor', { callerTime: Date.now() })
    await client.call('capability.invoke', {
      capability: 'host:hub',
      operation: 'doctor',
      args: {},
      timeoutMs: 9_000,
    })
    const listed = await waitFor('both nodes checked in the list', async () => {
      const { nodes } = await cliJson<{
        nodes: { name: string; health: string; facts: Record<string, unknown> }[]
      }>(['list', '--url', hub.url], hub.stateDir)
      return nodes.length === 2 && nodes.every((node) => node.health !== 'unknown') ? nodes : undefined
    })
    expect(listed.map((node) => node.name).sort()).toEqual(['field-1', 'hub'])
    // The stand-in's failed units make the field node's doctor fail.
    expect(listed.find((node) => node.name === 'field-1')?.health).toBe('fail')
    for (const node of listed) expect(node.facts['cpus']).toBeGreaterThan(0)
    // The GPU column's fact is there for every node, GPU or not.
    for (const node of listed) expect(typeof node.facts['gpu']).toBe('string')
    const table = await runCli(['list', '--url', hub.url], hub.stateDir)
    expect(table.stdout.split('\n')[0]).toContain('GPU')
  })
})
