/**
 * `security-check`: SSH exposure (sshd_config), accounts with shells and uid 0 (/etc/passwd),
 * listening sockets and their processes (/proc/net/tcp{,6}, /proc/<pid>/fd), firewall state
 * (nft / iptables / ufw), pending updates (`apt-get -s upgrade`) and secret-looking files readable by
 * group or others in the configured `secretPaths`. Read-only (L0).
 */
import { readdir, readFile, readlink } from 'node:fs/promises'
import type { Finding } from '../../protocol/host-ops/findings.ts'
import { exposedSecrets } from './autoheal.ts'
import { HOST_LIST_CITED_MAX, PROC_SCAN_MAX_PIDS } from './constants.ts'
import {
  hasLoginShell,
  isLoopback,
  type ListeningSocket,
  parseAptSimulation,
  parsePasswd,
  parseProcNetTcp,
  parseSshdConfig,
} from './parsers.ts'
import { runTool } from './run-tool.ts'
import { finding, type HostWorkflowContext, unavailable, type WorkflowOutput } from './workflow-context.ts'

export const SSHD_CONFIG = '/etc/ssh/sshd_config'

export async function runSecurityCheck(context: HostWorkflowContext): Promise<WorkflowOutput> {
  const findings = await Promise.all([
    sshFinding(),
    accountsFinding(),
    socketsFinding(context),
    firewallFinding(),
    updatesFinding(),
    secretsFinding(context),
  ])
  return { findings: findings.flat() }
}

async function sshFinding(): Promise<Finding> {
  let text: string
  try {
    text = await readFile(SSHD_CONFIG, 'utf8')
  } catch (error) {
    return unavailable(
      'ssh-config',
      'ssh',
      `${SSHD_CONFIG} not readable: ${(error as NodeJS.ErrnoException).code}`,
      SSHD_CONFIG,
    )
  }
  const ssh = parseSshdConfig(text)
  // sshd's defaults: passwords allowed, root only with a key (prohibit-password).
  const password = (ssh.passwordAuthentication ?? 'yes').toLowerCase()
  const root = (ssh.permitRootLogin ?? 'prohibit-password').toLowerCase()
  const passwordOn = password === 'yes'
  const rootWithPassword = root === 'yes'
  return finding({
    id: 'ssh-config',
    check: 'ssh',
    status: rootWithPassword ? 'fail' : passwordOn ? 'warn' : 'ok',
    risk: rootWithPassword ? 'high' : passwordOn ? 'medium' : 'low',
    summary: `sshd: PasswordAuthentication ${password}, PermitRootLogin ${root}, listening on ${ssh.listenAddresses.join(', ') || 'all addresses'}`,
    evidence: [
      {
        source: SSHD_CONFIG,
        fact: `PasswordAuthentication ${ssh.passwordAuthentication ?? '(default yes)'}`,
      },
      {
        source: SSHD_CONFIG,
        fact: `PermitRootLogin ${ssh.permitRootLogin ?? '(default prohibit-password)'}`,
      },
      { source: SSHD_CONFIG, fact: `Port ${ssh.port ?? '(default 22)'}` },
    ],
    recommendation:
      passwordOn || rootWithPassword
        ? 'set PasswordAuthentication no and PermitRootLogin prohibit-password (or no), then reload sshd'
        : '',
  })
}

async function accountsFinding(): Promise<Finding[]> {
  let text: string
  try {
    text = await readFile('/etc/passwd', 'utf8')
  } catch (error) {
    return [unavailable('accounts', 'accounts', (error as Error).message, '/etc/passwd')]
  }
  const users = parsePasswd(text)
  const uid0 = users.filter((user) => user.uid === 0)
  const extraRoot = uid0.filter((user) => user.name !== 'root')
  const shells = users.filter(hasLoginShell)
  return [
    finding({
      id: 'uid0-accounts',
      check: 'accounts',
      status: extraRoot.length > 0 ? 'fail' : 'ok',
      risk: extraRoot.length > 0 ? 'critical' : 'low',
      summary: `${uid0.length} account(s) with uid 0: ${uid0.map((user) => user.name).join(', ')}`,
      evidence: uid0.map((user) => ({
        source: '/etc/passwd',
        fact: `${user.name} uid 0 shell ${user.shell}`,
      })),
      recommendation:
        extraRoot.length > 0
          ? `find out who created ${extraRoot.map((user) => user.name).join(', ')}: a second uid-0 account is a classic backdoor`
          : '',
    }),
    finding({
      id: 'login-shells',
      check: 'accounts',
      status: 'ok',
      risk: 'low',
      summary: `${shells.length} account(s) with a login shell: ${shells
        .slice(0, 8)
        .map((user) => user.name)
        .join(', ')}${shells.length > 8 ? ', …' : ''}`,
      evidence: shells
        .slice(0, HOST_LIST_CITED_MAX)
        .map((user) => ({ source: '/etc/passwd', fact: `${user.name} uid ${user.uid} ${user.shell}` })),
    }),
  ]
}

