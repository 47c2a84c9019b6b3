/**
 * `service-quarantine <unit>` (L2) and `service-remove <unit> [--workdir DIR]` (L3), executed only as
 * the actuator of an approved command. Each re-reads the unit from systemd at execution:
 * - quarantine disables (and stops) a unit only while its ExecStart program is missing on disk —
 *   the flapping unit that can never start; a unit whose program exists is left alone;
 * - remove disables the unit, deletes its unit file only from a configured `unitDirs` directory
 *   (never a package-owned unit in /usr/lib or /lib), deletes the working directory only inside
 *   `repairPaths`, and reloads systemd.
 */
import { access, lstat, realpath, rm, unlink } from 'node:fs/promises'
import type { RepairOutcome } from './host-repairs.ts'
import { parseExecStartPaths, parseKeyValues } from './parsers.ts'
import { insideConfigured } from './path-guard.ts'
import { runTool, systemdNotRunning, type ToolOutcome } from './run-tool.ts'
import type { HostOpsSettings } from './settings.ts'

const SHOW_PROPERTIES = 'Id,LoadState,ActiveState,SubState,NRestarts,ExecStart,FragmentPath,UnitFileState'

async function showUnit(unit: string): Promise<Record<string, string> | RepairOutcome> {
  const show = await runTool('systemctl', ['show', unit, '--no-pager', `--property=${SHOW_PROPERTIES}`])
  const notRunning = systemdNotRunning(show)
  if (show.outcome === 'unavailable' || notRunning !== undefined)
    return {
      ok: false,
      code: 'systemd-unavailable',
      message: notRunning ?? (show.outcome === 'unavailable' ? show.reason : 'systemctl unavailable'),
    }
  const state = parseKeyValues(show.outcome === 'ok' ? show.stdout : show.stdout)
  if (state['LoadState'] === undefined || state['LoadState'] === 'not-found')
    return { ok: false, code: 'unit-not-found', message: `systemd has no unit ${unit}` }
  return state
}

function failed(outcome: ToolOutcome, what: string): RepairOutcome | undefined {
  if (outcome.outcome === 'ok') return undefined
  const detail =
    outcome.outcome === 'unavailable'
      ? outcome.reason
      : `exit ${outcome.code}: ${outcome.stderr.trim().slice(0, 200)}`
  return { ok: false, code: 'systemctl-failed', message: `${what}: ${detail}` }
}

async function missingPrograms(paths: readonly string[]): Promise<string[]> {
  const missing: string[] = []
  for (const path of paths) {
    if (
      !(await access(path).then(
        () => true,
        () => false,
      ))
    )
      missing.push(path)
  }
  return missing
}

export async function quarantineService(unit: string): Promise<RepairOutcome> {
  const state = await showUnit(unit)
  if ('ok' in state) return state as RepairOutcome
  const programs = parseExecStartPaths(state['ExecStart'] ?? '')
  if (programs.length === 0)
    return { ok: false, code: 'no-execstart', message: `${unit} declares no ExecStart program` }
  const missing = await missingPrograms(programs)
  if (missing.length === 0) {
    return {
      ok: false,
      code: 'execstart-present',
      message: `${unit}'s program ${programs.join(', ')} exists: quarantine only disables a unit whose ExecStart target is missing`,
    }
  }
  const disabled = await runTool('systemctl', ['disable', '--now', unit])
  const refusal = failed(disabled, `systemctl disable --now ${unit}`)
  if (refusal !== undefined) return refusal
  return {
    ok: true,
    result: {
      operation: 'service-quarantine',
      unit,
      disabled: true,
      missingPrograms: missing,
      restarts: Number(state['NRestarts'] ?? 0),
      wasActive: state['ActiveState'] ?? 'unknown',
    },
    observations: [],
  }
}

export async function removeService(
  unit: string,
  workdir: string | undefined,
  settings: Pick<HostOpsSettings, 'unitDirs' | 'repairPaths'>,
): Promise<RepairOutcome> {
  const state = await showUnit(unit)
  if ('ok' in state) return state as RepairOutcome
  const fragment = state['FragmentPath'] ?? ''
  const unitFile = fragment === '' ? undefined : await realpath(fragment).catch(() => undefined)
  if (unitFile === undefined || (await insideConfigured(unitFile, settings.unitDirs)) === undefined) {
    return {
      ok: false,
      code: 'unit-file-not-removable',
      message: `${unit}'s unit file ${fragment || '(none)'} is not in hostOps.unitDirs (${settings.unitDirs.join(', ')})`,
    }
  }
  let resolvedWorkdir: string | undefined
  if (workdir !== undefined) {
    resolvedWorkdir = await realpath(workdir).catch(() => undefined)
    const root =
      resolvedWorkdir === undefined
        ? undefined
        : await insideConfigured(resolvedWorkdir, settings.repairPaths)
    if (resolvedWorkdir === undefined || root === undefined || root === resolvedWorkdir) {
      return {
        ok: false,
        code: 'workdir-not-removable',
        message: `${workdir} is not a directory inside hostOps.repairPaths (${settings.repairPaths.join(', ') || 'none'})`,
      }
    }
    if (!(await lstat(resolvedWorkdir)).isDirectory())
      return { ok: false, code: 'workdir-not-removable', message: `${workdir} is not a directory` }
  }
  const disabled = await runTool('systemctl', ['disable', '--now', unit])
  const refusal = failed(disabled, `systemctl disable --now ${unit}`)
  if (refusal !== undefined) return refusal
  await unlink(unitFile)
  if (resolvedWorkdir !== undefined) await rm(resolvedWorkdir, { recursive: true, force: true })
  const reloaded = await runTool('systemctl', ['daemon-reload'])
  await runTool('systemctl', ['reset-failed', unit])
  return {
    ok: true,
    result: {
      operation: 'service-remove',
      unit,
      unitFileRemoved: unitFile,
      workdirRemoved: resolvedWorkdir ?? null,
      daemonReloaded: reloaded.outcome === 'ok',
    },
    observations: [],
  }
}
