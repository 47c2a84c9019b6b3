/**
 * Benchmark: operator input → first answer token through a real node over RPC, with the Pi backend
 * on pi-ai's faux provider (no model time) and with the built-in planner — the planner's overhead
 * on a node, model time excluded. A command center (role planner, demo farm) and a field node with
 * mock sensors and actuators run in this process over real loopback libp2p, so the world model
 * holds real, verified frames; a CLI client (its own libp2p node) sends `planner.ask`.
 *
 * The command center's backend (the `plannerBackend` start option) delegates to the backend under
 * test and notes when the first answer token is produced: the Pi backend's first streamed delta;
 * the built-in planner's whole answer (it does not stream). Measured per run, from the moment the
 * client sends `planner.ask` (same process, same clock):
 *
 *   first token — the backend produces the first answer text;
 *   answer      — the client has the RPC answer (frames published, proposals stored).
 *
 *   node test/bench/planner-node-first-token.bench.ts [--runs 100] [--warmup 10]
 *
 * Prints a table with the load average and writes test/bench/results/planner-node-first-token.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  type FauxResponseStep,
  fauxAssistantMessage,
  fauxText,
  fauxToolCall,
  registerFauxProvider,
} from '@mariozechner/pi-ai'
import type { ClawMeshNode } from '../../node/clawmesh-node.ts'
import { type CliClient, connectCliClient } from '../../node/cli/client-node.ts'
import { startLocalFarmSite } from '../../node/local-farm-site.ts'
import type { PlannerBackend } from '../../node/planner/backend.ts'
import { BuiltinPlanner } from '../../node/planner/builtin-planner.ts'
import { createPiBackend } from '../../node/planner/pi/pi-backend.ts'
import { callRpc } from '../../node/rpc/rpc-client.ts'
import { PLANNER_ASK_CLIENT_TIMEOUT_MS } from '../../protocol/planner.ts'
import { percentile } from './stats.ts'

const root = resolve(import.meta.dirname, '../..')
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '100' }, warmup: { type: 'string', default: '10' } },
})
const runs = Number(values.runs)
const warmup = Number(values.warmup)
/** Pause between runs (outside the timings) so the per-peer RPC rate limit is never reached. */
const PAUSE_MS = 30
const ANSWER = 'Zone 2 soil moisture is 12 %, below its 20 % threshold; the last reading is 40 s old.'
const QUESTION = 'what is the soil moisture in zone-2'

const summarise = (samples: number[]) => ({
  p50: percentile(samples, 50),
  p99: percentile(samples, 99),
  min: Math.min(...samples),
  max: Math.max(...samples),
})

const faux = registerFauxProvider()
const builtinFor = (node: ClawMeshNode) =>
  new BuiltinPlanner(node.site === undefined ? {} : { site: node.site })

interface Flow {
  name: string
  backend: (node: ClawMeshNode) => PlannerBackend
  /** Sets up the scripted model for one run (faux flows). */
  script?: () => FauxResponseStep[]
}
const piBackend = createPiBackend({ model: faux.getModel() })
const FLOWS: Flow[] = [
  { name: 'built-in planner (world-model reading)', backend: builtinFor },
  {
    name: 'Pi, faux provider: direct answer',
    backend: () => piBackend,
    script: () => [fauxAssistantMessage(fauxText(ANSWER))],
  },
  {
    name: 'Pi, faux provider: query_world, then answer',
    backend: () => piBackend,
    script: () => [
      fauxAssistantMessage(fauxToolCall('query_world', { zone: 'zone-2', kind: 'observation' }), {
        stopReason: 'toolUse',
      }),
      fauxAssistantMessage(fauxText(ANSWER)),
    ],
  },
]

/** The backend the command center runs: whichever flow is being measured, timed at its first token. */
let current: PlannerBackend | undefined
let firstTokenAt: number | undefined
const switching: PlannerBackend = {
  label: 'bench',
  ruleBased: false,
  respond: async (request, tools) => {
    if (current === undefined) throw new Error('no backend selected')
    const reply = await current.respond(
      {
        ...request,
        onToken: (delta) => {
          firstTokenAt ??= performance.now()
          request.onToken?.(delta)
        },
      },
      tools,
    )
    firstTokenAt ??= performance.now()
    return reply
  },
}

