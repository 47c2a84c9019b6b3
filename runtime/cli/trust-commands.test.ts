/**
 * The `trust` command group both bins share: `remove` hands the removed entry to the process's
 * follow-up (the node revokes an operator) with the `--reason` it adds; without a follow-up (the
 * relay) there is no `--reason` to give.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TrustStore } from '../trust/trust-store.ts'
import { CliUsageError } from './errors.ts'
import { addTrustCommands, type RemovalFollowUp, type TrustCommandWording } from './trust-commands.ts'

const OPERATOR = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const WORDING: TrustCommandWording = { command: 'test', group: 'g', add: 'a', list: 'l', remove: 'r' }

async function program(followUp?: RemovalFollowUp) {
  const trust = await TrustStore.open(join(await mkdtemp(join(tmpdir(), 'trust-cli-')), 'trusted-peers.json'))
  const root = new Command('test').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} })
  addTrustCommands(root, async () => trust, WORDING, followUp)
  const run = (...args: string[]) => root.parseAsync(['node', 'test', 'trust', ...args])
  return { trust, run }
}

afterEach(() => vi.restoreAllMocks())

describe('trust commands', () => {
  it('remove hands the removed entry and the given reason to the follow-up', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {})
    const run = vi.fn(async () => 'revoked')
    const cli = await program({ defaultReason: 'by the admin', run })
    await cli.trust.add(OPERATOR, 'bob', { kind: 'operator', expiresAt: Number.MAX_SAFE_INTEGER })
    await cli.run('remove', OPERATOR, '--reason', 'left the crew')
    expect(cli.trust.has(OPERATOR)).toBe(false)
    expect(run).toHaveBeenCalledWith(
      OPERATOR,
      expect.objectContaining({ name: 'bob', kind: 'operator' }),
      'left the crew',
    )
  })

  it('remove without --reason gives the follow-up its default reason', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {})
    const run = vi.fn(async () => undefined)
    const cli = await program({ defaultReason: 'by the admin', run })
    await cli.run('remove', OPERATOR)
    expect(run).toHaveBeenCalledWith(OPERATOR, undefined, 'by the admin')
  })

  it('without a follow-up (the relay) --reason is an unknown option', async () => {
    const cli = await program()
    await expect(cli.run('remove', OPERATOR, '--reason', 'x')).rejects.toMatchObject({
      code: 'commander.unknownOption',
    })
  })

  it('refuses a malformed device ID as a usage error', async () => {
    const cli = await program()
    await expect(cli.run('add', '12D3KooWnotreally')).rejects.toBeInstanceOf(CliUsageError)
  })
})
