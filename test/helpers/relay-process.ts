/**
 * A real `clawmesh-relay` process on loopback for tests that need the WAN path: its CLI (`trust add`)
 * and a started relay whose address, device ID and health URL are read from its ready lines.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import { REPO_ROOT } from './processes.ts'

const RELAY_BIN = `${REPO_ROOT}/signaling/bin/clawmesh-relay.ts`
const RELAY_READY_TIMEOUT_MS = 20_000
const RELAY_STOP_TIMEOUT_MS = 5_000

export interface RelayProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>
  readonly deviceId: string
  /** `/ip4/127.0.0.1/tcp/PORT/ws/p2p/<relay>` */
  readonly address: string
  readonly healthUrl: string
  readonly stateDir: string
  output(): string
  stop(): Promise<void>
}

export async function runRelayCli(stateDir: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, [RELAY_BIN, '--state-dir', stateDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit))
  if (code !== 0) throw new Error(`clawmesh-relay ${args.join(' ')} exited ${code}:\n${output}`)
  return output
}

/** Starts a relay on a free port, or on `port` (a restart on the address its members hold). */
export async function startRelayProcess(
  stateDir: string,
  args: string[] = [],
  port = 0,
): Promise<RelayProcess> {
  const child = spawn(
    process.execPath,
    [RELAY_BIN, '--state-dir', stateDir, '--host', '127.0.0.1', '--port', String(port), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const ready = await new Promise<{ deviceId: string; address: string; healthUrl: string }>(
    (resolveReady, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`relay did not become ready:\n${output}`)),
        RELAY_READY_TIMEOUT_MS,
      )
      const onExit = (code: number | null) => {
        clearTimeout(timer)
        reject(new Error(`relay exited with ${code} before ready:\n${output}`))
      }
      child.once('exit', onExit)
      child.stdout.on('data', () => {
        const deviceId = /device ID {2}(\S+)/.exec(output)?.[1]
        const address = /listening {2}(\S+)/.exec(output)?.[1]
        const healthUrl = /health {5}(\S+)/.exec(output)?.[1]
        if (deviceId === undefined || address === undefined || healthUrl === undefined) return
        clearTimeout(timer)
        child.off('exit', onExit)
        resolveReady({ deviceId, address, healthUrl })
      })
    },
  )
  return {
    child,
    ...ready,
    stateDir,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit))
      child.kill('SIGTERM')
      await Promise.race([
        exited,
        new Promise((resolveLater) => setTimeout(resolveLater, RELAY_STOP_TIMEOUT_MS)),
      ])
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}
