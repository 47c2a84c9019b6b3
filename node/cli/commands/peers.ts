/** `clawmesh peers` and `clawmesh inspect`: what a node knows about its peers and its libp2p links. */
import type { Command } from 'commander'
import type { MeshInspect } from '../../../protocol/rpc/methods.ts'
import { formatDuration, printJson, table } from '../../../runtime/cli/output.ts'
import { resolveTargetUrl, withClient } from '../target-node.ts'

export function registerPeersCommands(program: Command): void {
  program
    .command('peers')
    .description('peers a node knows: trust, state, role, capabilities, latency, last seen')
    .option('--url <url>', 'node URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--json', 'print JSON')
    .action(async (options: { url?: string; json?: boolean }) => {
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        const { peers } = await client.call('mesh.peers', {})
        if (options.json) return printJson({ peers })
        if (peers.length === 0) return console.log('no peers known')
        const now = Date.now()
        console.log(
          table([
            ['NAME', 'STATE', 'ROLE', 'LATENCY', 'LAST SEEN', 'DEVICE ID', 'CAPABILITIES'],
            ...peers.map((peer) => [
              peer.name ?? '-',
              peer.state + (peer.trusted ? '' : ' (untrusted)'),
              peer.role ?? peer.kind ?? '-',
              peer.latencyMs === undefined ? '-' : `${peer.latencyMs.toFixed(0)} ms`,
              peer.lastSeen === undefined ? '-' : `${formatDuration(now - peer.lastSeen)} ago`,
              peer.deviceId,
              peer.capabilities.join(',') || '-',
            ]),
          ]),
        )
      })
    })

  program
    .command('inspect')
    .description(
      'libp2p-level view: connections, streams, protocols, gossipsub mesh and scores, relay reservations',
    )
    .option('--url <url>', 'node URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--json', 'print JSON')
    .action(async (options: { url?: string; json?: boolean }) => {
      const url = await resolveTargetUrl(program, options.url)
      await withClient(program, url, async (client) => {
        const report = await client.call('mesh.inspect', {})
        if (options.json) return printJson(report)
        console.log('connections:')
        console.log(
          table([
            ['PEER', 'DIR', 'TRANSPORT', 'LIMITED', 'STREAMS', 'REMOTE ADDRESS'],
            ...report.connections.map((connection) => [
              connection.deviceId,
              connection.direction,
              connection.transport,
              connection.limited ? 'yes' : 'no',
              connection.streams.map((stream) => stream.protocol ?? '?').join(',') || '-',
              connection.remoteAddr,
            ]),
          ]),
        )
        for (const topic of report.gossipsub.topics) {
          console.log(
            `gossipsub ${topic.topic}: mesh ${topic.meshPeers.length}, subscribers ${topic.subscribers.length}`,
          )
        }
        const site = report.gossipsub.site
        if (site !== undefined) console.log(`gossip site: ${siteLine(site)}`)
        for (const [peer, score] of Object.entries(report.gossipsub.scores))
          console.log(`  score ${peer} ${score.toFixed(2)}`)
        console.log(`protocols: ${report.protocols.join(' ')}`)
        console.log(
          `relay reservations: ${report.relayReservations.length === 0 ? 'none' : report.relayReservations.join(' ')}`,
        )
      })
    })
}

/** How `clawmesh inspect` states the node's part in its site's gossip (node/libp2p/gossip-site.ts). */
export function siteLine(site: NonNullable<MeshInspect['gossipsub']['site']>): string {
  if (site.role === 'hub') return 'hub (command center: relays every field node’s gossip)'
  if (site.role === 'none') return 'none (every trusted neighbour is an equal gossip peer)'
  return site.hubsInMesh.length > 0
    ? `spoke through ${site.hubsInMesh.join(', ')} (other neighbours: gossip announcements only, scored down, not meshed)`
    : 'spoke, no command center in the mesh (gossiping with every neighbour)'
}
