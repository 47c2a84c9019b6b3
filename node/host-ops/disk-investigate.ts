/**
 * `disk-investigate <path>`: the largest directories (direct children of the path, sizes summed
 * below them) and files, from a walk bounded in entries and time, that never follows a symlink,
 * never leaves the file system it starts on, and runs only within the configured `diskPaths`.
 */
import { lstat, readdir, realpath, statfs } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { ClawMeshError } from '../../protocol/errors.ts'
import { DISK_TOP_ENTRIES } from './constants.ts'
import { finding, type HostWorkflowContext, type WorkflowOutput } from './workflow-context.ts'

const MB = 1024 * 1024

/** Resolves `path` and refuses it unless it is one of the configured disk paths or inside one. */
export async function allowedDiskPath(path: string, diskPaths: readonly string[]): Promise<string> {
  if (!path.startsWith('/'))
    throw new ClawMeshError('INVALID_PARAMS', `disk-investigate needs an absolute path, not "${path}"`)
  let resolved: string
  try {
    resolved = await realpath(path)
  } catch (error) {
    throw new ClawMeshError('NOT_FOUND', `${path}: ${(error as Error).message}`)
  }
  for (const allowed of diskPaths) {
    const root = await realpath(allowed).catch(() => undefined)
    if (
      root !== undefined &&
      (resolved === root || resolved.startsWith(root.endsWith(sep) ? root : root + sep))
    )
      return resolved
  }
  throw new ClawMeshError(
    'FORBIDDEN',
    `${path} is outside the paths this node may investigate (hostOps.diskPaths: ${diskPaths.join(', ') || 'none'})`,
  )
}

export async function runDiskInvestigate(
  context: HostWorkflowContext,
  args: { path?: unknown },
): Promise<WorkflowOutput> {
  if (typeof args.path !== 'string')
    throw new ClawMeshError('INVALID_PARAMS', 'disk-investigate needs args.path')
  const root = await allowedDiskPath(args.path, context.settings.diskPaths)
  const limit = context.settings.diskWalkMaxEntries
  const rootStat = await lstat(root)
  const childSizes = new Map<string, number>()
  const files: { path: string; size: number }[] = []
  let visited = 0
  let bytes = 0
  let stoppedBy: 'entries' | 'time' | undefined
  let unreadable = 0
  // Breadth-first, so a cut walk has seen every level near the top.
  const queue: { dir: string; child: string | undefined }[] = [{ dir: root, child: undefined }]
  walk: while (queue.length > 0) {
    const { dir, child } = queue.shift() as { dir: string; child: string | undefined }
    let names: string[]
    try {
      names = await readdir(dir)
    } catch {
      unreadable++
      continue
    }
    for (const name of names) {
      if (visited >= limit) {
        stoppedBy = 'entries'
        break walk
      }
      if (Date.now() > context.deadline) {
        stoppedBy = 'time'
        break walk
      }
      visited++
      const path = join(dir, name)
      const owner = child ?? name
      let info: Awaited<ReturnType<typeof lstat>>
      try {
        info = await lstat(path)
      } catch {
        unreadable++
        continue
      }
      if (info.isDirectory()) {
        if (info.dev === rootStat.dev) queue.push({ dir: path, child: owner })
        if (child === undefined) childSizes.set(owner, childSizes.get(owner) ?? 0)
        continue
      }
      if (!info.isFile()) continue
      bytes += info.size
      if (child !== undefined) childSizes.set(owner, (childSizes.get(owner) ?? 0) + info.size)
      files.push({ path, size: info.size })
      if (files.length > DISK_TOP_ENTRIES * 4) {
        files.sort((a, b) => b.size - a.size)
        files.length = DISK_TOP_ENTRIES
      }
    }
  }
  files.sort((a, b) => b.size - a.size)
  const topDirs = [...childSizes.entries()].sort((a, b) => b[1] - a[1]).slice(0, DISK_TOP_ENTRIES)
  const fs = await statfs(root)
  const findings = [
    finding({
      id: 'walk',
      check: 'disk-walk',
      status: stoppedBy === undefined ? 'ok' : 'warn',
      risk: 'low',
      summary:
        stoppedBy === undefined
          ? `walked ${visited} entries (${Math.round(bytes / MB)} MiB in files) under ${root}`
          : `stopped at ${stoppedBy === 'entries' ? `the entry limit (${limit})` : 'the time limit'} after ${visited} entries: sizes below are lower bounds`,
      evidence: [
        {
          source: 'walk',
          fact: `visited ${visited}, limit ${limit}, unreadable ${unreadable}, stopped ${stoppedBy ?? 'no'}`,
        },
        {
          source: `statfs ${root}`,
          fact: `${Math.round((fs.bavail * fs.bsize) / MB)} MiB free of ${Math.round((fs.blocks * fs.bsize) / MB)} MiB`,
        },
      ],
      recommendation: stoppedBy === undefined ? '' : 'investigate a subdirectory to see all of it',
    }),
    finding({
      id: 'largest-dirs',
      check: 'disk-usage',
      status: 'ok',
      risk: 'low',
      summary:
        topDirs.length === 0
          ? 'no subdirectories'
          : `largest: ${topDirs
              .slice(0, 3)
              .map(([name, size]) => `${name} ${Math.round(size / MB)} MiB`)
              .join(', ')}`,
      evidence: topDirs.map(([name, size]) => ({ source: join(root, name), fact: `${size} bytes` })),
      nextActions: topDirs.slice(0, 1).map(([name]) => ({
        capability: context.capability,
        operation: 'disk-investigate',
        args: { path: join(root, name) },
        level: 'L0' as const,
      })),
    }),
    finding({
      id: 'largest-files',
      check: 'disk-usage',
      status: 'ok',
      risk: 'low',
      summary:
        files.length === 0
          ? 'no files'
          : `largest file ${relative(root, files[0]?.path ?? '')} (${Math.round((files[0]?.size ?? 0) / MB)} MiB)`,
      evidence: files
        .slice(0, DISK_TOP_ENTRIES)
        .map((file) => ({ source: file.path, fact: `${file.size} bytes` })),
    }),
  ]
  return { findings }
}
