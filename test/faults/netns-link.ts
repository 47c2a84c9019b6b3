/**
 * A field node's own network namespace, linked to the test's (root) namespace by a veth pair:
 * the command center listens in the root namespace, the field node in its namespace dials it across
 * the link, and `partition()` / `heal()` drop or restore every packet on both ends, as a cut radio
 * link would: no error, just silence, until TCP and libp2p time out. The drop is `tc netem loss
 * 100%` where the kernel has netem, else a token bucket of one byte (`tbf burst 1`) that no packet
 * fits through (this machine's kernel has tbf but not netem).
 * Needs root (ip netns, tc); tests skip with a message otherwise.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { ProcessPlacement } from '../helpers/processes.ts'

const execFileAsync = promisify(execFile)

export async function canLinkNetns(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false
  try {
    await execFileAsync('ip', ['netns', 'list'])
    await execFileAsync('tc', ['-V'])
    return true
  } catch {
    return false
  }
}

export interface LinkedNamespace {
  readonly name: string
  /** The root namespace's end of the link (where the command center is reached from the field). */
  readonly rootAddress: string
  /** The field node's address across the link. */
  readonly nsAddress: string
  readonly placement: ProcessPlacement
  partition(): Promise<void>
  heal(): Promise<void>
  remove(): Promise<void>
}

/** A qdisc that drops every packet: netem when the kernel has it, else a one-byte token bucket. */
const DROP_ALL: readonly (readonly string[])[] = [
  ['netem', 'loss', '100%'],
  ['tbf', 'rate', '8bit', 'burst', '1', 'limit', '1'],
]

async function dropAll(prefix: readonly string[], device: string): Promise<void> {
  let failure: unknown
  for (const qdisc of DROP_ALL) {
    try {
      await execFileAsync(prefix[0] ?? 'tc', [
        ...prefix.slice(1),
        'qdisc',
        'add',
        'dev',
        device,
        'root',
        ...qdisc,
      ])
      return
    } catch (error) {
      failure = error
    }
  }
  throw failure
}

let created = 0

export async function createLinkedNamespace(label: string): Promise<LinkedNamespace> {
  created++
  const name = `clawmesh-${label}-${process.pid}-${created}`
  const tag = `${process.pid % 100_000}${created}`
  const rootIf = `cmr${tag}`.slice(0, 15)
  const nsIf = `cmf${tag}`.slice(0, 15)
  // A /30 of its own per link and test process, so parallel runs never share addresses.
  const subnet = `10.${200 + (created % 50)}.${process.pid % 250}`
  const rootAddress = `${subnet}.1`
  const nsAddress = `${subnet}.2`
  const ip = (...args: string[]) => execFileAsync('ip', args)
  const inside = (...args: string[]) => execFileAsync('ip', ['netns', 'exec', name, ...args])
  await ip('netns', 'add', name)
  await ip('link', 'add', rootIf, 'type', 'veth', 'peer', 'name', nsIf)
  await ip('link', 'set', nsIf, 'netns', name)
  await ip('addr', 'add', `${rootAddress}/30`, 'dev', rootIf)
  await ip('link', 'set', rootIf, 'up')
  await inside('ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf)
  await inside('ip', 'link', 'set', nsIf, 'up')
  await inside('ip', 'link', 'set', 'lo', 'up')
  let cut = false
  return {
    name,
    rootAddress,
    nsAddress,
    placement: { prefix: ['ip', 'netns', 'exec', name] },
    partition: async () => {
      if (cut) return
      await dropAll(['ip', 'netns', 'exec', name, 'tc'], nsIf)
      await dropAll(['tc'], rootIf)
      cut = true
    },
    heal: async () => {
      if (!cut) return
      await ip('netns', 'exec', name, 'tc', 'qdisc', 'del', 'dev', nsIf, 'root')
      await execFileAsync('tc', ['qdisc', 'del', 'dev', rootIf, 'root'])
      cut = false
    },
    remove: async () => {
      // Deleting the namespace deletes its end of the veth pair, and with it the root end.
      await ip('netns', 'delete', name).catch(() => undefined)
      await ip('link', 'delete', rootIf).catch(() => undefined)
    },
  }
}
