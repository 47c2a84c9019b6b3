/**
 * Shared parts of the planner tests that run a model-backed planner on a real node: the scripted
 * model's side of the query-then-propose conversation (read the frame IDs the `query_world` tool
 * gave back, cite them in `create_proposal`), the JSON shapes `clawmesh ask` / `world` print, and
 * the operator and valve helpers around the approval.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connectCliClient } from '../../node/cli/client-node.ts'
import { runCli } from './processes.ts'

export const VALVE_ZONE_2 = 'actuator:valve:zone-2'
export const OPEN_DURATION_SEC = 240
/** What the scripted model asks the world model for before it proposes. */
export const QUERY_WORLD_ARGS = { zone: 'zone-2', kind: 'observation', limit: 5 } as const
/** How many of the returned frames the scripted model cites. */
const CITED_FRAMES = 3

export interface AnswerJson {
  answer: string
  planner: string
  ruleBased: boolean
  answeredBy: string
  responseFrameId?: string
  error?: string
  proposals: Array<{
    hash: string
    state: string
    proposal: {
      id: string
      level: string
      capability: string
      operation: string
      args: Record<string, unknown>
      author: { kind: string; id: string }
      leaderTerm?: number
      evidence: Array<{ frameId: string; tier: string }>
    }
  }>
}

export interface FrameJson {
  frameId: string
  kind: string
  origin: string
  trust: { tier: string }
  data: Record<string, unknown>
}

/** The frame IDs in a `query_world` tool result as the model reads it (`{summary, frames: [{id…}]}`),
 * the first few of them: what a model would cite. */
export function frameIdsToCite(toolResultText: string): string[] {
  const parsed = JSON.parse(toolResultText) as { frames?: Array<{ id?: unknown }> }
  const ids = (parsed.frames ?? []).map((frame) => frame.id).filter((id) => typeof id === 'string')
  if (ids.length === 0) throw new Error(`query_world returned no frames to cite: ${toolResultText}`)
  return ids.slice(0, CITED_FRAMES)
}

/** The `create_proposal` arguments the scripted model sends, citing `evidence`. */
export function openValveProposal(evidence: string[]) {
  return {
    capability: VALVE_ZONE_2,
    operation: 'open',
    args: { durationSec: OPEN_DURATION_SEC },
    level: 'L2',
    evidence,
    reason: 'zone-2 soil moisture readings are low; the operator asked to open its valve',
  }
}

/** Issues an operator certificate (role operator) from the command center's admin CLI and imports
 * it into the operator's own state dir, so `clawmesh approve` run there counts as that operator. */
export async function issueOperator(
  ccUrl: string,
  ccDir: string,
  operator: { dir: string; keyId: string; name: string },
): Promise<void> {
  const issued = await runCli(
    ['operator', 'issue', operator.keyId, '--name', operator.name, '--roles', 'operator', '--url', ccUrl],
    ccDir,
  )
  if (issued.code !== 0) throw new Error(`operator issue failed: ${issued.stderr}`)
  const certificate = join(operator.dir, `${operator.name}-cert.json`)
  await writeFile(certificate, issued.stdout)
  const imported = await runCli(['operator', 'import', certificate], operator.dir)
  if (imported.code !== 0) throw new Error(`operator import failed: ${imported.stderr}`)
}

/** The valve's own state, read through the mesh (an L0 `state` operation routed to the field node). */
export async function valveIsOpen(url: string, stateDir: string): Promise<boolean> {
  const client = await connectCliClient(url, stateDir)
  try {
    const state = await client.call('capability.invoke', { capability: VALVE_ZONE_2, operation: 'state' })
    return (state.result as { open: boolean }).open
  } finally {
    await client.close()
  }
}
