import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { quoteEnvironmentAssignment, quoteExecArg, renderSystemdUnit, type UnitSpec } from './systemd-unit.ts'

const execFileAsync = promisify(execFile)
const NODE_SPEC: UnitSpec = {
  kind: 'node',
  nodePath: '/usr/bin/node',
  binPath: '/opt/clawmesh/node_modules/clawmesh/bin/clawmesh-node.js',
  user: 'clawmesh',
  configPath: '/etc/clawmesh/node.json',
}

function lines(unit: string): string[] {
  return unit.split('\n')
}

describe('renderSystemdUnit', () => {
  it('runs the node as its own user, restarting on failure, state in its StateDirectory', () => {
    const unit = lines(renderSystemdUnit(NODE_SPEC))
    expect(unit).toContain('User=clawmesh')
    expect(unit).toContain('Restart=on-failure')
    expect(unit).toContain('StateDirectory=clawmesh-node')
    expect(unit).toContain(
      'ExecStart=/usr/bin/node /opt/clawmesh/node_modules/clawmesh/bin/clawmesh-node.js --config /etc/clawmesh/node.json --state-dir /var/lib/clawmesh-node',
    )
    expect(unit).toContain('WantedBy=multi-user.target')
  })

  it('is hardened: no new privileges, read-only system but its state dir, private /tmp', () => {
    const unit = lines(renderSystemdUnit(NODE_SPEC))
    for (const line of [
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/clawmesh-node',
      'PrivateTmp=yes',
    ])
      expect(unit).toContain(line)
  })

  it('renders the relay with its own name, state dir and extra arguments', () => {
    const unit = lines(
      renderSystemdUnit({
        kind: 'relay',
        nodePath: '/usr/bin/node',
        binPath: '/opt/c/bin/clawmesh-relay.js',
        user: 'relay',
        extraArgs: ['--port', '9090'],
      }),
    )
    expect(unit).toContain('StateDirectory=clawmesh-relay')
    expect(unit).toContain(
      'ExecStart=/usr/bin/node /opt/c/bin/clawmesh-relay.js --state-dir /var/lib/clawmesh-relay --port 9090',
    )
  })

  it('refuses relative paths, bad user names and a node without config', () => {
    expect(() => renderSystemdUnit({ ...NODE_SPEC, configPath: 'node.json' })).toThrow(/absolute/)
    expect(() => renderSystemdUnit({ ...NODE_SPEC, user: 'root; rm' })).toThrow(/user name/)
    expect(() => renderSystemdUnit({ ...NODE_SPEC, configPath: undefined })).toThrow(/--config/)
  })

  // Pins the Environment= lines before ExecStart (the node's memory levers), in the order given.
  it('sets the environment it is given, quoting what systemd would split or expand', () => {
    const unit = lines(
      renderSystemdUnit({
        ...NODE_SPEC,
        environment: { NODE_OPTIONS: '--max-semi-space-size=1', MALLOC_ARENA_MAX: '2' },
      }),
    )
    const execStart = unit.findIndex((line) => line.startsWith('ExecStart='))
    expect(unit.indexOf('Environment=NODE_OPTIONS=--max-semi-space-size=1')).toBeLessThan(execStart)
    expect(unit.indexOf('Environment=MALLOC_ARENA_MAX=2')).toBe(
      unit.indexOf('Environment=NODE_OPTIONS=--max-semi-space-size=1') + 1,
    )
    expect(quoteEnvironmentAssignment('NODE_OPTIONS', '--a --b')).toBe('"NODE_OPTIONS=--a --b"')
    expect(quoteEnvironmentAssignment('X', '50%')).toBe('X=50%%')
    expect(() => quoteEnvironmentAssignment('BAD NAME', '1')).toThrow(/variable name/)
  })

  it('quotes arguments systemd would split or expand', () => {
    expect(quoteExecArg('/a b/node')).toBe('"/a b/node"')
    expect(quoteExecArg('50%')).toBe('50%%')
    expect(quoteExecArg('$HOME')).toBe('"$$HOME"')
  })

  it.skipIf(!existsSync('/usr/bin/systemd-analyze'))('passes systemd-analyze verify', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clawmesh-unit-'))
    try {
      // verify checks that ExecStart's binary exists: point it at this Node and a real file.
      const unitPath = join(dir, 'clawmesh-node.service')
      await writeFile(
        unitPath,
        renderSystemdUnit({
          ...NODE_SPEC,
          nodePath: process.execPath,
          binPath: import.meta.filename,
          environment: { NODE_OPTIONS: '--max-semi-space-size=1', MALLOC_ARENA_MAX: '2' },
        }),
      )
      const result = await execFileAsync('systemd-analyze', ['verify', '--man=no', unitPath]).catch(
        (error: { stdout: string; stderr: string }) => error,
      )
      const complaints = result.stderr.split('\n').filter((line) => line.includes('clawmesh-node.service'))
      expect(complaints).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
