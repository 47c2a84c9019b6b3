/** Command: chat with the planner, and the proposals awaiting (or past) a decision — level,
 * evidence with trust tiers, author, expiry, approvals so far (L3 needs two), approve/reject signed
 * with this console's operator key, and the execution outcome. */
import { createSignal, For, Show } from 'solid-js'
import type { ProposalRecordWire } from '../../../protocol/rpc/methods.ts'
import { requiredApprovers } from '../../../protocol/safety/policy.ts'
import { approvalLevelSchema } from '../../../protocol/safety/proposal.ts'
import {
  isCancellableProposalState,
  isCollectingProposalState,
} from '../../../protocol/safety/proposal-state.ts'
import type { DecisionOutcome } from '../state/decisions.ts'
import { formatAge, type MeshState } from '../state/mesh-state.ts'
import { now } from './clock.ts'
import { ProposalRefusalNote } from './ProposalRefusalNote.tsx'

interface ApprovalSummary {
  readonly decision: string
  readonly operator: string
  readonly link: string
}

function approvalsOf(record: ProposalRecordWire): ApprovalSummary[] {
  return record.approvals.map(({ body }) => ({
    decision: body.decision,
    operator: body.operatorCertificate.body.displayName,
    link: body.operatorLink,
  }))
}

function ProposalCard(props: {
  record: ProposalRecordWire
  operatorId: string | undefined
  isAdmin: boolean
  nameOf: (id: string) => string
  onDecide: (record: ProposalRecordWire, decision: 'approve' | 'reject') => Promise<DecisionOutcome>
  onCancel: (record: ProposalRecordWire) => Promise<DecisionOutcome>
}) {
  const [busy, setBusy] = createSignal(false)
  const [outcome, setOutcome] = createSignal<DecisionOutcome>()
  const view = () => props.record.proposal
  const approvals = () => approvalsOf(props.record)
  const needed = () => {
    const level = approvalLevelSchema.safeParse(view().level)
    return level.success ? requiredApprovers(level.data) : 0
  }
  const decide = async (decision: 'approve' | 'reject') => {
    setBusy(true)
    setOutcome(await props.onDecide(props.record, decision))
    setBusy(false)
  }
  const cancel = async () => {
    if (!globalThis.confirm(`Withdraw ${view().operation} ${view().capability}? It will never execute.`))
      return
    setBusy(true)
    setOutcome(await props.onCancel(props.record))
    setBusy(false)
  }
  return (
    <li
      class={`card proposal state-${props.record.state}`}
      data-testid="proposal"
      data-id={view().id}
      data-capability={view().capability}
      data-state={props.record.state}
    >
      <h3>
        {view().operation} {view().capability}
        <span class={`badge level-${view().level}`} data-testid="proposal-level">
          {view().level}
        </span>
        <span class="badge" data-testid="proposal-state">
          {props.record.state.replace('_', ' ')}
        </span>
      </h3>
      <p class="meta">
        args {JSON.stringify(view().args)} · on {props.nameOf(view().targetNode)}
      </p>
      <p class="meta">
        by {view().author.kind} {props.nameOf(view().author.id)}
        {view().author.id === props.operatorId ? ' (you)' : ''} ·{' '}
        {view().expiresAt > now()
          ? `expires in ${formatAge(view().expiresAt - now())}`
          : `expired ${formatAge(now() - view().expiresAt)} ago`}
      </p>
      <p class="meta" data-testid="proposal-evidence">
        evidence:{' '}
        <Show when={view().evidence.length > 0} fallback={<span class="warn">none</span>}>
          <For each={view().evidence}>
            {(reference) => (
              <span class={`tier tier-${reference.tier}`} title={reference.frameId}>
                {reference.tier}
              </span>
            )}
          </For>
        </Show>
      </p>
      <Show when={needed() > 0}>
        <p class="meta" data-testid="proposal-approvals">
          approvals {approvals().filter((approval) => approval.decision === 'approve').length} of {needed()}
          <For each={approvals()}>
            {(approval) => (
              <span class="approval">
                {' '}
                · {approval.operator} {approval.decision}d over {approval.link}
              </span>
            )}
          </For>
          <Show when={view().level === 'L3'}> (L3: two distinct operators, one on a local or LAN link)</Show>
        </p>
      </Show>
      <ProposalRefusalNote record={props.record} />
      <Show when={props.record.outcome !== undefined || props.record.reason !== undefined}>
        <p class="outcome" data-testid="proposal-outcome">
          {props.record.outcome ?? props.record.reason}
        </p>
      </Show>
      <Show when={isCollectingProposalState(props.record.state)}>
        <div class="actions">
          <button
            type="button"
            class="approve"
            data-testid="approve-button"
            aria-label={`Approve ${view().operation} ${view().capability}`}
            disabled={busy()}
            onClick={() => void decide('approve')}
          >
            Approve
          </button>
          <button
            type="button"
            class="reject"
            data-testid="reject-button"
            aria-label={`Reject ${view().operation} ${view().capability}`}
            disabled={busy()}
            onClick={() => void decide('reject')}
          >
            Reject
          </button>
        </div>
      </Show>
      {/* The command center decides (author or admin); the button shows only where it would agree. */}
      <Show
        when={
          isCancellableProposalState(props.record.state) &&
          (props.isAdmin || view().author.id === props.operatorId)
        }
      >
        <div class="actions">
          <button
            type="button"
            class="cancel"
            data-testid="cancel-button"
            aria-label={`Withdraw ${view().operation} ${view().capability}`}
            title="Withdraw (its author or an admin)"
            disabled={busy()}
            onClick={() => void cancel()}
          >
            Withdraw
          </button>
        </div>
      </Show>
      <Show when={outcome()}>
        {(result) => (
          <p class={result().ok ? 'ok' : 'error'} data-testid="decision-result" role="status">
            {result().message}
          </p>
        )}
      </Show>
    </li>
  )
}

