/**
 * The two-node site most integration tests need: a command center (role planner, the demo farm's
 * manifests) and a field node simulating the farm's sensors and actuators, which dials the command
 * center and accepts commands only from it. Operators (CLI keys of their own state dirs) are trusted
 * by the command center and certified with `operator issue` + `operator import`, as a person would.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEMO_FARM_PATH } from '../../node/site/site-model.ts'
import { loadOrCreateIdentity } from '../../runtime/identity/device-identity.ts'
import { statePaths } from '../../runtime/state/state-dir.ts'
import { TrustStore } from '../../runtime/trust/trust-store.ts'
import {
  cliJson,
  makeStateDir,
  type NodeProcess,
  type ProcessPlacement,
  runCli,
  startNode,
  startNodeHoldingExecutions,
  waitFor,
} from './processes.ts'

export interface FarmOperator<N extends string = string> {
  name: N
  roles: 'operator' | 'viewer' | 'operator,admin'
}

export interface FarmSite<N extends string = never> {
  cc: NodeProcess
  field: NodeProcess
  dirs: Record<'cc' | 'field' | N, string>
  /** Device IDs of the two nodes; `alice` is the command center's own CLI key (its local admin),
   * and every operator is listed by name with its CLI key. */
  ids: Record<'cc' | 'field' | 'alice' | N, string>
  /** The `clawmesh start` flags each node was started with, to restart it the same way. */
  ccArgs: string[]
  fieldArgs: string[]
}

export interface FarmSiteOptions<N extends string> {
  /** Extra `clawmesh start` flags for the command center (e.g. a planner model). */
  ccArgs?: string[]
  /** Extra `clawmesh start` flags for the field node (e.g. `--host-ops`). */
  extraFieldArgs?: string[]
  /** Runs after the state dirs and keys exist and before either node starts. */
  beforeStart?: (dirs: FarmSite<N>['dirs'], ids: FarmSite<N>['ids']) => Promise<void>
  /** Start the field node through the test-only entry that holds each execution this long between
   * its ledger's `started` record and the device write (crash tests kill a process meanwhile). */
  fieldHoldExecutionMs?: number
  operators?: FarmOperator<N>[]
  /** A site file for both nodes instead of the demo farm (e.g. one declaring guards or a fail-safe). */
  site?: string
  /** Where and how each node process runs (a network namespace, a skewed clock); loopback and the
   * current process's clock when unset. */
  ccPlacement?: ProcessPlacement
  fieldPlacement?: ProcessPlacement
  /** The address the field node dials the command center at, when not loopback (a namespace). */
  ccUrlForField?: (cc: NodeProcess) => string
}

async function keysOf(dir: string): Promise<{ deviceId: string; cliKeyId: string }> {
  const paths = statePaths(dir)
  const [device, cli] = [
    await loadOrCreateIdentity(paths.deviceIdentity),
    await loadOrCreateIdentity(paths.cliIdentity),
  ]
  return { deviceId: device.deviceId, cliKeyId: cli.deviceId }
}

export async function startFarmSite<N extends string = never>(
  options: FarmSiteOptions<N> = {},
): Promise<FarmSite<N>> {
  const operators = options.operators ?? []
  const dirs = { cc: await makeStateDir('cc'), field: await makeStateDir('field') } as FarmSite<N>['dirs']
  for (const operator of operators) dirs[operator.name] = await makeStateDir(operator.name)
  const [cc, field] = [await keysOf(dirs.cc), await keysOf(dirs.field)]
  const ids = { cc: cc.deviceId, field: field.deviceId, alice: cc.cliKeyId } as FarmSite<N>['ids']
  for (const operator of operators) ids[operator.name] = (await keysOf(dirs[operator.name])).cliKeyId

  const ccTrust = await TrustStore.open(statePaths(dirs.cc).trustedPeers)
  await ccTrust.add(ids.field, 'field-1')
  for (const operator of operators) await ccTrust.add(ids[operator.name], operator.name)
  await (await TrustStore.open(statePaths(dirs.field).trustedPeers)).add(ids.cc, 'command-center')
  await options.beforeStart?.(dirs, ids)

  const ccArgs = [
    '--name',
    'command-center',
    '--role',
    'planner',
    '--site',
    options.site ?? DEMO_FARM_PATH,
    ...(options.ccArgs ?? []),
  ]
  const ccNode = await startNode(dirs.cc, ccArgs, options.ccPlacement)
  const fieldArgs = [
    '--name',
    'field-1',
    '--field-node',
    '--command-center',
    ids.cc,
    '--peer',
    `${ids.cc}=${options.ccUrlForField?.(ccNode) ?? ccNode.url}`,
    ...(options.site === undefined ? [] : ['--site', options.site]),
    ...(options.extraFieldArgs ?? []),
  ]
  const fieldNode =
    options.fieldHoldExecutionMs === undefined
      ? await startNode(dirs.field, fieldArgs, options.fieldPlacement)
      : await startNodeHoldingExecutions(
          dirs.field,
          fieldArgs,
          options.fieldHoldExecutionMs,
          options.fieldPlacement,
        )
  for (const operator of operators) {
    const issued = await runCli(
      [
        'operator',
        'issue',
        ids[operator.name],
        '--name',
        operator.name,
        '--roles',
        operator.roles,
        '--url',
        ccNode.url,
      ],
      dirs.cc,
    )
    if (issued.code !== 0) throw new Error(`operator issue ${operator.name} failed: ${issued.stderr}`)
    const file = join(dirs[operator.name], `${operator.name}-cert.json`)
    await writeFile(file, issued.stdout)
    const imported = await runCli(['operator', 'import', file], dirs[operator.name])
    if (imported.code !== 0) throw new Error(`operator import ${operator.name} failed: ${imported.stderr}`)
  }
  return { cc: ccNode, field: fieldNode, dirs, ids, ccArgs, fieldArgs }
}

/** Waits until the command center holds observations of a zone (evidence for proposals there). */
export async function waitForZoneObservations(
  site: { cc: NodeProcess; dirs: { cc: string } },
  zone: string,
): Promise<void> {
  await waitFor(
    `observations of ${zone} at the command center`,
    async () => {
      const world = await cliJson<{ frames: unknown[] }>(
        ['world', '--url', site.cc.url, '--kind', 'observation', '--zone', zone],
        site.dirs.cc,
      )
      return world.frames.length > 0 ? true : undefined
    },
    20_000,
  )
}
