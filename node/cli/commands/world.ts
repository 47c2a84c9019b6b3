/** `clawmesh world` (query the world model) and `clawmesh frames` (live tail of new frames). */
import type { Command } from 'commander'
import { FRAME_KINDS, type Frame } from '../../../protocol/context/frame.ts'
import { WORLD_QUERY_MAX_LIMIT } from '../../../protocol/limits.ts'
import type { WorldQueryParams } from '../../../protocol/rpc/methods.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { formatDuration, printJson, table } from '../../../runtime/cli/output.ts'
import { resolveTargetUrl, withClient } from '../target-node.ts'

/** How often `frames` polls for new frames: fast enough to feel live, light on the node. */
const FRAMES_POLL_INTERVAL_MS = 1_000

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function parseDuration(text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text)
  if (match === null) throw new CliUsageError(`"${text}" is not a duration: use e.g. 30s, 15m, 2h, 1d`)
  return Number(match[1]) * (DURATION_UNITS[match[2] as string] as number)
}

function describe(frame: Frame, now: number): string[] {
  const data: Record<string, unknown> = frame.data
  const what =
    frame.kind === 'observation'
      ? `${frame.data.metric} ${frame.data.value} ${frame.data.unit}${frame.data.alarm === true ? ' ALARM' : ''}`
      : String(data['text'] ?? data['message'] ?? JSON.stringify(data)).slice(0, 80)
  return [
    `${formatDuration(now - frame.timestamp)} ago`,
    frame.originName,
    frame.kind,
    String(data['zone'] ?? '-'),
    frame.trust.tier,
    what,
  ]
}

export function registerWorldCommands(program: Command): void {
  program
    .command('world')
    .description('query the world model of a node')
    .option('--url <url>', 'node URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--kind <kind>', `frame kind (${FRAME_KINDS.join(', ')})`)
    .option('--zone <zone>', 'zone id')
    .option('--since <duration>', 'only frames newer than this (30s, 15m, 2h, 1d)')
    .option('--limit <n>', 'most frames to show', '50')
    .option('--json', 'print JSON')
    .action(
      async (options: {
        url?: string
        kind?: string
        zone?: string
        since?: string
        limit: string
        json?: boolean
      }) => {
        if (options.kind !== undefined && !(FRAME_KINDS as readonly string[]).includes(options.kind)) {
          throw new CliUsageError(`unknown kind "${options.kind}": use one of ${FRAME_KINDS.join(', ')}`)
        }
        const limit = Number(options.limit)
        if (!Number.isInteger(limit) || limit < 1 || limit > WORLD_QUERY_MAX_LIMIT) {
          throw new CliUsageError(`--limit must be a whole number from 1 to ${WORLD_QUERY_MAX_LIMIT}`)
        }
        const query: WorldQueryParams = { limit, summary: true }
        if (options.kind !== undefined) query.kind = options.kind as WorldQueryParams['kind']
        if (options.zone !== undefined) query.zone = options.zone
        if (options.since !== undefined) query.since = Date.now() - parseDuration(options.since)
        const url = await resolveTargetUrl(program, options.url)
        await withClient(program, url, async (client) => {
          const answer = await client.call('mesh.world.query', query)
          if (options.json) return printJson(answer)
          const now = Date.now()
          console.log(answer.summary ?? '')
          if (answer.frames.length > 0) {
            console.log(
              table([
                ['AGE', 'ORIGIN', 'KIND', 'ZONE', 'TIER', 'WHAT'],
                ...answer.frames.map((frame) => describe(frame, now)),
              ]),
            )
          }
        })
      },
    )

  program
    .command('frames')
    .description('live tail of frames arriving at a node (Ctrl-C to stop)')
    .option('--url <url>', 'node URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--json', 'one JSON frame per line')
    .action(async (options: { url?: string; json?: boolean }) => {
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        const seen = new Set<string>()
        let since = Date.now() - 10_000
        for (;;) {
          const { frames } = await client.call('mesh.world.query', { since, limit: WORLD_QUERY_MAX_LIMIT })
          for (const frame of frames.reverse()) {
            if (seen.has(frame.frameId)) continue
            seen.add(frame.frameId)
            since = Math.max(since, frame.timestamp)
            console.log(options.json ? JSON.stringify(frame) : describe(frame, Date.now()).join('  '))
          }
          if (seen.size > 10_000) seen.clear()
          await new Promise((resolve) => setTimeout(resolve, FRAMES_POLL_INTERVAL_MS))
        }
      })
    })
}
