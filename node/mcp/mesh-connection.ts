/**
 * The MCP server's link to its node: one libp2p client with the MCP key (never the person's CLI
 * key), connected on first use and again after the node went away, so a long-lived MCP session
 * survives a node restart.
 */
import { ClawMeshError } from '../../protocol/errors.ts'
import type { RpcMethodName, RpcParams, RpcResult } from '../../protocol/rpc/methods.ts'
import { type CliClient, connectCliClient } from '../cli/client-node.ts'

export interface MeshCaller {
  call<M extends RpcMethodName>(method: M, params: RpcParams<M>): Promise<RpcResult<M>>
}

export interface MeshConnection extends MeshCaller {
  readonly url: string
  /** The MCP key's device ID (the proposals' author). */
  deviceId(): Promise<string>
  close(): Promise<void>
}

export function createMeshConnection(init: {
  readonly url: string
  readonly stateDir: string
  readonly identityPath: string
}): MeshConnection {
  let client: Promise<CliClient> | undefined
  const connect = () => {
    client ??= connectCliClient(init.url, init.stateDir, {
      identityPath: init.identityPath,
      agentName: 'clawmesh-mcp',
    }).catch((error: unknown) => {
      client = undefined
      throw new ClawMeshError('UNAVAILABLE', (error as Error).message, { cause: error })
    })
    return client
  }
  const drop = async () => {
    const current = client
    client = undefined
    await (await current?.catch(() => undefined))?.close()
  }
  return {
    url: init.url,
    async call(method, params) {
      const connected = await connect()
      try {
        return await connected.call(method, params)
      } catch (error) {
        // A refusal from the node is an answer; anything else (stream reset, node gone) means the
        // connection is stale: the next call dials again.
        if (!(error instanceof ClawMeshError)) await drop()
        throw error
      }
    },
    deviceId: async () => (await connect()).deviceId,
    close: drop,
  }
}
