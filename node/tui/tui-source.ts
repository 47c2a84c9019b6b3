/**
 * Where the terminal UI gets its data and sends its decisions: a node reached with the CLI's own
 * client (client-node.ts). Approvals and the emergency stop are signed here with the CLI's operator
 * key and certificate, exactly as `clawmesh approve` and `clawmesh estop` sign them; questions go
 * to the planner as `clawmesh ask` sends them. The UI only sees the TuiSource interface.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { PLANNER_ASK_CLIENT_TIMEOUT_MS } from '../../protocol/planner.ts'
import { isCommandCenterRole } from '../../protocol/roles.ts'
import type { MeshEvent } from '../../protocol/rpc/methods.ts'
import {
  type OperatorCertificate,
  type OperatorLink,
  signApproval,
  signEstopOrder,
} from '../../protocol/safety/index.ts'
import type { Signer } from '../../protocol/signing.ts'
import type { CliClient } from '../cli/client-node.ts'
import { callRpc } from '../rpc/rpc-client.ts'
import { TUI_FRAMES_READ } from './constants.ts'
import { type Decision, mergeAlerts, type Part, type TuiSnapshot } from './tui-model.ts'

export interface TuiSource {
  snapshot(): Promise<TuiSnapshot>
  /** Each resolves to the line the UI shows as the outcome (also for a refusal). */
  decide(id: string, decision: Decision): Promise<string>
  ask(text: string): Promise<string>
  estop(): Promise<string>
}

/** The operator identity decisions are signed with; loaded on first use so a viewer without a
 * certificate can still watch (and learns why when it tries to decide). */
export interface OperatorKey {
  readonly certificate: OperatorCertificate
  readonly signer: Signer
  readonly link: OperatorLink
}

export interface NodeTuiSourceInit {
  readonly client: CliClient
  readonly operator: () => Promise<OperatorKey>
  readonly now?: () => number
}

async function part<T>(read: () => Promise<T>): Promise<Part<T>> {
  try {
    return { ok: true, value: await read() }
  } catch (error) {
    return { ok: false, error: (error as Error).message }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export function nodeTuiSource(init: NodeTuiSourceInit): TuiSource {
  const { client } = init
  const now = init.now ?? Date.now
  let alerts: MeshEvent[] = []
  let afterSeq: number | undefined

  return {
    async snapshot() {
      const [status, peers, world, proposals, planner, events] = await Promise.all([
        part(() => client.call('mesh.status', {})),
        part(async () => (await client.call('mesh.peers', {})).peers),
        part(() => client.call('mesh.world.query', { limit: TUI_FRAMES_READ, summary: true })),
        part(async () => (await client.call('proposal.list', {})).proposals),
        part(() => client.call('planner.status', {})),
        part(() => client.call('mesh.events', afterSeq === undefined ? {} : { afterSeq })),
      ])
      if (events.ok) {
        alerts = mergeAlerts(alerts, events.value.events)
        afterSeq = events.value.lastSeq >= 0 ? events.value.lastSeq : afterSeq
      }
      return {
        at: now(),
        status,
        peers,
        frames: world.ok ? { ok: true, value: world.value.frames } : world,
        summary: world.ok ? { ok: true, value: world.value.summary ?? '' } : world,
        proposals,
        planner,
        alerts: events.ok ? { ok: true, value: alerts } : events,
      }
    },

    async decide(id, decision) {
      try {
        const { certificate, signer, link } = await init.operator()
        const { proposal } = await client.call('proposal.get', { id })
        const approval = await signApproval(signer, {
          proposalHash: proposal.hash,
          decision,
          operatorCertificate: certificate,
          operatorLink: link,
          at: now(),
        })
        const method = decision === 'approve' ? 'proposal.approve' : 'proposal.reject'
        const result = await client.call(method, { id, approval })
        return `${decision === 'approve' ? 'approval' : 'rejection'} of ${id}: ${result.verdict} — ${result.detail} (now ${result.proposal.state})`
      } catch (error) {
        return `${decision} ${id} refused: ${messageOf(error)}`
      }
    },

    async ask(text) {
      try {
        // A planner backed by a model may take tens of seconds, longer than the default RPC timeout.
        const answer = await callRpc(
          client.libp2p,
          peerIdFromString(client.remoteDeviceId),
          client.protocol,
          'planner.ask',
          { text },
          { timeoutMs: PLANNER_ASK_CLIENT_TIMEOUT_MS },
        )
        const created = answer.proposals.map((record) => ` [proposal ${record.proposal.id} awaits approval]`)
        return `${answer.planner}: ${answer.answer}${created.join('')}`
      } catch (error) {
        return `the planner did not answer: ${messageOf(error)}`
      }
    },

    async estop() {
      try {
        const { certificate, signer } = await init.operator()
        const order = await signEstopOrder(signer, {
          scope: { kind: 'all' },
          reason: 'emergency stop from the terminal UI',
          operatorCertificate: certificate,
          issuedAt: now(),
        })
        const status = await client.call('mesh.status', {})
        // A command center relays to every node; any other node stops its own actuators.
        const { actuators } = isCommandCenterRole(status.role)
          ? await client.call('safety.estop', { order })
          : await client.call('actuator.estop', { order })
        const unsafe = actuators.filter((actuator) => actuator.outcome !== 'safe')
        return unsafe.length === 0
          ? `STOPPED: ${actuators.length} actuator(s) safe and latched`
          : `STOP INCOMPLETE: ${unsafe.length} of ${actuators.length} actuator(s) NOT confirmed safe (${unsafe.map((a) => a.capability).join(', ')}): check them on site`
      } catch (error) {
        return `emergency stop FAILED: ${messageOf(error)} — use \`clawmesh estop\` or stop on site`
      }
    },
  }
}
