/**
 * Host repairs: the operations a node with host operations executes on its own machine, only as the
 * actuator of a certified command (docs/host-operations.md). They are declared here once so the
 * command center (sender, forwarder) and the actuating node run the one policy on the same manifest:
 * - L1 auto-safe, bounded: `journal-vacuum`, `temp-clean`, `permissions-tighten` (the actuating node
 *   narrows the bounds with its own settings);
 * - L2 destructive: `data-clean-apply`, `run`, `service-quarantine`, and the hygiene plan's
 *   `log-redact-copy` (a redacted copy of a log that leaks secrets) and `secret-quarantine` (an
 *   exposed secret moved into the node's quarantine);
 * - L3 irreversible: `service-remove` (two operators, one on site).
 * Every repair must cite a fresh `host_findings` frame of the same host that the host itself
 * published (its plan or check): a repair rests on what the machine said about itself, not on a
 * model's words.
 */
import { z } from 'zod'
import { canonicalHash } from '../canonical.ts'
import type { ArgumentBound, OperationManifest } from '../safety/policy.ts'
import type { ApprovalLevel } from '../safety/proposal.ts'
import type { HostWorkflow } from './findings.ts'

export const HOST_REPAIR_OPERATIONS = [
  'data-clean-apply',
  'run',
  'service-quarantine',
  'service-remove',
  'journal-vacuum',
  'temp-clean',
  'permissions-tighten',
  'log-redact-copy',
  'secret-quarantine',
] as const
export type HostRepairOperation = (typeof HOST_REPAIR_OPERATIONS)[number]

/** A repair's evidence (the host's own findings) may be this old when proposed and when executed:
 * the default proposal lifetime, so an approved repair still runs on the plan it was approved on. */
export const HOST_REPAIR_EVIDENCE_MAX_AGE_MS = 30 * 60_000

/** `run`: wall time before the process group is killed. Half an RPC's wait (RPC_TIMEOUT_MS, 10 s),
 * so the approval that lets it run is answered with its outcome (dispatch included), and far below
 * the command center's wait for `actuator.execute` (15 s): never a lost answer. A longer job is a
 * service to install, not a `run`. */
export const RUN_TIME_LIMIT_MS = 5_000
/** `run`: bytes of stdout, and of stderr, kept as execution evidence (the rest is cut and said so).
 * Twice this stays well inside an execution frame (16 KiB). */
export const RUN_OUTPUT_MAX_BYTES = 4 * 1024
/** `run`: arguments in one argv, and characters in one argument. */
export const RUN_ARGV_MAX = 64
export const RUN_ARG_MAX_CHARS = 512

/** Files one data-clean manifest lists. */
export const DATA_CLEAN_MANIFEST_MAX_ENTRIES = 2_000
/** Bytes a data-clean plan (and its apply) hashes in total; candidates past it are left out (and
 * counted). The apply hashes everything again inside one `actuator.execute` (the command center
 * waits 15 s): at the ~100-200 MiB/s of SHA-256 on a loaded small board, 512 MiB keeps it inside. */
export const DATA_CLEAN_HASH_MAX_BYTES = 512 * 1024 * 1024

/** Hard outer bounds of the L1 repairs; a node's settings may only narrow them. */
export const JOURNAL_VACUUM_MIN_MB = 50
export const JOURNAL_VACUUM_MAX_MB = 100_000
export const TEMP_CLEAN_MIN_DAYS = 1
export const TEMP_CLEAN_MAX_DAYS = 3_650
export const PERMISSIONS_TIGHTEN_MAX_FILES = 100

const unitSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9@._:-]+\.(service|socket|timer|path|mount)$/, 'a systemd unit name such as app.service')
const absolutePath = z.string().min(2).max(1024).startsWith('/')
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/)

/** The arguments each repair takes, validated by the actuating node before it acts. */
export const hostRepairArgsSchemas = {
  'data-clean-apply': z.strictObject({
    manifestId: z.string().regex(/^dc-[0-9a-z-]{8,64}$/),
    manifestHash: sha256Hex,
  }),
  run: z.strictObject({
    argv: z.array(z.string().min(1).max(RUN_ARG_MAX_CHARS)).min(1).max(RUN_ARGV_MAX),
  }),
  'service-quarantine': z.strictObject({ unit: unitSchema }),
  'service-remove': z.strictObject({ unit: unitSchema, workdir: absolutePath.optional() }),
  'journal-vacuum': z.strictObject({ maxMb: z.number().int() }),
  'temp-clean': z.strictObject({ olderThanDays: z.number().int() }),
  'permissions-tighten': z.strictObject({ maxFiles: z.number().int() }),
  // The file as the hygiene plan saw it: the node acts only while its content hash is this one.
  'log-redact-copy': z.strictObject({ path: absolutePath, sha256: sha256Hex }),
  'secret-quarantine': z.strictObject({ path: absolutePath, sha256: sha256Hex }),
} as const satisfies Record<HostRepairOperation, z.ZodType>

