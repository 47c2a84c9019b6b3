/**
 * `clawmesh ask "…"`: puts a question or a request to the mesh's planner through any node (a node
 * that does not lead planning forwards it to the leader) and prints the answer, which planner wrote
 * it, and any proposal it created — proposals wait for an operator's approval, `ask` approves nothing.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Command } from 'commander'
import { PLANNER_ASK_CLIENT_TIMEOUT_MS, PLANNER_INPUT_MAX_CHARS } from '../../../protocol/planner.ts'
import type { PlannerAnswer } from '../../../protocol/rpc/methods.ts'
import { CliUsageError } from '../../../runtime/cli/errors.ts'
import { printJson } from '../../../runtime/cli/output.ts'
import { callRpc } from '../../rpc/rpc-client.ts'
import { resolveTargetUrl, withClient } from '../target-node.ts'

export function registerAskCommand(program: Command): void {
  program
    .command('ask')
    .description('ask the planner a question or for an action (proposals it creates await approval)')
    .argument('<text...>', 'the question or request, e.g. "open valve zone-2 for 5 minutes"')
    .option('--url <url>', 'node URL (default: the saved gateway, else ws://127.0.0.1:18789)')
    .option('--json', 'print JSON')
    .action(async (words: string[], options: { url?: string; json?: boolean }) => {
      const text = words.join(' ').trim()
      if (text.length === 0 || text.length > PLANNER_INPUT_MAX_CHARS)
        throw new CliUsageError(`say something of 1 to ${PLANNER_INPUT_MAX_CHARS} characters`)
      const url = await resolveTargetUrl(program, options.url)
      const answer = await withClient(program, url, (client) =>
        // A planner backed by a model may take tens of seconds, longer than the default RPC timeout.
        callRpc(
          client.libp2p,
          peerIdFromString(client.remoteDeviceId),
          client.protocol,
          'planner.ask',
          { text },
          {
            timeoutMs: PLANNER_ASK_CLIENT_TIMEOUT_MS,
          },
        ),
      )
      if (options.json) return printJson(answer)
      printAnswer(answer)
      if (answer.error !== undefined) process.exitCode = 1
    })
}

function printAnswer(answer: PlannerAnswer): void {
  console.log(answer.answer)
  for (const record of answer.proposals) {
    const { proposal } = record
    console.log(
      `proposal ${proposal.id}  ${proposal.operation} ${proposal.capability}  level ${proposal.level}  state ${record.state}`,
    )
  }
  console.log(`— ${answer.planner} planner, answered by ${answer.answeredBy}`)
}
