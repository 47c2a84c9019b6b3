import { describe, expect, it } from 'vitest'
import { checkStaticPeerPolicy } from './link-posture.ts'
import { parseStaticPeer } from './static-peer.ts'
import {
  parseTlsPin,
  pinFromFingerprint256,
  pinsMatch,
  shortPin,
  tlsPostureOf,
  tlsTargetOf,
} from './tls-pin.ts'

const ID = '12D3KooWDxRJnafAXiqoAeS8p3yRr4wM2G5esmggcJ8s4KsamJ2S'
const HEX = '0123456789abcdef'.repeat(4)
const COLONS = HEX.toUpperCase().match(/../g)!.join(':')

describe('TLS pins', () => {
  it('reads sha256: pins and Node colon-hex fingerprints into one canonical form', () => {
    expect(parseTlsPin(`sha256:${HEX}`)).toEqual({ ok: true, pin: `sha256:${HEX}` })
    expect(parseTlsPin(`SHA256:${COLONS}`)).toEqual({ ok: true, pin: `sha256:${HEX}` })
    expect(pinFromFingerprint256(COLONS)).toBe(`sha256:${HEX}`)
    expect(pinsMatch(`sha256:${HEX}`, COLONS)).toBe(true)
    expect(pinsMatch(`sha256:${HEX}`, `sha256:${HEX.slice(0, -1)}0`)).toBe(false)
    expect(shortPin(COLONS)).toBe('sha256:0123456789abcdef…')
  })

  it('refuses a pin that is not a SHA-256 digest, with what to give instead', () => {
    for (const bad of ['AB:CD', `sha256:${HEX}00`, `sha256:${HEX.slice(0, -1)}g`, 'sha1:abcd', ''])
      expect(parseTlsPin(bad)).toMatchObject({ ok: false, reason: expect.stringContaining('64 hex digits') })
    expect(pinsMatch('wan', 'wan')).toBe(false)
  })

  it('finds the TLS endpoint of a wss multiaddr, with SNI only for names', () => {
    expect(tlsTargetOf(`/dns/cc.farm.lan/tcp/443/tls/ws/p2p/${ID}`)).toEqual({
      host: 'cc.farm.lan',
      port: 443,
      servername: 'cc.farm.lan',
    })
    expect(tlsTargetOf(`/ip4/10.0.0.5/tcp/9000/tls/sni/cc.lan/ws/p2p/${ID}`)).toEqual({
      host: '10.0.0.5',
      port: 9000,
      servername: 'cc.lan',
    })
    expect(tlsTargetOf(`/ip4/10.0.0.5/tcp/9000/wss/p2p/${ID}`)).toEqual({ host: '10.0.0.5', port: 9000 })
    expect(tlsTargetOf(`/ip4/10.0.0.5/tcp/9000/ws/p2p/${ID}`)).toBeUndefined()
  })

  it('names the posture of each kind of static peer', () => {
    expect(tlsPostureOf(parseStaticPeer(`${ID}=wss://cc.lan:1|sha256:${HEX}|wan`))).toBe('tls-pinned')
    expect(tlsPostureOf(parseStaticPeer(`${ID}=wss://cc.lan:1|wan`))).toBe('tls-unpinned')
    expect(tlsPostureOf(parseStaticPeer(`${ID}=ws://cc.lan:1|wan`))).toBe('insecure')
    expect(
      tlsPostureOf(
        parseStaticPeer(`${ID}=/ip4/1.2.3.4/tcp/1/ws/p2p/${ID.replace('S', 'T')}/p2p-circuit/webrtc`),
      ),
    ).toBe('dtls')
  })
})

describe('WAN policy and pins', () => {
  it('require-tls accepts a pinned WAN wss peer and refuses an unpinned one, saying how to pin', () => {
    expect(
      checkStaticPeerPolicy(parseStaticPeer(`${ID}=wss://cc.lan:1|sha256:${HEX}|wan`), 'require-tls'),
    ).toEqual({
      verdict: 'accept',
    })
    const unpinned = checkStaticPeerPolicy(parseStaticPeer(`${ID}=wss://cc.lan:1|wan`), 'require-tls')
    expect(unpinned).toMatchObject({ verdict: 'refuse' })
    expect(unpinned.verdict === 'refuse' && unpinned.diagnostic).toContain('without a certificate pin')
    expect(checkStaticPeerPolicy(parseStaticPeer(`${ID}=ws://cc.lan:1|wan`), 'require-tls')).toMatchObject({
      verdict: 'refuse',
    })
  })

  it('warn reports an unpinned WAN wss peer and lets a LAN one through', () => {
    expect(checkStaticPeerPolicy(parseStaticPeer(`${ID}=wss://cc.lan:1|wan`), 'warn')).toMatchObject({
      verdict: 'warn',
      diagnostic: expect.stringContaining('without a certificate pin'),
    })
    expect(checkStaticPeerPolicy(parseStaticPeer(`${ID}=wss://cc.lan:1|lan`), 'require-tls')).toEqual({
      verdict: 'accept',
    })
  })
})
