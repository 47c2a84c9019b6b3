/**
 * The trust records the console e2e tests need for the demo farm: the site binds its sensors and
 * actuators to the node named `field-1`, and a command center reads that name from its own trust
 * store (node/site/site-bindings.ts), never from the frames. Without the name, field-1's readings
 * are refused and the console has nothing live to show.
 */
import { statePaths } from '../../runtime/state/state-dir.ts'
import { TrustStore } from '../../runtime/trust/trust-store.ts'

export async function nameTrustedPeers(
  dirs: { readonly cc: string; readonly field: string },
  ids: { readonly cc: string; readonly field: string },
): Promise<void> {
  await (await TrustStore.open(statePaths(dirs.cc).trustedPeers)).add(ids.field, 'field-1')
  await (await TrustStore.open(statePaths(dirs.field).trustedPeers)).add(ids.cc, 'command-center')
}
