/**
 * Benchmark: planner overhead without model time — operator input to the built-in planner's answer.
 * A command center (role planner, demo farm) and a field node with mock sensors and actuators run
 * in this process over real loopback libp2p, so the world model holds real, verified frames.
 * Measured per run:
 *
 *   (a) in-process session: `ask()` called → the backend's answer ready ("first token": the built-in
 *       planner produces the whole answer at once);
 *   (b) in-process session: `ask()` called → resolved (answer plus its agent_response / inference
 *       frames published);
 *   (c) through RPC: a CLI client sends `planner.ask` to the command center → answer received.
 *
 * Questions: a world-model reading, the status summary, valve states (a live L0 read over RPC to the
 * field node) and a request that creates a proposal (evidence-log append and proposal store write).
 *
 *   node test/bench/planner-latency.bench.ts [--runs 100] [--warmup 10]
 *
 * Prints a table and writes test/bench/results/planner-latency.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { peerIdFromString } from '@libp2p/peer-id'
import type { ClawMeshNode } from '../../node/clawmesh-node.ts'
import { type CliClient, connectCliClient } from '../../node/cli/client-node.ts'
import { startLocalFarmSite } from '../../node/local-farm-site.ts'
import type { PlannerBackend } from '../../node/planner/backend.ts'
import { BuiltinPlanner } from '../../node/planner/builtin-planner.ts'
import { soleLeader } from '../../node/planner/leader-view.ts'
import { createMeshTools } from '../../node/planner/mesh-tools.ts'
import { PlannerSession } from '../../node/planner/planner-session.ts'
import { callRpc } from '../../node/rpc/rpc-client.ts'
import { PLANNER_ASK_CLIENT_TIMEOUT_MS } from '../../protocol/planner.ts'
import { percentile } from './stats.ts'

const root = resolve(import.meta.dirname, '../..')
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '100' }, warmup: { type: 'string', default: '10' } },
})
const runs = Number(values.runs)
const warmup = Number(values.warmup)
const quiet = () => {}

const summarise = (samples: number[]) => ({
  p50: percentile(samples, 50),
  p99: percentile(samples, 99),
  min: Math.min(...samples),
  max: Math.max(...samples),
  mean: samples.reduce((sum, value) => sum + value, 0) / samples.length,
})

/** Pause between runs (outside the timings), so neither node's per-peer RPC rate limit
 * (RPC_RATE_PER_SECOND) is reached: valve states cost three reads to the field node per answer. */
const QUESTIONS: Array<{ name: string; pauseMs: number; text: (run: number) => string }> = [
  { name: 'reading (world model)', pauseMs: 30, text: () => 'what is the soil moisture in zone-2' },
  { name: 'status summary', pauseMs: 30, text: () => 'status' },
  { name: 'valve states (live L0 reads)', pauseMs: 150, text: () => 'which valves are open' },
  // A different duration each run, so no proposal merges with a recent duplicate.
  {
    name: 'request → proposal',
    pauseMs: 30,
    text: (run) => `open valve zone-${1 + (run % 3)} for ${1 + Math.floor(run / 3)} seconds`,
  },
]