const base = await mkdtemp(join(tmpdir(), 'clawmesh-bench-first-token-'))
const nodes: ClawMeshNode[] = []
let client: CliClient | undefined
const loadBefore = loadavg()
try {
  const { dirs, ccNode, ccUrl } = await startLocalFarmSite(base, {
    source: 'bench',
    nodes,
    plannerBackend: switching,
  })
  const deadline = Date.now() + 30_000
  while (ccNode.world.query({ kind: 'observation', zone: 'zone-2' }).length === 0) {
    if (Date.now() > deadline) throw new Error('the field node did not report in time')
    await new Promise((resolveWait) => setTimeout(resolveWait, 100))
  }
  // A planner claims leadership after the election's start-up grace; asking before answers NO_PLANNER.
  while (!ccNode.election.isLeader()) {
    if (Date.now() > deadline) throw new Error('the command center did not take the planner lead in time')
    await new Promise((resolveWait) => setTimeout(resolveWait, 100))
  }
  client = await connectCliClient(ccUrl, dirs.cc)
  const rpcClient = client
  const ask = (text: string) =>
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

  const results: Record<
    string,
    { firstToken: ReturnType<typeof summarise>; answer: ReturnType<typeof summarise> }
  > = {}
  for (const flow of FLOWS) {
    current = flow.backend(ccNode)
    const firstToken: number[] = []
    const answer: number[] = []
    for (let run = 0; run < warmup + runs; run++) {
      if (flow.script !== undefined) faux.setResponses(flow.script())
      firstTokenAt = undefined
      const sent = performance.now()
      const reply = await ask(QUESTION)
      const received = performance.now()
      if (reply.error !== undefined) throw new Error(`${flow.name}: ${reply.error}`)
      if (firstTokenAt === undefined) throw new Error(`${flow.name}: no answer token`)
      await new Promise((resolvePause) => setTimeout(resolvePause, PAUSE_MS))
      if (run < warmup) continue
      firstToken.push(firstTokenAt - sent)
      answer.push(received - sent)
    }
    results[flow.name] = { firstToken: summarise(firstToken), answer: summarise(answer) }
  }
  const loadAfter = loadavg()

  const format = (ms: number) => ms.toFixed(2).padStart(8)
  console.log(
    `operator input → first answer token through a node over RPC, ${runs} runs each (+${warmup} warm-up), ms; load average ${loadBefore[0]?.toFixed(1)} before, ${loadAfter[0]?.toFixed(1)} after (${cpus().length} cores)`,
  )
  console.log('flow                                          | first token p50 / p99 | answer p50 / p99')
  for (const [name, row] of Object.entries(results)) {
    console.log(
      `${name.padEnd(45)} | ${format(row.firstToken.p50)} / ${format(row.firstToken.p99)} | ${format(row.answer.p50)} / ${format(row.answer.p99)}`,
    )
  }
  await mkdir(join(root, 'test/bench/results'), { recursive: true })
  await writeFile(
    join(root, 'test/bench/results/planner-node-first-token.json'),
    `${JSON.stringify(
      {
        benchmark: 'planner-node-first-token',
        node: process.version,
        runs,
        warmup,
        loadAverage: { before: loadBefore, after: loadAfter },
        measuredAt: new Date().toISOString(),
        note: 'first token = client sends planner.ask → the backend produces its first answer text (Pi: first streamed delta; built-in: the whole answer); answer = the RPC answer received. In-process command center and field node over loopback libp2p; faux provider without pacing (no model time).',
        results,
      },
      null,
      2,
    )}\n`,
  )
} finally {
  await client?.close()
  for (const node of nodes.reverse()) await node.stop()
  faux.unregister()
  await rm(base, { recursive: true, force: true })
}
