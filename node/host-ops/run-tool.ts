/**
 * Runs one read-only system tool (systemctl, journalctl, nft, apt-get -s ...) without a shell, with
 * a time limit and an output cap. A tool that is not installed, or cannot run here (no systemd, no
 * permission), is an `unavailable` outcome with the reason — never an empty, healthy answer.
 */
import { execFile } from 'node:child_process'
import { HOST_TOOL_OUTPUT_MAX_BYTES, HOST_TOOL_TIMEOUT_MS } from './constants.ts'

export type ToolOutcome =
  | { readonly outcome: 'ok'; readonly stdout: string; readonly stderr: string }
  /** Ran and exited non-zero: the output may still say something (systemctl is-active, apt-get). */
  | { readonly outcome: 'failed'; readonly code: number; readonly stdout: string; readonly stderr: string }
  | { readonly outcome: 'unavailable'; readonly reason: string }

export function runTool(
  file: string,
  args: readonly string[],
  options: { timeoutMs?: number; maxBytes?: number } = {},
): Promise<ToolOutcome> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        timeout: options.timeoutMs ?? HOST_TOOL_TIMEOUT_MS,
        maxBuffer: options.maxBytes ?? HOST_TOOL_OUTPUT_MAX_BYTES,
        encoding: 'utf8',
        env: { ...process.env, LC_ALL: 'C', SYSTEMD_PAGER: '', PAGER: 'cat' },
      },
      (error, stdout, stderr) => {
        if (error === null) return resolve({ outcome: 'ok', stdout, stderr })
        const failure = error as NodeJS.ErrnoException & { code?: string | number; killed?: boolean }
        if (failure.code === 'ENOENT')
          return resolve({ outcome: 'unavailable', reason: `${file} is not installed` })
        if (failure.code === 'EACCES')
          return resolve({ outcome: 'unavailable', reason: `${file} may not be run` })
        if (failure.killed === true)
          return resolve({ outcome: 'unavailable', reason: `${file} did not answer within its time limit` })
        if (failure.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
          return resolve({
            outcome: 'unavailable',
            reason: `${file} printed more than ${options.maxBytes ?? HOST_TOOL_OUTPUT_MAX_BYTES} bytes`,
          })
        const code = typeof failure.code === 'number' ? failure.code : 1
        resolve({ outcome: 'failed', code, stdout, stderr })
      },
    )
  })
}

/** systemd's own words when it is installed but not running (containers, chroots). */
export function systemdNotRunning(outcome: ToolOutcome): string | undefined {
  if (outcome.outcome !== 'failed') return undefined
  const text = `${outcome.stderr}\n${outcome.stdout}`
  const match =
    /System has not been booted with systemd[^\n]*|Failed to connect to bus[^\n]*|systemd is not running[^\n]*/.exec(
      text,
    )
  return match?.[0]
}
