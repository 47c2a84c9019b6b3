/**
 * `clawmesh demo`: the main job. Until the full demo site (command center, field node, relay,
 * console) lands, it starts a real local two-node mesh — two state dirs that trust each other,
 * two libp2p nodes on loopback — prints how to inspect it, and runs until Ctrl-C.
 */
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { type ClawMeshNode, startClawMeshNode } from '../../clawmesh-node.ts'
import { parseNodeConfig } from '../../config.ts'
import { loadOrCreateIdentity } from '../../identity/device-identity.ts'
import { DEMO_FARM_PATH } from '../../site/site-model.ts'
import { statePaths } from '../../state/state-dir.ts'
import { TrustStore } from '../../trust/trust-store.ts'

const DEMO_BASE_PORT = 18789

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('start a local demo mesh (command center + field node) until Ctrl-C')
    .option('--dir <dir>', 'where the demo keeps its state', '.clawmesh-demo')
    .option('--port <port>', 'first WebSocket port', String(DEMO_BASE_PORT))
    .action(async (options: { dir: string; port: string }) => {
      const base = resolve(options.dir)
      const port = Number(options.port)
      const members = [
        { name: 'command-center', role: 'planner' as const, dir: join(base, 'command-center'), port },
        { name: 'field-1', role: 'field' as const, dir: join(base, 'field-1'), port: port + 1 },
      ]
      const ids: string[] = []
      for (const member of members) {
        await mkdir(member.dir, { recursive: true })
        ids.push((await loadOrCreateIdentity(statePaths(member.dir).deviceIdentity)).deviceId)
      }
      for (const [index, member] of members.entries()) {
        const trust = await TrustStore.open(statePaths(member.dir).trustedPeers)
        for (const [otherIndex, other] of members.entries()) {
          if (otherIndex !== index) await trust.add(ids[otherIndex] as string, other.name)
        }
      }
      const nodes: ClawMeshNode[] = []
      for (const [index, member] of members.entries()) {
        const peers = index === 0 ? [] : [`${ids[0]}=ws://127.0.0.1:${members[0]?.port}`]
        const config = parseNodeConfig(
          {
            name: member.name,
            role: member.role,
            port: member.port,
            host: '127.0.0.1',
            stateDir: member.dir,
            peers,
            // The demo lives on loopback: no multicast leaves the machine.
            discovery: false,
            // Both nodes load the demo farm: the command center for the manifests its policy needs,
            // the field node for the sensors and actuators it simulates.
            site: DEMO_FARM_PATH,
            mockSensor: index === 1,
            mockActuator: index === 1,
            commandCenters: index === 1 ? [ids[0] as string] : [],
          },
          'demo',
        )
        nodes.push(await startClawMeshNode(config))
      }
      console.log('\nClawMesh demo mesh is up:')
      for (const [index, member] of members.entries()) {
        console.log(
          `  ${member.name.padEnd(15)} ${member.role.padEnd(8)} ws://127.0.0.1:${member.port}  ${ids[index]}`,
        )
      }
      const cli = `npx clawmesh --state-dir ${members[0]?.dir}`
      const url = `ws://127.0.0.1:${port}`
      console.log(`\nInspect it:  ${cli} status --url ${url} --events`)
      console.log(`World model: ${cli} world --url ${url}`)
      console.log(`Operate:     ${cli} operator enroll --name you --url ${url}`)
      console.log(`             ${cli} propose actuator:valve:zone-2 open --arg durationSec=300 --url ${url}`)
      console.log('             a second operator approves it (the author cannot): see docs/safety.md')
      console.log('Stop it:     Ctrl-C\n')
      const stop = async () => {
        for (const node of nodes.reverse()) await node.stop()
        process.exit(0)
      }
      process.once('SIGINT', () => void stop())
      process.once('SIGTERM', () => void stop())
    })
}
