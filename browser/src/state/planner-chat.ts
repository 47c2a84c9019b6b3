/**
 * The chat with the planner (`planner.ask`): the operator's question, then the planner's answer
 * with who answered and what it proposed, or a system line saying why there is none. A command
 * center without a planner answers UNKNOWN_METHOD: the console never makes up an answer.
 */
import type { SetStoreFunction } from 'solid-js/store'
import { ClawMeshError } from '../../../protocol/errors.ts'
import type { CommandCenterRpc } from '../mesh/command-center-rpc.ts'
import type { PlannerAnswer } from '../mesh/planner-client.ts'
import { type ChatEntry, MAX_CHAT, type MeshState } from './mesh-state.ts'

export interface PlannerChat {
  ask(text: string): Promise<void>
}

export function createPlannerChat(init: {
  readonly rpc: CommandCenterRpc
  readonly setState: SetStoreFunction<MeshState>
  nameOfPeer(deviceId: string): string
  refreshProposals(): Promise<void>
}): PlannerChat {
  const add = (entry: ChatEntry) => init.setState('chat', (current) => [...current, entry].slice(-MAX_CHAT))
  return {
    async ask(text) {
      add({ at: Date.now(), from: 'operator', text })
      try {
        const answer = await init.rpc.askPlanner(text)
        add(plannerAnswerEntry(answer, init.nameOfPeer, Date.now()))
        if (answer.proposals.length > 0) await init.refreshProposals().catch(() => {})
      } catch (error) {
        add(chatFailureEntry(error, Date.now()))
      }
    },
  }
}

export function plannerAnswerEntry(
  answer: PlannerAnswer,
  nameOfPeer: (deviceId: string) => string,
  at: number,
): ChatEntry {
  const backend = `${answer.planner}${answer.ruleBased && answer.planner !== 'rule-based' ? ' (rule-based)' : ''}`
  const proposals = answer.proposals.length > 0 ? `, ${answer.proposals.length} proposal(s)` : ''
  const error = answer.error === undefined ? '' : ` — ${answer.error}`
  return {
    at,
    from: 'planner',
    text: answer.answer,
    detail: `${backend}, answered by ${nameOfPeer(answer.answeredBy)}${proposals}${error}`,
  }
}

export function chatFailureEntry(error: unknown, at: number): ChatEntry {
  const unknown = error instanceof ClawMeshError && error.code === 'UNKNOWN_METHOD'
  return {
    at,
    from: 'system',
    text: unknown ? 'planner not available on this command center' : (error as Error).message,
  }
}
