/** `clawmesh status --url`: asks a running node (over libp2p) who it is and what it is connected to. */
import type { Command } from 'commander'
import { describePublishing } from '../../../protocol/publishing.ts'
import type { MeshEvent, MeshHealth, MeshStatus } from '../../../protocol/rpc/methods.ts'
import { formatDuration, printJson, table } from '../../../runtime/cli/output.ts'

/** How often `status --events --follow` asks for new events. */
const EVENTS_FOLLOW_INTERVAL_MS = 1_000

import { resolveTargetUrl, withClient } from '../target-node.ts'

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('status of a running node')
    .option('--url <url>', 'node URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--events', 'include recent lifecycle and security events')
    .option('--follow', 'with --events: keep printing new events as they happen (Ctrl-C to stop)')
    .option('--json', 'print JSON')
    .action(async (options: { url?: string; json?: boolean; events?: boolean; follow?: boolean }) => {
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        // One round trip for all three: each call is its own stream on the one connection.
        const [status, health, events] = await Promise.all([
          client.call('mesh.status', {}),
          client.call('mesh.health', {}),
          options.events ? client.call('mesh.events', {}).then((answer) => answer.events) : undefined,
        ])
        if (options.json) return printJson({ ...status, health, ...(events === undefined ? {} : { events }) })
        console.log(
          `${status.name} (${status.role}) in mesh ${status.meshName}, generation ${status.generation}, up ${formatDuration(status.uptimeMs)}`,
        )
        console.log(`device ID  ${status.deviceId}`)
        console.log(`version    ${status.version}`)
        console.log(
          `discovery  ${status.discovery === 'mdns' ? 'mDNS on the LAN' : 'off'}; static peers ${status.staticPeers.length}`,
        )
        if (status.planner !== undefined) {
          const { planner } = status
          console.log(
            `planner    ${planner.backend}, ${planner.mode}${planner.tool === undefined ? '' : ` (tool ${planner.tool})`}, queue ${planner.queueDepth}${planner.isLeader ? ', leading' : ''}`,
          )
        }
        console.log(
          `health     ${health.status}${health.reasons.length > 0 ? ` — ${health.reasons.join('; ')}` : ''}`,
        )
        if (health.publishing !== undefined)
          console.log(`publishing ${describePublishing(health.publishing)}`)
        for (const address of status.listenAddrs) console.log(`listening  ${address}`)
        if (status.leader !== undefined) {
          const who = status.leader.isSelf ? 'this node' : status.leader.deviceId
          console.log(
            `leader     ${who} at term ${status.leader.term}${status.leader.live ? '' : ' (lost; waiting for a successor)'}`,
          )
        }
        console.log(`trusted peers ${status.trustedPeerCount}, connections ${status.connections.length}`)
        if (status.connections.length > 0) {
          console.log(
            table([
              ['PEER', 'DIRECTION', 'TRANSPORT', 'REMOTE ADDRESS'],
              ...status.connections.map((connection) => [
                connection.deviceId,
                connection.direction,
                connection.transport,
                connection.remoteAddr,
              ]),
            ]),
          )
        }
        printStaticPeers(status.staticPeers)
        printThrottledPeers(health.throttledPeers ?? [])
        const print = (event: MeshEvent) =>
          console.log(
            `${new Date(event.at).toISOString()} ${event.level.padEnd(5)} ${event.type} ${event.message}`,
          )
        for (const event of events ?? []) print(event)
        if (!options.events || !options.follow) return
        // Live subscription: ask for everything after the last sequence number seen; a gap in the
        // sequence means events fell off the node's ring between two polls.
        let lastSeq = events?.at(-1)?.seq ?? 0
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, EVENTS_FOLLOW_INTERVAL_MS))
          const next = await client.call('mesh.events', { afterSeq: lastSeq })
          if ((next.events[0]?.seq ?? lastSeq + 1) > lastSeq + 1)
            console.log(`… ${next.events[0]!.seq - lastSeq - 1} events missed`)
          for (const event of next.events) print(event)
          lastSeq = next.lastSeq
        }
      })
    })
}

/** One row per peer throttled lately for flooding: what was turned away, and whether its gossip is
 * scored down (graylisted) right now. */
function printThrottledPeers(peers: NonNullable<MeshHealth['throttledPeers']>): void {
  if (peers.length === 0) return
  console.log(
    table([
      ['THROTTLED PEERS', 'GOSSIP MSGS', 'GOSSIP FRAMES', 'RPC REFUSED', 'SCORE', 'GOSSIP READS', 'LAST'],
      ...peers.map((peer) => [
        peer.deviceId,
        String(peer.gossipMessages),
        String(peer.gossipFrames),
        String(peer.rpcRequests),
        `${peer.gossipScore === undefined ? '?' : peer.gossipScore.toFixed(0)}${peer.scoredDown ? ' (scored down)' : ''}`,
        peer.gossipReadsPaused === true ? 'paused' : 'read',
        new Date(peer.lastAt).toISOString(),
      ]),
    ]),
  )
}

/** One row per configured static peer, with the TLS posture of its link (protocol/tls-pin.ts). */
function printStaticPeers(peers: MeshStatus['staticPeers']): void {
  if (peers.length === 0) return
  console.log(
    table([
      ['STATIC PEER', 'LABEL', 'TLS', 'STATE', 'URL'],
      ...peers.map((peer) => [
        peer.deviceId,
        peer.label,
        peer.tls ?? '?',
        peer.lastError === undefined ? peer.state : `${peer.state}: ${peer.lastError}`,
        peer.url,
      ]),
    ]),
  )
}