const base = await mkdtemp(join(tmpdir(), 'clawmesh-bench-planner-'))
const nodes: ClawMeshNode[] = []
let client: CliClient | undefined
try {
  const { dirs, ccNode, ccUrl } = await startLocalFarmSite(base, { source: 'bench', nodes, log: quiet })
  const deadline = Date.now() + 30_000
  while (
    ccNode.world.query({ kind: 'observation', zone: 'zone-3' }).length === 0 ||
    ccNode.router.providers('actuator:valve:zone-1').length === 0
  ) {
    if (Date.now() > deadline) throw new Error('the field node did not report in time')
    await new Promise((resolveWait) => setTimeout(resolveWait, 100))
  }
  // A planner claims leadership after the election's start-up grace; asking before answers NO_PLANNER.
  while (!ccNode.election.isLeader()) {
    if (Date.now() > deadline) throw new Error('the command center did not take the planner lead in time')
    await new Promise((resolveWait) => setTimeout(resolveWait, 100))
  }

  // (a, b): a session over the command center's real tools, its backend wrapped to time the answer.
  let answerReadyAt = 0
  const builtin = new BuiltinPlanner({ ...(ccNode.site === undefined ? {} : { site: ccNode.site }) })
  const timed: PlannerBackend = {
    label: builtin.label,
    ruleBased: builtin.ruleBased,
    respond: async (request, tools) => {
      const reply = await builtin.respond(request, tools)
      answerReadyAt = performance.now()
      return reply
    },
  }
  const leader = soleLeader(ccNode.deviceId)
  const session = new PlannerSession({
    deviceId: ccNode.deviceId,
    backend: timed,
    tools: createMeshTools({
      deviceId: ccNode.deviceId,
      name: 'command-center',
      world: ccNode.world,
      router: ccNode.router,
      safety: ccNode.safety,
      leaderView: leader,
      // The peer table as the node builds it, reduced to what the tools read.
      peers: () =>
        ccNode.membership.entries().map((record) => ({
          deviceId: record.deviceId,
          trusted: true,
          state: record.state,
          ...(record.info === undefined ? {} : { role: record.info.role, name: record.info.name }),
          capabilities: record.info?.capabilities ?? [],
          addresses: [],
        })),
      localCapabilities: () => [],
    }),
    leaderView: leader,
    publish: (fields, options) => ccNode.publish(fields, options) as never,
    events: ccNode.events,
    counters: ccNode.counters,
    proactiveIntervalMs: 0,
  })

  const results: Record<
    string,
    {
      firstAnswer: ReturnType<typeof summarise>
      delivered: ReturnType<typeof summarise>
      rpc: ReturnType<typeof summarise>
    }
  > = {}
  client = await connectCliClient(ccUrl, dirs.cc)
  const rpcClient = client
  const askRpc = (text: string) =>
    callRpc(
      rpcClient.libp2p,
      peerIdFromString(rpcClient.remoteDeviceId),
      rpcClient.protocol,
      'planner.ask',
      { text },
      {
        timeoutMs: PLANNER_ASK_CLIENT_TIMEOUT_MS,
      },
    )
  let proposalRun = 0
  for (const question of QUESTIONS) {
    const firstAnswer: number[] = []
    const delivered: number[] = []
    const rpc: number[] = []
    for (let run = 0; run < warmup + runs; run++) {
      const text = question.text(proposalRun++)
      const started = performance.now()
      const answer = await session.ask(text)
      const done = performance.now()
      if (answer.error !== undefined) throw new Error(`${question.name}: ${answer.error}`)
      const rpcText = question.text(proposalRun++)
      const rpcStarted = performance.now()
      const overRpc = await askRpc(rpcText)
      const rpcDone = performance.now()
      if (overRpc.error !== undefined) throw new Error(`${question.name} over RPC: ${overRpc.error}`)
      await new Promise((resolvePause) => setTimeout(resolvePause, question.pauseMs))
      if (run < warmup) continue
      firstAnswer.push(answerReadyAt - started)
      delivered.push(done - started)
      rpc.push(rpcDone - rpcStarted)
    }
    results[question.name] = {
      firstAnswer: summarise(firstAnswer),
      delivered: summarise(delivered),
      rpc: summarise(rpc),
    }
  }

  const format = (ms: number) => ms.toFixed(2).padStart(8)
  console.log(`planner latency, built-in planner, ${runs} runs each (+${warmup} warm-up), ms`)
  console.log(
    'question                        | answer ready p50 / p99 | delivered p50 / p99 | via RPC p50 / p99',
  )
  for (const [name, row] of Object.entries(results)) {
    console.log(
      `${name.padEnd(31)} | ${format(row.firstAnswer.p50)} / ${format(row.firstAnswer.p99)} | ${format(row.delivered.p50)} / ${format(row.delivered.p99)} | ${format(row.rpc.p50)} / ${format(row.rpc.p99)}`,
    )
  }
  await mkdir(join(root, 'test/bench/results'), { recursive: true })
  await writeFile(
    join(root, 'test/bench/results/planner-latency.json'),
    `${JSON.stringify(
      {
        benchmark: 'planner-latency',
        backend: 'rule-based',
        runs,
        warmup,
        measuredAt: new Date().toISOString(),
        note: 'answer ready = ask() to the backend answer; delivered = ask() resolved with frames published; RPC = planner.ask round trip from an in-process CLI client over loopback WebSockets',
        results,
      },
      null,
      2,
    )}\n`,
  )
} finally {
  await client?.close()
  for (const node of nodes.reverse()) await node.stop()
  await rm(base, { recursive: true, force: true })
}
