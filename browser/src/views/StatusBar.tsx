/** The always-visible strip: link to the command center, its age when stale, the operator, and the
 * emergency stop button. */
import { createSignal, Show } from 'solid-js'
import type { LinkState } from '../mesh/command-center-link.ts'
import type { DecisionOutcome } from '../state/decisions.ts'
import { POLL_INTERVAL_MS } from '../state/mesh-polling.ts'
import { formatAge } from '../state/mesh-state.ts'
import { now } from './clock.ts'

/** Data older than a few missed polls is shown as stale even while the link claims to be up. */
const STALE_AFTER_MS = POLL_INTERVAL_MS * 3

export function isStale(link: LinkState, freshAt: number, at: number): boolean {
  return link.kind !== 'connected' || freshAt === 0 || at - freshAt > STALE_AFTER_MS
}

export function StatusBar(props: {
  link: LinkState
  freshAt: number
  commandCenter: string
  operator: string
  onReconnect: () => void
  onEstop: (reason: string) => Promise<DecisionOutcome>
}) {
  const [stopping, setStopping] = createSignal(false)
  const [stopResult, setStopResult] = createSignal<DecisionOutcome>()
  // Always visible, whatever the view: one confirm (a stray tap must not stop a farm), then the
  // signed order goes to the command center.
  const estop = async () => {
    if (!globalThis.confirm('EMERGENCY STOP: drive every actuator to its safe state and latch it?')) return
    setStopping(true)
    setStopResult(await props.onEstop('emergency stop from the console'))
    setStopping(false)
  }
  const label = () => {
    const link = props.link
    switch (link.kind) {
      case 'connected':
        return `connected to ${props.commandCenter}`
      case 'connecting':
        return `connecting to ${props.commandCenter}${link.attempt > 1 ? ` (attempt ${link.attempt})` : ''}…`
      case 'backoff':
        return `${props.commandCenter} unreachable — retrying in ${formatAge(link.retryAt - now())}`
      default:
        return 'disconnected'
    }
  }
  const staleText = () =>
    props.freshAt === 0
      ? 'no data from the command center yet'
      : `stale — last update ${formatAge(now() - props.freshAt)} ago`
  // One row whatever the link's state: what comes and goes with it (its label, Reconnect, the stale
  // banner) sits in `link-area`, which shrinks and cuts its text short instead of wrapping; a bar
  // that grew a row when the link dropped moved the tabs under a tap. The stop's outcome shows over
  // the page under the bar until dismissed, so it moves nothing either.
  return (
    <header class="status-bar">
      <span class="brand">ClawMesh</span>
      <div class="link-area">
        <span
          class={`link link-${props.link.kind}`}
          data-testid="link-status"
          data-state={props.link.kind}
          data-address={props.link.kind === 'connected' ? props.link.address : undefined}
          title={props.link.kind === 'connected' ? `${label()} (${props.link.address})` : label()}
          role="status"
        >
          {label()}
        </span>
        <Show when={props.link.kind !== 'connected'}>
          <button
            type="button"
            class="reconnect"
            onClick={() => props.onReconnect()}
            aria-label="Reconnect now"
            title="Reconnect now"
          >
            <span aria-hidden="true">↻</span>
            <span class="reconnect-label">Reconnect</span>
          </button>
        </Show>
        <Show when={isStale(props.link, props.freshAt, now())}>
          <span class="stale" data-testid="stale-banner" role="alert" title={staleText()}>
            {staleText()}
          </span>
        </Show>
      </div>
      <span class="operator" title={`operator: ${props.operator}`}>
        {props.operator}
      </span>
      <button
        type="button"
        class="estop"
        data-testid="estop-button"
        aria-label="Emergency stop: every actuator to its safe state"
        disabled={stopping()}
        onClick={() => void estop()}
      >
        {stopping() ? 'STOPPING…' : 'EMERGENCY STOP'}
      </button>
      <Show when={stopResult()}>
        {(result) => (
          <p class={`estop-result ${result().ok ? 'ok' : 'error'}`} data-testid="estop-result" role="alert">
            {result().message}
            <button
              type="button"
              class="dismiss"
              aria-label="Dismiss the emergency stop's outcome"
              onClick={() => setStopResult(undefined)}
            >
              ×
            </button>
          </p>
        )}
      </Show>
    </header>
  )
}
