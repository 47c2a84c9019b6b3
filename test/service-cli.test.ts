/** `clawmesh service`: the dry run prints the unit for this install and writes nothing; bad use is refused. */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
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
})
