/** Fleet: every node that reported host findings, the worst first, with its machine's facts and its
 * latest findings (worst first) from doctor and the other host workflows (docs/host-operations.md). */
import { For, Show } from 'solid-js'
import { fleetNodes } from '../state/fleet.ts'
import { formatAge, type MeshState } from '../state/mesh-state.ts'
import { now } from './clock.ts'

/** Findings a node's card lists before "and N more". */
const CARD_FINDINGS_MAX = 8

const STATUS_CLASS: Record<string, string> = { fail: 'error', warn: 'warn', unavailable: 'meta', ok: 'ok' }

function factsLine(facts: Readonly<Record<string, string | number>>): string {
  const parts = [
    facts['os'],
    facts['cpus'] === undefined ? undefined : `${facts['cpus']} CPUs`,
    facts['load1'] === undefined ? undefined : `load ${facts['load1']}`,
    facts['memAvailableMb'] === undefined ? undefined : `${facts['memAvailableMb']} MiB free`,
    facts['diskFreePct'] === undefined ? undefined : `disk ${facts['diskFreePct']}% free`,
  ]
  return parts.filter((part) => part !== undefined).join(' · ')
}

export function FleetView(props: { state: MeshState }) {
  const nodes = () => fleetNodes(props.state.hostReports ?? [])
  return (
    <section data-testid="view-fleet" aria-label="Fleet">
      <Show
        when={nodes().length > 0}
        fallback={
          <p class="empty" data-testid="fleet-empty">
            No host findings yet: nodes report them when an operator runs doctor or monitor-check.
          </p>
        }
      >
        <ul class="cards">
          <For each={nodes()}>
            {(node) => (
              <li
                class={`card node${node.status === 'fail' ? ' attention' : ''}`}
                data-testid="fleet-node"
                data-name={node.node}
                data-status={node.status}
              >
                <h3>
                  {node.node}{' '}
                  <span class={`badge ${STATUS_CLASS[node.status] ?? ''}`} data-testid="fleet-status">
                    {node.status}
                  </span>
                </h3>
                <p class="meta">{factsLine(node.facts)}</p>
                <p class="meta">checked {formatAge(Math.max(0, now() - node.checkedAt))} ago</p>
                <ul class="events">
                  <For each={node.findings.slice(0, CARD_FINDINGS_MAX)}>
                    {(finding) => (
                      <li data-testid="fleet-finding" data-status={finding.status} data-id={finding.id}>
                        <span class={STATUS_CLASS[finding.status] ?? ''}>{finding.status}</span>{' '}
                        {finding.workflow}/{finding.check}: {finding.summary}
                      </li>
                    )}
                  </For>
                </ul>
                <Show when={node.findings.length > CARD_FINDINGS_MAX}>
                  <p class="meta">and {node.findings.length - CARD_FINDINGS_MAX} more</p>
                </Show>
              </li>
            )}
          </For>
        </ul>
      </Show>
    </section>
  )
}
