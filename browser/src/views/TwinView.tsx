/** Twin: the site as its frames describe it — zones with their sensors' latest values and their
 * actuators' states, live, each with the time of its last update. */
import { createMemo, For, Show } from 'solid-js'
import { deriveTwin, formatAge, type MeshState } from '../state/mesh-state.ts'
import { now } from './clock.ts'

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1)
}

export function TwinView(props: { state: MeshState; siteName?: string }) {
  const zones = createMemo(() => deriveTwin(props.state.observations))
  return (
    <section data-testid="view-twin" aria-label="Twin">
      <div class="summary">
        <span>{props.siteName ?? 'Site'}</span>
      </div>
      <Show when={zones().length > 0} fallback={<p class="empty">no observations received yet</p>}>
        <ul class="cards">
          <For each={zones()}>
            {(zone) => (
              <li class="card zone" data-testid="twin-zone" data-zone={zone.zone}>
                <h3>{zone.zone}</h3>
                <p class="meta">updated {formatAge(now() - zone.updatedAt)} ago</p>
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
