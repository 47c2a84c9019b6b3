/**
 * The systemd unit of `clawmesh service install`: a pure rendering, so tests check every line and
 * `systemd-analyze verify` checks the whole. The service runs as its own system user, keeps its
 * state in the StateDirectory systemd creates (/var/lib/<name>, mode 0700), may write nowhere else
 * (ProtectSystem=strict + ReadWritePaths), and restarts after a crash but not after a clean stop.
 */

const SERVICE_KINDS = ['node', 'relay'] as const
export type ServiceKind = (typeof SERVICE_KINDS)[number]

/** Unit and state directory name of each kind: clawmesh-node.service, /var/lib/clawmesh-node. */
const SERVICE_NAMES = {
  node: 'clawmesh-node',
  relay: 'clawmesh-relay',
} as const satisfies Record<ServiceKind, string>
export const DEFAULT_SERVICE_USER = 'clawmesh'
export const DEFAULT_UNIT_DIR = '/etc/systemd/system'
/** Seconds systemd waits before restarting a crashed node (avoids a tight crash loop). */
const SERVICE_RESTART_SEC = 5
const SYSTEMD_STATE_ROOT = '/var/lib'

export interface UnitSpec {
  kind: ServiceKind
  /** Absolute path of the Node binary (≥ 22.19). */
  nodePath: string
  /** Absolute path of the bin to run: bin/clawmesh-node.js or bin/clawmesh-relay.js. */
  binPath: string
  user: string
  /** Absolute path of node.json (the node kind only). */
  configPath?: string
  /** Extra arguments (e.g. the relay's --port, --command-center). */
  extraArgs?: readonly string[]
  /** Environment of the process (the node's memory levers, bin/memory-levers.js), in this order. */
  environment?: Readonly<Record<string, string>>
}

export function serviceName(kind: ServiceKind): (typeof SERVICE_NAMES)[ServiceKind] {
  return SERVICE_NAMES[kind]
}

export function unitFileName(kind: ServiceKind): string {
  return `${serviceName(kind)}.service`
}

function serviceStateDir(kind: ServiceKind): string {
  return `${SYSTEMD_STATE_ROOT}/${serviceName(kind)}`
}

/** systemd splits ExecStart on spaces and reads quotes, `%` and `$` itself: quote each argument. */
export function quoteExecArg(arg: string): string {
  const escaped = arg.replaceAll('%', '%%').replaceAll('$', () => '$$')
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)
    ? escaped
    : `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}

/** One `Environment=` assignment: systemd reads quotes and `%` specifiers in it, not `$`. */
export function quoteEnvironmentAssignment(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not an environment variable name: ${name}`)
  const assignment = `${name}=${value.replaceAll('%', '%%')}`
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(assignment)
    ? assignment
    : `"${assignment.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}

export function renderSystemdUnit(spec: UnitSpec): string {
  for (const path of [spec.nodePath, spec.binPath, spec.configPath]) {
    if (path !== undefined && !path.startsWith('/')) throw new Error(`not an absolute path: ${path}`)
  }
  if (!/^[a-z_][a-z0-9_-]*$/.test(spec.user)) throw new Error(`not a valid user name: ${spec.user}`)
  if (spec.kind === 'node' && spec.configPath === undefined) throw new Error('a node service needs --config')
  const stateDir = serviceStateDir(spec.kind)
  const args = [
    spec.nodePath,
    spec.binPath,
    ...(spec.configPath === undefined ? [] : ['--config', spec.configPath]),
    '--state-dir',
    stateDir,
    ...(spec.extraArgs ?? []),
  ]
  const description = spec.kind === 'node' ? 'ClawMesh node' : 'ClawMesh signaling relay'
  return [
    '[Unit]',
    `Description=${description}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${spec.user}`,
    `Group=${spec.user}`,
    ...Object.entries(spec.environment ?? {}).map(
      ([name, value]) => `Environment=${quoteEnvironmentAssignment(name, value)}`,
    ),
    `ExecStart=${args.map(quoteExecArg).join(' ')}`,
    `StateDirectory=${serviceName(spec.kind)}`,
    'StateDirectoryMode=0700',
    'Restart=on-failure',
    `RestartSec=${SERVICE_RESTART_SEC}`,
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    `ReadWritePaths=${stateDir}`,
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n')
}
