/** The host-operations parsers on output kept in test/fixtures/host-ops (see its README for where each came from). */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  groupLogPatterns,
  hasLoginShell,
  isLoopback,
  parseAptSimulation,
  parseKeyValues,
  parsePasswd,
  parseProcNetTcp,
  parseSshdConfig,
  parseSystemctlUnits,
} from './parsers.ts'

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/host-ops')
const fixture = (name: string) => readFile(join(FIXTURES, name), 'utf8')

describe('host-ops parsers', () => {
  it('reads failed units from systemctl list-units --failed', async () => {
    const units = parseSystemctlUnits(await fixture('failed-units.txt'))
    expect(units.map((unit) => unit.unit)).toEqual(['nginx.service', 'systemd-networkd-wait-online.service'])
    expect(units[0]).toMatchObject({ load: 'loaded', active: 'failed', sub: 'failed' })
    expect(units[0]?.description).toMatch(/^A high performance web server/)
  })

  it('reads a unit state from systemctl show', async () => {
    const state = parseKeyValues(await fixture('show-nginx.txt'))
    expect(state).toMatchObject({
      ActiveState: 'failed',
      NRestarts: '5',
      FragmentPath: '/lib/systemd/system/nginx.service',
    })
  })

  it('takes the first global sshd setting and stops at Match', async () => {
    const ssh = parseSshdConfig(await fixture('sshd_config.txt'))
    expect(ssh).toEqual({
      passwordAuthentication: 'yes',
      permitRootLogin: 'yes',
      listenAddresses: ['192.168.1.20'],
    })
  })

  it('finds every uid-0 account and the accounts with a login shell', async () => {
    const users = parsePasswd(await fixture('passwd.txt'))
    expect(users.filter((user) => user.uid === 0).map((user) => user.name)).toEqual(['root', 'toor'])
    expect(users.find((user) => user.name === 'daemon')).toBeDefined()
    expect(hasLoginShell(users.find((user) => user.name === 'daemon') as never)).toBe(false)
    expect(hasLoginShell(users.find((user) => user.name === 'root') as never)).toBe(true)
  })

  it('reads listening sockets from /proc/net/tcp and tcp6', async () => {
    const v4 = parseProcNetTcp(await fixture('proc-net-tcp.txt'), 'tcp')
    expect(v4.length).toBeGreaterThan(0)
    expect(v4.find((socket) => socket.port === 2024)).toMatchObject({ address: '0.0.0.0' })
    expect(
      v4.filter((socket) => socket.port !== 2024).every((socket) => socket.address === '127.0.0.1'),
    ).toBe(true)
    const v6 = parseProcNetTcp(await fixture('proc-net-tcp6.txt'), 'tcp6')
    expect(v6.map((socket) => `${socket.address} ${socket.port} ${socket.inode}`)).toEqual([
      ':: 22 23456',
      '::1 631 23457',
      '::ffff:127.0.0.1 8080 23458',
    ])
    expect(v6.map((socket) => isLoopback(socket.address))).toEqual([false, true, true])
  })

  it('counts pending upgrades and the security ones in apt-get -s upgrade', async () => {
    expect(parseAptSimulation(await fixture('apt-get-s-upgrade.txt'))).toEqual({
      upgrades: ['libssl3', 'openssl', 'tzdata'],
      security: ['libssl3', 'openssl'],
    })
  })

  it('groups journal errors by pattern with counts, first/last seen and cited lines', async () => {
    const lines = (await fixture('journal-nginx.txt')).split('\n')
    const grouped = groupLogPatterns(lines, { patterns: 20, citedPerPattern: 2 })
    const bind = grouped.patterns.find((pattern) => pattern.pattern.includes('bind() to <ip> failed'))
    expect(bind).toMatchObject({
      level: 'error',
      count: 3,
      firstSeen: '2024-05-07T09:11:58+0000',
      lastSeen: '2024-05-07T09:12:01+0000',
    })
    expect(bind?.cited).toHaveLength(2)
    expect(grouped.patterns[0]).toBe(bind)
    const deprecated = grouped.patterns.find((pattern) => pattern.level === 'warning')
    expect(deprecated?.pattern).toContain('deprecated')
    expect(grouped.errorLines).toBe(7)
    expect(grouped.warningLines).toBe(1)
  })
})

// Provenance: a fixture says where it came from in its first line (the stand-ins in bin/ drop that
// line, so a node sees the output as the tool prints it; the parsers here skip it).
describe('fixtures', () => {
  it('each starts with a "#fixture:" line saying where it came from', async () => {
    const names = (await readdir(FIXTURES, { withFileTypes: true }))
      .filter((entry) => entry.isFile() && entry.name !== 'README.md')
      .map((entry) => entry.name)
    expect(names.length).toBeGreaterThan(10)
    for (const name of names) expect((await fixture(name)).split('\n')[0], name).toMatch(/^#fixture: \S/)
  })
})
