/**
 * The `run` repair (L2): executes an approved argv on this machine as the configured unprivileged
 * user (`hostOps.runUser`, never uid 0), without a shell, in its own process group, with a time
 * limit (RUN_TIME_LIMIT_MS: the whole group is killed) and an output cap (RUN_OUTPUT_MAX_BYTES per
 * stream: the rest is read and dropped, and said so). The exit code and the output, redacted of
 * secrets, are the execution evidence.
 */
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { RUN_OUTPUT_MAX_BYTES, RUN_TIME_LIMIT_MS } from '../../protocol/host-ops/repairs.ts'
import type { RepairOutcome } from './host-repairs.ts'
import { parsePasswd } from './parsers.ts'
import { redactHostText } from './redact-host.ts'

/** What a process may find in its environment: nothing of the node's (no keys, no tokens). */
const RUN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export interface RunAccount {
  readonly name: string
  readonly uid: number
  readonly gid: number
  readonly home: string
}

/** The configured run user from /etc/passwd; refuses root and an account this process cannot
 * become (a node not running as root can only run as itself). */
export async function resolveRunAccount(
  name: string,
  passwdPath = '/etc/passwd',
): Promise<RunAccount | { refused: string; code: string }> {
  const text = await readFile(passwdPath, 'utf8').catch(() => '')
  const user = parsePasswd(text).find((entry) => entry.name === name)
  if (user === undefined)
    return { code: 'run-user-unknown', refused: `no account "${name}" in ${passwdPath}` }
  if (user.uid === 0)
    return { code: 'run-user-privileged', refused: `"${name}" is uid 0; run executes unprivileged only` }
  const self = process.getuid?.()
  if (self !== undefined && self !== 0 && self !== user.uid) {
    return {
      code: 'run-user-unreachable',
      refused: `this node runs as uid ${self} and cannot become "${name}" (uid ${user.uid})`,
    }
  }
  return { name: user.name, uid: user.uid, gid: user.gid, home: user.home }
}

/** Keeps the first `max` bytes of a stream and counts the rest. */
class CappedOutput {
  readonly #chunks: Buffer[] = []
  #kept = 0
  readonly max: number
  total = 0
  constructor(max: number) {
    this.max = max
  }
  push(chunk: Buffer): void {
    this.total += chunk.length
    if (this.#kept >= this.max) return
    const room = this.max - this.#kept
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk
    this.#chunks.push(part)
    this.#kept += part.length
  }
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8')
  }
  get truncated(): boolean {
    return this.total > this.max
  }
}

export async function runApproved(
  argv: readonly string[],
  runUser: string,
  limits: { timeLimitMs?: number; outputMaxBytes?: number } = {},
): Promise<RepairOutcome> {
  const account = await resolveRunAccount(runUser)
  if ('refused' in account) return { ok: false, code: account.code, message: account.refused }
  const timeLimitMs = limits.timeLimitMs ?? RUN_TIME_LIMIT_MS
  const outputMax = limits.outputMaxBytes ?? RUN_OUTPUT_MAX_BYTES
  const [file, ...rest] = argv as [string, ...string[]]
  const startedAt = Date.now()
  const stdout = new CappedOutput(outputMax)
  const stderr = new CappedOutput(outputMax)
  const outcome = await new Promise<{
    code: number | null
    signal: string | null
    error?: string
    timedOut: boolean
  }>((resolve) => {
    let timedOut = false
    let child: ReturnType<typeof spawn>
    try {
      child = spawn(file, rest, {
        cwd: '/',
        env: {
          PATH: RUN_PATH,
          HOME: account.home || '/',
          LC_ALL: 'C',
          USER: account.name,
          LOGNAME: account.name,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        ...(process.getuid?.() === 0 ? { uid: account.uid, gid: account.gid } : {}),
      })
    } catch (error) {
      resolve({ code: null, signal: null, error: (error as Error).message, timedOut })
      return
    }
    const timer = setTimeout(() => {
      timedOut = true
      // The whole group: a shell script's children die with it.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }, timeLimitMs)
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.on('error', (error) => {
      clearTimeout(timer)
      resolve({ code: null, signal: null, error: error.message, timedOut })
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, timedOut })
    })
  })
  const durationMs = Date.now() - startedAt
  const result = {
    operation: 'run',
    argv: argv.map((arg) => redactHostText(arg)),
    user: account.name,
    exitCode: outcome.code,
    signal: outcome.signal,
    timedOut: outcome.timedOut,
    timeLimitMs,
    durationMs,
    stdout: redactHostText(stdout.text()),
    stderr: redactHostText(stderr.text()),
    stdoutBytes: stdout.total,
    stderrBytes: stderr.total,
    outputTruncated: stdout.truncated || stderr.truncated,
    outputMaxBytes: outputMax,
  }
  if (outcome.error !== undefined)
    return { ok: false, code: 'run-failed-to-start', message: `${file}: ${outcome.error}`.slice(0, 300) }
  if (outcome.timedOut)
    return { ok: false, code: 'run-time-limit', message: `killed after ${timeLimitMs} ms`, result }
  if (outcome.code !== 0)
    return {
      ok: false,
      code: 'run-exit-nonzero',
      message: `exit code ${outcome.code ?? outcome.signal}`,
      result,
    }
  return { ok: true, result, observations: [] }
}
