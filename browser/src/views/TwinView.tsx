/** Twin: the site — zones (named and ordered as the site model has them, when the command center
 * loaded one) with their sensors' latest values and their actuators' states, live, each with the
 * time of its last update; devices that have not reported yet are listed as such (actuators report at start and on a change).
 * An open actuator has a button that proposes its safe-state operation (close, stop) for an operator. */
import { createMemo, For, Show } from 'solid-js'
import type { ConsoleSite } from '../../../protocol/console-config.ts'
import type { DecisionOutcome } from '../state/decisions.ts'
import { arrangeTwin, deriveTwin, formatAge, type MeshState } from '../state/mesh-state.ts'
import { type SafeStateTarget, safeStateTargets } from '../state/safe-state.ts'
import { now } from './clock.ts'
import { SafeStateButton } from './SafeStateButton.tsx'

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1)
}

export function TwinView(props: {
  state: MeshState
  siteName?: string
  site?: ConsoleSite
  /** Absent for a viewer (it may not propose): no "close now" buttons. */
  onSafeState?: (target: SafeStateTarget) => Promise<DecisionOutcome>
}) {
  const zones = createMemo(() => arrangeTwin(deriveTwin(props.state.observations), props.site))
  const safeTargets = createMemo(() => safeStateTargets(props.site))
  return (
    <section data-testid="view-twin" aria-label="Twin">
      <div class="summary">
        <span data-testid="twin-site">{props.site?.name ?? props.siteName ?? 'Site'}</span>
      </div>
      <Show when={zones().length > 0} fallback={<p class="empty">no observations received yet</p>}>
        <ul class="cards">
          <For each={zones()}>
            {(zone) => (
              <li class="card zone" data-testid="twin-zone" data-zone={zone.zone}>
                <h3 data-testid="twin-zone-name">{zone.name ?? zone.zone}</h3>
                <p class="meta">
                  <Show when={zone.name !== undefined}>
                    {zone.zone}
                    {zone.kind === undefined ? '' : ` · ${zone.kind}`} ·{' '}
                  </Show>
                  {zone.updatedAt > 0
                    ? `updated ${formatAge(now() - zone.updatedAt)} ago`
                    : 'no readings yet'}
                </p>
                <ul class="readings">
                  <For each={zone.sensors}>
                    {(sensor) => (
                      <li
                        class={sensor.alarm ? 'alarm' : ''}
                        data-testid="twin-sensor"
                        data-source={sensor.source}
                        data-metric={sensor.metric}
                        data-at={sensor.at}
                      >
                        <span class="metric">{sensor.metric}</span>
                        <span class="value" data-testid="twin-sensor-value">
                          {formatValue(sensor.value)} {sensor.unit}
                        </span>
                        <span class="tier" title="evidence tier">
                          {sensor.tier}
                        </span>
                      </li>
                    )}
                  </For>
                  <For each={zone.actuators}>
                    {(actuator) => (
                      <li
                        class={`actuator ${actuator.open ? 'open' : 'closed'}`}
                        data-testid="twin-actuator"
                        data-source={actuator.source}
                        data-open={String(actuator.open)}
                      >
                        <span class="metric">{actuator.kind}</span>
                        <span class="value">{actuator.open ? 'open' : 'closed'}</span>
                        <span class="tier">{formatAge(now() - actuator.at)} ago</span>
                        <Show when={actuator.open && props.onSafeState && safeTargets().get(actuator.source)}>
                          {(target) => (
                            <SafeStateButton
                              actuator={actuator.source}
                              kind={actuator.kind}
                              target={target()}
                              onSafeState={props.onSafeState!}
                            />
                          )}
                        </Show>
                      </li>
                    )}
                  </For>
                  <For each={zone.waiting}>
                    {(device) => (
                      <li class="waiting" data-testid="twin-waiting" data-source={device.id}>
                        <span class="metric">{device.what}</span>
                        <span class="value">…</span>
                        <span class="tier">not reported yet</span>
                      </li>
                    )}
                  </For>
                </ul>
              </li>
            )}
          </For>
        </ul>
      </Show>
    </section>
  )
}
