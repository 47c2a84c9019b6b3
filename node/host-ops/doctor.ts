/**
 * `doctor`: the health of this machine and of ClawMesh on it — disk, memory and CPU headroom from
 * /proc and `os`, GPUs (gpu.ts), clock skew against the caller, failed systemd units, evidence-log health,
 * trust-store problems and the node's own state. Read-only (L0).
 */
import { readFile, stat, statfs } from 'node:fs/promises'
import os from 'node:os'
import { evidenceLogPaths, verifyEvidenceFile } from '../safety/evidence-log-writer.ts'
import {
  CLOCK_SKEW_FAIL_MS,
  CLOCK_SKEW_WARN_MS,
  DISK_FREE_FAIL_RATIO,
  DISK_FREE_WARN_RATIO,
  DOCTOR_EVIDENCE_VERIFY_MAX_BYTES,
  HOST_LIST_CITED_MAX,
  LOAD_PER_CPU_FAIL,
  LOAD_PER_CPU_WARN,
  MEMORY_AVAILABLE_FAIL_RATIO,
  MEMORY_AVAILABLE_WARN_RATIO,
} from './constants.ts'
import { readGpuState } from './gpu.ts'
import { parseKeyValues, parseSystemctlUnits } from './parsers.ts'
import { runTool, systemdNotRunning } from './run-tool.ts'
import { finding, type HostWorkflowContext, unavailable, type WorkflowOutput } from './workflow-context.ts'

const MB = 1024 * 1024

export async function runDoctor(
  context: HostWorkflowContext,
  args: { callerTime?: number },
  now: number,
): Promise<WorkflowOutput> {
  const [memory, disks, units, evidence, osName, gpu] = await Promise.all([
    memoryFinding(),
    diskFindings(context),
    failedUnitsFinding(),
    evidenceFinding(context),
    osRelease(),
    readGpuState(),
  ])
  const cpus = os.availableParallelism()
  const load1 = os.loadavg()[0] ?? 0
  const findings = [
    memory.finding,
    ...disks.findings,
    loadFinding(load1, cpus),
    gpu.finding,
    clockFinding(args.callerTime, now),
    units,
    evidence,
    trustFinding(context, now),
    selfFinding(context),
  ]
  return {
    findings,
    facts: {
      os: osName,
      kernel: os.release(),
      arch: os.arch(),
      cpus,
      load1: Math.round(load1 * 100) / 100,
      memTotalMb: memory.totalMb,
      memAvailableMb: memory.availableMb,
      ...(disks.rootFreePct === undefined ? {} : { diskFreePct: disks.rootFreePct }),
      uptimeS: Math.round(os.uptime()),
      gpu: gpu.fact,
    },
  }
}

async function osRelease(): Promise<string> {
  try {
    const values = parseKeyValues(await readFile('/etc/os-release', 'utf8'))
    return (values['PRETTY_NAME'] ?? `${os.type()} ${os.release()}`).replace(/^"|"$/g, '').slice(0, 120)
  } catch {
    return `${os.type()} ${os.release()}`
  }
}

async function memoryFinding() {
  let totalBytes = os.totalmem()
  let availableBytes = os.freemem()
  let source = 'os.freemem'
  try {
    const meminfo = await readFile('/proc/meminfo', 'utf8')
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(meminfo)?.[1])
    if (Number.isFinite(kib('MemTotal')) && Number.isFinite(kib('MemAvailable'))) {
      totalBytes = kib('MemTotal') * 1024
      availableBytes = kib('MemAvailable') * 1024
      source = '/proc/meminfo'
    }
  } catch {
    // Not Linux: os.freemem() is the free, not the available, memory — a pessimistic figure.
  }
  const ratio = availableBytes / totalBytes
  const status =
    ratio < MEMORY_AVAILABLE_FAIL_RATIO ? 'fail' : ratio < MEMORY_AVAILABLE_WARN_RATIO ? 'warn' : 'ok'
  const availableMb = Math.round(availableBytes / MB)
  const totalMb = Math.round(totalBytes / MB)
  return {
    totalMb,
    availableMb,
    finding: finding({
      id: 'memory-headroom',
      check: 'memory',
      status,
      risk: status === 'fail' ? 'high' : status === 'warn' ? 'medium' : 'low',
      summary: `${availableMb} MiB of ${totalMb} MiB available (${Math.round(ratio * 100)}%)`,
      evidence: [{ source, fact: `available ${availableMb} MiB, total ${totalMb} MiB` }],
      recommendation:
        status === 'ok' ? '' : 'find the processes using memory (top -o %MEM) before the OOM killer does',
    }),
  }
}

