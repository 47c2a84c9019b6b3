/** Telemetry: planner mode, queue and current tool; command-center health; frame rates; the events
 * stream; and time-series charts of sensor observations. */
import { createMemo, createSignal, For, Show } from 'solid-js'
import { describePublishing } from '../../../protocol/publishing.ts'
import { frameRates, type MeshState } from '../state/mesh-state.ts'
import { now } from './clock.ts'
import { SeriesChart } from './SeriesChart.tsx'

export function TelemetryView(props: { state: MeshState }) {
  const metrics = createMemo(() =>
    [
      ...new Set(
        props.state.observations.filter((point) => !point.metric.endsWith('-open')).map((p) => p.metric),
      ),
    ].sort(),
  )
  const [chosen, setChosen] = createSignal<string>()
  const metric = () => chosen() ?? metrics()[0]
  const points = createMemo(() => props.state.observations.filter((point) => point.metric === metric()))
  const unit = () => points()[0]?.unit ?? ''
  return (
    <section data-testid="view-telemetry" aria-label="Telemetry">
      <div class="panels">
        <div class="card" data-testid="planner-status">
          <h3>Planner</h3>
          <Show
            when={props.state.planner}
            fallback={<p class="meta">{props.state.plannerUnavailable ?? 'no planner status yet'}</p>}
          >
            {(planner) => (
              <p>
                mode <strong data-testid="planner-mode">{planner().mode}</strong>
                <Show when={planner().tool}> · tool {planner().tool}</Show> · queue {planner().queueDepth} ·{' '}
                {planner().backend}
                {planner().ruleBased && planner().backend !== 'rule-based' ? ' (rule-based)' : ''} ·{' '}
                {planner().isLeader ? 'leader' : 'follower'}
              </p>
            )}
          </Show>
        </div>
        <div class="card" data-testid="health-status">
          <h3>Health</h3>
          <Show when={props.state.health} fallback={<p class="meta">no health report yet</p>}>
            {(health) => (
              <>
                <p>
                  <strong class={`health-${health().status}`}>{health().status}</strong> · event-loop lag{' '}
                  {health().eventLoopLagMs.toFixed(1)} ms · RSS {(health().rssBytes / 1_048_576).toFixed(0)}{' '}
                  MiB
                </p>
                <Show when={health().publishing}>
                  {(publishing) => (
                    <p class="meta" data-testid="publish-window">
                      {describePublishing(publishing())}
                    </p>
                  )}
                </Show>
                <For each={health().reasons}>{(reason) => <p class="meta warn">{reason}</p>}</For>
              </>
            )}
          </Show>
        </div>
        <div class="card" data-testid="frame-rates">
          <h3>Frames per minute</h3>
          <Show
            when={frameRates(props.state.frameArrivals, now()).length > 0}
            fallback={<p class="meta">no live frames in the last minute</p>}
          >
            <ul class="rates">
              <For each={frameRates(props.state.frameArrivals, now())}>
                {([kind, count]) => (
                  <li>
                    {kind} <strong>{count}</strong>
                  </li>
                )}
              </For>
            </ul>
          </Show>
        </div>
      </div>
      <div class="chart-controls">
        <label for="metric-select">Metric</label>
        <select
          id="metric-select"
          data-testid="metric-select"
          value={metric() ?? ''}
          onChange={(event) => setChosen(event.currentTarget.value)}
        >
          <For each={metrics()}>{(name) => <option value={name}>{name}</option>}</For>
        </select>
      </div>
      <Show when={metric()} keyed fallback={<p class="empty">no observations to chart yet</p>}>
        {(name) => <SeriesChart metric={name} unit={unit()} points={points()} />}
      </Show>
      <h2>Events</h2>
      <ol class="events" data-testid="events-list">
        <For each={[...props.state.events].reverse().slice(0, 50)}>
          {(event) => (
            <li class={`event-${event.level}`}>
              <time>{new Date(event.at).toLocaleTimeString()}</time> <span class="type">{event.type}</span>{' '}
              {event.message}
            </li>
          )}
        </For>
      </ol>
    </section>
  )
}
