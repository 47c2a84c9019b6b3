/**
 * This node's host repairs as the actuator gate drives them (node/safety/actuator-gate.ts), the
 * way a device driver applies a valve's operation: the gate has already verified the command's
 * issuer, target, ledger, term, the one policy on this node's own manifest (host repairs with the
 * L1 bounds of its settings) and the freshness of the cited findings. Here, last line of defence,
 * the arguments are validated again and each repair runs its own checks on the machine as it is
 * now (manifest or file hash still matching, ExecStart missing, paths inside the configured ones) before it
 * changes anything. There is no other way to run a repair: no RPC method, no CLI side door.
 */
import { hostCapability } from '../../protocol/host-ops/findings.ts'
import {
  type HostRepairOperation,
  hostRepairArgsSchemas,
  hostRepairManifest,
  isHostRepairOperation,
} from '../../protocol/host-ops/repairs.ts'
import type { OperationManifest } from '../../protocol/safety/index.ts'
import type { Counters } from '../../runtime/counters.ts'
import type { DeviceOutcome, GateActuators } from '../safety/actuator-gate.ts'
import type { SafeStateActuators } from '../safety/estop-actuator.ts'
import { permissionsTighten, tempClean, vacuumJournal } from './autoheal.ts'
import { applyDataClean } from './data-clean.ts'
import { quarantineSecret, redactLogCopy } from './hygiene-repairs.ts'
import { runApproved } from './run-command.ts'
import { quarantineService, removeService } from './service-repairs.ts'
import type { HostOpsSettings } from './settings.ts'

export type RepairOutcome = DeviceOutcome

export interface HostRepairsInit {
  readonly nodeName: string
  readonly settings: HostOpsSettings
  readonly stateDir: string
  readonly counters: Pick<Counters, 'increment'>
  readonly log: (line: string) => void
}

export interface HostRepairs extends GateActuators {
  readonly capability: string
  /** This node's manifest for its own host capability: the L1 bounds its settings narrow. */
  manifest(capability: string): OperationManifest[] | undefined
}

export function createHostRepairs(init: HostRepairsInit): HostRepairs {
  const capability = hostCapability(init.nodeName)
  const { settings } = init
  async function apply(
    operation: HostRepairOperation,
    args: Record<string, unknown>,
    proposalId: string,
  ): Promise<RepairOutcome> {
    switch (operation) {
      case 'data-clean-apply':
        return applyDataClean(
          init.stateDir,
          settings.repairPaths,
          hostRepairArgsSchemas[operation].parse(args),
        )
      case 'run':
        return runApproved(hostRepairArgsSchemas[operation].parse(args).argv, settings.runUser)
      case 'service-quarantine':
        return quarantineService(hostRepairArgsSchemas[operation].parse(args).unit)
      case 'service-remove': {
        const parsed = hostRepairArgsSchemas[operation].parse(args)
        return removeService(parsed.unit, parsed.workdir, settings)
      }
      case 'journal-vacuum':
        return vacuumJournal(hostRepairArgsSchemas[operation].parse(args).maxMb, settings)
      case 'temp-clean':
        return tempClean(hostRepairArgsSchemas[operation].parse(args).olderThanDays, settings)
      case 'permissions-tighten':
        return permissionsTighten(hostRepairArgsSchemas[operation].parse(args).maxFiles, settings)
      case 'log-redact-copy':
        return redactLogCopy(hostRepairArgsSchemas[operation].parse(args), settings)
      case 'secret-quarantine':
        return quarantineSecret(
          hostRepairArgsSchemas[operation].parse(args),
          settings,
          init.stateDir,
          proposalId,
        )
    }
  }
  return {
    capability,
    has: (candidate) => candidate === capability,
    manifest: (candidate) =>
      candidate === capability
        ? hostRepairManifest(capability, {
            journalVacuumMinMb: settings.journalVacuumMinMb,
            tempCleanMinDays: settings.tempCleanMinDays,
            permissionsMaxFiles: settings.permissionsMaxFiles,
          })
        : undefined,
    async apply(target, operation, args, proposalId) {
      if (target !== capability || !isHostRepairOperation(operation)) {
        init.counters.increment('host-ops.repair.refused.unknown-operation')
        return { ok: false, code: 'unknown-operation', message: `${target} has no repair "${operation}"` }
      }
      const valid = hostRepairArgsSchemas[operation].safeParse(args)
      if (!valid.success) {
        init.counters.increment('host-ops.repair.refused.invalid-args')
        return {
          ok: false,
          code: 'invalid-args',
          message: valid.error.issues.map((issue) => issue.message).join('; '),
        }
      }
      let outcome: RepairOutcome
      try {
        outcome = await apply(operation, args, proposalId)
      } catch (error) {
        outcome = { ok: false, code: 'repair-error', message: (error as Error).message.slice(0, 300) }
      }
      init.counters.increment(`host-ops.repair.${operation}.${outcome.ok ? 'completed' : outcome.code}`)
      init.log(
        `host repair ${operation} for proposal ${proposalId}: ${outcome.ok ? 'completed' : `${outcome.code}: ${outcome.message}`}`,
      )
      return outcome
    },
  }
}

/** The site's actuators and this node's host repairs, as one set for the gate. An emergency stop
 * drives only site actuators safe (a host repair has no safe state to go to: it runs once and ends),
 * so `driveSafe` goes to the devices. */
export function combineActuators(
  devices: (GateActuators & SafeStateActuators) | undefined,
  repairs: GateActuators | undefined,
): (GateActuators & SafeStateActuators) | undefined {
  if (repairs === undefined) return devices
  return {
    has: (capability) => repairs.has(capability) || devices?.has(capability) === true,
    apply: (capability, operation, args, proposalId) => {
      if (repairs.has(capability)) return repairs.apply(capability, operation, args, proposalId)
      if (devices === undefined) throw new Error(`this node has no driver for ${capability}`)
      return devices.apply(capability, operation, args, proposalId)
    },
    driveSafe: async (capability, trigger, detail) => devices?.driveSafe(capability, trigger, detail),
  }
}