/** inode → "name[pid]" for the sockets of the processes this node may read. */
async function socketOwners(inodes: Set<number>): Promise<Map<number, string>> {
  const owners = new Map<number, string>()
  const pids = (await readdir('/proc').catch(() => [] as string[]))
    .filter((name) => /^\d+$/.test(name))
    .slice(0, PROC_SCAN_MAX_PIDS)
  for (const pid of pids) {
    if (owners.size === inodes.size) break
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
      const inode = Number(/^socket:\[(\d+)\]$/.exec(target)?.[1])
      if (!inodes.has(inode) || owners.has(inode)) continue
      const name = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim()
      owners.set(inode, `${name}[${pid}]`)
    }
  }
  return owners
}

async function socketsFinding(_context: HostWorkflowContext): Promise<Finding> {
  const sockets: ListeningSocket[] = []
  let read = 0
  for (const protocol of ['tcp', 'tcp6'] as const) {
    try {
      sockets.push(...parseProcNetTcp(await readFile(`/proc/net/${protocol}`, 'utf8'), protocol))
      read++
    } catch {
      // tcp6 is absent on hosts without IPv6.
    }
  }
  if (read === 0)
    return unavailable(
      'listening-sockets',
      'network',
      '/proc/net/tcp is not readable (not Linux?)',
      '/proc/net/tcp',
    )
  const owners = await socketOwners(new Set(sockets.map((socket) => socket.inode)))
  const exposed = sockets.filter((socket) => !isLoopback(socket.address))
  const describe = (socket: ListeningSocket) =>
    `${socket.protocol} ${socket.address}:${socket.port} ${owners.get(socket.inode) ?? '(owner not readable)'}`
  return finding({
    id: 'listening-sockets',
    check: 'network',
    status: exposed.length > 0 ? 'warn' : 'ok',
    risk: exposed.length > 0 ? 'medium' : 'low',
    summary: `${sockets.length} listening TCP sockets, ${exposed.length} on non-loopback addresses${exposed.length > 0 ? `: ports ${[...new Set(exposed.map((socket) => socket.port))].slice(0, 12).join(', ')}` : ''}`,
    evidence: [...exposed, ...sockets.filter((socket) => isLoopback(socket.address))]
      .slice(0, HOST_LIST_CITED_MAX)
      .map((socket) => ({ source: `/proc/net/${socket.protocol}`, fact: describe(socket) })),
    recommendation:
      exposed.length > 0
        ? 'check each exposed port is meant to be reachable; bind the others to 127.0.0.1 or firewall them'
        : '',
  })
}

