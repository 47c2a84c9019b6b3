/**
 * `hygiene-plan` and `autoheal-plan` (L0 plans), and the auto-safe L1 repairs they propose:
 * `journal-vacuum` (journal down to a size no smaller than `journalVacuumMinMb`), `temp-clean`
 * (regular files older than N ≥ `tempCleanMinDays` days, in the declared `tempPaths` only) and
 * `permissions-tighten` (group/other bits removed from secret-looking files in `secretPaths`, at
 * most `permissionsMaxFiles`). Each repair re-checks its bounds on this node's settings even though
 * the gate's policy already did: the node that acts is the last line of defence.
 *
 * The hygiene plan also offers, per file and with the SHA-256 it saw, the L2 repairs of
 * hygiene-repairs.ts: a redacted copy of each log that leaks secrets, the quarantine of each
 * exposed secret.
 *
 * An autoheal plan classifies each alert's actions by level: L0 read-only, L1 auto-safe (what
 * `autoheal-apply-safe` runs), L2/L3 needs approval.
 */
import { chmod, lstat, open, readdir, realpath, statfs, unlink } from 'node:fs/promises'
import { basename, join } from 'node:path'
import {
  FINDING_ACTIONS_MAX,
  FINDING_TEXT_MAX_CHARS,
  type Finding,
  type NextAction,
} from '../../protocol/host-ops/findings.ts'
import { LOG_REDACT_MAX_BYTES, LOG_TAIL_MAX_BYTES, SECRET_QUARANTINE_MAX_BYTES } from './constants.ts'
import { sha256File } from './data-clean.ts'
import type { RepairOutcome } from './host-repairs.ts'
import { leaksSecrets } from './redact-host.ts'
import { runTool, systemdNotRunning } from './run-tool.ts'
import type { HostOpsSettings } from './settings.ts'
import { finding, type HostWorkflowContext, unavailable, type WorkflowOutput } from './workflow-context.ts'

/** Paths a repair names in its result (the rest are counted). */
const REPAIR_REPORTED_PATHS = 20
/** Free space below this share of a file system raises an autoheal alert. */
const AUTOHEAL_DISK_FREE_ALERT_RATIO = 0.15
const DAY_MS = 86_400_000

/** File names that hold secrets: keys, certificates' private halves, env and credential files. */
const SECRET_NAMES =
  /(^id_(rsa|dsa|ecdsa|ed25519)$|\.(key|pem|p12|pfx|jks|keystore)$|^\.env(\..*)?$|\.env$|credentials?|secret|token|passw)/i

interface FileVisit {
  readonly path: string
  readonly mode: number
  readonly size: number
  readonly mtimeMs: number
}

/** Regular files under the configured directories (resolved), never following a symlink, at most
 * `limit` entries visited. */
async function walkFiles(
  roots: readonly string[],
  limit: number,
): Promise<{ files: FileVisit[]; cut: boolean }> {
  const files: FileVisit[] = []
  let visited = 0
  for (const configured of roots) {
    const root = await realpath(configured).catch(() => undefined)
    if (root === undefined) continue
    const queue = [root]
    while (queue.length > 0) {
      const dir = queue.shift() as string
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (++visited > limit) return { files, cut: true }
        const path = join(dir, name)
        const info = await lstat(path).catch(() => undefined)
        if (info === undefined) continue
        if (info.isDirectory()) queue.push(path)
        else if (info.isFile())
          files.push({ path, mode: info.mode & 0o7777, size: info.size, mtimeMs: info.mtimeMs })
      }
    }
  }
  return { files, cut: false }
}

/** Secret-looking files readable (or writable) by group or others in `secretPaths`. */
export async function exposedSecrets(settings: HostOpsSettings): Promise<FileVisit[]> {
  const { files } = await walkFiles(settings.secretPaths, settings.diskWalkMaxEntries)
  return files.filter((file) => SECRET_NAMES.test(basename(file.path)) && (file.mode & 0o077) !== 0)
}

async function oldTempFiles(settings: HostOpsSettings, olderThanDays: number, now = Date.now()) {
  const { files, cut } = await walkFiles(settings.tempPaths, settings.diskWalkMaxEntries)
  return { files: files.filter((file) => now - file.mtimeMs > olderThanDays * DAY_MS), cut }
}

