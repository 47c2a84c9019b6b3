/**
 * `data-clean-plan <path>` (L0) and the `data-clean-apply` repair (L2).
 *
 * The plan walks a configured disk path (bounded like `disk-investigate`), sorts files into cleanup
 * candidates — raw, intermediate, checkpoints, caches — and keeps final outputs (and the newest
 * checkpoint of each directory, so a run can resume). It writes a manifest of the candidates with
 * size, mtime and SHA-256 to this node's state directory and reports its ID and hash.
 *
 * The apply runs only as the actuator of an approved command naming that manifest ID and hash. It
 * deletes a listed file only when the file is still what the plan saw (same size, mtime and content
 * hash), is a regular file (never a symlink), and lies inside a configured `repairPaths` directory;
 * every other file is kept and reported with the reason. Nothing outside the manifest is touched.
 */
import { createHash, randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, mkdir, readdir, readFile, realpath, unlink } from 'node:fs/promises'
import { basename, dirname, join, relative, sep } from 'node:path'
import { ClawMeshError } from '../../protocol/errors.ts'
import {
  DATA_CLEAN_HASH_MAX_BYTES,
  DATA_CLEAN_MANIFEST_MAX_ENTRIES,
  type DataCleanCategory,
  type DataCleanEntry,
  type DataCleanManifest,
  dataCleanManifestHash,
  dataCleanManifestSchema,
} from '../../protocol/host-ops/repairs.ts'
import { writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { allowedDiskPath } from './disk-investigate.ts'
import type { RepairOutcome } from './host-repairs.ts'
import { insideConfigured, isInside } from './path-guard.ts'
import { finding, type HostWorkflowContext, type WorkflowOutput } from './workflow-context.ts'

/** Files cited per category in the plan's findings (the manifest holds them all). */
const PLAN_CITED_FILES = 10
/** Files the apply reports by name when it keeps them (the rest are counted). */
const APPLY_REPORTED_KEPT = 20
/** Manifests kept in the state dir; older ones are deleted when a plan writes a new one (a proposal
 * naming a deleted manifest is refused `manifest-not-found` at execution). */
export const DATA_CLEAN_MANIFESTS_KEPT = 20

const MB = 1024 * 1024

export function manifestDir(stateDir: string): string {
  return join(stateDir, 'host-ops', 'data-clean')
}

const FINAL_SEGMENTS = /^(final|finals|outputs?|results?|release|releases|exports?|deliverables?|published)$/i
const FINAL_NAMES = /(^|[._-])(final|best|release)([._-]|$)/i
const CHECKPOINT_SEGMENTS = /^(checkpoints?|ckpts?)$/i
const CHECKPOINT_NAMES = /(^checkpoint[-_.]|\.ckpt$|^ckpt[-_.]|^epoch[-_]?\d+.*\.(pt|pth|bin|safetensors)$)/i
const CACHE_SEGMENTS = /^(\.?cache|__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.npm|\.gradle)$/i
const CACHE_NAMES = /\.(pyc|pyo)$/i
const INTERMEDIATE_SEGMENTS = /^(tmp|temp|intermediate|interim|scratch|staging|work|partial)$/i
const INTERMEDIATE_NAMES = /\.(tmp|temp|partial|part|swp)$/i
const RAW_SEGMENTS = /^(raw|raw[-_]data|incoming|dumps?)$/i

/** What a file under the planned root is, from its relative path: a final output (kept), a cleanup
 * candidate of a category, or undefined (not a candidate: kept). Final outputs win. */
export function classifyDataPath(relativePath: string): DataCleanCategory | 'final' | undefined {
  const segments = relativePath.split(sep).filter((segment) => segment !== '')
  const name = segments.at(-1) ?? ''
  const dirs = segments.slice(0, -1)
  if (dirs.some((segment) => FINAL_SEGMENTS.test(segment)) || FINAL_NAMES.test(name)) return 'final'
  if (dirs.some((segment) => CACHE_SEGMENTS.test(segment)) || CACHE_NAMES.test(name)) return 'cache'
  if (dirs.some((segment) => CHECKPOINT_SEGMENTS.test(segment)) || CHECKPOINT_NAMES.test(name))
    return 'checkpoint'
  if (dirs.some((segment) => INTERMEDIATE_SEGMENTS.test(segment)) || INTERMEDIATE_NAMES.test(name))
    return 'intermediate'
  if (dirs.some((segment) => RAW_SEGMENTS.test(segment))) return 'raw'
  return undefined
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

interface Candidate {
  path: string
  size: number
  mtimeMs: number
  category: DataCleanCategory
}

export async function runDataCleanPlan(
  context: HostWorkflowContext,
  args: { path?: unknown },
): Promise<WorkflowOutput & { target: string }> {
  if (typeof args.path !== 'string')
    throw new ClawMeshError('INVALID_PARAMS', 'data-clean-plan needs args.path')
  const root = await allowedDiskPath(args.path, context.settings.diskPaths)
  const limit = context.settings.diskWalkMaxEntries
  const rootDev = (await lstat(root)).dev
  const candidates: Candidate[] = []
  const finals: string[] = []
  let visited = 0
  let stoppedBy: 'entries' | 'time' | undefined
  const queue = [root]
  walk: while (queue.length > 0) {
    const dir = queue.shift() as string
    const names = await readdir(dir).catch(() => [] as string[])
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
      const info = await lstat(path).catch(() => undefined)
      if (info === undefined) continue
      if (info.isDirectory()) {
        if (info.dev === rootDev) queue.push(path)
        continue
      }
      if (!info.isFile()) continue
      const category = classifyDataPath(relative(root, path))
      if (category === 'final') finals.push(path)
      else if (category !== undefined)
        candidates.push({ path, size: info.size, mtimeMs: info.mtimeMs, category })
    }
  }
  // The newest checkpoint of each directory stays: it is what a run resumes from.
  const newestCheckpoint = new Map<string, Candidate>()
  for (const candidate of candidates) {
    if (candidate.category !== 'checkpoint') continue
    const seen = newestCheckpoint.get(dirname(candidate.path))
    if (seen === undefined || seen.mtimeMs < candidate.mtimeMs)
      newestCheckpoint.set(dirname(candidate.path), candidate)
  }
  const resumable = new Set(newestCheckpoint.values())
  const entries: DataCleanEntry[] = []
  let hashed = 0
  let leftOut = 0
  for (const candidate of candidates) {
    if (resumable.has(candidate)) continue
    if (
      entries.length >= DATA_CLEAN_MANIFEST_MAX_ENTRIES ||
      hashed + candidate.size > DATA_CLEAN_HASH_MAX_BYTES ||
      Date.now() > context.deadline
    ) {
      leftOut++
      continue
    }
    const sha256 = await sha256File(candidate.path).catch(() => undefined)
    if (sha256 === undefined) {
      leftOut++
      continue
    }
    hashed += candidate.size
    entries.push({ ...candidate, sha256 })
  }
  const manifest: DataCleanManifest = dataCleanManifestSchema.parse({
    version: 1,
    id: `dc-${randomUUID()}`,
    node: context.nodeName,
    root,
    createdAt: Date.now(),
    entries,
  })
  const manifestHash = dataCleanManifestHash(manifest)
  await mkdir(manifestDir(context.stateDir), { recursive: true })
  await writeJsonAtomic(join(manifestDir(context.stateDir), `${manifest.id}.json`), manifest)
  await pruneManifests(context.stateDir)
  const bytes = entries.reduce((sum, entry) => sum + entry.size, 0)
  const findings = (['raw', 'intermediate', 'checkpoint', 'cache'] as const).map((category) => {
    const listed = entries.filter((entry) => entry.category === category)
    const size = listed.reduce((sum, entry) => sum + entry.size, 0)
    return finding({
      id: `candidates-${category}`,
      check: 'data-clean',
      status: listed.length === 0 ? 'ok' : 'warn',
      risk: 'low',
      summary: `${listed.length} ${category} file(s), ${(size / MB).toFixed(1)} MiB`,
      evidence: listed.slice(0, PLAN_CITED_FILES).map((entry) => ({
        source: entry.path,
        fact: `${entry.size} bytes, sha256 ${entry.sha256.slice(0, 16)}…`,
      })),
    })
  })
  findings.push(
    finding({
      id: 'kept',
      check: 'data-clean',
      status: 'ok',
      risk: 'low',
      summary: `kept: ${finals.length} final output(s), ${resumable.size} newest checkpoint(s)${leftOut > 0 ? `, ${leftOut} candidate(s) over the plan's limits` : ''}`,
      evidence: [...finals.slice(0, PLAN_CITED_FILES), ...[...resumable].map((entry) => entry.path)]
        .slice(0, PLAN_CITED_FILES)
        .map((path) => ({ source: path, fact: 'kept' })),
    }),
    finding({
      id: 'manifest',
      check: 'data-clean',
      status: stoppedBy === undefined ? 'ok' : 'warn',
      risk: entries.length === 0 ? 'low' : 'medium',
      summary: `manifest ${manifest.id}: ${entries.length} file(s), ${(bytes / MB).toFixed(1)} MiB${stoppedBy === undefined ? '' : ` (walk stopped at the ${stoppedBy} limit after ${visited} entries)`}`,
      evidence: [
        { source: 'manifest', fact: `${manifest.id} sha256 ${manifestHash}` },
        { source: 'walk', fact: `visited ${visited}, limit ${limit}, stopped ${stoppedBy ?? 'no'}` },
      ],
      recommendation:
        entries.length === 0
          ? ''
          : `review, then propose: clawmesh data-clean-apply ${context.nodeName} ${manifest.id} (L2, an operator approves)`,
      nextActions:
        entries.length === 0
          ? []
          : [
              {
                capability: context.capability,
                operation: 'data-clean-apply',
                args: { manifestId: manifest.id, manifestHash },
                level: 'L2',
              },
            ],
    }),
  )
  return {
    target: root,
    facts: { manifestId: manifest.id, manifestHash, files: entries.length, bytes },
    findings,
  }
}

type KeptReason =
  | 'outside-manifest-root'
  | 'outside-repair-paths'
  | 'missing'
  | 'not-a-regular-file'
  | 'size-changed'
  | 'mtime-changed'
  | 'content-changed'
  | 'hash-budget'
  | 'unlink-failed'

/** The repair: deletes what still matches the approved manifest, inside `repairPaths` only. */
export async function applyDataClean(
  stateDir: string,
  repairPaths: readonly string[],
  args: { manifestId: string; manifestHash: string },
): Promise<RepairOutcome> {
  const file = join(manifestDir(stateDir), `${args.manifestId}.json`)
  const text = await readFile(file, 'utf8').catch(() => undefined)
  if (text === undefined)
    return {
      ok: false,
      code: 'manifest-not-found',
      message: `this node holds no manifest ${args.manifestId}`,
    }
  const parsed = dataCleanManifestSchema.safeParse(JSON.parse(text))
  if (!parsed.success || dataCleanManifestHash(parsed.data) !== args.manifestHash) {
    return {
      ok: false,
      code: 'manifest-mismatch',
      message: `manifest ${args.manifestId} on this node is not the one approved (hash differs)`,
    }
  }
  const manifest = parsed.data
  const kept: { path: string; reason: KeptReason }[] = []
  let deleted = 0
  let bytesFreed = 0
  let hashed = 0
  for (const entry of manifest.entries) {
    const reason = await deleteIfUnchanged(entry, manifest.root, repairPaths, () => {
      hashed += entry.size
      return hashed <= DATA_CLEAN_HASH_MAX_BYTES
    })
    if (reason !== undefined) {
      kept.push({ path: entry.path, reason })
      continue
    }
    deleted++
    bytesFreed += entry.size
  }
  const reasons: Record<string, number> = {}
  for (const item of kept) reasons[item.reason] = (reasons[item.reason] ?? 0) + 1
  return {
    ok: true,
    result: {
      operation: 'data-clean-apply',
      manifestId: manifest.id,
      deleted,
      bytesFreed,
      keptCount: kept.length,
      keptReasons: reasons,
      kept: kept.slice(0, APPLY_REPORTED_KEPT),
    },
    observations: [],
  }
}

async function deleteIfUnchanged(
  entry: DataCleanEntry,
  root: string,
  repairPaths: readonly string[],
  withinBudget: () => boolean,
): Promise<KeptReason | undefined> {
  if (!isInside(entry.path, root) || entry.path === root) return 'outside-manifest-root'
  // The directory is resolved (a symlinked directory may have been swapped in since the plan); the
  // file itself must be a regular file at exactly the listed path.
  const parent = await realpath(dirname(entry.path)).catch(() => undefined)
  if (parent === undefined) return 'missing'
  const resolved = join(parent, basename(entry.path))
  if (resolved !== entry.path || (await insideConfigured(resolved, repairPaths)) === undefined)
    return 'outside-repair-paths'
  const info = await lstat(resolved).catch(() => undefined)
  if (info === undefined) return 'missing'
  if (!info.isFile()) return 'not-a-regular-file'
  if (info.size !== entry.size) return 'size-changed'
  if (info.mtimeMs !== entry.mtimeMs) return 'mtime-changed'
  if (!withinBudget()) return 'hash-budget'
  const sha256 = await sha256File(resolved).catch(() => undefined)
  if (sha256 !== entry.sha256) return 'content-changed'
  try {
    await unlink(resolved)
  } catch {
    return 'unlink-failed'
  }
  return undefined
}

async function pruneManifests(stateDir: string): Promise<void> {
  const dir = manifestDir(stateDir)
  const names = (await readdir(dir)).filter((name) => name.startsWith('dc-') && name.endsWith('.json'))
  if (names.length <= DATA_CLEAN_MANIFESTS_KEPT) return
  const dated = await Promise.all(
    names.map(async (name) => ({ name, mtimeMs: (await lstat(join(dir, name))).mtimeMs })),
  )
  dated.sort((a, b) => b.mtimeMs - a.mtimeMs)
  for (const { name } of dated.slice(DATA_CLEAN_MANIFESTS_KEPT)) await unlink(join(dir, name)).catch(() => {})
}

/** For tests and the CLI: the manifest as stored (undefined when absent). */
export async function readManifest(stateDir: string, id: string): Promise<DataCleanManifest | undefined> {
  const text = await readFile(join(manifestDir(stateDir), `${id}.json`), 'utf8').catch(() => undefined)
  return text === undefined ? undefined : dataCleanManifestSchema.parse(JSON.parse(text))
}
