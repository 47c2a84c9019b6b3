import { describe, expect, it } from 'vitest'
import {
  ICE_SERVER_URLS_MAX,
  ICE_SERVERS_MAX,
  iceServerSchema,
  iceServersConfigSchema,
  rtcConfigurationFor,
} from './ice-servers.ts'

describe('ICE server configuration', () => {
  it('takes a bare STUN URL and the object form, and gives RTCIceServer objects', () => {
    const servers = iceServersConfigSchema.parse([
      'stun:stun.farm.example:3478',
      { urls: 'turns:turn.farm.example:443', username: 'console', credential: 's3cret' },
      { urls: ['stun:a.example:3478', 'stun:b.example:3478'] },
    ])
    expect(servers).toEqual([
      { urls: ['stun:stun.farm.example:3478'] },
      { urls: ['turns:turn.farm.example:443'], username: 'console', credential: 's3cret' },
      { urls: ['stun:a.example:3478', 'stun:b.example:3478'] },
    ])
  })

  it('refuses a TURN server without both username and credential, naming the fix', () => {
    for (const entry of [
      'turn:turn.farm.example:3478',
      { urls: 'turn:turn.farm.example:3478', username: 'console' },
      { urls: ['stun:s.example:3478', 'turns:t.example:443'], credential: 'x' },
    ]) {
      const parsed = iceServersConfigSchema.safeParse([entry])
      expect(parsed.success, JSON.stringify(entry)).toBe(false)
      expect(parsed.error?.issues[0]?.message).toMatch(/TURN server needs a username and a credential/)
    }
  })

  it('refuses what is not an ICE URL, unknown keys and more than the bounds', () => {
    expect(iceServersConfigSchema.safeParse(['https://stun.example']).success).toBe(false)
    expect(iceServersConfigSchema.safeParse(['stun:has space']).success).toBe(false)
    expect(iceServersConfigSchema.safeParse([{ urls: 'stun:s.example', secret: 'x' }]).success).toBe(false)
    const many = Array.from({ length: ICE_SERVERS_MAX + 1 }, (_, i) => `stun:s${i}.example:3478`)
    expect(iceServersConfigSchema.safeParse(many).success).toBe(false)
    expect(iceServersConfigSchema.safeParse(many.slice(0, ICE_SERVERS_MAX)).success).toBe(true)
    const urls = Array.from({ length: ICE_SERVER_URLS_MAX + 1 }, (_, i) => `stun:s${i}.example:3478`)
    expect(iceServerSchema.safeParse({ urls }).success).toBe(false)
  })

  it('gives WebRTC no server at all unless configured (no public STUN by default)', () => {
    expect(rtcConfigurationFor(undefined)).toEqual({ iceServers: [] })
    expect(rtcConfigurationFor([])).toEqual({ iceServers: [] })
    const turn = { urls: ['turn:t.example:3478'], username: 'u', credential: 'c' }
    expect(rtcConfigurationFor([turn])).toEqual({ iceServers: [turn] })
  })
})