async function firewallFinding(): Promise<Finding> {
  const reasons: string[] = []
  const nft = await runTool('nft', ['list', 'ruleset'])
  if (nft.outcome === 'ok') {
    const rules = nft.stdout
      .split('\n')
      .filter((line) =>
        /^\s+(ip|ip6|tcp|udp|ct|iif|oif|meta|counter|accept|drop|reject|jump)\b/.test(line),
      ).length
    const dropPolicy = /policy drop/.test(nft.stdout)
    return finding({
      id: 'firewall',
      check: 'firewall',
      status: rules === 0 && !dropPolicy ? 'warn' : 'ok',
      risk: rules === 0 && !dropPolicy ? 'medium' : 'low',
      summary:
        rules === 0 && !dropPolicy
          ? 'nftables loaded with no rules: nothing is filtered'
          : `nftables: ${rules} rule lines${dropPolicy ? ', a drop policy' : ''}`,
      evidence: [{ source: 'nft list ruleset', fact: `${rules} rule lines, drop policy ${dropPolicy}` }],
    })
  }
  reasons.push(nft.outcome === 'unavailable' ? nft.reason : `nft: ${nft.stderr.trim().slice(0, 120)}`)
  const ufw = await runTool('ufw', ['status'])
  if (ufw.outcome === 'ok') {
    const active = /Status: active/.test(ufw.stdout)
    return finding({
      id: 'firewall',
      check: 'firewall',
      status: active ? 'ok' : 'warn',
      risk: active ? 'low' : 'medium',
      summary: `ufw ${active ? 'active' : 'inactive'}`,
      evidence: [{ source: 'ufw status', fact: ufw.stdout.split('\n')[0] ?? '' }],
    })
  }
  reasons.push(ufw.outcome === 'unavailable' ? ufw.reason : `ufw: ${ufw.stderr.trim().slice(0, 120)}`)
  const iptables = await runTool('iptables', ['-S'])
  if (iptables.outcome === 'ok') {
    const rules = iptables.stdout.split('\n').filter((line) => line.startsWith('-A ')).length
    const dropPolicy = /^-P INPUT (DROP|REJECT)/m.test(iptables.stdout)
    return finding({
      id: 'firewall',
      check: 'firewall',
      status: rules === 0 && !dropPolicy ? 'warn' : 'ok',
      risk: rules === 0 && !dropPolicy ? 'medium' : 'low',
      summary: `iptables: ${rules} rules, INPUT policy ${dropPolicy ? 'drop' : 'accept'}`,
      evidence: [{ source: 'iptables -S', fact: `${rules} rules` }],
    })
  }
  reasons.push(
    iptables.outcome === 'unavailable'
      ? iptables.reason
      : `iptables: ${iptables.stderr.trim().slice(0, 120)}`,
  )
  return unavailable('firewall', 'firewall', reasons.join('; '), 'nft/ufw/iptables')
}

async function updatesFinding(): Promise<Finding> {
  const apt = await runTool('apt-get', ['-s', '-o', 'Debug::NoLocking=1', 'upgrade'])
  if (apt.outcome === 'unavailable')
    return unavailable('pending-updates', 'updates', apt.reason, 'apt-get -s upgrade')
  if (apt.outcome === 'failed')
    return unavailable(
      'pending-updates',
      'updates',
      `apt-get exited ${apt.code}: ${apt.stderr.trim().slice(0, 200)}`,
      'apt-get -s upgrade',
    )
  const { upgrades, security } = parseAptSimulation(apt.stdout)
  return finding({
    id: 'pending-updates',
    check: 'updates',
    status: security.length > 0 ? 'warn' : 'ok',
    risk: security.length > 0 ? 'high' : 'low',
    summary: `${upgrades.length} pending upgrade(s), ${security.length} from a security pocket (as of the last apt update)`,
    evidence: (security.length > 0 ? security : upgrades)
      .slice(0, HOST_LIST_CITED_MAX)
      .map((name) => ({ source: 'apt-get -s upgrade', fact: name })),
    recommendation:
      security.length > 0 ? 'apply the security updates (apt-get upgrade) in a maintenance window' : '',
  })
}

/** World-readable (or group-readable) secrets: the same walk and rule as `hygiene-plan`, which
 * offers the repairs. */
async function secretsFinding(context: HostWorkflowContext): Promise<Finding> {
  const { settings } = context
  if (settings.secretPaths.length === 0)
    return unavailable(
      'exposed-secrets',
      'secrets',
      'no hostOps.secretPaths configured',
      'hostOps.secretPaths',
    )
  const exposed = await exposedSecrets(settings)
  const worldReadable = exposed.filter((file) => (file.mode & 0o004) !== 0)
  return finding({
    id: 'exposed-secrets',
    check: 'secrets',
    status: worldReadable.length > 0 ? 'fail' : exposed.length > 0 ? 'warn' : 'ok',
    risk: worldReadable.length > 0 ? 'high' : exposed.length > 0 ? 'medium' : 'low',
    summary:
      exposed.length === 0
        ? `no secret-looking file readable by others in ${settings.secretPaths.join(', ')}`
        : `${exposed.length} secret-looking file(s) readable by group or others, ${worldReadable.length} by everyone`,
    evidence: [...worldReadable, ...exposed.filter((file) => !worldReadable.includes(file))]
      .slice(0, HOST_LIST_CITED_MAX)
      .map((file) => ({ source: file.path, fact: `mode 0${(file.mode & 0o777).toString(8)}` })),
    recommendation:
      exposed.length === 0
        ? ''
        : `clawmesh hygiene-plan ${context.nodeName}: tighten permissions (L1), quarantine the file (L2), and rotate the secret`,
  })
}
