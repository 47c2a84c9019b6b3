/**
 * Benchmark: planner leader failover across real processes. Two planners, a standby and a field
 * node (role `field`, no devices) trust each other. Each run: the lowest-ID planner ("first") is
 * (re)started and every node agrees that it leads; then it is killed with SIGKILL and we measure
 *
 *   (a) kill → the second planner's own `planner.leader` event (it claimed and announced a term);
 *   (b) kill → the last survivor's `planner.leader` event naming the second planner at that term
 *       (announced and seen by all).
 *
 * Times come from the nodes' event rings (`at`, same machine clock as t0), not from polling, so the
 * poll interval does not inflate them. The first planner rejoins with the same key and port for the
 * next run (it outranks the second one, so it takes leadership back at a higher term).
 *
 *   node test/bench/election-failover.bench.ts [--runs 5]
 *
 * Prints a table and writes test/bench/results/election-failover.json.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { type CliClient, connectCliClient } from '../../node/cli/client-node.ts'
import {
  ELECTION_STARTUP_GRACE_MS,
  ELECTION_TICK_MS,
  LEADER_FAILOVER_BOUND_MS,
  LEADER_HEARTBEAT_MS,
} from '../../node/planner/constants.ts'
import {
  makeStateDir,
  type NodeProcess,
  startNode,
  stopAll,
  trustEachOther,
  waitFor,
} from '../helpers/processes.ts'
import { percentile } from './stats.ts'

const root = resolve(import.meta.dirname, '../..')
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } })
const runs = Number(values.runs)
const POLL_MS = 50
/** Lets connections and gossip meshes settle after the first planner rejoins. */
const SETTLE_MS = 1_000

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms))
const summarise = (samples: number[]) => ({
  p50: percentile(samples, 50),
  min: Math.min(...samples),
  max: Math.max(...samples),
  samples,
})

const labels = ['a', 'b', 'standby', 'field'] as const
const dirs = Object.fromEntries(
  await Promise.all(labels.map(async (label) => [label, await makeStateDir(`bench-${label}`)])),
) as Record<(typeof labels)[number], string>
const clients = new Map<string, CliClient>()
try {
  const [idA, idB, idStandby] = (await trustEachOther(labels.map((label) => dirs[label]))) as string[]
  const aFirst = (idA as string) < (idB as string)
  const first = { dir: aFirst ? dirs.a : dirs.b, id: (aFirst ? idA : idB) as string }
  const second = { dir: aFirst ? dirs.b : dirs.a, id: (aFirst ? idB : idA) as string }
  const secondNode = await startNode(second.dir, ['--name', 'second', '--role', 'planner'])
  const standbyNode = await startNode(dirs.standby, [
    '--name',
    'standby',
    '--role',
    'standby-planner',
    '--peer',
    `${second.id}=${secondNode.url}`,
  ])
  const fieldNode = await startNode(dirs.field, [
    '--name',
    'field',
    '--role',
    'field',
    '--peer',
    `${second.id}=${secondNode.url}`,
    '--peer',
    `${idStandby}=${standbyNode.url}`,
  ])
  const firstArgs = [
    '--name',
    'first',
    '--role',
    'planner',
    '--peer',
    `${second.id}=${secondNode.url}`,
    '--peer',
    `${idStandby}=${standbyNode.url}`,
  ]
  const survivors: Array<[string, NodeProcess, string]> = [
    ['second', secondNode, second.dir],
    ['standby', standbyNode, dirs.standby],
    ['field', fieldNode, dirs.field],
  ]
  for (const [name, node, dir] of survivors) clients.set(name, await connectCliClient(node.url, dir))
  const leaderEverywhere = async (leaderId: string, aboveTerm: number) => {
    const leaders = await Promise.all(
      [...clients.values()].map(async (client) => (await client.call('mesh.status', {})).leader),
    )
    const [head] = leaders
    if (head === undefined || head.deviceId !== leaderId || head.term <= aboveTerm) return undefined
    return leaders.every(
      (leader) => leader?.live && leader.deviceId === leaderId && leader.term === head.term,
    )
      ? head.term
      : undefined
  }

  const announced: number[] = []
  const seenByAll: number[] = []
  let firstPort: number | undefined
  for (let run = 1; run <= runs; run++) {
    const firstNode = await startNode(first.dir, [
      ...firstArgs,
      ...(firstPort === undefined ? [] : ['--port', String(firstPort)]),
    ])
    firstPort = firstNode.port
    const oldTerm = await waitFor(
      'the first planner to lead everywhere',
      () => leaderEverywhere(first.id, 0),
      60_000,
    )
    await sleep(SETTLE_MS)
    const t0 = Date.now()
    await firstNode.stop('SIGKILL')
    const newTerm = await waitFor(
      'the second planner to lead everywhere',
      () => leaderEverywhere(second.id, oldTerm),
      60_000,
    )
    const eventTimes = await Promise.all(
      survivors.map(async ([name]) => {
        const { events } = await (clients.get(name) as CliClient).call('mesh.events', {})
        const event = events.find(
          (candidate) =>
            candidate.type === 'planner.leader' &&
            candidate.at >= t0 &&
            candidate.peer === second.id &&
            candidate.message.includes(`term ${newTerm}`),
        )
        if (event === undefined) throw new Error(`no planner.leader event for term ${newTerm} at ${name}`)
        return [name, event.at - t0] as const
      }),
    )
    const own = eventTimes.find(([name]) => name === 'second')?.[1] as number
    const all = Math.max(...eventTimes.map(([, ms]) => ms))
    announced.push(own)
    seenByAll.push(all)
    console.log(
      `run ${run}: term ${oldTerm} → ${newTerm}; announced after ${own} ms, seen by all after ${all} ms`,
    )
    await sleep(POLL_MS)
  }
  const result = {
    benchmark: 'election-failover',
    node: process.version,
    runs,
    boundMs: LEADER_FAILOVER_BOUND_MS,
    constants: { LEADER_HEARTBEAT_MS, ELECTION_TICK_MS, ELECTION_STARTUP_GRACE_MS },
    killToAnnouncedMs: summarise(announced),
    killToSeenByAllMs: summarise(seenByAll),
  }
  const row = (stats: ReturnType<typeof summarise>) => ({
    'p50 (ms)': stats.p50,
    'min (ms)': stats.min,
    'max (ms)': stats.max,
  })
  console.table({
    '(a) kill -9 → new leader announced': row(result.killToAnnouncedMs),
    '(b) kill -9 → new leader seen by all': row(result.killToSeenByAllMs),
  })
  console.log(
    `bound ${LEADER_FAILOVER_BOUND_MS} ms: ${Math.max(...seenByAll) <= LEADER_FAILOVER_BOUND_MS ? 'held' : 'exceeded'} in every run`,
  )
  await mkdir(join(root, 'test/bench/results'), { recursive: true })
  await writeFile(
    join(root, 'test/bench/results/election-failover.json'),
    `${JSON.stringify(result, null, 2)}\n`,
  )
} finally {
  await Promise.all([...clients.values()].map((client) => client.close().catch(() => {})))
  await stopAll()
  await Promise.all(Object.values(dirs).map((dir) => rm(dir, { recursive: true, force: true })))
}
