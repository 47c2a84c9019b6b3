/**
 * `proposal.list` answers within one RPC message: a store full of ended proposals (it keeps 200, a
 * few KB each) is more than one answer holds, and an answer over the limit is refused whole.
 */
import { describe, expect, it } from 'vitest'
import { encodeJsonMessage } from '../../../protocol/codec.ts'
import { RPC_MAX_MESSAGE_BYTES } from '../../../protocol/limits.ts'
import { RPC_METHODS } from '../../../protocol/rpc/methods.ts'
import { PROPOSAL_NOTE_MAX_LENGTH, type ProposalRecord } from '../../../protocol/safety/index.ts'
import { makeProposalRecord, NOW } from '../../../test/helpers/safety-fixtures.ts'
import { PROPOSAL_STORE_MAX_TERMINAL } from '../../safety/constants.ts'
import { createProposalHandlers } from './proposals.ts'

/** Newest first, as the runtime lists them: `ended` ended ones, then `open` older open ones. */
function storeList(ended: number, open: number): ProposalRecord[] {
  const record = (index: number, state: ProposalRecord['state']) =>
    makeProposalRecord({
      hash: index.toString(16).padStart(64, '0'),
      proposal: { id: `p-${index}` },
      state,
      // A completed proposal's outcome as the dispatcher records it, at its longest.
      ...(state === 'completed' ? { outcome: 'x'.repeat(PROPOSAL_NOTE_MAX_LENGTH) } : {}),
      receivedAt: NOW - index * 1_000,
    })
  return [
    ...Array.from({ length: ended }, (_, index) => record(index, 'completed')),
    ...Array.from({ length: open }, (_, index) =>
      record(ended + index, index % 2 === 0 ? 'awaiting_approval' : 'executing'),
    ),
  ]
}

/** `proposal.list` as the command center answers it, over a store that lists `records`; the
 * handler's other parts are not reached by a list. */
async function listAnswer(records: readonly ProposalRecord[]) {
  const safety = { list: () => records }
  const handlers = createProposalHandlers(
    { safety, commandCenter: {}, leaderForwarder: {} } as never,
    {
      authorOf: () => undefined,
    } as never,
  )
  return handlers['proposal.list']({}, {} as never)
}

/** The answer as the RPC server encodes it; throws when it is over the limit. */
const encodedAnswer = (result: unknown) =>
  encodeJsonMessage({ id: 'r-1', ok: true, result }, RPC_MAX_MESSAGE_BYTES)

describe('proposal.list answer', () => {
  it('fits a full store in one answer, every open proposal in it, the newest ended ones after', async () => {
    const records = storeList(PROPOSAL_STORE_MAX_TERMINAL, 4)
    // The whole list is over the limit: this is what the answer must not be.
    expect(() => encodedAnswer({ proposals: records })).toThrow()
    const answer = await listAnswer(records)
    expect(() => encodedAnswer(answer)).not.toThrow()
    expect(RPC_METHODS['proposal.list'].result.safeParse(answer).success).toBe(true)
    expect(answer.truncated).toBe(true)
    const ids = answer.proposals.map((record) => record.proposal.id)
    const openIds = records.slice(PROPOSAL_STORE_MAX_TERMINAL).map((record) => record.proposal.id)
    expect(ids.slice(-openIds.length)).toEqual(openIds)
    const endedKept = ids.slice(0, -openIds.length)
    expect(endedKept.length).toBeGreaterThan(0)
    // The newest ended ones, in the store's order.
    expect(endedKept).toEqual(records.slice(0, endedKept.length).map((record) => record.proposal.id))
  })

  it('answers a list that fits whole, unmarked', async () => {
    const records = storeList(10, 2)
    expect(await listAnswer(records)).toEqual({ proposals: records })
  })
})
