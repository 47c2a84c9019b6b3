/**
 * A command center as a tablet meets it: `clawmesh cert` material in its state dir, the console on
 * its own HTTPS port and libp2p over WSS, started with `clawmesh start` (test/helpers/processes.ts).
 */
import { cliJson, type NodeProcess, runCli, startNode, waitFor } from './processes.ts'

const CONSOLE_LINE = /console {4}(https:\/\/\S+)/
const CONSOLE_READY_TIMEOUT_MS = 20_000

/** Runs `clawmesh cert --no-qr` in `stateDir`; returns the server key's SPKI hash (base64) for
 * Chromium's `--ignore-certificate-errors-spki-list`. */
export async function issueCertificate(stateDir: string): Promise<string> {
  const issued = await runCli(['cert', '--no-qr'], stateDir)
  if (issued.code !== 0) throw new Error(`clawmesh cert failed (${issued.code}): ${issued.stderr}`)
  const shown = await cliJson<{ server: { spkiSha256: string } }>(['cert', '--show'], stateDir)
  return shown.server.spkiSha256
}

export interface HttpsNode {
  readonly node: NodeProcess
  /** The console URL the node printed (`https://127.0.0.1:PORT/`). */
  readonly consoleUrl: string
  readonly httpsPort: number
}

/** Starts a node with `--https-port` (0 picks a free one) and waits for its `console  https://…` line. */
export async function startWithConsole(stateDir: string, args: string[], httpsPort = 0): Promise<HttpsNode> {
  const node = await startNode(stateDir, [...args, '--https-port', String(httpsPort)])
  const consoleUrl = await waitFor(
    'the console line',
    () => CONSOLE_LINE.exec(node.output())?.[1],
    CONSOLE_READY_TIMEOUT_MS,
  )
  return { node, consoleUrl, httpsPort: Number(new URL(consoleUrl).port) }
}
