/**
 * A private network namespace for tests that need multicast (mDNS): only its own loopback, with
 * multicast enabled and routed, so discovery traffic never reaches the machine's real network.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

export interface NetworkNamespace {
  readonly name: string
  /** argv prefix that runs a command inside the namespace */
  readonly prefix: string[]
  remove(): Promise<void>
}

export async function canCreateNetns(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false
  try {
    await execFileAsync('ip', ['netns', 'list'])
    return true
  } catch {
    return false
  }
}

export async function createMulticastNetns(label: string): Promise<NetworkNamespace> {
  const name = `clawmesh-${label}-${process.pid}`
  await execFileAsync('ip', ['netns', 'add', name])
  const inside = (...args: string[]) => execFileAsync('ip', ['netns', 'exec', name, ...args])
  await inside('ip', 'link', 'set', 'lo', 'up')
  await inside('ip', 'link', 'set', 'lo', 'multicast', 'on')
  await inside('ip', 'route', 'add', '224.0.0.0/4', 'dev', 'lo')
  return {
    name,
    prefix: ['ip', 'netns', 'exec', name],
    remove: async () => {
      await execFileAsync('ip', ['netns', 'delete', name]).catch(() => {})
    },
  }
}
