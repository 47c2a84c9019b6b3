/** The `hostOps` settings of node.json (`--host-ops` on `clawmesh start` enables them with defaults). */
import { z } from 'zod'
import { DISK_WALK_MAX_ENTRIES } from './constants.ts'

export const hostOpsSettingsSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Log files `analyze-logs` may read (absolute paths); journal units need no listing. */
    logSources: z.array(z.string().startsWith('/')).default([]),
    /** Directories `disk-investigate` may walk (absolute paths); nothing else is read. */
    diskPaths: z.array(z.string().startsWith('/')).default([]),
    /** Entries a disk walk visits before it stops. */
    diskWalkMaxEntries: z.number().int().min(1).max(10_000_000).default(DISK_WALK_MAX_ENTRIES),
  })
  .strict()
export type HostOpsSettings = z.output<typeof hostOpsSettingsSchema>
