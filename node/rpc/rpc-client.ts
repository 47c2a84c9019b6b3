/** The RPC client lives in protocol/ (the browser console speaks it too); node code imports it here. */
export { callRpc, callRpcRaw, type RpcCallOptions } from '../../protocol/rpc/client.ts'
