/** On a proposal's card: why a hop refused it — the code, the hop, what the code means and the
 * hop's detail (state/proposal-refusal.ts). Nothing when it was not refused. */
import { Show } from 'solid-js'
import type { ProposalRecordWire } from '../../../protocol/rpc/methods.ts'
import { refusalSummary } from '../state/proposal-refusal.ts'

export function ProposalRefusalNote(props: { record: ProposalRecordWire }) {
  return (
    <Show when={refusalSummary(props.record)}>
      {(refusal) => (
        <p class="refusal" data-testid="proposal-refusal" data-code={refusal().code} data-hop={refusal().hop}>
          <span class="badge" data-testid="proposal-refusal-code">
            {refusal().code}
          </span>{' '}
          refused by the {refusal().hop}
          <Show when={refusal().meaning}>{(meaning) => <>: {meaning()}</>}</Show>
          <span class="meta" data-testid="proposal-refusal-detail">
            {' '}
            — {refusal().detail}
          </span>
        </p>
      )}
    </Show>
  )
}
