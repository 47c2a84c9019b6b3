/** The console's shell: pairing until the operator holds a certificate, then its views. */
import { createSignal, For, Match, Show, Switch } from 'solid-js'
import { APPROVING_ROLES, type OperatorRole } from '../../protocol/safety/operator-certificate.ts'
import type { ConsoleSession } from './state/console-session.ts'
import type { SafeStateTarget } from './state/safe-state.ts'
import { AlertsView } from './views/AlertsView.tsx'
import { CommandView } from './views/CommandView.tsx'
import { FieldLinks } from './views/FieldLinks.tsx'
import { FleetView } from './views/FleetView.tsx'
import { PairingScreen } from './views/PairingScreen.tsx'
import { StatusBar } from './views/StatusBar.tsx'
import { TelemetryView } from './views/TelemetryView.tsx'
import { TopologyView } from './views/TopologyView.tsx'
import { TwinView } from './views/TwinView.tsx'

const VIEWS = ['topology', 'telemetry', 'command', 'twin', 'alerts', 'fleet'] as const
type ViewName = (typeof VIEWS)[number]

/** A viewer may not propose: the Twin shows it no "close now" (the command center would refuse). */
const canPropose = (roles: readonly OperatorRole[] | undefined) =>
  roles?.some((role) => APPROVING_ROLES.includes(role)) ?? false

export function App(props: { session: ConsoleSession }) {
  const session = props.session
  const [view, setView] = createSignal<ViewName>('topology')
  const commandCenter = () => session.config()?.commandCenter.name ?? 'command center'
  return (
    <Switch>
      <Match when={session.phase().kind === 'loading'}>
        <main class="loading" data-testid="loading">
          Loading…
        </main>
      </Match>
      <Match when={session.phase().kind === 'failed'}>
        <main class="failed" data-testid="load-failed" role="alert">
          {(session.phase() as { message: string }).message}
        </main>
      </Match>
      <Match when={session.phase().kind === 'pairing'}>
        <PairingScreen
          commandCenter={commandCenter()}
          operatorId={session.operatorId() ?? ''}
          {...((session.phase() as { reason?: string }).reason === undefined
            ? {}
            : { reason: (session.phase() as { reason: string }).reason })}
          onPair={(code) => session.pair(code)}
        />
      </Match>
      <Match when={session.phase().kind === 'ready'}>
        <StatusBar
          link={session.link()}
          freshAt={session.state.freshAt}
          commandCenter={commandCenter()}
          operator={session.certificate()?.body.displayName ?? ''}
          onReconnect={() => session.reconnectNow()}
          onEstop={(reason) => session.estop(reason)}
        />
        <FieldLinks links={session.fieldLinks()} />
        <Show when={session.refusal()}>
          <p class="error banner" data-testid="refusal" role="alert">
            {session.refusal()}
          </p>
        </Show>
        <div class="tabs" role="tablist" aria-label="Views">
          <For each={VIEWS}>
            {(name) => (
              <button
                type="button"
                role="tab"
                aria-selected={view() === name}
                data-testid={`tab-${name}`}
                onClick={() => setView(name)}
              >
                {name[0]!.toUpperCase() + name.slice(1)}
                <Show when={name === 'alerts' && session.alerts().length > 0}>
                  <span class="badge" data-testid="alerts-badge">
                    {session.alerts().length}
                  </span>
                </Show>
              </button>
            )}
          </For>
        </div>
        <main class="view">
          <Switch>
            <Match when={view() === 'topology'}>
              <TopologyView state={session.state} />
            </Match>
            <Match when={view() === 'telemetry'}>
              <TelemetryView state={session.state} />
            </Match>
            <Match when={view() === 'command'}>
              <CommandView
                state={session.state}
                operatorId={session.operatorId()}
                isAdmin={session.certificate()?.body.roles.includes('admin') ?? false}
                onDecide={(record, decision) => session.decide(record, decision)}
                onCancel={(record) => session.cancel(record)}
                onAsk={(text) => session.ask(text)}
              />
            </Match>
            <Match when={view() === 'twin'}>
              <TwinView
                state={session.state}
                {...(session.config()?.siteName === undefined
                  ? {}
                  : { siteName: session.config()!.siteName! })}
                {...(session.config()?.site === undefined ? {} : { site: session.config()!.site! })}
                {...(canPropose(session.certificate()?.body.roles)
                  ? { onSafeState: (target: SafeStateTarget) => session.moveToSafeState(target) }
                  : {})}
              />
            </Match>
            <Match when={view() === 'alerts'}>
              <AlertsView
                alerts={session.alerts()}
                acknowledgedCount={session.acknowledgedAlerts()}
                onAcknowledge={(ids) => session.acknowledgeAlerts(ids)}
              />
            </Match>
            <Match when={view() === 'fleet'}>
              <FleetView state={session.state} />
            </Match>
          </Switch>
        </main>
      </Match>
    </Switch>
  )
}
