import { describe, expect, it } from 'vitest'
import { RPC_METHODS, type RpcMethodName } from '../../../protocol/rpc/methods.ts'
import type { RpcHandlers } from '../../../runtime/rpc/rpc-server.ts'
import { HandlerTableError, mergeHandlerTables } from './index.ts'

const answer = () => ({})
const tableFor = (methods: readonly RpcMethodName[]) =>
  Object.fromEntries(methods.map((method) => [method, answer])) as Partial<RpcHandlers>
const allMethods = Object.keys(RPC_METHODS) as RpcMethodName[]

describe('mergeHandlerTables', () => {
  it('merges the domain tables into one table covering every method', () => {
    const [first, ...rest] = allMethods
    const table = mergeHandlerTables([
      ['mesh', tableFor([first as RpcMethodName])],
      ['planner', tableFor(rest)],
    ])
    expect(Object.keys(table).sort()).toEqual([...allMethods].sort())
  })

  it('refuses a method two parts answer', () => {
    const merging = () =>
      mergeHandlerTables([
        ['mesh', tableFor(allMethods)],
        ['mcp', tableFor(['mesh.status'])],
      ])
    expect(merging).toThrow(HandlerTableError)
    expect(merging).toThrow(expect.objectContaining({ name: 'HandlerTableError' }))
  })

  it('refuses a table with a method nobody answers', () => {
    const merging = () =>
      mergeHandlerTables([['mesh', tableFor(allMethods.filter((m) => m !== 'planner.ask'))]])
    expect(merging).toThrow(expect.objectContaining({ name: 'HandlerTableError' }))
  })
})
