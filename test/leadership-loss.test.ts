/**
 * Issue 16, item 4 — a planner that loses the leadership cancels its approved, not yet carried out
 * proposals with a reason; it does not hand them to the new leader (docs/safety.md, "A planner that
 * loses leadership cancels, it does not hand over"). Real processes: the higher-ID planner leads
 * alone; an operator approves an open whose field node is down, so the leader keeps it for a
 * retry; the lower-ID planner joins and takes the leadership; the deposed planner cancels the
 * proposal, naming the new leader; and when the field node comes back, the valve never opens.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { connectCliClient } from '../node/cli/client-node.ts'
import { DEMO_FARM_PATH } from '../node/site/site-model.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  runCli,
  startNode,
  stopAll,
  trustEachOther,
  waitFor,
  waitForPlannerLead,
} from './helpers/processes.ts'

const VALVE = 'actuator:valve:zone-2'
const LEADERSHIP_LOSS_TEST_TIMEOUT_MS = 180_000
/** How long the returning field node is watched for a command that must never come. */
const QUIET_AFTER_RETURN_MS = 4_000

interface ProposalJson {
  state: string
  reason?: string
  hash: string
  proposal: { id: string }
}
interface EvidenceJson {
  entries: Array<{ type: string; data: { proposalId?: string } }>
}

afterAll(stopAll)

/** One RPC call to a node with the local admin key of `dir`. */
async function call<T>(
  node: NodeProcess,
  dir: string,
  use: (client: Awaited<ReturnType<typeof connectCliClient>>) => Promise<T>,
): Promise<T> {
  const client = await connectCliClient(node.url, dir)
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

describe('a planner that loses the leadership', () => {
  it(
    'cancels its approved, unsent proposal with a reason naming the new leader; the valve never opens',
    async () => {
      const [a, b, field, bob] = (await Promise.all(
        ['planner-a', 'planner-b', 'field', 'bob'].map((label) => makeStateDir(label)),
      )) as [string, string, string, string]
      const [idA, idB] = await trustEachOther([a, b, field], [undefined, undefined, 'field-1'])
      // The lower device ID wins the election: "winner" joins later and deposes "deposed".
      const aWins = (idA as string) < (idB as string)
      const dirs = { winner: aWins ? a : b, deposed: aWins ? b : a, field, bob }
      const ids = { winner: (aWins ? idA : idB) as string, deposed: (aWins ? idB : idA) as string }
      const bobId = (await cliJson<{ cliKeyId: string }>(['identity'], bob)).cliKeyId
      await runCli(['trust', 'add', bobId], dirs.deposed)

      const deposed = await startNode(dirs.deposed, [
        '--name',
        'planner-deposed',
        '--role',
        'planner',
        '--site',
        DEMO_FARM_PATH,
        '--command-center',
        ids.winner,
      ])
      const fieldArgs = [
        '--name',
        'field-1',
        '--field-node',
        '--site',
        DEMO_FARM_PATH,
        '--command-center',
        ids.deposed,
        '--command-center',
        ids.winner,
        '--peer',
        `${ids.deposed}=${deposed.url}`,
      ]
      let fieldNode: NodeProcess = await startNode(dirs.field, fieldArgs)
      const fieldPort = fieldNode.port
      await waitForPlannerLead(deposed, dirs.deposed)

      // Bob is an operator certified by the leading planner.
      await runCli(['operator', 'enroll', '--name', 'alice', '--url', deposed.url], dirs.deposed)
      const issued = await runCli(
        ['operator', 'issue', bobId, '--name', 'bob', '--url', deposed.url],
        dirs.deposed,
      )
      expect(issued.code).toBe(0)
      await writeFile(join(bob, 'bob-cert.json'), issued.stdout)
      expect((await runCli(['operator', 'import', join(bob, 'bob-cert.json')], bob)).code).toBe(0)
      await waitFor('observations of zone-2 at the planner', async () => {
        const world = await call(deposed, dirs.deposed, (client) =>
          client.call('mesh.world.query', { kind: 'observation', zone: 'zone-2', limit: 1 }),
        )
        return world.frames.length > 0 ? true : undefined
      })

      // The field node goes down; the approved open cannot be carried out and waits for a retry.
      await fieldNode.stop('SIGKILL')
      const proposed = await cliJson<{ proposal: ProposalJson }>(
        ['propose', VALVE, 'open', '--arg', 'durationSec=120', '--url', deposed.url],
        dirs.deposed,
      )
      const id = proposed.proposal.proposal.id
      expect((await runCli(['approve', id, '--url', deposed.url], bob)).code).toBe(0)
      const proposals = async () =>
        (await cliJson<{ proposals: ProposalJson[] }>(['proposals', '--url', deposed.url], dirs.deposed))
          .proposals
      const waiting = (await proposals()).find((record) => record.proposal.id === id)
      expect(waiting?.state).toBe('executing')
      expect(deposed.output()).toContain(`actuator for proposal ${id} unreachable`)

      // The lower-ID planner joins and takes the leadership.
      const winner = await startNode(dirs.winner, [
        '--name',
        'planner-winner',
        '--role',
        'planner',
        '--site',
        DEMO_FARM_PATH,
        '--command-center',
        ids.deposed,
        '--peer',
        `${ids.deposed}=${deposed.url}`,
      ])
      await waitForPlannerLead(winner, dirs.winner)

      const cancelled = await waitFor(
        'the deposed planner to cancel the proposal',
        async () => {
          const record = (await proposals()).find((candidate) => candidate.proposal.id === id)
          return record?.state === 'executing' ? undefined : record
        },
        60_000,
      )
      expect(cancelled.state).toBe('cancelled')
      expect(cancelled.reason).toContain(`lost the leadership to ${ids.winner}`)
      expect(cancelled.reason).toContain('propose it again to the leader')
      // Not handed over: the new leader never received it.
      const atWinner = await cliJson<{ proposals: ProposalJson[] }>(
        ['proposals', '--url', winner.url],
        dirs.winner,
      )
      expect(atWinner.proposals.map((record) => record.proposal.id)).not.toContain(id)

      // The field node returns: nothing is sent to it, the valve stays closed.
      fieldNode = await startNode(dirs.field, [...fieldArgs, '--port', String(fieldPort)])
      await waitFor('the field node to reconnect to the deposed planner', async () => {
        const peers = await call(fieldNode, dirs.field, (client) => client.call('mesh.peers', {}))
        return peers.peers.some((peer) => peer.deviceId === ids.deposed && peer.state === 'connected')
          ? true
          : undefined
      })
      await new Promise((resolve) => setTimeout(resolve, QUIET_AFTER_RETURN_MS))
      const evidence = await cliJson<EvidenceJson>(['evidence', 'list'], dirs.field)
      expect(evidence.entries.filter((entry) => entry.data.proposalId === id)).toEqual([])
      const state = await call(fieldNode, dirs.field, (client) =>
        client.call('capability.invoke', { capability: VALVE, operation: 'state' }),
      )
      expect((state.result as { open: boolean }).open).toBe(false)
    },
    LEADERSHIP_LOSS_TEST_TIMEOUT_MS,
  )
})
