/**
 * The CLI's own libp2p client: WebSockets only, its own key from the state dir, announced as
 * `kind=cli` with the mesh this state dir belongs to (cli-mesh.ts), so nodes of that mesh serve it
 * RPC but never count it as a mesh member. It dials whatever node the
 * operator names and reports the device ID that answered.
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import { PROTOCOL_GENERATION, rpcProtocolId } from '../../protocol/mesh.ts'
import { parseNodeUrl } from '../../protocol/node-url.ts'
import type { RpcMethodName, RpcParams, RpcResult } from '../../protocol/rpc/methods.ts'
import { loadOrCreateIdentity } from '../../runtime/identity/device-identity.ts'
import { buildLibp2p, DIAL_ANY_ADDRESS } from '../../runtime/libp2p/build-libp2p.ts'
import { installWsDialer } from '../../runtime/libp2p/ws-dialer.ts'
import { resolveStateDir, statePaths } from '../../runtime/state/state-dir.ts'
import { callRpc } from '../rpc/rpc-client.ts'
import { trustOwnLocalCa } from '../tls/trust-ca.ts'
import { DEFAULT_WS_PORT } from '../ws-port.ts'
import { cliMeshName } from './cli-mesh.ts'

export const DEFAULT_NODE_URL = `ws://127.0.0.1:${DEFAULT_WS_PORT}`

export interface CliClient {
  readonly libp2p: Libp2p
  readonly deviceId: string
  /** Device ID of the node that answered at the URL */
  readonly remoteDeviceId: string
  readonly protocol: string
  call<M extends RpcMethodName>(method: M, params: RpcParams<M>): Promise<RpcResult<M>>
  close(): Promise<void>
}

export interface CliClientOptions {
  /** Key file to act with instead of the CLI's (`clawmesh mcp` has its own). */
  readonly identityPath?: string
  /** The agent name announced to the node. */
  readonly agentName?: string
}

export async function connectCliClient(
  url: string,
  stateDir?: string,
  options: CliClientOptions = {},
): Promise<CliClient> {
  const paths = statePaths(resolveStateDir(stateDir))
  const identity = await loadOrCreateIdentity(options.identityPath ?? paths.cliIdentity)
  const meshName = await cliMeshName(paths.stateDir)
  await trustOwnLocalCa(paths.stateDir)
  const target = multiaddr(parseNodeUrl(url, DEFAULT_WS_PORT).multiaddr)
  installWsDialer()
  const libp2p = await buildLibp2p({
    privateKey: identity.privateKey,
    agent: {
      name: options.agentName ?? 'clawmesh-cli',
      kind: 'cli',
      mesh: { meshName, generation: PROTOCOL_GENERATION },
    },
    gater: DIAL_ANY_ADDRESS,
  })
  const protocol = rpcProtocolId(PROTOCOL_GENERATION)
  let connection: Awaited<ReturnType<typeof libp2p.dial>>
  try {
    connection = await libp2p.dial(target, { signal: AbortSignal.timeout(10_000) })
  } catch (error) {
    await libp2p.stop()
    throw new Error(
      `cannot reach a ClawMesh node at ${url} (${(error as Error).message}). Is it running, and does it trust this CLI's key ${identity.deviceId}?`,
      { cause: error },
    )
  }
  return {
    libp2p,
    deviceId: identity.deviceId,
    remoteDeviceId: connection.remotePeer.toString(),
    protocol,
    call: (method, params) => callRpc(libp2p, connection.remotePeer, protocol, method, params),
    close: async () => {
      await libp2p.stop()
    },
  }
}
