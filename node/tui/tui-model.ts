/**
 * The terminal UI's pure part: what a snapshot of a node looks like, how keys move the UI between
 * its modes (and which actions they ask for), and how peers, frames, proposals and alerts read in
 * one line of a narrow pane. No Ink, no I/O: tui-model.test.ts pins it, tui-app.ts draws it.
 */
import type { Frame } from '../../protocol/context/frame.ts'
import type { PlannerStatus } from '../../protocol/planner.ts'
import type { MeshEvent, MeshStatus, PeerEntry, ProposalRecordWire } from '../../protocol/rpc/methods.ts'
import {
  isCollectingProposalState,
  type OperatorLink,
  requiredApprovers,
} from '../../protocol/safety/index.ts'
import { classifyHost } from '../../protocol/safety/operator-link.ts'
import type { ApprovalLevel } from '../../protocol/safety/proposal.ts'
import { TUI_ALERTS_KEPT, TUI_CHAT_MAX_CHARS } from './constants.ts'

/** One read of the node; a part that failed carries its error instead of its data, so a field node
 * (no proposals) or a node without a planner still shows everything else. */
export interface TuiSnapshot {
  readonly at: number
  readonly status: Part<Pick<MeshStatus, 'name' | 'role' | 'meshName' | 'connections' | 'deviceId'>>
  readonly peers: Part<readonly PeerEntry[]>
  readonly frames: Part<readonly Frame[]>
  readonly summary: Part<string>
  readonly proposals: Part<readonly ProposalRecordWire[]>
  readonly planner: Part<PlannerStatus>
  readonly alerts: Part<readonly MeshEvent[]>
}

export type Part<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string }

export type Decision = 'approve' | 'reject'

/** What the UI asks the node to do; tui-app.ts runs it through a TuiSource. */
export type TuiAction =
  | { readonly kind: 'decide'; readonly id: string; readonly decision: Decision }
  | { readonly kind: 'ask'; readonly text: string }
  | { readonly kind: 'estop' }
  | { readonly kind: 'quit' }

export type TuiMode =
  | { readonly kind: 'normal' }
  | { readonly kind: 'help' }
  | { readonly kind: 'chat'; readonly draft: string }
  | {
      readonly kind: 'confirm-decision'
      readonly id: string
      readonly decision: Decision
      readonly level: ApprovalLevel
    }
  | { readonly kind: 'confirm-estop' }

export interface TuiUiState {
  readonly mode: TuiMode
  /** Index into the pending proposals. */
  readonly selected: number
}

export const INITIAL_UI_STATE: TuiUiState = { mode: { kind: 'normal' }, selected: 0 }

/** The subset of Ink's key record the reducer reads (so tests need not build a whole one). */
export interface KeyPress {
  readonly upArrow?: boolean
  readonly downArrow?: boolean
  readonly return?: boolean
  readonly escape?: boolean
  readonly backspace?: boolean
  readonly delete?: boolean
  readonly ctrl?: boolean
}

/** Approving an L2 or L3 asks first: those move equipment or change hosts, and one stray key
 * must not do that. L0/L1 and every rejection (which moves nothing) go at once. */
export function needsConfirmation(decision: Decision, level: ApprovalLevel): boolean {
  return decision === 'approve' && (level === 'L2' || level === 'L3')
}

/** Proposals an operator can still decide, oldest first (the one waiting longest on top). */
export function pendingProposals(records: readonly ProposalRecordWire[]): ProposalRecordWire[] {
  return records
    .filter((record) => isCollectingProposalState(record.state))
    .sort((a, b) => a.receivedAt - b.receivedAt)
}

function clampSelection(selected: number, count: number): number {
  if (count === 0) return 0
  return Math.min(Math.max(selected, 0), count - 1)
}

export interface KeyOutcome {
  readonly state: TuiUiState
  readonly action?: TuiAction
}

/**
 * The whole keyboard: `input` is the typed text (Ink's first argument), `key` the special keys.
 * `pending` is the list the selection points into, as currently shown.
 */
