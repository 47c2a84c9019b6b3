/**
 * Issue 14 item 8, "an evidence log you cannot shorten quietly", over real processes: a field node
 * records refusals in its evidence log and hands the command center signed checkpoints of its head.
 * A thief who stops the node, cuts the log and deletes head.json used to get `evidence verify` to say
 * OK; against the command center's checkpoints it now reports the cut. A thief who also re-signs a
 * rewritten chain with the node's own device key is caught the same way (the checkpoint's hash no
 * longer matches). And a node restarted on a cut log offers a lower sequence number, which the
 * command center refuses as a rollback and keeps as evidence.
 */
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../node/cli/client-node.ts'
import { callRpcRaw } from '../node/rpc/rpc-client.ts'
import { evidenceLogPaths } from '../node/safety/evidence-log-writer.ts'
import type { EvidenceCheckpointsResult } from '../protocol/rpc/methods.ts'
import { appendEntry, type EvidenceEntry, issueCommand } from '../protocol/safety/index.ts'
import { signerFromPrivateKey } from '../protocol/signing.ts'
import { loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { statePaths } from '../runtime/state/state-dir.ts'
import { startFarmSite } from './helpers/farm-site.ts'
import { cliJson, type NodeProcess, runCli, startNode, stopAll, waitFor } from './helpers/processes.ts'

const VALVE = 'actuator:valve:zone-2'
/** Refusals recorded on the field node before it is stopped. */
const REFUSALS = 4
/** One checkpoint interval (10 s) plus room for gossip and a loaded machine. */
const CHECKPOINT_WAIT_MS = 30_000

let cc: NodeProcess
let field: NodeProcess
let dirs: { cc: string; field: string }
let ids: { cc: string; field: string }
let fieldArgs: string[]
/** The field node's log as it was when the command center held a checkpoint of its head. */
let originalLines: string[]
let checkpointsFile: string

interface VerifyReport {
  ok: boolean
  count: number
  checkpoints?: { checked: number; findings: Array<{ kind: string; seq: number }> }
}

/** A command sent straight to the field node without approvals: the actuator refuses it and
 * records the refusal in its own evidence log. */
async function recordRefusalOnField(index: number): Promise<void> {
  const ccKey = await loadOrCreateIdentity(statePaths(dirs.cc).deviceIdentity)
  const now = Date.now()
  const command = await issueCommand(signerFromPrivateKey(ccKey.privateKey), {
    proposal: {
      version: 1,
      id: `p-unapproved-${index}`,
      capability: VALVE,
      targetNode: ids.field,
      operation: 'open',
      args: { durationSec: 60 },
      level: 'L2',
      evidence: [],
      author: { kind: 'planner', id: ids.cc },
      createdAt: now,
      expiresAt: now + 60_000,
    },
    approvals: [],
    issuedAt: now,
  })
  const client = await connectCliClient(field.url, dirs.field)
  try {
    const answer = await callRpcRaw(client.libp2p, peerIdFromString(ids.field), client.protocol, {
      id: `raw-${index}`,
      method: 'actuator.execute',
      params: { command },
    })
    // Refused (missing approvals, or the leader term until the planner leads): either is recorded.
    expect(answer).toMatchObject({ ok: false })
  } finally {
    await client.close()
  }
}

const fieldLog = () => evidenceLogPaths(dirs.field)

async function verifyField(extra: string[]): Promise<{ code: number; report: VerifyReport }> {
  const result = await runCli(['evidence', 'verify', '--json', ...extra], dirs.field)
  return { code: result.code, report: JSON.parse(result.stdout) as VerifyReport }
}

/** What a thief holding `identity/device.json` can do: rebuild a valid chain from `bodies`. */
async function resignChain(bodies: EvidenceEntry[]): Promise<string[]> {
  const key = await loadOrCreateIdentity(statePaths(dirs.field).deviceIdentity)
  const signer = signerFromPrivateKey(key.privateKey)
  const chain: EvidenceEntry[] = []
  for (const body of bodies)
    chain.push(await appendEntry(chain.at(-1), signer, body.type, body.data, body.at))
  return chain.map((entry) => JSON.stringify(entry))
}

beforeAll(async () => {
  const site = await startFarmSite()
  ;({ cc, field, dirs, ids, fieldArgs } = site)
  for (let index = 0; index < REFUSALS; index++) await recordRefusalOnField(index)
  const { entries } = await cliJson<{ entries: EvidenceEntry[] }>(['evidence', 'list'], dirs.field)
  expect(entries.length).toBeGreaterThanOrEqual(REFUSALS)
  const headSeq = (entries.at(-1) as EvidenceEntry).seq
  // The command center holds a checkpoint of the field node's current head.
  const held = await waitFor(
    `the command center to hold the field node's checkpoint of seq ${headSeq}`,
    async () => {
      const result = await cliJson<EvidenceCheckpointsResult>(
        ['evidence', 'checkpoints', '--url', cc.url, '--node', ids.field],
        dirs.cc,
      )
      return result.checkpoints.at(-1)?.seq === headSeq ? result : undefined
    },
    CHECKPOINT_WAIT_MS,
  )
  expect(held.holder).toBe(ids.cc)
  await field.stop('SIGTERM')
  originalLines = (await readFile(fieldLog().log, 'utf8')).trimEnd().split('\n')
  expect(originalLines).toHaveLength(headSeq + 1)
  // Exported as an auditor would: the file `verify --checkpoints` reads.
  checkpointsFile = join(dirs.field, 'cc-checkpoints.json')
  const exported = await runCli(['evidence', 'checkpoints', '--json', '--node', ids.field], dirs.cc)
  expect(exported.code).toBe(0)
  await writeFile(checkpointsFile, exported.stdout)
  // Untouched, the log matches every checkpoint.
  const intact = await verifyField(['--checkpoints', checkpointsFile])
  expect(intact.code).toBe(0)
  expect(intact.report.checkpoints?.checked).toBeGreaterThan(0)
}, 120_000)

afterAll(stopAll)

describe('evidence checkpoints held by peers', () => {
  it('a log cut from the end with head.json deleted is reported as truncated', async () => {
    await writeFile(fieldLog().log, `${originalLines.slice(0, 1).join('\n')}\n`)
    await rm(fieldLog().head, { force: true })
    // The hole: on its own the cut log verifies.
    expect((await runCli(['evidence', 'verify'], dirs.field)).code).toBe(0)

    const fromFile = await verifyField(['--checkpoints', checkpointsFile])
    expect(fromFile.code).toBe(1)
    expect(fromFile.report.ok).toBe(false)
    expect(fromFile.report.checkpoints?.findings.map((finding) => finding.kind)).toContain('truncated')

    // On another machine, with only the node's device ID and the command center's checkpoints.
    const remote = await runCli(
      ['evidence', 'verify', '--json', '--log', fieldLog().log, '--node', ids.field, '--url', cc.url],
      dirs.cc,
    )
    expect(remote.code).toBe(1)
    const report = JSON.parse(remote.stdout) as VerifyReport
    expect(report.checkpoints?.findings.map((finding) => finding.kind)).toContain('truncated')
  })

  it("a chain rewritten and re-signed with the node's own key is reported as forked", async () => {
    const entries = originalLines.map((line) => JSON.parse(line) as EvidenceEntry)
    // Entry 1 removed, the rest re-signed, and one entry made up so the length is unchanged.
    const bodies = [...entries.slice(0, 1), ...entries.slice(2), entries.at(-1) as EvidenceEntry]
    await writeFile(fieldLog().log, `${(await resignChain(bodies)).join('\n')}\n`)
    await rm(fieldLog().head, { force: true })
    expect((await runCli(['evidence', 'verify'], dirs.field)).code).toBe(0)

    const rewritten = await verifyField(['--checkpoints', checkpointsFile])
    expect(rewritten.code).toBe(1)
    expect(rewritten.report.checkpoints?.findings.map((finding) => finding.kind)).toContain('forked')
    expect(rewritten.report.checkpoints?.findings.every((finding) => finding.kind === 'forked')).toBe(true)
  })

  it('a node restarted on a cut log offers a lower sequence: the command center keeps the rollback', async () => {
    await writeFile(
      fieldLog().log,
      `${(await resignChain(originalLines.slice(0, 2).map((line) => JSON.parse(line)))).join('\n')}\n`,
    )
    await rm(fieldLog().head, { force: true })
    field = await startNode(dirs.field, fieldArgs)
    const anomalies = await waitFor(
      'the command center to refuse the lower checkpoint as a rollback',
      async () => {
        const result = await cliJson<EvidenceCheckpointsResult>(
          ['evidence', 'checkpoints', '--url', cc.url, '--node', ids.field],
          dirs.cc,
        )
        return result.anomalies.length > 0 ? result : undefined
      },
      CHECKPOINT_WAIT_MS,
    )
    expect(anomalies.anomalies[0]).toMatchObject({ kind: 'rollback', nodeId: ids.field, offered: { seq: 1 } })
    // The command center still holds the higher checkpoint: sequence numbers only move forward.
    expect(anomalies.checkpoints.at(-1)?.seq).toBe(originalLines.length - 1)
    const health = await cliJson<{ health: { counters: Record<string, number> } }>(
      ['status', '--url', cc.url],
      dirs.cc,
    )
    expect(health.health.counters['evidence.checkpoint.refused.rollback']).toBeGreaterThan(0)
  })
})
