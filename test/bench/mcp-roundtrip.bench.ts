/**
 * Benchmark: MCP tool call round trip over stdio. An SDK `Client` spawns `clawmesh mcp` (a real
 * child process) against a command center and field node (test/helpers/farm-site.ts) and calls
 * `server_list` (three RPCs to the node: status, peers, host_findings frames) and `world_query`
 * (one RPC, 50 observations) N times each, one call at a time. Measured per call: `callTool` sent →
 * result validated by the client against the tool's output schema.
 *
 *   node test/bench/mcp-roundtrip.bench.ts [--calls 100] [--warmup 5]
 *
 * The node's RPC rate limit (RPC_RATE_PER_SECOND per caller, burst RPC_RATE_BURST) applies to the
 * MCP key like any caller: back to back, `server_list` is refused RATE_LIMITED after about
 * RPC_RATE_BURST / 3 calls. Calls are paced to start at most RPC_RATE_PER_SECOND / (RPCs per call)
 * times a second, so what is measured is the round trip, not the limiter.
 */
import { parseArgs } from 'node:util'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { RPC_RATE_PER_SECOND } from '../../protocol/limits.ts'
import { startFarmSite, waitForZoneObservations } from '../helpers/farm-site.ts'
import { CLI, cliJson, makeStateDir, runCli, stopAll } from '../helpers/processes.ts'

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '100' }, warmup: { type: 'string', default: '5' } },
})
const calls = Number(values.calls)
const warmup = Number(values.warmup)

const percentile = (samples: number[], p: number) => {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

const site = await startFarmSite({ ccArgs: ['--host-ops'] })
const mcpDir = await makeStateDir('mcp-bench')
const client = new Client({ name: 'clawmesh-mcp-bench', version: '1.0.0' })
try {
  const opened = await cliJson<{ code: string }>(
    ['pair', '--operator', 'bench-ai', '--roles', 'ai-operator', '--url', site.cc.url],
    site.dirs.cc,
  )
  const joined = await runCli(['mcp', 'pair', '--url', site.cc.url, '--code', opened.code], mcpDir)
  if (joined.code !== 0) throw new Error(`mcp pair failed: ${joined.stderr}`)
  await waitForZoneObservations(site, 'zone-1')
  // One doctor run, so server_list has findings to read.
  await runCli(['doctor', '--url', site.cc.url, '--json'], site.dirs.cc)
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp', '--url', site.cc.url],
      env: { ...(process.env as Record<string, string>), CLAWMESH_STATE_DIR: mcpDir },
      stderr: 'ignore',
    }),
  )
  await client.listTools()
  const measure = async (name: string, args: Record<string, unknown>, rpcsPerCall: number) => {
    const intervalMs = (rpcsPerCall * 1_000) / RPC_RATE_PER_SECOND
    const samples: number[] = []
    for (let run = 0; run < warmup + calls; run++) {
      const at = performance.now()
      const result = await client.callTool({ name, arguments: args })
      const took = performance.now() - at
      if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`)
      if (run >= warmup) samples.push(took)
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - took)))
    }
    console.log(
      `${name.padEnd(12)} ${calls} calls: p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms`,
    )
  }
  await measure('server_list', {}, 3)
  await measure('world_query', { kind: 'observation', limit: 50 }, 1)
} finally {
  await client.close()
  await stopAll()
}