export function reduceKey(
  state: TuiUiState,
  input: string,
  key: KeyPress,
  pending: readonly ProposalRecordWire[],
): KeyOutcome {
  const { mode } = state
  if (key.ctrl === true && input === 'c') return { state, action: { kind: 'quit' } }
  switch (mode.kind) {
    case 'help':
      return { state: { ...state, mode: { kind: 'normal' } } }
    case 'chat':
      return reduceChatKey(state, mode.draft, input, key)
    case 'confirm-decision': {
      const back = { ...state, mode: { kind: 'normal' } as const }
      if (input === 'y' || input === 'Y')
        return { state: back, action: { kind: 'decide', id: mode.id, decision: mode.decision } }
      return { state: back }
    }
    case 'confirm-estop': {
      const back = { ...state, mode: { kind: 'normal' } as const }
      // Capital Y only: the stop is the one action whose confirmation must be deliberate.
      if (input === 'Y') return { state: back, action: { kind: 'estop' } }
      return { state: back }
    }
    case 'normal':
      return reduceNormalKey(state, input, key, pending)
  }
}

function reduceChatKey(state: TuiUiState, draft: string, input: string, key: KeyPress): KeyOutcome {
  const normal = { ...state, mode: { kind: 'normal' } as const }
  if (key.escape === true) return { state: normal }
  if (key.return === true) {
    const text = draft.trim()
    return text === '' ? { state: normal } : { state: normal, action: { kind: 'ask', text } }
  }
  if (key.backspace === true || key.delete === true)
    return { state: { ...state, mode: { kind: 'chat', draft: draft.slice(0, -1) } } }
  if (key.ctrl === true || input === '') return { state }
  return { state: { ...state, mode: { kind: 'chat', draft: (draft + input).slice(0, TUI_CHAT_MAX_CHARS) } } }
}

/** `a` / `r` on the selected proposal: at once, or through a confirmation. */
function decideSelected(
  state: TuiUiState,
  decision: Decision,
  record: ProposalRecordWire | undefined,
): KeyOutcome {
  if (record === undefined) return { state }
  const { id, level } = record.proposal
  if (needsConfirmation(decision, level))
    return { state: { ...state, mode: { kind: 'confirm-decision', id, decision, level } } }
  return { state, action: { kind: 'decide', id, decision } }
}

function reduceNormalKey(
  state: TuiUiState,
  input: string,
  key: KeyPress,
  pending: readonly ProposalRecordWire[],
): KeyOutcome {
  const selected = clampSelection(state.selected, pending.length)
  if (key.upArrow === true || input === 'k')
    return { state: { ...state, selected: clampSelection(selected - 1, pending.length) } }
  if (key.downArrow === true || input === 'j')
    return { state: { ...state, selected: clampSelection(selected + 1, pending.length) } }
  if (input === '?' || input === 'h') return { state: { ...state, selected, mode: { kind: 'help' } } }
  if (input === 'q') return { state, action: { kind: 'quit' } }
  if (input === '/' || input === 'c')
    return { state: { ...state, selected, mode: { kind: 'chat', draft: '' } } }
  if (input === '!') return { state: { ...state, selected, mode: { kind: 'confirm-estop' } } }
  if (input === 'a' || input === 'r')
    return decideSelected({ ...state, selected }, input === 'a' ? 'approve' : 'reject', pending[selected])
  return { state: { ...state, selected } }
}

/** Keeps the newest alerts (warn and error events), at most TUI_ALERTS_KEPT, newest first. */
export function mergeAlerts(kept: readonly MeshEvent[], fresh: readonly MeshEvent[]): MeshEvent[] {
  const bySeq = new Map<number, MeshEvent>()
  for (const event of [...kept, ...fresh]) if (event.level !== 'info') bySeq.set(event.seq, event)
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, TUI_ALERTS_KEPT)
}

export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1_000))
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m`
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)}h`
  return `${Math.floor(seconds / 86_400)}d`
}

/** One peer and its link: name, state, role, latency and the transport of an open connection. */
export function describePeer(
  peer: PeerEntry,
  connections: readonly { deviceId: string; transport: string; direction: string }[],
): string {
  const link = connections.find((connection) => connection.deviceId === peer.deviceId)
  return [
    peer.name ?? `${peer.deviceId.slice(0, 12)}…`,
    peer.state,
    peer.role ?? peer.kind ?? '-',
    peer.latencyMs === undefined ? '' : `${Math.round(peer.latencyMs)}ms`,
    link === undefined ? '' : `${link.transport} ${link.direction === 'inbound' ? 'in' : 'out'}`,
    peer.trusted ? '' : 'UNTRUSTED',
  ]
    .filter((part) => part !== '')
    .join(' ')
}

