/** The Twin's "close now" for one open actuator: proposes its safe-state operation through the
 * command center's policy (state/safe-state.ts) and shows how that ended. */
import { createSignal, Show } from 'solid-js'
import type { DecisionOutcome } from '../state/decisions.ts'
import type { SafeStateTarget } from '../state/safe-state.ts'

export function SafeStateButton(props: {
  actuator: string
  kind: string
  target: SafeStateTarget
  onSafeState: (target: SafeStateTarget) => Promise<DecisionOutcome>
}) {
  const [busy, setBusy] = createSignal(false)
  const [outcome, setOutcome] = createSignal<DecisionOutcome>()
  const press = async () => {
    setBusy(true)
    setOutcome(await props.onSafeState(props.target))
    setBusy(false)
  }
  return (
    <span class="safe-state">
      <button
        type="button"
        class="reject"
        data-testid="safe-state-button"
        data-source={props.actuator}
        aria-label={`${props.target.operation} ${props.kind} ${props.actuator} now`}
        title={`Propose "${props.target.operation}" (its safe state) — runs at once for an operator`}
        disabled={busy()}
        onClick={() => void press()}
      >
        {busy() ? '…' : `${props.target.operation[0]!.toUpperCase()}${props.target.operation.slice(1)} now`}
      </button>
      <Show when={outcome()}>
        {(result) => (
          <span class={result().ok ? 'ok' : 'error'} data-testid="safe-state-result" role="status">
            {' '}
            {result().message}
          </span>
        )}
      </Show>
    </span>
  )
}
