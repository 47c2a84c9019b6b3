/**
 * `clawmesh demo-actuate`: a scripted end-to-end run of the safety core on a throwaway local mesh —
 * a command center and a field node with the demo farm, two operators with their own keys. The
 * normal run proposes opening a valve, has the second operator approve it and shows the actuator's
 * state change; `--llm-only` shows the hard block: a proposal resting only on model output (T0) is
 * refused by the command center, and the same command sent straight to the actuator is refused by
 * the actuator itself.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Command } from 'commander'
import { ClawMeshError } from '../../../protocol/errors.ts'
import { PROTOCOL_GENERATION, rpcProtocolId } from '../../../protocol/mesh.ts'
import { issueCommand, proposalHash, signApproval } from '../../../protocol/safety/index.ts'
import { signerFromPrivateKey } from '../../../protocol/signing.ts'
import { loadOrCreateIdentity } from '../../../runtime/identity/device-identity.ts'
import { statePaths } from '../../../runtime/state/state-dir.ts'
import type { ClawMeshNode } from '../../clawmesh-node.ts'
import { localFarmSiteDirs, startLocalFarmSite } from '../../local-farm-site.ts'
import { callRpc } from '../../rpc/rpc-client.ts'
import { connectCliClient } from '../client-node.ts'

const VALVE = 'actuator:valve:zone-2'
const quiet = () => {}

export function registerDemoActuateCommand(program: Command): void {
  program
    .command('demo-actuate')
    .description('scripted safety run on a throwaway local mesh (add --llm-only to see the hard block)')
    .option('--llm-only', 'propose on model output alone and watch every hop refuse it')
    .action(async (options: { llmOnly?: boolean }) => {
      const base = await mkdtemp(join(tmpdir(), 'clawmesh-demo-actuate-'))
      const nodes: ClawMeshNode[] = []
      try {
        const bobDir = join(base, 'operator-bob')
        const [alice, bob] = await Promise.all([
          loadOrCreateIdentity(statePaths(localFarmSiteDirs(base).cc).cliIdentity),
          loadOrCreateIdentity(statePaths(bobDir).cliIdentity),
        ])
        const { dirs, cc, field, ccNode, fieldNode, ccUrl } = await startLocalFarmSite(base, {
          source: 'demo-actuate',
          nodes,
          log: quiet,
          alsoTrustedByCommandCenter: [{ deviceId: bob.deviceId, name: 'bob' }],
        })
        console.log(`mesh up: command center ${cc.deviceId}, field node ${field.deviceId}`)

        const aliceClient = await connectCliClient(ccUrl, dirs.cc)
        const bobClient = await connectCliClient(ccUrl, bobDir)
        try {
          await waitUntil(
            async () =>
              (await aliceClient.call('mesh.world.query', { kind: 'observation', zone: 'zone-2' })).frames
                .length > 0,
          )
          // The command center leads planning and the field node follows its term (the fence).
          await waitUntil(
            async () =>
              ccNode.election.isLeader() &&
              fieldNode.election.currentTerm() === ccNode.election.currentTerm(),
          )
          const issue = async (operatorId: string, displayName: string) =>
            (await aliceClient.call('operator.issue', { operatorId, displayName, roles: ['operator'] }))
              .certificate
          await issue(alice.deviceId, 'alice')
          const bobCertificate = await issue(bob.deviceId, 'bob')
          console.log('operators certified by the command center: alice (proposes), bob (approves)')
          const valveOpen = async () =>
            (
              (await aliceClient.call('capability.invoke', { capability: VALVE, operation: 'state' }))
                .result as { open: boolean }
            ).open

          if (options.llmOnly) {
            const inference = await ccNode.publish({
              kind: 'inference',
              data: { text: 'zone-2 probably needs water', cites: [] },
              trust: { tier: 'T0', sources: ['planner'] },
            })
            const frameId = (inference as { frameId: string }).frameId
            console.log(`\n1. alice proposes opening ${VALVE}, citing only a model inference (T0)`)
            try {
              await aliceClient.call('proposal.create', {
                capability: VALVE,
                operation: 'open',
                args: { durationSec: 120 },
                evidence: [frameId],
              })
              throw new Error('the command center accepted a T0-only proposal')
            } catch (error) {
              report('command center', error)
            }
            console.log(
              '\n2. the same command, approved by bob, sent straight to the actuator (bypassing the command center)',
            )
            const now = Date.now()
            const proposal = {
              version: 1 as const,
              id: 'p-llm-only',
              capability: VALVE,
              targetNode: field.deviceId,
              operation: 'open',
              args: { durationSec: 120 },
              level: 'L2' as const,
              evidence: [{ frameId, tier: 'T0' as const }],
              author: { kind: 'planner' as const, id: cc.deviceId },
              createdAt: now,
              expiresAt: now + 600_000,
              // The command center's leader term: the actuator fences commands without one.
              ...leaderTermOf(ccNode),
            }
            const approval = await signApproval(signerFromPrivateKey(bob.privateKey), {
              proposalHash: proposalHash(proposal),
              decision: 'approve',
              operatorCertificate: bobCertificate,
              operatorLink: 'local',
              at: now,
            })
            const command = await issueCommand(signerFromPrivateKey(cc.privateKey), {
              proposal,
              approvals: [approval],
              issuedAt: now,
              ...leaderTermOf(ccNode),
            })
            try {
              await callRpc(
                ccNode.libp2p,
                peerIdFromString(field.deviceId),
                rpcProtocolId(PROTOCOL_GENERATION),
                'actuator.execute',
                { command },
              )
              throw new Error('the actuator executed a T0-only command')
            } catch (error) {
              report('actuator', error)
            }
            console.log(`\nvalve open: ${await valveOpen()} — nothing moved.`)
            return
          }

          console.log(
            `\n1. alice proposes opening ${VALVE} for 120 s (evidence: the latest zone-2 observations)`,
          )
          const created = await aliceClient.call('proposal.create', {
            capability: VALVE,
            operation: 'open',
            args: { durationSec: 120 },
          })
          const record = created.proposal
          const evidence = record.proposal.evidence.map((ref) => ref.tier).join(', ')
          console.log(
            `   ${record.proposal.id}: ${record.state}, level ${record.proposal.level}, evidence tiers ${evidence}`,
          )
          console.log(`   valve open: ${await valveOpen()}`)
          console.log('2. bob approves it, signed with his own key')
          const approval = await signApproval(signerFromPrivateKey(bob.privateKey), {
            proposalHash: record.hash,
            decision: 'approve',
            operatorCertificate: bobCertificate,
            operatorLink: 'local',
            at: Date.now(),
          })
          const decided = await bobClient.call('proposal.approve', { id: record.hash, approval })
          console.log(`   policy: ${decided.verdict} (${decided.detail}); proposal ${decided.proposal.state}`)
          console.log(
            `3. the runtime sent the certified command; the actuator checked it and executed it once`,
          )
          console.log(`   valve open: ${await valveOpen()}`)
          const executions = await aliceClient.call('mesh.world.query', { kind: 'execution' })
          console.log(`   execution frames: ${executions.frames.length} (T3, from the field node)`)
        } finally {
          await aliceClient.close()
          await bobClient.close()
        }
      } finally {
        for (const node of nodes.reverse()) await node.stop()
        await rm(base, { recursive: true, force: true })
      }
    })
}

function report(hop: string, error: unknown): void {
  if (!(error instanceof ClawMeshError)) throw error
  console.log(
    `   refused by the ${hop}: ${error.code} ${String(error.data?.['code'] ?? '')} — ${error.message}`,
  )
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('the demo mesh did not produce observations in time')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

function leaderTermOf(node: ClawMeshNode): { leaderTerm?: number } {
  const term = node.election.currentTerm()
  return term === undefined ? {} : { leaderTerm: term }
}