async function diskFindings(context: HostWorkflowContext) {
  const paths = [...new Set(['/', context.stateDir, ...context.settings.diskPaths])]
  let rootFreePct: number | undefined
  const findings = await Promise.all(
    paths.map(async (path) => {
      try {
        const fs = await statfs(path)
        const ratio = fs.blocks === 0 ? 1 : fs.bavail / fs.blocks
        const freeMb = Math.round((fs.bavail * fs.bsize) / MB)
        const totalMb = Math.round((fs.blocks * fs.bsize) / MB)
        if (path === '/') rootFreePct = Math.round(ratio * 100)
        const status = ratio < DISK_FREE_FAIL_RATIO ? 'fail' : ratio < DISK_FREE_WARN_RATIO ? 'warn' : 'ok'
        return finding({
          id: `disk-headroom:${path}`,
          check: 'disk',
          status,
          risk: status === 'fail' ? 'high' : status === 'warn' ? 'medium' : 'low',
          summary: `${path}: ${freeMb} MiB free of ${totalMb} MiB (${Math.round(ratio * 100)}%)`,
          evidence: [
            { source: `statfs ${path}`, fact: `bavail ${fs.bavail} × ${fs.bsize} B of ${fs.blocks} blocks` },
          ],
          recommendation:
            status === 'ok' ? '' : `run disk-investigate on ${path} to see what takes the space`,
          nextActions:
            status === 'ok'
              ? []
              : [
                  {
                    capability: context.capability,
                    operation: 'disk-investigate',
                    args: { path },
                    level: 'L0',
                  },
                ],
        })
      } catch (error) {
        return unavailable(`disk-headroom:${path}`, 'disk', (error as Error).message, `statfs ${path}`)
      }
    }),
  )
  return { findings, rootFreePct }
}

function loadFinding(load1: number, cpus: number) {
  const perCpu = load1 / cpus
  const status = perCpu > LOAD_PER_CPU_FAIL ? 'fail' : perCpu > LOAD_PER_CPU_WARN ? 'warn' : 'ok'
  return finding({
    id: 'cpu-headroom',
    check: 'cpu',
    status,
    risk: status === 'fail' ? 'high' : status === 'warn' ? 'medium' : 'low',
    summary: `load ${load1.toFixed(2)} over ${cpus} CPUs (${perCpu.toFixed(2)} per CPU)`,
    evidence: [
      {
        source: '/proc/loadavg',
        fact: os
          .loadavg()
          .map((value) => value.toFixed(2))
          .join(' '),
      },
    ],
    recommendation: status === 'ok' ? '' : 'find the busy processes (top) and whether the load is expected',
  })
}

function clockFinding(callerTime: number | undefined, now: number) {
  if (callerTime === undefined)
    return unavailable('clock-skew', 'clock', 'the caller sent no time to compare with', 'caller clock')
  const skew = now - callerTime
  const size = Math.abs(skew)
  const status = size > CLOCK_SKEW_FAIL_MS ? 'fail' : size > CLOCK_SKEW_WARN_MS ? 'warn' : 'ok'
  return finding({
    id: 'clock-skew',
    check: 'clock',
    status,
    risk: status === 'fail' ? 'high' : status === 'warn' ? 'medium' : 'low',
    summary: `clock ${skew >= 0 ? 'ahead of' : 'behind'} the caller by ${size} ms (transit included)`,
    evidence: [{ source: 'caller clock', fact: `caller ${callerTime}, this node ${now}` }],
    recommendation:
      status === 'ok'
        ? ''
        : 'enable time synchronisation (systemd-timesyncd, chrony): peers refuse frames from the future',
  })
}

