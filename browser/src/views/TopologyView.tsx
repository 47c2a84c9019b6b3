/** Topology: the command center and every peer it knows, with role, capabilities, link posture and
 * health; stale, down and refused peers stand out, the planner leader is marked. */
import { For, Show } from 'solid-js'
import type { PeerEntry } from '../../../protocol/rpc/methods.ts'
import { formatAge, type MeshState } from '../state/mesh-state.ts'
import { now } from './clock.ts'

const ATTENTION_STATES = new Set(['suspect', 'down', 'refused', 'disconnected', 'left'])

interface TopologyNode {
  readonly deviceId: string
  readonly name: string
  readonly role: string
  readonly kind: string
  readonly state: string
  readonly capabilities: readonly string[]
  readonly posture?: string
  readonly latencyMs?: number
  readonly lastSeen?: number
  readonly isSelf: boolean
}

function postureText(peer: PeerEntry): string | undefined {
  const posture = peer.posture
  if (posture === undefined) return undefined
  return [
    posture.transport,
    posture.label,
    posture.tls === 'tls' ? 'TLS' : 'no TLS',
    posture.encryption,
    posture.keyPinned ? 'key pinned' : undefined,
  ]
    .filter((part) => part !== undefined)
    .join(' · ')
}

export function topologyNodes(state: MeshState): TopologyNode[] {
  const nodes: TopologyNode[] = []
  if (state.status !== undefined) {
    nodes.push({
      deviceId: state.status.deviceId,
      name: state.status.name,
      role: state.status.role,
      kind: 'node',
      state: 'self',
      capabilities: state.status.capabilities,
      isSelf: true,
    })
  }
  for (const peer of state.peers) {
    if (peer.kind === 'cli' || peer.kind === 'console') continue
    const posture = postureText(peer)
    nodes.push({
      deviceId: peer.deviceId,
      name: peer.name ?? peer.deviceId.slice(-8),
      role: peer.role ?? 'unknown',
      kind: peer.kind ?? 'node',
      state: peer.state,
      capabilities: peer.capabilities,
      ...(posture === undefined ? {} : { posture }),
      ...(peer.latencyMs === undefined ? {} : { latencyMs: peer.latencyMs }),
      ...(peer.lastSeen === undefined ? {} : { lastSeen: peer.lastSeen }),
      isSelf: false,
    })
  }
  return nodes
}

export function TopologyView(props: { state: MeshState }) {
  const leader = () =>
    props.state.planner?.leader?.deviceId ??
    (props.state.planner?.isLeader === true ? props.state.status?.deviceId : undefined)
  const clients = () => props.state.peers.filter((peer) => peer.kind === 'cli' || peer.kind === 'console')
  return (
    <section data-testid="view-topology" aria-label="Topology">
      <div class="summary">
        <Show when={props.state.status}>
          {(status) => (
            <span>
              mesh <strong>{status().meshName}</strong> · generation {status().generation} · health{' '}
              <strong data-testid="topology-health">{props.state.health?.status ?? '…'}</strong>
            </span>
          )}
        </Show>
      </div>
      <ul class="cards">
        <For each={topologyNodes(props.state)}>
          {(node) => (
            <li
              class={`card node state-${node.state}${ATTENTION_STATES.has(node.state) ? ' attention' : ''}`}
              data-testid="topology-node"
              data-device-id={node.deviceId}
              data-name={node.name}
              data-role={node.role}
              data-state={node.state}
            >
              <h3>
                {node.name}
                <Show when={leader() === node.deviceId}>
                  <span class="badge leader" data-testid="planner-leader" title="planner leader">
                    leader
                  </span>
                </Show>
              </h3>
              <p class="meta">
                {node.role} · <span class="state">{node.isSelf ? 'command center' : node.state}</span>
                <Show when={node.latencyMs !== undefined}> · {Math.round(node.latencyMs ?? 0)} ms</Show>
              </p>
              <Show when={node.posture}>
                <p class="meta">link: {node.posture}</p>
              </Show>
              <Show when={!node.isSelf && node.lastSeen !== undefined && ATTENTION_STATES.has(node.state)}>
                <p class="meta warn">last seen {formatAge(now() - (node.lastSeen ?? 0))} ago</p>
              </Show>
              <p class="caps">
                <For each={[...node.capabilities]}>
                  {(capability) => <span class="cap">{capability}</span>}
                </For>
              </p>
              <code class="id">{node.deviceId}</code>
            </li>
          )}
        </For>
      </ul>
      <Show when={clients().length > 0}>
        <p class="meta">
          clients: {clients().length} ({clients().filter((peer) => peer.state === 'connected').length}{' '}
          connected)
        </p>
      </Show>
    </section>
  )
}