/** The bounds of the L1 repairs on one node (its settings, within the outer bounds above). */
export interface HostAutoSafeBounds {
  readonly journalVacuumMinMb: number
  readonly tempCleanMinDays: number
  readonly permissionsMaxFiles: number
}

export const DEFAULT_AUTO_SAFE_BOUNDS: HostAutoSafeBounds = {
  journalVacuumMinMb: JOURNAL_VACUUM_MIN_MB,
  tempCleanMinDays: TEMP_CLEAN_MIN_DAYS,
  permissionsMaxFiles: PERMISSIONS_TIGHTEN_MAX_FILES,
}

interface RepairSpec {
  readonly level: ApprovalLevel
  /** The workflows whose findings back it (any of this host's when absent). */
  readonly basedOn?: readonly HostWorkflow[]
  readonly bounds?: (limits: HostAutoSafeBounds) => ArgumentBound[]
}

const REPAIRS: Readonly<Record<HostRepairOperation, RepairSpec>> = {
  'data-clean-apply': { level: 'L2', basedOn: ['data-clean-plan'] },
  run: { level: 'L2' },
  'service-quarantine': { level: 'L2', basedOn: ['service-check'] },
  'service-remove': { level: 'L3', basedOn: ['service-check'] },
  'journal-vacuum': {
    level: 'L1',
    basedOn: ['autoheal-plan'],
    bounds: (limits) => [
      { arg: 'maxMb', min: limits.journalVacuumMinMb, max: JOURNAL_VACUUM_MAX_MB, integer: true },
    ],
  },
  'temp-clean': {
    level: 'L1',
    basedOn: ['autoheal-plan'],
    bounds: (limits) => [
      { arg: 'olderThanDays', min: limits.tempCleanMinDays, max: TEMP_CLEAN_MAX_DAYS, integer: true },
    ],
  },
  'permissions-tighten': {
    level: 'L1',
    basedOn: ['autoheal-plan', 'hygiene-plan'],
    bounds: (limits) => [{ arg: 'maxFiles', min: 1, max: limits.permissionsMaxFiles, integer: true }],
  },
  'log-redact-copy': { level: 'L2', basedOn: ['hygiene-plan'] },
  'secret-quarantine': { level: 'L2', basedOn: ['hygiene-plan'] },
}

export function isHostRepairOperation(operation: string): operation is HostRepairOperation {
  return (HOST_REPAIR_OPERATIONS as readonly string[]).includes(operation)
}

export function hostRepairLevel(operation: HostRepairOperation): ApprovalLevel {
  return REPAIRS[operation].level
}

/** The manifest of `host:<name>` as the policy reads it. The command center uses the outer bounds;
 * the actuating node passes its own (narrower) ones. */
export function hostRepairManifest(
  capability: string,
  limits: HostAutoSafeBounds = DEFAULT_AUTO_SAFE_BOUNDS,
): OperationManifest[] {
  return HOST_REPAIR_OPERATIONS.map((operation) => {
    const spec = REPAIRS[operation]
    const bounds = spec.bounds?.(limits)
    return {
      operation,
      minimumLevel: spec.level,
      ...(bounds === undefined ? {} : { bounds, integerArgs: bounds.map((bound) => bound.arg) }),
      evidence: {
        zone: capability,
        kinds: ['host_findings'],
        ...(spec.basedOn === undefined ? {} : { metrics: spec.basedOn }),
        maxAgeMs: HOST_REPAIR_EVIDENCE_MAX_AGE_MS,
      },
    }
  })
}

// ---- data-clean manifests ----

export const DATA_CLEAN_CATEGORIES = ['raw', 'intermediate', 'checkpoint', 'cache'] as const
export type DataCleanCategory = (typeof DATA_CLEAN_CATEGORIES)[number]

export const dataCleanEntrySchema = z.strictObject({
  path: absolutePath,
  size: z.number().int().nonnegative(),
  mtimeMs: z.number().nonnegative(),
  sha256: sha256Hex,
  category: z.enum(DATA_CLEAN_CATEGORIES),
})
export type DataCleanEntry = z.infer<typeof dataCleanEntrySchema>

/** What `data-clean-plan` writes: the files `data-clean-apply` may delete, each as it was seen. */
export const dataCleanManifestSchema = z.strictObject({
  version: z.literal(1),
  id: z.string().regex(/^dc-[0-9a-z-]{8,64}$/),
  node: z.string().min(1).max(128),
  root: absolutePath,
  createdAt: z.number().int().nonnegative(),
  entries: z.array(dataCleanEntrySchema).max(DATA_CLEAN_MANIFEST_MAX_ENTRIES),
})
export type DataCleanManifest = z.infer<typeof dataCleanManifestSchema>

/** The hash an approval binds (through the proposal's `manifestHash`): any change to the list is a
 * different manifest. */
export function dataCleanManifestHash(manifest: DataCleanManifest): string {
  return canonicalHash({ kind: 'clawmesh-data-clean-manifest', manifest })
}