async function logTail(path: string): Promise<string | undefined> {
  const file = await open(path, 'r').catch(() => undefined)
  if (file === undefined) return undefined
  try {
    const { size } = await file.stat()
    const length = Math.min(size, LOG_TAIL_MAX_BYTES)
    const buffer = Buffer.alloc(length)
    await file.read(buffer, 0, length, size - length)
    return buffer.toString('utf8')
  } finally {
    await file.close()
  }
}

function mode(value: number): string {
  return `0${value.toString(8).padStart(3, '0')}`
}

/** The L2 hygiene repairs one plan offers for a list of files: each file as hashed now, the first
 * `max` that fit (an action carries the path as a finding's text) and are within `maxBytes`. */
async function hashedActions(
  context: HostWorkflowContext,
  operation: 'log-redact-copy' | 'secret-quarantine',
  files: readonly { path: string; size: number }[],
  max: number,
  maxBytes: number,
): Promise<{ actions: NextAction[]; notOffered: number }> {
  const actions: NextAction[] = []
  for (const file of files) {
    if (actions.length >= max || Date.now() > context.deadline) break
    if (file.size > maxBytes || file.path.length > FINDING_TEXT_MAX_CHARS) continue
    const sha256 = await sha256File(file.path).catch(() => undefined)
    if (sha256 === undefined) continue
    actions.push({
      capability: context.capability,
      operation,
      args: { path: file.path, sha256 },
      level: 'L2',
    })
  }
  return { actions, notOffered: files.length - actions.length }
}

