/**
 * A throwaway farm site in this process: a command center (planner role) and a field node with
 * mock sensors and actuators on the demo farm, trusting each other, on loopback ports. Used by
 * `clawmesh demo-actuate` and by the benchmarks that measure a node without child processes.
 */
import { join } from 'node:path'
import { type DeviceIdentity, loadOrCreateIdentity } from '../runtime/identity/device-identity.ts'
import { statePaths } from '../runtime/state/state-dir.ts'
import { TrustStore } from '../runtime/trust/trust-store.ts'
import { type ClawMeshNode, type StartNodeOptions, startClawMeshNode } from './clawmesh-node.ts'
import { parseNodeConfig } from './config.ts'
import { DEMO_FARM_PATH } from './site/site-model.ts'

export interface LocalFarmSite {
  readonly dirs: { readonly cc: string; readonly field: string }
  readonly cc: DeviceIdentity
  readonly field: DeviceIdentity
  readonly ccNode: ClawMeshNode
  readonly fieldNode: ClawMeshNode
  /** The command center's WebSocket URL, for CLI clients. */
  readonly ccUrl: string
}

export interface LocalFarmSiteOptions {
  /** Where the error messages of a bad configuration say it came from. */
  readonly source: string
  /** Every node started is pushed here at once, so the caller can stop them even when a later
   * step fails. */
  readonly nodes: ClawMeshNode[]
  readonly log?: (line: string) => void
  /** More keys the command center trusts from the start (e.g. a second operator's CLI). */
  readonly alsoTrustedByCommandCenter?: ReadonlyArray<{ readonly deviceId: string; readonly name: string }>
  /** The command center's planner backend, replacing its configured one. */
  readonly plannerBackend?: StartNodeOptions['plannerBackend']
}

/** The state directories of a site under `base`, known before it starts (to prepare keys there). */
export function localFarmSiteDirs(base: string): LocalFarmSite['dirs'] {
  return { cc: join(base, 'command-center'), field: join(base, 'field-1') }
}

/** Starts the site under `base` (state directories from `localFarmSiteDirs`). */
export async function startLocalFarmSite(
  base: string,
  options: LocalFarmSiteOptions,
): Promise<LocalFarmSite> {
  const log = options.log ?? (() => {})
  const dirs = localFarmSiteDirs(base)
  const [cc, field] = await Promise.all([
    loadOrCreateIdentity(statePaths(dirs.cc).deviceIdentity),
    loadOrCreateIdentity(statePaths(dirs.field).deviceIdentity),
  ])
  const ccTrust = await TrustStore.open(statePaths(dirs.cc).trustedPeers)
  await ccTrust.add(field.deviceId, 'field-1')
  for (const { deviceId, name } of options.alsoTrustedByCommandCenter ?? []) await ccTrust.add(deviceId, name)
  await (await TrustStore.open(statePaths(dirs.field).trustedPeers)).add(cc.deviceId, 'command-center')
  const common = { host: '127.0.0.1', port: 0, discovery: false, site: DEMO_FARM_PATH }
  const ccNode = await startClawMeshNode(
    parseNodeConfig(
      { ...common, name: 'command-center', role: 'planner', stateDir: dirs.cc },
      options.source,
    ),
    { log, ...(options.plannerBackend === undefined ? {} : { plannerBackend: options.plannerBackend }) },
  )
  options.nodes.push(ccNode)
  const ccUrl = `ws://127.0.0.1:${ccNode.listenAddrs()[0]?.split('/')[4]}`
  const fieldNode = await startClawMeshNode(
    parseNodeConfig(
      {
        ...common,
        name: 'field-1',
        role: 'field',
        stateDir: dirs.field,
        mockSensor: true,
        mockActuator: true,
        commandCenters: [cc.deviceId],
        peers: [`${cc.deviceId}=${ccUrl}`],
      },
      options.source,
    ),
    { log },
  )
  options.nodes.push(fieldNode)
  return { dirs, cc, field, ccNode, fieldNode, ccUrl }
}
