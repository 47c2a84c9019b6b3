/** Host repairs in the one policy: the manifest's levels, the host's own findings as the only
 * evidence that backs a repair of that host, and the actuating node's narrower bounds. */
import { describe, expect, it } from 'vitest'
import { NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { createFrame, type Frame, type FrameFields } from '../context/index.ts'
import { DEFAULT_MESH_NAME, PROTOCOL_GENERATION } from '../mesh.ts'
import { assessEvidenceFrame, type SiteBindingsView } from '../safety/evidence.ts'
import { decideActuationPolicy, type PolicyFacts } from '../safety/policy.ts'
import { type Proposal, proposalHash } from '../safety/proposal.ts'
import { hostCapability } from './findings.ts'
import {
  HOST_REPAIR_EVIDENCE_MAX_AGE_MS,
  HOST_REPAIR_OPERATIONS,
  hostRepairLevel,
  hostRepairManifest,
} from './repairs.ts'

const HOST = hostCapability('field-1')

async function findingsFrame(workflow: string, timestamp = NOW - 1_000) {
  const signer = await newSigner()
  const frame = (await createFrame(signer, {
    kind: 'host_findings',
    data: { findings: [], node: 'field-1', omitted: 0, startedAt: timestamp, workflow },
    generation: PROTOCOL_GENERATION,
    meshName: DEFAULT_MESH_NAME,
    originName: 'field-1',
    timestamp,
    trust: { tier: 'T3', sources: [HOST] },
  } as FrameFields)) as Frame
  return { frame, origin: signer.id }
}

function bindings(hostDevice: string | undefined): SiteBindingsView {
  return { bySiteId: () => undefined, actuatorByCapability: () => undefined, hostDevice: () => hostDevice }
}

function facts(
  proposal: Proposal,
  frame: Frame,
  host: string,
  limits = hostRepairManifest(HOST),
): PolicyFacts {
  return {
    proposal,
    manifest: limits,
    now: NOW,
    executedBefore: false,
    commandHash: proposalHash(proposal),
    hop: 'actuator',
    evidence: [assessEvidenceFrame(frame, bindings(host))],
    author: { kind: 'operator', roles: ['operator'] },
    observedLinks: {},
    approvals: [],
  }
}

function proposal(
  operation: string,
  args: Record<string, unknown>,
  level: Proposal['level'],
  frameId: string,
): Proposal {
  return {
    version: 1,
    id: `p-${operation}`,
    capability: HOST,
    targetNode: '12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE',
    operation,
    args: args as Proposal['args'],
    level,
    evidence: [{ frameId, tier: 'T3' }],
    author: { kind: 'operator', id: '12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE' },
    createdAt: NOW - 500,
    expiresAt: NOW + HOUR_MS,
  }
}
const HOUR_MS = 3_600_000

describe('host repairs in the policy', () => {
  it('declares each repair at its level: run, deletions, redacted copies and quarantine L2, removal L3, bounded fixes L1', () => {
    expect(Object.fromEntries(HOST_REPAIR_OPERATIONS.map((op) => [op, hostRepairLevel(op)]))).toEqual({
      'data-clean-apply': 'L2',
      run: 'L2',
      'service-quarantine': 'L2',
      'service-remove': 'L3',
      'journal-vacuum': 'L1',
      'temp-clean': 'L1',
      'permissions-tighten': 'L1',
      'log-redact-copy': 'L2',
      'secret-quarantine': 'L2',
    })
  })

  it("counts a host's findings as evidence only from that host", async () => {
    const { frame, origin } = await findingsFrame('data-clean-plan')
    expect(assessEvidenceFrame(frame, bindings(origin))).toMatchObject({
      tier: 'T3',
      zone: HOST,
      metric: 'data-clean-plan',
    })
    expect(assessEvidenceFrame(frame, bindings('12D3KooWsomeoneelse')).tier).toBe('T0')
    expect(
      assessEvidenceFrame(frame, { bySiteId: () => undefined, actuatorByCapability: () => undefined }).tier,
    ).toBe('T0')
  })

  it('runs nothing without an approval, and not below its level', async () => {
    const { frame, origin } = await findingsFrame('doctor')
    const run = proposal('run', { argv: ['/bin/true'] }, 'L2', frame.frameId)
    expect(decideActuationPolicy(facts(run, frame, origin))).toMatchObject({
      verdict: 'deny',
      code: 'missing-approval',
    })
    const sneaky = proposal('run', { argv: ['/bin/true'] }, 'L1', frame.frameId)
    expect(decideActuationPolicy(facts(sneaky, frame, origin))).toMatchObject({
      verdict: 'deny',
      code: 'level-below-manifest',
    })
  })

  it('backs a repair only with findings of the workflow it rests on, fresh', async () => {
    const doctor = await findingsFrame('doctor')
    const apply = proposal(
      'data-clean-apply',
      { manifestId: 'dc-12345678', manifestHash: 'a'.repeat(64) },
      'L2',
      doctor.frame.frameId,
    )
    expect(decideActuationPolicy(facts(apply, doctor.frame, doctor.origin))).toMatchObject({
      code: 'irrelevant-evidence',
    })
    const old = await findingsFrame('data-clean-plan', NOW - HOST_REPAIR_EVIDENCE_MAX_AGE_MS - 5_000)
    const stale = proposal(
      'data-clean-apply',
      { manifestId: 'dc-12345678', manifestHash: 'a'.repeat(64) },
      'L2',
      old.frame.frameId,
    )
    expect(decideActuationPolicy(facts(stale, old.frame, old.origin))).toMatchObject({
      code: 'irrelevant-evidence',
    })
  })

  it('backs a hygiene repair only with a hygiene plan of that host', async () => {
    const args = { path: '/srv/app/app.log', sha256: 'b'.repeat(64) }
    const doctor = await findingsFrame('doctor')
    const copy = proposal('log-redact-copy', args, 'L2', doctor.frame.frameId)
    expect(decideActuationPolicy(facts(copy, doctor.frame, doctor.origin))).toMatchObject({
      code: 'irrelevant-evidence',
    })
    const hygiene = await findingsFrame('hygiene-plan')
    const quarantine = proposal('secret-quarantine', args, 'L2', hygiene.frame.frameId)
    // Backed by the right plan, it still waits for a person.
    expect(decideActuationPolicy(facts(quarantine, hygiene.frame, hygiene.origin))).toMatchObject({
      verdict: 'deny',
      code: 'missing-approval',
    })
  })

  it("holds an auto-safe repair to the actuating node's narrower bounds", async () => {
    const { frame, origin } = await findingsFrame('autoheal-plan')
    const clean = proposal('temp-clean', { olderThanDays: 2 }, 'L1', frame.frameId)
    expect(decideActuationPolicy(facts(clean, frame, origin))).toMatchObject({ verdict: 'allow' })
    const narrow = hostRepairManifest(HOST, {
      journalVacuumMinMb: 500,
      tempCleanMinDays: 7,
      permissionsMaxFiles: 20,
    })
    expect(decideActuationPolicy(facts(clean, frame, origin, narrow))).toMatchObject({
      verdict: 'deny',
      code: 'out-of-bounds',
    })
  })
})