export async function runHygienePlan(context: HostWorkflowContext): Promise<WorkflowOutput> {
  const { settings } = context
  const findings: Finding[] = []
  if (settings.secretPaths.length === 0) {
    findings.push(
      unavailable('exposed-secrets', 'secrets', 'no hostOps.secretPaths configured', 'hostOps.secretPaths'),
    )
  } else {
    const exposed = await exposedSecrets(settings)
    // One action is the L1 tightening of them all; the rest quarantine one file each.
    const quarantine = await hashedActions(
      context,
      'secret-quarantine',
      exposed,
      FINDING_ACTIONS_MAX - 1,
      SECRET_QUARANTINE_MAX_BYTES,
    )
    findings.push(
      finding({
        id: 'exposed-secrets',
        check: 'secrets',
        status: exposed.length === 0 ? 'ok' : 'fail',
        risk: exposed.length === 0 ? 'low' : 'high',
        summary:
          exposed.length === 0
            ? `no secret-looking file readable by others in ${settings.secretPaths.join(', ')}`
            : `${exposed.length} secret-looking file(s) readable by group or others`,
        evidence: exposed.map((file) => ({ source: file.path, fact: `mode ${mode(file.mode)}` })),
        recommendation:
          exposed.length === 0
            ? ''
            : `permission hardening (L1, auto-safe): remove group/other access; a secret that was exposed should also be rotated, and moved out of the shared path: clawmesh hygiene-apply ${context.nodeName} secret-quarantine <path> (L2)${quarantine.notOffered > 0 ? `; ${quarantine.notOffered} file(s) not offered here (plan again after these, or over ${SECRET_QUARANTINE_MAX_BYTES} bytes)` : ''}`,
        nextActions:
          exposed.length === 0
            ? []
            : [
                {
                  capability: context.capability,
                  operation: 'permissions-tighten',
                  args: { maxFiles: Math.min(exposed.length, settings.permissionsMaxFiles) },
                  level: 'L1',
                },
                ...quarantine.actions,
              ],
      }),
    )
  }
  const leaking: { path: string; size: number }[] = []
  for (const source of settings.logSources) {
    const tail = await logTail(source)
    if (tail === undefined || !leaksSecrets(tail)) continue
    const info = await lstat(source).catch(() => undefined)
    leaking.push({ path: source, size: info?.isFile() === true ? info.size : Number.POSITIVE_INFINITY })
  }
  const copies = await hashedActions(
    context,
    'log-redact-copy',
    leaking,
    FINDING_ACTIONS_MAX,
    LOG_REDACT_MAX_BYTES,
  )
  findings.push(
    finding({
      id: 'leaking-logs',
      check: 'logs',
      status: leaking.length === 0 ? 'ok' : 'warn',
      risk: leaking.length === 0 ? 'low' : 'high',
      summary:
        leaking.length === 0
          ? `no secrets seen in the tails of ${settings.logSources.length} configured log(s)`
          : `${leaking.length} log(s) hold secrets in clear`,
      evidence: leaking.map((file) => ({
        source: file.path,
        fact: 'a password, token, key or private key block in the tail',
      })),
      recommendation:
        leaking.length === 0
          ? ''
          : `a redacted copy (L2: clawmesh hygiene-apply ${context.nodeName} log-redact-copy <path>; the log itself is left as it is, replace it after review) and fixing the program that logs them; \`analyze-logs\` shows the lines, redacted${copies.notOffered > 0 ? `; ${copies.notOffered} log(s) not offered here (not a regular file, over ${LOG_REDACT_MAX_BYTES} bytes, or past the plan's limits)` : ''}`,
      nextActions: copies.actions,
    }),
  )
  return { findings }
}

export async function runAutohealPlan(context: HostWorkflowContext): Promise<WorkflowOutput> {
  const { settings } = context
  const findings: Finding[] = []
  let readOnly = 0
  let autoSafe = 0
  let needsApproval = 0
  const count = (actions: NextAction[]) => {
    for (const action of actions) {
      if (action.level === 'L0') readOnly++
      else if (action.level === 'L1') autoSafe++
      else needsApproval++
    }
    return actions
  }
  // Disk: each configured path's file system.
  for (const path of settings.diskPaths) {
    const fs = await statfs(path).catch(() => undefined)
    if (fs === undefined || fs.blocks === 0) continue
    const free = fs.bavail / fs.blocks
    if (free >= AUTOHEAL_DISK_FREE_ALERT_RATIO) continue
    // The cleanup it leads to (data-clean-apply) is L2.
    needsApproval++
    findings.push(
      finding({
        id: `disk-low-${findings.length}`,
        check: 'disk',
        status: 'warn',
        risk: 'medium',
        summary: `${Math.round(free * 100)}% free on the file system of ${path}`,
        evidence: [{ source: `statfs ${path}`, fact: `${fs.bavail} of ${fs.blocks} blocks free` }],
        recommendation:
          'look (read-only), then plan a cleanup; applying the plan deletes data and needs an approval (data-clean-apply, L2)',
        nextActions: count([
          { capability: context.capability, operation: 'disk-investigate', args: { path }, level: 'L0' },
          { capability: context.capability, operation: 'data-clean-plan', args: { path }, level: 'L0' },
        ]),
      }),
    )
  }
  // Journal size.
  const usage = await runTool('journalctl', ['--disk-usage'])
  const notRunning = systemdNotRunning(usage)
  if (usage.outcome === 'unavailable' || notRunning !== undefined) {
    findings.push(
      unavailable(
        'journal-size',
        'journal',
        notRunning ?? (usage.outcome === 'unavailable' ? usage.reason : ''),
        'journalctl',
      ),
    )
  } else {
    const mb = parseJournalUsageMb(usage.stdout)
    const over = mb !== undefined && mb > settings.journalVacuumMinMb
    findings.push(
      finding({
        id: 'journal-size',
        check: 'journal',
        status: over ? 'warn' : 'ok',
        risk: 'low',
        summary:
          mb === undefined
            ? 'journal size not understood'
            : `journal uses ${Math.round(mb)} MiB (vacuum bound ${settings.journalVacuumMinMb} MiB)`,
        evidence: [{ source: 'journalctl --disk-usage', fact: usage.stdout.trim().slice(0, 200) }],
        nextActions: over
          ? count([
              {
                capability: context.capability,
                operation: 'journal-vacuum',
                args: { maxMb: settings.journalVacuumMinMb },
                level: 'L1',
              },
            ])
          : [],
      }),
    )
  }
  // Old files in declared temp paths.
  if (settings.tempPaths.length > 0) {
    const { files, cut } = await oldTempFiles(settings, settings.tempCleanMinDays)
    const bytes = files.reduce((sum, file) => sum + file.size, 0)
    findings.push(
      finding({
        id: 'temp-old-files',
        check: 'temp',
        status: files.length === 0 ? 'ok' : 'warn',
        risk: 'low',
        summary: `${files.length} file(s), ${bytes} bytes older than ${settings.tempCleanMinDays} days in ${settings.tempPaths.join(', ')}${cut ? ' (walk cut at its entry limit)' : ''}`,
        evidence: files
          .slice(0, 10)
          .map((file) => ({ source: file.path, fact: new Date(file.mtimeMs).toISOString() })),
        nextActions:
          files.length === 0
            ? []
            : count([
                {
                  capability: context.capability,
                  operation: 'temp-clean',
                  args: { olderThanDays: settings.tempCleanMinDays },
                  level: 'L1',
                },
              ]),
      }),
    )
  }
  // Exposed secrets.
  if (settings.secretPaths.length > 0) {
    const exposed = await exposedSecrets(settings)
    if (exposed.length > 0)
      findings.push(
        finding({
          id: 'exposed-secrets',
          check: 'secrets',
          status: 'fail',
          risk: 'high',
          summary: `${exposed.length} secret-looking file(s) readable by group or others`,
          evidence: exposed.map((file) => ({ source: file.path, fact: `mode ${mode(file.mode)}` })),
          nextActions: count([
            {
              capability: context.capability,
              operation: 'permissions-tighten',
              args: { maxFiles: Math.min(exposed.length, settings.permissionsMaxFiles) },
              level: 'L1',
            },
          ]),
        }),
      )
  }
  return { facts: { readOnly, autoSafe, needsApproval }, findings }
}

/** `journalctl --disk-usage`: "Archived and active journals take up 1.2G in the file system." */
export function parseJournalUsageMb(text: string): number | undefined {
  const match = /take up ([\d.]+)([BKMGT])/.exec(text)
  if (match === null) return undefined
  const factor = { B: 1 / 1024 / 1024, K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[match[2] as 'B']
  return Number(match[1]) * factor
}

function outOfBounds(detail: string): RepairOutcome {
  return { ok: false, code: 'out-of-bounds', message: detail }
}

export async function vacuumJournal(maxMb: number, settings: HostOpsSettings): Promise<RepairOutcome> {
  if (maxMb < settings.journalVacuumMinMb)
    return outOfBounds(`maxMb ${maxMb} is below this node's bound ${settings.journalVacuumMinMb}`)
  const vacuum = await runTool('journalctl', [`--vacuum-size=${maxMb}M`])
  if (vacuum.outcome !== 'ok') {
    const detail = vacuum.outcome === 'unavailable' ? vacuum.reason : vacuum.stderr.trim().slice(0, 200)
    return { ok: false, code: 'journal-vacuum-failed', message: detail }
  }
  return {
    ok: true,
    result: {
      operation: 'journal-vacuum',
      maxMb,
      output: `${vacuum.stdout}${vacuum.stderr}`.trim().slice(-500),
    },
    observations: [],
  }
}

export async function tempClean(olderThanDays: number, settings: HostOpsSettings): Promise<RepairOutcome> {
  if (olderThanDays < settings.tempCleanMinDays)
    return outOfBounds(
      `olderThanDays ${olderThanDays} is below this node's bound ${settings.tempCleanMinDays}`,
    )
  const { files, cut } = await oldTempFiles(settings, olderThanDays)
  const removed: string[] = []
  let bytes = 0
  for (const file of files) {
    // Re-read just before: only a regular file still older than the bound goes.
    const info = await lstat(file.path).catch(() => undefined)
    if (info === undefined || !info.isFile() || Date.now() - info.mtimeMs <= olderThanDays * DAY_MS) continue
    if (
      await unlink(file.path).then(
        () => true,
        () => false,
      )
    ) {
      removed.push(file.path)
      bytes += info.size
    }
  }
  return {
    ok: true,
    result: {
      operation: 'temp-clean',
      olderThanDays,
      removedCount: removed.length,
      bytesFreed: bytes,
      removed: removed.slice(0, REPAIR_REPORTED_PATHS),
      walkCut: cut,
    },
    observations: [],
  }
}

export async function permissionsTighten(
  maxFiles: number,
  settings: HostOpsSettings,
): Promise<RepairOutcome> {
  if (maxFiles > settings.permissionsMaxFiles)
    return outOfBounds(`maxFiles ${maxFiles} is above this node's bound ${settings.permissionsMaxFiles}`)
  const exposed = (await exposedSecrets(settings)).slice(0, maxFiles)
  const changed: { path: string; from: string; to: string }[] = []
  for (const file of exposed) {
    const tightened = file.mode & ~0o077
    if (
      await chmod(file.path, tightened).then(
        () => true,
        () => false,
      )
    )
      changed.push({ path: file.path, from: mode(file.mode), to: mode(tightened) })
  }
  return {
    ok: true,
    result: {
      operation: 'permissions-tighten',
      changedCount: changed.length,
      changed: changed.slice(0, REPAIR_REPORTED_PATHS),
    },
    observations: [],
  }
}
