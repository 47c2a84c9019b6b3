/** Alerts: threshold crossings and refusals, newest first, each with an Acknowledge button for this
 * operator (kept in this browser under the operator key, so a reload keeps it acknowledged). */
import { createMemo, createSignal, For, Show } from 'solid-js'
import { type Alert, MAX_ALERTS_SHOWN } from '../state/alerts.ts'
import { formatAge } from '../state/mesh-state.ts'
import { now } from './clock.ts'

export function AlertsView(props: {
  /** Not yet acknowledged by this operator, newest first. */
  alerts: readonly Alert[]
  acknowledgedCount: number
  onAcknowledge: (ids: readonly string[]) => Promise<void>
}) {
  const [busy, setBusy] = createSignal(false)
  const shown = createMemo(() => props.alerts.slice(0, MAX_ALERTS_SHOWN))
  const acknowledge = async (ids: readonly string[]) => {
    setBusy(true)
    try {
      await props.onAcknowledge(ids)
    } finally {
      setBusy(false)
    }
  }
  return (
    <section data-testid="view-alerts" aria-label="Alerts">
      <div class="summary">
        <span data-testid="alerts-count">{props.alerts.length} to acknowledge</span>
        <span class="meta"> · {props.acknowledgedCount} acknowledged by you</span>
        <Show when={props.alerts.length > 1}>
          <button
            type="button"
            data-testid="alerts-acknowledge-all"
            disabled={busy()}
            onClick={() => void acknowledge(shown().map((alert) => alert.id))}
          >
            Acknowledge all shown
          </button>
        </Show>
      </div>
      <Show when={props.alerts.length > 0} fallback={<p class="empty">no alerts to acknowledge</p>}>
        <ul class="cards">
          <For each={shown()}>
            {(alert) => (
              <li
                class={`card alert alert-${alert.kind}`}
                data-testid="alert"
                data-id={alert.id}
                data-kind={alert.kind}
                data-code={alert.code ?? ''}
              >
                <h3>
                  <span class="badge">{alert.kind === 'threshold' ? 'threshold' : 'refusal'}</span>{' '}
                  <span data-testid="alert-title">{alert.title}</span>
                </h3>
                <p class="meta" data-testid="alert-detail">
                  {alert.detail}
                </p>
                <p class="meta">{formatAge(now() - alert.at)} ago</p>
                <div class="actions">
                  <button
                    type="button"
                    data-testid="alert-acknowledge"
                    aria-label={`Acknowledge ${alert.title}`}
                    disabled={busy()}
                    onClick={() => void acknowledge([alert.id])}
                  >
                    Acknowledge
                  </button>
                </div>
              </li>
            )}
          </For>
        </ul>
        <Show when={props.alerts.length > shown().length}>
          <p class="meta">{props.alerts.length - shown().length} older alert(s) not shown</p>
        </Show>
      </Show>
    </section>
  )
}
