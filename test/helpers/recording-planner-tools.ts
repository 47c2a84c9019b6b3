/**
 * A PlannerTools for backend tests: answers from two fixed zone-2 observations, creates a proposal
 * record awaiting approval, and records every call so a test asserts exactly what the model's tool
 * calls reached.
 */

import type { PlannerTools, ProposalDraft } from '../../node/planner/backend.ts'
import type { Frame } from '../../protocol/context/frame.ts'
import type { ProposalRecordWire } from '../../protocol/rpc/methods.ts'
import { makeProposalRecord } from './safety-fixtures.ts'

export const FRAME_A = 'a'.repeat(64)
export const FRAME_B = 'b'.repeat(64)

export function observation(frameId: string, value: number): Frame {
  return {
    generation: 1,
    meshName: 'test',
    frameId,
    origin: '12D3KooWFieldNode',
    originName: 'field-1',
    timestamp: 1_700_000_000_000,
    kind: 'observation',
    data: { zone: 'zone-2', metric: 'soil_moisture', value, unit: '%' },
    trust: { tier: 'T1', sources: ['sensor:soil-moisture:zone-2'] },
    signature: 'sig',
  } as Frame
}

export interface RecordedCall {
  tool: string
  args: unknown
}

/** PlannerTools that answers from fixed data and records every call. */
export function recordingTools(): PlannerTools & { calls: RecordedCall[] } {
  const calls: RecordedCall[] = []
  return {
    calls,
    async queryWorld(params) {
      calls.push({ tool: 'queryWorld', args: params })
      return {
        frames: [observation(FRAME_A, 12), observation(FRAME_B, 11)],
        summary: 'zone-2 moisture 11–12 %',
      }
    },
    async listCapabilities() {
      calls.push({ tool: 'listCapabilities', args: undefined })
      return [
        { capability: 'actuator:valve:zone-2', providers: [{ deviceId: '12D3KooWField', local: false }] },
      ]
    },
    async listPeers() {
      calls.push({ tool: 'listPeers', args: undefined })
      return []
    },
    async readSensor(capability, args) {
      calls.push({ tool: 'readSensor', args: { capability, args } })
      return { value: 12 }
    },
    async createProposal(draft: ProposalDraft): Promise<ProposalRecordWire> {
      calls.push({ tool: 'createProposal', args: draft })
      return makeProposalRecord({
        proposal: { capability: draft.capability, operation: draft.operation, level: draft.level ?? 'L2' },
        mergedCount: 1,
        receivedAt: 1,
        updatedAt: 1,
      })
    },
  }
}
