/**
 * Fleet operations on every node (docs/host-operations.md): `policy.check` answers from this
 * node's own rules and records; `host.monitor.check` runs `doctor` on every node offering `host:*`
 * at once and appends the table to this node's evidence log; `host.monitor.agent` runs that check on
 * an interval while this node leads and publishes one `event` frame per crossing (MonitorGate).
 * The agent's interval is kept in the state dir (host-ops/monitor-agent.json), so a node that
 * restarts resumes monitoring; `monitor-agent off` removes it.
 */

import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { ClawMeshError, normaliseError } from '../../protocol/errors.ts'
import { findingsReportSchema, HOST_WORKFLOWS, isHostCapability } from '../../protocol/host-ops/findings.ts'
import {
  FLEET_CHECK_MAX_NODES,
  type FleetCheck,
  type FleetRow,
  fleetRowOf,
  MONITOR_INTERVAL_MAX_MS,
  MONITOR_INTERVAL_MIN_MS,
  type MonitorAlert,
  MonitorGate,
  unreachableRow,
  worstRowFirst,
} from '../../protocol/host-ops/fleet.ts'
import type { MonitorAgentStatus, PolicyCheckResult } from '../../protocol/rpc/methods.ts'
import { OPERATOR_ROLES, type OperatorRole } from '../../protocol/safety/operator-certificate.ts'
import type { OperationManifest } from '../../protocol/safety/policy.ts'
import { checkPolicy, type PolicySubject } from '../../protocol/safety/policy-check.ts'
import { readJsonFile, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import type { NodeComponents } from '../components.ts'
import type { NodeSurface } from '../surface.ts'
import { HOST_INVOKE_TIMEOUT_MS } from './constants.ts'

type FleetComponents = Pick<
  NodeComponents,
  | 'config'
  | 'identity'
  | 'router'
  | 'membership'
  | 'safety'
  | 'election'
  | 'publish'
  | 'counters'
  | 'log'
  | 'commandCenter'
  | 'paths'
>

/** What survives a restart: the interval the agent was started with. */
const monitorAgentStateSchema = z.strictObject({
  version: z.literal(1),
  intervalMs: z.number().int().min(MONITOR_INTERVAL_MIN_MS).max(MONITOR_INTERVAL_MAX_MS),
  since: z.number().int().nonnegative(),
})

export function monitorAgentStatePath(stateDir: string): string {
  return join(stateDir, 'host-ops', 'monitor-agent.json')
}

export function createFleetSurface(components: FleetComponents): NodeSurface {
  const gate = new MonitorGate()
  const statePath = monitorAgentStatePath(components.paths.stateDir)
  const agent = {
    intervalMs: undefined as number | undefined,
    runs: 0,
    alertsRaised: 0,
    lastRunAt: undefined as number | undefined,
  }
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined

  /** Every `host:*` capability this node can reach: its own and its connected peers'. */
  function hostCapabilities(): string[] {
    const found = new Set(components.router.localCapabilities().filter(isHostCapability))
    for (const record of components.membership.entries()) {
      if (record.state !== 'connected' || record.info === undefined) continue
      for (const capability of record.info.capabilities)
        if (isHostCapability(capability)) found.add(capability)
    }
    return [...found].sort().slice(0, FLEET_CHECK_MAX_NODES)
  }

  async function doctorRow(capability: string): Promise<FleetRow> {
    const started = performance.now()
    try {
      const answer = await components.router.invoke({
        capability,
        operation: 'doctor',
        args: { callerTime: Date.now() },
        timeoutMs: HOST_INVOKE_TIMEOUT_MS,
      })
      return fleetRowOf(capability, findingsReportSchema.parse(answer.result), answer.provider)
    } catch (error) {
      const normalised = normaliseError(error)
      return unreachableRow(
        capability,
        `${normalised.code}: ${normalised.message}`,
        performance.now() - started,
      )
    }
  }

  async function monitorCheck(
    alertsOf?: (rows: FleetRow[]) => MonitorAlert[],
  ): Promise<{ check: FleetCheck; alerts: MonitorAlert[] }> {
    const startedAt = Date.now()
    const rows = (await Promise.all(hostCapabilities().map(doctorRow))).sort(worstRowFirst)
    const alerts = alertsOf?.(rows) ?? []
    const check: FleetCheck = {
      checkedBy: components.config.name,
      startedAt,
      durationMs: Date.now() - startedAt,
      rows,
    }
    components.counters.increment('host-ops.monitor-checks')
    const entry = await components.safety.evidence.append('fleet_check', {
      ...check,
      ...(alerts.length === 0 ? {} : { alerts }),
    })
    return { check: { ...check, evidenceSeq: entry.seq }, alerts }
  }

  async function raise(alert: MonitorAlert): Promise<void> {
    agent.alertsRaised++
    components.counters.increment(`host-ops.alerts.${alert.kind}`)
    await components
      .publish(
        {
          kind: 'event',
          data:
            alert.kind === 'failed'
              ? {
                  type: 'host-finding-failed',
                  severity: 'critical',
                  message: `${alert.node}: ${alert.finding} turned fail — ${alert.summary}`.slice(0, 500),
                }
              : {
                  type: 'host-finding-recovered',
                  severity: 'info',
                  message: `${alert.node}: ${alert.finding} is no longer failing`,
                },
          trust: { tier: 'T3', sources: [`host:${alert.node}`.slice(0, 128)] },
        },
        { urgent: true },
      )
      .catch((error: Error) => components.log(`could not publish a monitor alert: ${error.message}`))
  }

  async function tick(): Promise<void> {
    // Only the leader monitors: a standby keeps its interval and takes over with the lead.
    if (!components.election.isLeader()) return
    const { check, alerts } = await monitorCheck((rows) => gate.observe(rows))
    agent.runs++
    agent.lastRunAt = check.startedAt
    for (const alert of alerts) await raise(alert)
  }

  function schedule(intervalMs: number): void {
    if (timer !== undefined) clearInterval(timer)
    agent.intervalMs = intervalMs
    timer = setInterval(() => {
      if (running !== undefined) return // a run still going: skip, never overlap
      running = tick()
        .catch((error: Error) => components.log(`monitor agent: ${error.message}`))
        .finally(() => {
          running = undefined
        })
    }, intervalMs)
    timer.unref()
  }

  function status(): MonitorAgentStatus {
    return {
      running: timer !== undefined,
      ...(agent.intervalMs === undefined ? {} : { intervalMs: agent.intervalMs }),
      leading: components.election.isLeader(),
      runs: agent.runs,
      alertsRaised: agent.alertsRaised,
      ...(agent.lastRunAt === undefined ? {} : { lastRunAt: agent.lastRunAt }),
    }
  }

  function resolveSubject(subject: string): { subject: PolicySubject; shown: PolicyCheckResult['subject'] } {
    if (subject === 'planner') return { subject: { kind: 'planner' }, shown: { kind: 'planner' } }
    if (subject === 'device') return { subject: { kind: 'device' }, shown: { kind: 'device' } }
    if ((OPERATOR_ROLES as readonly string[]).includes(subject)) {
      const roles = [subject as OperatorRole]
      return { subject: { kind: 'operator', roles }, shown: { kind: 'operator', roles } }
    }
    const certificate = components.safety.issued
      .valid()
      .find((candidate) => candidate.body.displayName === subject)
    if (certificate === undefined) {
      throw new ClawMeshError(
        'NOT_FOUND',
        `"${subject}" is neither a role (${OPERATOR_ROLES.join(', ')}), planner, device, nor an operator certified by this node`,
      )
    }
    const roles = certificate.body.roles
    return {
      subject: { kind: 'operator', roles },
      shown: { kind: 'operator', name: subject, roles: [...roles] },
    }
  }

  /** The manifest this node holds for a capability: the site's for an actuator, L0 reads otherwise. */
  function manifestFor(capability: string): OperationManifest[] {
    if (isHostCapability(capability))
      return HOST_WORKFLOWS.map((operation) => ({ operation, minimumLevel: 'L0' }))
    if (capability.startsWith('sensor:')) return [{ operation: 'read', minimumLevel: 'L0' }]
    const declared = components.safety.manifestFor(capability)
    return capability.startsWith('actuator:')
      ? [{ operation: 'state', minimumLevel: 'L0' }, ...declared]
      : declared
  }

  return {
    name: 'fleet',
    handlers: () => ({
      'policy.check': (params) => {
        const { subject, shown } = resolveSubject(params.subject)
        const answer = checkPolicy({
          subject,
          action: params.action,
          capability: params.capability,
          operation: params.operation,
          manifest: manifestFor(params.capability),
          commandCenter: components.commandCenter.self,
          targetNode: components.identity.deviceId,
          now: Date.now(),
        })
        return {
          subject: shown,
          action: params.action,
          capability: params.capability,
          operation: params.operation,
          answer,
          answeredBy: components.config.name,
        }
      },
      'host.monitor.check': async () => (await monitorCheck()).check,
      'host.monitor.agent': async (params) => {
        if (params.stop === true) {
          if (timer !== undefined) clearInterval(timer)
          timer = undefined
          agent.intervalMs = undefined
          await rm(statePath, { force: true })
        } else if (params.intervalMs !== undefined) {
          schedule(params.intervalMs)
          await writeJsonAtomic(statePath, { version: 1, intervalMs: params.intervalMs, since: Date.now() })
          components.log(`monitor agent: every ${params.intervalMs} ms while this node leads`)
        }
        return status()
      },
    }),
    start: async () => {
      // An unreadable file is left as it is and said: the agent stays off rather than guessing.
      const saved = await readJsonFile(statePath, monitorAgentStateSchema, 'monitor agent state').catch(
        (error: Error) => {
          components.counters.increment('host-ops.monitor-agent.state-unreadable')
          components.log(`monitor agent not resumed: ${error.message}`)
          return undefined
        },
      )
      if (saved === undefined) return
      schedule(saved.intervalMs)
      components.log(
        `monitor agent resumed: every ${saved.intervalMs} ms while this node leads (since ${new Date(saved.since).toISOString()})`,
      )
    },
    stop: async () => {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      await running
    },
  }
}
