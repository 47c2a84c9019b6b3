/** First open (or after expiry): the operator types the one-time code from `clawmesh pair --operator`. */
import { createSignal, Show } from 'solid-js'

export function PairingScreen(props: {
  commandCenter: string
  operatorId: string
  reason?: string
  onPair: (code: string) => Promise<void>
}) {
  const [code, setCode] = createSignal('')
  const [busy, setBusy] = createSignal(false)
  const [error, setError] = createSignal<string>()
  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await props.onPair(code())
    } catch (failure) {
      setError((failure as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <main class="pairing" data-testid="pairing-screen">
      <h1>Pair this console</h1>
      <Show when={props.reason}>
        <p class="notice" data-testid="pairing-reason" role="alert">
          {props.reason}
        </p>
      </Show>
      <p>
        On the command center <strong>{props.commandCenter}</strong>, run{' '}
        <code>clawmesh pair --operator YOUR-NAME</code> and type the code it shows.
      </p>
      <form onSubmit={submit}>
        <label for="pairing-code">One-time code</label>
        <input
          id="pairing-code"
          data-testid="pairing-code-input"
          autocomplete="one-time-code"
          autocapitalize="characters"
          placeholder="ABCD-EFGH"
          value={code()}
          onInput={(event) => setCode(event.currentTarget.value)}
          required
        />
        <button type="submit" data-testid="pairing-submit" disabled={busy() || code().trim() === ''}>
          {busy() ? 'Pairing…' : 'Pair'}
        </button>
      </form>
      <Show when={error()}>
        <p class="error" data-testid="pairing-error" role="alert">
          {error()}
        </p>
      </Show>
      <p class="hint">
        This console's operator key: <code data-testid="operator-id">{props.operatorId}</code>
      </p>
    </main>
  )
}
