/** `clawmesh service`: the dry run prints the unit for this install and writes nothing; bad use is refused. */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { makeStateDir, runCli } from './helpers/processes.ts'

describe('clawmesh service', () => {
  it('install --dry-run prints the unit running this install with the config, and writes nothing', async () => {
    const dir = await makeStateDir('service')
    const config = join(dir, 'node.json')
    await writeFile(config, '{}\n')
    const result = await runCli(
      ['service', 'install', '--config', config, '--user', 'fieldsvc', '--unit-dir', dir, '--dry-run'],
      dir,
    )
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`# ${join(dir, 'clawmesh-node.service')} (dry run: nothing written)`)
    expect(result.stdout).toContain('User=fieldsvc')
    expect(result.stdout).toMatch(
      new RegExp(`ExecStart=${process.execPath}\\S* \\S+/bin/clawmesh-node\\.js --config ${config} `),
    )
    // The node starts with its memory levers (bin/memory-levers.js) instead of relaunching for them.
    expect(result.stdout).toContain('Environment=NODE_OPTIONS=--max-semi-space-size=1')
    expect(result.stdout).toContain('Environment=MALLOC_ARENA_MAX=2')
    expect(existsSync(join(dir, 'clawmesh-node.service'))).toBe(false)
    const status = await runCli(['service', 'status', '--unit-dir', dir], dir)
    expect(status.stdout).toContain('clawmesh-node: not installed')
  })

  it('refuses a node service without --config, and a missing config file', async () => {
    const dir = await makeStateDir('service')
    const noConfig = await runCli(['service', 'install', '--unit-dir', dir, '--dry-run'], dir)
    expect(noConfig.code).toBe(2)
    expect(noConfig.stderr).toContain('needs --config')
    const missing = await runCli(
      ['service', 'install', '--config', join(dir, 'nope.json'), '--unit-dir', dir, '--dry-run'],
      dir,
    )
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('no configuration file')
  })

  it.skipIf(existsSync('/run/systemd/system') || process.getuid?.() !== 0)(
    'install writes the unit for an existing user, status sees it, uninstall removes it (no systemd here)',
    async () => {
      const dir = await makeStateDir('service')
      const config = join(dir, 'node.json')
      await writeFile(config, '{}\n')
      const unitPath = join(dir, 'clawmesh-node.service')
      const install = await runCli(
        ['service', 'install', '--config', config, '--user', 'root', '--unit-dir', dir],
        dir,
      )
      expect(install.code).toBe(0)
      expect(install.stdout).toContain(`wrote ${unitPath}`)
      expect(install.stdout).toContain('systemd is not running here')
      expect(await readFile(unitPath, 'utf8')).toContain(
        `--config ${config} --state-dir /var/lib/clawmesh-node`,
      )
      const status = await runCli(['service', 'status', '--unit-dir', dir], dir)
      expect(status.stdout).toContain(`clawmesh-node: installed (${unitPath})`)
      const uninstall = await runCli(['service', 'uninstall', '--unit-dir', dir], dir)
      expect(uninstall.stdout).toContain(`removed ${unitPath}`)
      expect(existsSync(unitPath)).toBe(false)
    },
  )
})
