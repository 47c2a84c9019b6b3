import { describe, expect, it } from 'vitest'
import { consoleConfigSchema } from '../../protocol/console-config.ts'
import { parseNodeConfig } from '../config.ts'
import { DEMO_FARM_PATH, loadSiteFile } from '../site/site-model.ts'
import { buildConsoleConfig, type ConsoleConfigSource, consoleSiteSummary } from './console-config.ts'

const deviceId = '12D3KooWJQmdynaGTeqwpyMaFtM94qnC2MDFVikrD6QQaKm6YJ49'
const relay = '/ip4/127.0.0.1/tcp/18791/ws/p2p/12D3KooWBFkagUZwgjVU3rjQkFcpEjYcaFUhfcYJ4UdMVcxV9uQx'
const source: ConsoleConfigSource = {
  deviceId,
  name: 'command-center',
  meshName: 'farm',
  generation: 1,
  relays: [relay],
  siteName: 'Demo natural farm',
  listenAddrs: () => [
    `/ip4/127.0.0.1/tcp/18789/ws/p2p/${deviceId}`,
    `/ip4/127.0.0.1/tcp/18789/tls/ws/p2p/${deviceId}`,
    `/ip4/192.168.1.5/tcp/18789/ws/p2p/${deviceId}`,
    `/ip4/192.168.1.5/tcp/18789/tls/ws/p2p/${deviceId}`,
    `${relay}/p2p-circuit/webrtc/p2p/${deviceId}`,
  ],
}

describe('buildConsoleConfig', () => {
  it('lists only what a browser can dial: WSS first, the relayed WebRTC path last, never plain ws', () => {
    const config = consoleConfigSchema.parse(buildConsoleConfig(source))
    expect(config.commandCenter.addrs).toEqual([
      `/ip4/192.168.1.5/tcp/18789/tls/ws/p2p/${deviceId}`,
      `/ip4/127.0.0.1/tcp/18789/tls/ws/p2p/${deviceId}`,
      `${relay}/p2p-circuit/webrtc/p2p/${deviceId}`,
    ])
    for (const address of config.commandCenter.addrs) expect(address.endsWith(`/p2p/${deviceId}`)).toBe(true)
    expect(config.relays).toEqual([relay])
    expect(config.siteName).toBe('Demo natural farm')
  })

  it('puts the address the page was loaded from first', () => {
    const config = buildConsoleConfig(source, '127.0.0.1:18443')
    expect(config.commandCenter.addrs[0]).toBe(`/ip4/127.0.0.1/tcp/18789/tls/ws/p2p/${deviceId}`)
  })

  it('dials a host name the browser used by name (the certificate covers it, the IP may differ)', () => {
    const config = buildConsoleConfig(source, 'farm-laptop.local:18443')
    expect(config.commandCenter.addrs[0]).toBe(`/dns/farm-laptop.local/tcp/18789/tls/ws/p2p/${deviceId}`)
  })

  it('hands the console only the STUN part of the configured ICE servers: no TURN server, no credential', () => {
    expect(buildConsoleConfig(source).iceServers).toEqual([])
    const iceServers = parseNodeConfig(
      {
        name: 'command-center',
        iceServers: [
          'stun:stun.farm.example:3478',
          { urls: 'turn:turn.farm.example:3478', username: 'console', credential: 's3cret' },
          {
            urls: ['stun:turn.farm.example:3478', 'turns:turn.farm.example:443'],
            username: 'c',
            credential: 'x',
          },
        ],
      },
      'test',
    ).iceServers
    const served = JSON.stringify(buildConsoleConfig({ ...source, iceServers }))
    expect(consoleConfigSchema.parse(JSON.parse(served)).iceServers).toEqual([
      { urls: ['stun:stun.farm.example:3478'] },
      { urls: ['stun:turn.farm.example:3478'] },
    ])
    expect(served).not.toContain('s3cret')
    expect(served).not.toContain('credential')
    expect(served).not.toContain('username')
  })

  it('refuses a node config whose TURN server has no credentials (a browser could not use it)', () => {
    expect(() =>
      parseNodeConfig({ name: 'cc', iceServers: ['turn:turn.farm.example:3478'] }, 'test'),
    ).toThrow(/iceServers\.0: a TURN server needs a username and a credential/)
  })

  it('summarises the loaded site for the Twin: zones in order with names and the devices each holds', async () => {
    const site = await loadSiteFile(DEMO_FARM_PATH)
    const config = consoleConfigSchema.parse(buildConsoleConfig({ ...source, site }))
    expect(config.site?.name).toBe('Demo natural farm')
    expect(config.site?.zones.map((zone) => zone.id)).toEqual(site.zones.map((zone) => zone.id))
    const beds = config.site?.zones.find((zone) => zone.id === 'zone-2')
    expect(beds?.name).toBe('Vegetable beds')
    expect(beds?.actuators).toContainEqual({
      id: 'valve-zone-2',
      kind: 'valve',
      capability: 'actuator:valve:zone-2',
      safeStateOperation: 'close',
    })
    expect(beds?.sensors.map((sensor) => sensor.id)).toEqual(
      site.sensors.filter((sensor) => sensor.zone === 'zone-2').map((sensor) => sensor.id),
    )
    // Only what the Twin draws: an actuator's capability and its safe-state operation (for "close
    // now"), and no other operation, no manifest and no thresholds reach the browser.
    expect(JSON.stringify(config.site)).not.toMatch(/operations|thresholds|"open|"start"|"level"/)
    expect(config.site?.zones.find((zone) => zone.id === 'zone-4')?.actuators).toContainEqual(
      expect.objectContaining({ id: 'pump-pond', safeStateOperation: 'stop' }),
    )
    expect(consoleSiteSummary(site)).toEqual(config.site)
  })
})
