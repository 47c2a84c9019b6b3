/**
 * `clawmesh trust add|list|remove` on a node (the command group is node/cli/trust-commands.ts):
 * removing an operator also revokes its certificates across the mesh.
 */
import type { Command } from 'commander'
import { addTrustCommands, type TrustCommandWording } from '../../../runtime/cli/trust-commands.ts'
import { resolveStateDir, statePaths } from '../../../runtime/state/state-dir.ts'
import { TrustStore } from '../../../runtime/trust/trust-store.ts'
import { DEFAULT_REVOCATION_REASON, revokeOperatorHere } from '../../trust/revoke-operator.ts'

const NODE_WORDING: TrustCommandWording = {
  command: 'clawmesh',
  group: 'manage the trusted peers of this device',
  add: 'trust a device (its node may then connect, and this node may connect to it)',
  list: 'list trusted devices',
  remove:
    "stop trusting a device (a running node drops its connections); for an operator, also revoke the operator's certificates across the mesh",
}

export function registerTrustCommands(program: Command): void {
  addTrustCommands(
    program,
    () => TrustStore.open(statePaths(resolveStateDir(program.opts().stateDir)).trustedPeers),
    NODE_WORDING,
    {
      defaultReason: DEFAULT_REVOCATION_REASON,
      run: async (deviceId, entry, reason) => {
        const revocation = await revokeOperatorHere(
          resolveStateDir(program.opts().stateDir),
          deviceId,
          entry,
          reason,
        )
        if (revocation === undefined) return undefined
        return `revoked operator ${deviceId}: certificates issued until ${new Date(revocation.body.revokedAt).toISOString()} are refused; a running command center hands the revocation to every member and relay (re-enrol with \`clawmesh pair --operator\` to trust them again)`
      },
    },
  )
}