export function describeFrame(frame: Frame, now: number): string {
  const data: Record<string, unknown> = frame.data
  const what =
    frame.kind === 'observation'
      ? `${frame.data.metric} ${frame.data.value}${frame.data.unit}${frame.data.alarm === true ? ' ALARM' : ''}`
      : String(data['text'] ?? data['message'] ?? data['status'] ?? '')
  const zone = typeof data['zone'] === 'string' ? ` ${data['zone']}` : ''
  return `${formatAge(now - frame.timestamp)} ${frame.originName} ${frame.kind}${zone} ${what}`.trim()
}

export function describeProposal(record: ProposalRecordWire, now: number): string {
  const { proposal } = record
  const args = Object.entries(proposal.args)
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(' ')
  return `${proposal.level} ${proposal.operation} ${proposal.capability}${args === '' ? '' : ` ${args}`} ${record.approvals.length}/${requiredApprovers(proposal.level)} ${formatAge(now - record.receivedAt)}`
}

export function describeAlert(event: MeshEvent): string {
  return `${new Date(event.at).toISOString().slice(11, 19)} ${event.level === 'error' ? 'ERR' : 'WARN'} ${event.type}: ${event.message}`
}

export function describePlanner(planner: PlannerStatus): string {
  const leader = planner.isLeader ? 'leader' : 'follower'
  const tool = planner.tool === undefined ? '' : ` tool ${planner.tool}`
  const queue = planner.queueDepth > 0 ? ` queue ${planner.queueDepth}` : ''
  return `${planner.mode} (${planner.backend}, ${leader})${tool}${queue}`
}

/** The question asked before an approval of an L2/L3 or before the stop. */
export function confirmationPrompt(
  mode: TuiMode,
  pending: readonly ProposalRecordWire[],
): string | undefined {
  if (mode.kind === 'confirm-estop')
    return 'EMERGENCY STOP every actuator of the site and latch it? Press Y (capital) to stop, any other key cancels.'
  if (mode.kind !== 'confirm-decision') return undefined
  const record = pending.find((candidate) => candidate.proposal.id === mode.id)
  const what = record === undefined ? mode.id : `${record.proposal.operation} ${record.proposal.capability}`
  const l3 = mode.level === 'L3' ? ' (L3: needs a second operator, one on site)' : ''
  return `Approve ${mode.level} ${what}${l3}? y approves, any other key cancels.`
}

/** Rows the body may use in a terminal of `rows` lines: the header, the world summary, the chat /
 * message line and the key line take one each. At least one content row per pane survives. */
export function bodyRows(rows: number): number {
  return Math.max(rows - 4, 6)
}

/** Content lines of each of the two panes stacked in a column of `height` rows (a pane's border
 * and title cost it 3 rows). */
export function paneContentRows(height: number): { top: number; bottom: number } {
  const inner = Math.max(height - 6, 2)
  const top = Math.max(Math.floor(inner / 2), 1)
  return { top, bottom: Math.max(inner - top, 1) }
}

export const HELP_LINES: readonly string[] = [
  '↑/↓ or j/k  select a proposal waiting for a decision',
  'a           approve it (signed with this CLI operator key; L2/L3 ask y first)',
  'r           reject it',
  '/ or c      chat: ask the planner (Enter sends, Esc cancels)',
  '!           EMERGENCY STOP every actuator (asks for capital Y)',
  '? or h      this help (any key closes it)',
  'q, Ctrl-C   quit',
]

/**
 * The link approvals from this terminal claim by default. Over SSH the node is often loopback
 * (the TUI runs on the command center itself) while the person is wherever the SSH client is: the
 * claim then follows the SSH client's address (`SSH_CONNECTION`), so a remote operator is not
 * counted as on site. Never more local than the node URL alone would say.
 */
export function defaultTuiLink(urlLink: OperatorLink, sshConnection: string | undefined): OperatorLink {
  const client = sshConnection?.trim().split(/\s+/)[0]
  if (urlLink !== 'local' || client === undefined || client === '') return urlLink
  return classifyHost(client)
}
