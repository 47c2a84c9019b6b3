/** The `hostOps` settings of node.json (`--host-ops` on `clawmesh start` enables them with defaults). */
import { z } from 'zod'
import {
  JOURNAL_VACUUM_MAX_MB,
  JOURNAL_VACUUM_MIN_MB,
  PERMISSIONS_TIGHTEN_MAX_FILES,
  TEMP_CLEAN_MAX_DAYS,
  TEMP_CLEAN_MIN_DAYS,
} from '../../protocol/host-ops/repairs.ts'
import { DISK_WALK_MAX_ENTRIES } from './constants.ts'

const absolutePaths = z.array(z.string().startsWith('/')).default([])

export const hostOpsSettingsSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Log files `analyze-logs` may read (absolute paths); journal units need no listing. */
    logSources: absolutePaths,
    /** Directories `disk-investigate` and `data-clean-plan` may walk (absolute paths); nothing else is read. */
    diskPaths: absolutePaths,
    /** Entries a disk walk visits before it stops. */
    diskWalkMaxEntries: z.number().int().min(1).max(10_000_000).default(DISK_WALK_MAX_ENTRIES),
    /** Directories repairs may delete in (`data-clean-apply`, `service-remove --workdir`); empty:
     * those repairs delete nothing. */
    repairPaths: absolutePaths,
    /** Declared temp directories `temp-clean` (auto-safe L1) may remove old files from. */
    tempPaths: absolutePaths,
    /** Directories whose files `hygiene-plan` checks for exposed secrets and `permissions-tighten`
     * may chmod (group/other permissions removed, never added). */
    secretPaths: absolutePaths,
    /** Where `log-redact-copy` writes the redacted copy of a log (`<name>.redacted`); absent: next to
     * the log itself. */
    redactedCopyDir: z.string().startsWith('/').optional(),
    /** Unit file directories `service-remove` may delete a unit file from (package-owned units in
     * /usr/lib or /lib are never removed). */
    unitDirs: z.array(z.string().startsWith('/')).default(['/etc/systemd/system']),
    /** The unprivileged account `run` executes as (never uid 0). */
    runUser: z.string().min(1).max(64).default('nobody'),
    /** Auto-safe (L1) bounds on this node, within the protocol's outer bounds. */
    journalVacuumMinMb: z.number().int().min(JOURNAL_VACUUM_MIN_MB).max(JOURNAL_VACUUM_MAX_MB).default(500),
    tempCleanMinDays: z.number().int().min(TEMP_CLEAN_MIN_DAYS).max(TEMP_CLEAN_MAX_DAYS).default(7),
    permissionsMaxFiles: z.number().int().min(1).max(PERMISSIONS_TIGHTEN_MAX_FILES).default(20),
  })
  .strict()
export type HostOpsSettings = z.output<typeof hostOpsSettingsSchema>
