/**
 * Unsigned frame builders for world-model tests and benchmarks. The world model never checks
 * signatures (that happens before ingest), so these frames carry a placeholder signature.
 */
import { computeFrameId, type Frame, type FrameBody } from '../../protocol/context/frame.ts'

export const TEST_ORIGIN = '12D3KooWPDgUCsmdPD9z8yMxtcBRYWEXZmr8byGpr2fFR4gnottJ'
export const TEST_ORIGIN_2 = '12D3KooWCmrHq5eANWPYyn5fFN1QrrBXZfsdnoReyagm2TeLLLTN'

export function testFrame(body: Partial<FrameBody> & Pick<FrameBody, 'kind' | 'data'>): Frame {
  const full = {
    meshName: 'farm',
    generation: 1,
    origin: TEST_ORIGIN,
    originName: 'field-1',
    timestamp: 1_750_000_000_000,
    trust: { tier: 'T1', sources: [] },
    ...body,
  } as FrameBody
  return { ...full, frameId: computeFrameId(full), signature: 'unsigned-test-frame' } as Frame
}

export function testObservation(
  zone: string,
  metric: string,
  value: number,
  timestamp: number,
  extra: Partial<FrameBody> = {},
): Frame {
  return testFrame({
    kind: 'observation',
    timestamp,
    data: { zone, metric, value, unit: metric === 'temperature' ? '°C' : '%' },
    trust: { tier: 'T1', sources: [`sensor:${metric}:${zone}`] },
    ...extra,
  } as FrameBody)
}
