/**
 * The `clawmesh` command line: one commander program, one file per command group. Unknown flags
 * and excess arguments are errors, never ignored.
 */
import { Command } from 'commander'
import { CLAWMESH_VERSION } from '../../runtime/version.ts'
import { trustCaFile } from '../tls/trust-ca.ts'
import { registerAskCommand } from './commands/ask.ts'
import { registerCertCommand } from './commands/cert.ts'
import { registerCredentialCommands } from './commands/credential.ts'
import { registerDemoCommand } from './commands/demo.ts'
import { registerDemoActuateCommand } from './commands/demo-actuate.ts'
import { registerEvidenceCommands } from './commands/evidence.ts'
import { registerFleetCommands } from './commands/fleet.ts'
import { registerGatewayCommands } from './commands/gateways.ts'
import { registerHostOpsCommands } from './commands/host-ops.ts'
import { registerIdentityCommand } from './commands/identity.ts'
import { registerInitCommand } from './commands/init.ts'
import { registerPairCommands } from './commands/pair.ts'
import { registerPeersCommands } from './commands/peers.ts'
import { registerPlannerCommands } from './commands/planner.ts'
import { registerProposalCommands } from './commands/proposals.ts'
import { registerServiceCommands } from './commands/service.ts'
import { registerStartCommand } from './commands/start.ts'
import { registerStatusCommand } from './commands/status.ts'
import { registerTrustCommands } from './commands/trust.ts'
import { registerWorldCommands } from './commands/world.ts'

export function buildProgram(): Command {
  const program = new Command('clawmesh')
    .description('ClawMesh: a trust-gated, capability-routed mesh for AI-assisted field operations')
    .version(CLAWMESH_VERSION)
    .option('--state-dir <dir>', 'state directory (default $CLAWMESH_STATE_DIR or ~/.clawmesh)')
    .option('--ca <file>', 'also trust this CA certificate (PEM) when dialing wss:// nodes')
    .showHelpAfterError()
    // Global options come before the command (`clawmesh --state-dir D status`), so a command's own
    // options (e.g. `pair --url` vs `pair join --url`) are never confused with them.
    .enablePositionalOptions()
    .hook('preAction', async () => {
      const ca = program.opts().ca
      if (typeof ca === 'string') await trustCaFile(ca)
    })
  registerInitCommand(program)
  registerIdentityCommand(program)
  registerTrustCommands(program)
  registerStartCommand(program)
  registerStatusCommand(program)
  registerPeersCommands(program)
  registerGatewayCommands(program)
  registerWorldCommands(program)
  registerEvidenceCommands(program)
  registerProposalCommands(program)
  registerPairCommands(program)
  registerDemoCommand(program)
  registerCertCommand(program)
  registerDemoActuateCommand(program)
  registerCredentialCommands(program)
  registerAskCommand(program)
  registerPlannerCommands(program)
  registerServiceCommands(program)
  registerHostOpsCommands(program)
  registerFleetCommands(program)
  return program
}
