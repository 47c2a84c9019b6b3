/**
 * One child process of `clawmesh demo` (relay, command center, field node): started with this Node
 * binary, its output appended to a log file, "ready" recognised from its output, stopped with
 * SIGINT and killed if it does not stop within the grace period.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { CHILD_READY_TIMEOUT_MS, CHILD_STOP_GRACE_MS } from './constants.ts'

export interface SupervisedProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly logFile: string
  output(): string
  /** Resolves when the child has exited (with its code, or the signal that ended it). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  stop(): Promise<void>
}

export interface StartSupervisedInit<T> {
  name: string
  args: string[]
  logFile: string
  env?: NodeJS.ProcessEnv
  /** Returns what the caller needs once the output shows the process is ready. */
  ready: (output: string) => T | undefined
}

/** How much of a child's output is kept in memory for ready-parsing and error reports. */
const OUTPUT_KEEP_CHARS = 64 * 1024

export async function startSupervised<T>(
  init: StartSupervisedInit<T>,
): Promise<{ process: SupervisedProcess; ready: T }> {
  const log = createWriteStream(init.logFile, { flags: 'a' })
  // Own process group is not used: a Ctrl-C in the terminal reaches the children too, and each
  // stops itself gracefully; the demo also forwards the signal for non-terminal callers.
  const child = spawn(process.execPath, init.args, {
    env: { ...process.env, ...init.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const onData = (chunk: Buffer) => {
    log.write(chunk)
    output = (output + chunk.toString()).slice(-OUTPUT_KEEP_CHARS)
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => {
      log.end()
      resolveExit({ code, signal })
    }),
  )
  const supervised: SupervisedProcess = {
    name: init.name,
    child,
    logFile: init.logFile,
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_STOP_GRACE_MS)
      await exited
      clearTimeout(timer)
    },
  }
  const ready = await new Promise<T>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`${init.name} did not become ready within ${CHILD_READY_TIMEOUT_MS / 1000} s`))
    }, CHILD_READY_TIMEOUT_MS)
    const check = () => {
      const value = init.ready(output)
      if (value === undefined) return
      cleanup()
      resolveReady(value)
    }
    const onExit = (code: number | null) => {
      cleanup()
      reject(new Error(`${init.name} exited with ${code} before it was ready`))
    }
    const cleanup = () => {
      clearTimeout(timer)
      child.stdout?.off('data', check)
      child.off('exit', onExit)
    }
    child.stdout?.on('data', check)
    child.once('exit', onExit)
  }).catch(async (error: Error) => {
    await supervised.stop()
    throw new Error(`${error.message}; its log is ${init.logFile}:\n${output.trim()}`)
  })
  return { process: supervised, ready }
}