async function failedUnitsFinding() {
  const outcome = await runTool('systemctl', [
    'list-units',
    '--failed',
    '--no-legend',
    '--plain',
    '--no-pager',
  ])
  if (outcome.outcome === 'unavailable')
    return unavailable('failed-units', 'systemd', outcome.reason, 'systemctl')
  const notRunning = systemdNotRunning(outcome)
  if (notRunning !== undefined) return unavailable('failed-units', 'systemd', notRunning, 'systemctl')
  if (outcome.outcome === 'failed')
    return unavailable(
      'failed-units',
      'systemd',
      `systemctl exited ${outcome.code}: ${outcome.stderr.trim()}`,
      'systemctl',
    )
  const units = parseSystemctlUnits(outcome.stdout)
  return finding({
    id: 'failed-units',
    check: 'systemd',
    status: units.length === 0 ? 'ok' : 'fail',
    risk: units.length === 0 ? 'low' : 'high',
    summary:
      units.length === 0
        ? 'no failed systemd units'
        : `${units.length} failed systemd unit(s): ${units.map((unit) => unit.unit).join(', ')}`,
    evidence: units.slice(0, HOST_LIST_CITED_MAX).map((unit) => ({
      source: 'systemctl list-units --failed',
      fact: `${unit.unit} ${unit.load} ${unit.active} ${unit.sub} ${unit.description}`,
    })),
    recommendation: units.length === 0 ? '' : 'run service-check on each failed unit',
    nextActions: [],
  })
}

async function evidenceFinding(context: HostWorkflowContext) {
  const { log } = evidenceLogPaths(context.stateDir)
  let size: number
  try {
    size = (await stat(log)).size
  } catch {
    return finding({
      id: 'evidence-log',
      check: 'evidence',
      status: 'ok',
      risk: 'low',
      summary: 'evidence log not written yet (no entries)',
      evidence: [{ source: log, fact: 'absent' }],
    })
  }
  if (size > DOCTOR_EVIDENCE_VERIFY_MAX_BYTES) {
    return finding({
      id: 'evidence-log',
      check: 'evidence',
      status: 'ok',
      risk: 'low',
      summary: `evidence log of ${Math.round(size / MB)} MiB: not re-verified here (limit ${DOCTOR_EVIDENCE_VERIFY_MAX_BYTES / MB} MiB), run clawmesh evidence verify`,
      evidence: [{ source: log, fact: `${size} bytes` }],
    })
  }
  const result = await verifyEvidenceFile(context.stateDir)
  if (result.verdict.outcome === 'broken')
    return finding({
      id: 'evidence-log',
      check: 'evidence',
      status: 'fail',
      risk: 'critical',
      summary: `evidence log broken at entry ${result.verdict.index}: ${result.verdict.reason}`,
      evidence: [{ source: log, fact: result.verdict.detail }],
      recommendation: 'run clawmesh evidence verify; keep the log aside as evidence',
    })
  return finding({
    id: 'evidence-log',
    check: 'evidence',
    status: 'ok',
    risk: 'low',
    summary: `evidence log verifies: ${result.entries.length} entries, ${size} bytes`,
    evidence: [{ source: log, fact: `chain and head verified, ${result.entries.length} entries` }],
  })
}

function trustFinding(context: HostWorkflowContext, now: number) {
  const peers = context.trust.list()
  const expired = peers.filter((peer) => peer.expiresAt !== undefined && peer.expiresAt <= now)
  const unnamed = peers.filter((peer) => peer.name === undefined && peer.kind !== 'operator')
  const problems = [
    ...expired.map((peer) => ({
      source: 'trusted-peers.json',
      fact: `${peer.name ?? peer.deviceId}: expired ${new Date(peer.expiresAt as number).toISOString()}`,
    })),
    ...unnamed.map((peer) => ({
      source: 'trusted-peers.json',
      fact: `${peer.deviceId}: trusted without a name`,
    })),
  ]
  return finding({
    id: 'trust-store',
    check: 'trust',
    status: expired.length > 0 ? 'warn' : 'ok',
    risk: expired.length > 0 ? 'medium' : 'low',
    summary: `${peers.length} trusted keys; ${expired.length} expired, ${unnamed.length} devices without a name`,
    evidence: problems.slice(0, HOST_LIST_CITED_MAX),
    recommendation:
      expired.length > 0
        ? 'remove expired operator keys (clawmesh trust remove) or renew their certificates'
        : '',
  })
}

function selfFinding(context: HostWorkflowContext) {
  const self = context.self()
  const rssMb = Math.round(process.memoryUsage().rss / MB)
  return finding({
    id: 'clawmesh',
    check: 'clawmesh',
    status: 'ok',
    risk: 'low',
    summary: `ClawMesh up ${Math.round(self.uptimeMs / 1000)} s, ${self.connectedPeers} connected peers, RSS ${rssMb} MiB, event-loop lag p99 ${self.eventLoopLagP99Ms} ms`,
    evidence: [{ source: 'clawmesh process', fact: `pid ${process.pid}, node ${process.version}` }],
  })
}
