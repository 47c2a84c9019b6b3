/** The findings format: a maximal report still fits one frame (compact) and one evidence entry
 * (fitted), and a host_findings frame verifies but is no evidence where the receiver does not
 * resolve its host (repairs.test.ts covers the host's own findings backing its repairs). */
import { describe, expect, it } from 'vitest'
import { NOW, newSigner } from '../../test/helpers/safety-fixtures.ts'
import { canonicalJson } from '../canonical.ts'
import { createFrame, type FrameFields, verifyFrame } from '../context/index.ts'
import { FRAME_MAX_BYTES } from '../limits.ts'
import { DEFAULT_MESH_NAME, PROTOCOL_GENERATION } from '../mesh.ts'
import { EVIDENCE_ENTRY_DATA_MAX_BYTES } from '../safety/constants.ts'
import { assessEvidenceFrame } from '../safety/evidence.ts'
import {
  compactReport,
  FINDING_EVIDENCE_MAX,
  FINDING_LABEL_MAX_CHARS,
  FINDING_TEXT_MAX_CHARS,
  FINDINGS_MAX,
  type FindingsReport,
  FRAME_FINDINGS_MAX,
  findingsReportSchema,
  fitForEvidence,
  hostCapability,
  overallStatus,
} from './findings.ts'

const long = (length: number, char = 'é') => char.repeat(length)

/** Every list at its maximum, every text at its longest (two-byte characters). */
function maximalReport(): FindingsReport {
  return findingsReportSchema.parse({
    node: long(FINDING_LABEL_MAX_CHARS, 'n'),
    workflow: 'security-check',
    startedAt: NOW,
    durationMs: 12,
    target: long(FINDING_LABEL_MAX_CHARS),
    facts: { os: long(FINDING_LABEL_MAX_CHARS), cpus: 64 },
    findings: Array.from({ length: FINDINGS_MAX }, (_, index) => ({
      id: `${long(FINDING_LABEL_MAX_CHARS - 4)}${index}`,
      check: long(FINDING_LABEL_MAX_CHARS),
      status: index === 7 ? 'fail' : 'ok',
      risk: 'low',
      summary: long(FINDING_TEXT_MAX_CHARS),
      evidence: Array.from({ length: FINDING_EVIDENCE_MAX }, () => ({
        source: long(FINDING_LABEL_MAX_CHARS),
        fact: long(FINDING_TEXT_MAX_CHARS),
      })),
      recommendation: long(FINDING_TEXT_MAX_CHARS),
      nextActions: [],
    })),
  })
}

describe('host findings format', () => {
  it('a maximal report becomes a frame that verifies and is not evidence for actuation', async () => {
    const signer = await newSigner()
    const report = maximalReport()
    const data = compactReport(report, 9)
    // Cut by size before FRAME_FINDINGS_MAX, every finding left out is counted.
    expect(data.findings.length).toBeGreaterThan(0)
    expect(data.findings.length).toBeLessThan(FRAME_FINDINGS_MAX)
    expect(data.findings.length + data.omitted).toBe(FINDINGS_MAX)
    // Worst first: the one failing finding is kept, at the top.
    expect(data.findings[0]?.status).toBe('fail')
    const frame = await createFrame(signer, {
      kind: 'host_findings',
      data,
      generation: PROTOCOL_GENERATION,
      meshName: DEFAULT_MESH_NAME,
      originName: 'field-1',
      timestamp: NOW,
      trust: { tier: 'T3', sources: [hostCapability('field-1')] },
    } as FrameFields)
    expect(new TextEncoder().encode(canonicalJson(frame)).byteLength).toBeLessThanOrEqual(FRAME_MAX_BYTES)
    const verdict = await verifyFrame(frame, {
      meshName: DEFAULT_MESH_NAME,
      generation: PROTOCOL_GENERATION,
      isTrustedOrigin: () => true,
      now: NOW,
    })
    expect(verdict.verdict).toBe('accept')
    const fact = assessEvidenceFrame(frame, {
      bySiteId: () => undefined,
      actuatorByCapability: () => undefined,
    })
    expect(fact.tier).toBe('T0')
  })

  it('a maximal report is fitted into one evidence entry, keeping every finding', () => {
    const report = maximalReport()
    const fitted = fitForEvidence(report)
    expect(canonicalJson(fitted).length).toBeLessThanOrEqual(EVIDENCE_ENTRY_DATA_MAX_BYTES)
    expect(fitted.findings.map((finding) => finding.id)).toEqual(report.findings.map((finding) => finding.id))
  })

  it('names the node in the capability and ranks fail above unavailable above ok', () => {
    expect(hostCapability('Field 1')).toBe('host:field-1')
    expect(
      overallStatus([
        { status: 'ok', risk: 'low' },
        { status: 'unavailable', risk: 'low' },
      ]),
    ).toBe('unavailable')
    expect(
      overallStatus([
        { status: 'unavailable', risk: 'low' },
        { status: 'fail', risk: 'low' },
      ]),
    ).toBe('fail')
  })
})
