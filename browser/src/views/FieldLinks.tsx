/** The WAN path at a glance: one chip per field node the console reaches over WebRTC through the
 * relay, with the link state and how many frames arrived straight from that node. */
import { For, Show } from 'solid-js'
import { linkOf } from '../state/decisions.ts'
import type { FieldLink } from '../state/field-links.ts'

export function FieldLinks(props: { links: readonly FieldLink[] }) {
  return (
    <Show when={props.links.length > 0}>
      <ul class="field-links" aria-label="Direct links to field nodes">
        <For each={props.links}>
          {(link) => (
            <li
              class={`field-link link-${link.state.kind}`}
              data-testid="field-link"
              data-device-id={link.deviceId}
              data-state={link.state.kind}
              data-address={link.state.kind === 'connected' ? link.state.address : undefined}
              data-path={link.state.kind === 'connected' ? linkOf(link.state.address) : undefined}
              data-frames={link.frames}
              title={link.state.kind === 'connected' ? link.state.address : undefined}
            >
              {link.name}: {link.state.kind === 'connected' ? 'direct (WebRTC)' : link.state.kind} ·{' '}
              {link.frames} frames
            </li>
          )}
        </For>
      </ul>
    </Show>
  )
}
