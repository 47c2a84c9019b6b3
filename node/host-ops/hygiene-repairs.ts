/**
 * The hygiene plan's L2 repairs, executed only as the actuator of an approved command
 * (host-repairs.ts) naming a file and the SHA-256 its plan saw:
 * - `log-redact-copy` writes a redacted copy of a configured log (`hostOps.logSources`) next to it,
 *   or into `hostOps.redactedCopyDir`, as `<name>.redacted`. The log itself is only read, never
 *   opened for writing. The bytes hashed are the bytes redacted, so the copy is of exactly the
 *   content that was approved.
 * - `secret-quarantine` moves an exposed secret out of a configured `hostOps.secretPaths` directory
 *   into this node's quarantine (`<state>/host-ops/quarantine/<id>/`, directory 0700, file 0600),
 *   with a manifest of where it came from (path, mode, owner, size, mtime, hash) so a person can
 *   put it back.
 * Each refuses, touching nothing, when the file is outside its configured paths, is not a regular
 * file (a symlink is never followed), is larger than its limit, or no longer has the approved hash.
 */
import { createHash, randomBytes } from 'node:crypto'
import { chmod, copyFile, lstat, mkdir, readFile, realpath, rename, rm, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { writeFileAtomic, writeJsonAtomic } from '../../runtime/state/atomic-file.ts'
import { REDACTED } from '../credentials/redact.ts'
import { LOG_REDACT_MAX_BYTES, SECRET_QUARANTINE_MAX_BYTES } from './constants.ts'
import { sha256File } from './data-clean.ts'
import type { RepairOutcome } from './host-repairs.ts'
import { insideConfigured } from './path-guard.ts'
import { redactHostText } from './redact-host.ts'
import type { HostOpsSettings } from './settings.ts'

/** The suffix of a redacted copy's name. */
export const REDACTED_COPY_SUFFIX = '.redacted'

export function quarantineDir(stateDir: string): string {
  return join(stateDir, 'host-ops', 'quarantine')
}

/** What `secret-quarantine` records beside a quarantined file: enough to put it back as it was. */
export interface QuarantineManifest {
  readonly version: 1
  readonly id: string
  readonly proposalId: string
  readonly originalPath: string
  readonly mode: string
  readonly uid: number
  readonly gid: number
  readonly size: number
  readonly mtimeMs: number
  readonly sha256: string
  readonly quarantinedPath: string
  readonly quarantinedAt: number
}

function refused(code: string, message: string): RepairOutcome {
  return { ok: false, code, message }
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`
}

function occurrences(text: string, word: string): number {
  let count = 0
  for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + word.length)) count++
  return count
}

/** Where a redacted copy of `path` goes under these settings. */
export function redactedCopyPath(path: string, settings: Pick<HostOpsSettings, 'redactedCopyDir'>): string {
  return join(settings.redactedCopyDir ?? dirname(path), `${basename(path)}${REDACTED_COPY_SUFFIX}`)
}

export async function redactLogCopy(
  args: { path: string; sha256: string },
  settings: Pick<HostOpsSettings, 'logSources' | 'redactedCopyDir'>,
): Promise<RepairOutcome> {
  // Exactly a configured log source, by the name it is configured under: nothing else is copied.
  if (!settings.logSources.includes(args.path))
    return refused(
      'outside-configured-paths',
      `${args.path} is not one of hostOps.logSources (${settings.logSources.join(', ') || 'none'})`,
    )
  const info = await lstat(args.path).catch(() => undefined)
  if (info === undefined) return refused('missing', `${args.path} does not exist`)
  if (!info.isFile()) return refused('not-a-regular-file', `${args.path} is not a regular file`)
  if (info.size > LOG_REDACT_MAX_BYTES)
    return refused(
      'too-large',
      `${args.path} is ${info.size} bytes, above the ${LOG_REDACT_MAX_BYTES} a redacted copy reads: rotate it first`,
    )
  const bytes = await readFile(args.path)
  if (bytes.length > LOG_REDACT_MAX_BYTES)
    return refused('too-large', `${args.path} grew past ${LOG_REDACT_MAX_BYTES} bytes while read`)
  // The hash of the very bytes that are redacted: no window between the check and the copy.
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  if (sha256 !== args.sha256)
    return refused(
      'file-changed',
      `${args.path} changed since the hygiene plan (sha256 ${sha256.slice(0, 16)}…, approved ${args.sha256.slice(0, 16)}…): run hygiene-plan again`,
    )
  // latin1 maps each byte to one character and back: every byte outside a secret is copied
  // exactly, whatever the log's encoding (the patterns are ASCII).
  const text = bytes.toString('latin1')
  const redacted = redactHostText(text)
  const copy = redactedCopyPath(args.path, settings)
  const existing = await lstat(copy).catch(() => undefined)
  if (existing !== undefined && !existing.isFile())
    return refused('copy-path-taken', `${copy} exists and is not a regular file: nothing written`)
  // The copy keeps the log's read permissions; write bits are the node's business.
  await writeFileAtomic(copy, Buffer.from(redacted, 'latin1'), info.mode & 0o644)
  return {
    ok: true,
    result: {
      operation: 'log-redact-copy',
      path: args.path,
      copy,
      bytes: bytes.length,
      sha256,
      redactions: occurrences(redacted, REDACTED) - occurrences(text, REDACTED),
    },
    observations: [],
  }
}

export async function quarantineSecret(
  args: { path: string; sha256: string },
  settings: Pick<HostOpsSettings, 'secretPaths'>,
  stateDir: string,
  proposalId: string,
): Promise<RepairOutcome> {
  // The directory is resolved (a symlinked directory may have been swapped in since the plan); the
  // file itself must be a regular file at exactly the named path.
  const parent = await realpath(dirname(args.path)).catch(() => undefined)
  const resolved = parent === undefined ? undefined : join(parent, basename(args.path))
  if (resolved !== args.path || (await insideConfigured(resolved, settings.secretPaths)) === undefined)
    return refused(
      'outside-configured-paths',
      `${args.path} is not inside hostOps.secretPaths (${settings.secretPaths.join(', ') || 'none'})`,
    )
  const info = await lstat(resolved).catch(() => undefined)
  if (info === undefined) return refused('missing', `${args.path} does not exist`)
  if (!info.isFile()) return refused('not-a-regular-file', `${args.path} is not a regular file`)
  if (info.size > SECRET_QUARANTINE_MAX_BYTES)
    return refused('too-large', `${args.path} is ${info.size} bytes, above ${SECRET_QUARANTINE_MAX_BYTES}`)
  const changed = (seen: string) =>
    refused(
      'file-changed',
      `${args.path} changed since the hygiene plan (sha256 ${seen.slice(0, 16)}…, approved ${args.sha256.slice(0, 16)}…): run hygiene-plan again`,
    )
  const before = await sha256File(resolved)
  if (before !== args.sha256) return changed(before)

  const id = `q-${Date.now()}-${randomBytes(4).toString('hex')}`
  const itemDir = join(quarantineDir(stateDir), id)
  await mkdir(itemDir, { recursive: true, mode: 0o700 })
  await chmod(itemDir, 0o700)
  const target = join(itemDir, basename(resolved))
  const moved = await rename(resolved, target).then(
    () => 'renamed' as const,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'EXDEV') return 'other-device' as const
      throw error
    },
  )
  if (moved === 'other-device') await copyFile(resolved, target)
  await chmod(target, 0o600)
  // Checked again on the moved bytes: a write between the first hash and the move puts it back.
  const after = await sha256File(target)
  if (after !== args.sha256) {
    if (moved === 'renamed') {
      await rename(target, resolved)
      await chmod(resolved, info.mode & 0o7777)
    } else await unlink(target)
    await rm(itemDir, { recursive: true, force: true })
    return changed(after)
  }
  if (moved === 'other-device') await unlink(resolved)
  const manifest: QuarantineManifest = {
    version: 1,
    id,
    proposalId,
    originalPath: resolved,
    mode: octal(info.mode),
    uid: info.uid,
    gid: info.gid,
    size: info.size,
    mtimeMs: info.mtimeMs,
    sha256: after,
    quarantinedPath: target,
    quarantinedAt: Date.now(),
  }
  await writeJsonAtomic(join(itemDir, 'manifest.json'), manifest)
  return {
    ok: true,
    result: {
      operation: 'secret-quarantine',
      path: resolved,
      quarantinedAs: target,
      id,
      mode: manifest.mode,
      sha256: after,
    },
    observations: [],
  }
}
