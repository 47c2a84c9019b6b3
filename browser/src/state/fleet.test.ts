import { describe, expect, it } from 'vitest'
import type { Frame } from '../../../protocol/context/frame.ts'
import { fleetNodes, mergeHostReports } from './fleet.ts'

const frame = (
  origin: string,
  node: string,
  workflow: 'doctor' | 'security-check',
  timestamp: number,
  findings: { id: string; status: 'ok' | 'warn' | 'fail' | 'unavailable'; risk?: 'low' | 'high' }[],
): Frame =>
  ({
    kind: 'host_findings',
    origin,
    timestamp,
    data: {
      node,
      workflow,
      startedAt: timestamp,
      omitted: 0,
      facts: { cpus: 4 },
      findings: findings.map((finding) => ({
        check: finding.id,
        id: finding.id,
        risk: finding.risk ?? 'low',
        status: finding.status,
        summary: `${finding.id} ${finding.status}`,
      })),
    },
  }) as unknown as Frame

describe('the Fleet view state', () => {
  it('keeps the latest report per node and workflow, ignoring other frames', () => {
    const first = mergeHostReports([], [frame('A', 'a', 'doctor', 1, [{ id: 'disk', status: 'fail' }])])
    const next = mergeHostReports(first, [
      frame('A', 'a', 'doctor', 2, [{ id: 'disk', status: 'ok' }]),
      frame('A', 'a', 'security-check', 2, [{ id: 'ssh', status: 'warn' }]),
      { kind: 'observation' } as unknown as Frame,
    ])
    expect(next.map((report) => `${report.workflow}@${report.at}`).sort()).toEqual([
      'doctor@2',
      'security-check@2',
    ])
    // An older frame arriving late does not replace the newer report.
    const late = mergeHostReports(next, [frame('A', 'a', 'doctor', 1, [{ id: 'disk', status: 'fail' }])])
    expect(late.find((report) => report.workflow === 'doctor')?.at).toBe(2)
  })

  it('orders nodes worst first and each node’s findings worst first across workflows', () => {
    const reports = mergeHostReports(
      [],
      [
        frame('A', 'alpha', 'doctor', 1, [{ id: 'load', status: 'ok' }]),
        frame('B', 'beta', 'doctor', 1, [
          { id: 'load', status: 'warn' },
          { id: 'units', status: 'fail', risk: 'high' },
        ]),
        frame('B', 'beta', 'security-check', 1, [{ id: 'ssh', status: 'unavailable' }]),
        frame('C', 'gamma', 'doctor', 1, [{ id: 'clock', status: 'warn' }]),
      ],
    )
    const nodes = fleetNodes(reports)
    expect(nodes.map((node) => `${node.node}:${node.status}`)).toEqual([
      'beta:fail',
      'gamma:warn',
      'alpha:ok',
    ])
    expect(nodes[0]?.findings.map((finding) => `${finding.workflow}/${finding.id}`)).toEqual([
      'doctor/units',
      'doctor/load',
      'security-check/ssh',
    ])
    expect(nodes[0]?.facts).toEqual({ cpus: 4 })
  })
})