export function CommandView(props: {
  state: MeshState
  operatorId: string | undefined
  /** The console's certificate holds the admin role: it may withdraw anyone's proposal. */
  isAdmin: boolean
  onDecide: (record: ProposalRecordWire, decision: 'approve' | 'reject') => Promise<DecisionOutcome>
  onCancel: (record: ProposalRecordWire) => Promise<DecisionOutcome>
  onAsk: (text: string) => Promise<void>
}) {
  const [text, setText] = createSignal('')
  const [asking, setAsking] = createSignal(false)
  const nameOf = (id: string) => {
    if (id === props.state.status?.deviceId) return props.state.status.name
    return props.state.peers.find((peer) => peer.deviceId === id)?.name ?? `…${id.slice(-6)}`
  }
  const send = async (event: Event) => {
    event.preventDefault()
    const message = text().trim()
    if (message === '') return
    setAsking(true)
    setText('')
    await props.onAsk(message)
    setAsking(false)
  }
  return (
    <section data-testid="view-command" aria-label="Command">
      <div class="chat">
        <Show when={props.state.plannerUnavailable}>
          <p class="notice" data-testid="planner-unavailable">
            {props.state.plannerUnavailable}
          </p>
        </Show>
        <ol class="chat-log" data-testid="chat-log" aria-live="polite">
          <For each={props.state.chat}>
            {(entry) => (
              <li class={`chat-${entry.from}`} data-testid="chat-entry" data-from={entry.from}>
                <span class="who">{entry.from}</span> {entry.text}
                <Show when={entry.detail}>
                  <span class="meta"> — {entry.detail}</span>
                </Show>
              </li>
            )}
          </For>
        </ol>
        <form class="chat-form" onSubmit={send}>
          <label for="chat-input" class="visually-hidden">
            Message to the planner
          </label>
          <input
            id="chat-input"
            data-testid="chat-input"
            placeholder="Ask the planner, e.g. open the valve in zone-2 for 5 minutes"
            value={text()}
            onInput={(event) => setText(event.currentTarget.value)}
          />
          <button type="submit" data-testid="chat-send" disabled={asking() || text().trim() === ''}>
            {asking() ? 'Asking…' : 'Send'}
          </button>
        </form>
      </div>
      <h2>Proposals</h2>
      <Show when={props.state.proposals.length > 0} fallback={<p class="empty">no proposals</p>}>
        <ul class="cards">
          <For each={props.state.proposals}>
            {(record) => (
              <ProposalCard
                record={record}
                operatorId={props.operatorId}
                isAdmin={props.isAdmin}
                nameOf={nameOf}
                onDecide={props.onDecide}
                onCancel={props.onCancel}
              />
            )}
          </For>
        </ul>
      </Show>
    </section>
  )
}
