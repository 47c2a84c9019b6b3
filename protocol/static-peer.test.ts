import { describe, expect, it } from 'vitest'
import { parseNodeUrl } from './node-url.ts'
import { parseStaticPeer } from './static-peer.ts'

const ID = '12D3KooWDxRJnafAXiqoAeS8p3yRr4wM2G5esmggcJ8s4KsamJ2S'

describe('node URLs', () => {
  it('normalises http(s) to ws(s) and keeps the path', () => {
    expect(parseNodeUrl('http://10.0.0.5:18789').multiaddr).toBe('/ip4/10.0.0.5/tcp/18789/ws')
    expect(parseNodeUrl('https://cc.farm.lan/mesh').multiaddr).toBe(
      '/dns/cc.farm.lan/tcp/443/tls/ws/http-path/mesh',
    )
    expect(parseNodeUrl('wss://[::1]:9000').multiaddr).toBe('/ip6/::1/tcp/9000/tls/ws')
    expect(parseNodeUrl('127.0.0.1', 18789).multiaddr).toBe('/ip4/127.0.0.1/tcp/18789/ws')
  })

  it('refuses other schemes', () => {
    expect(() => parseNodeUrl('ftp://x')).toThrow(expect.objectContaining({ code: 'INVALID_PARAMS' }))
  })
})

describe('static peers', () => {
  it('pins the device ID into the dialled multiaddr', () => {
    const peer = parseStaticPeer(`${ID}=ws://127.0.0.1:19001`)
    expect(peer).toMatchObject({
      deviceId: ID,
      label: 'local',
      secure: false,
      multiaddr: `/ip4/127.0.0.1/tcp/19001/ws/p2p/${ID}`,
    })
  })

  it('reads fingerprint and label, keeping the pin in canonical form', () => {
    const colons = 'AB:'.repeat(31) + 'AB'
    const peer = parseStaticPeer(`${ID}=wss://relay.example:443|sha256:${colons}|wan`)
    expect(peer).toMatchObject({ tlsFingerprint: `sha256:${'ab'.repeat(32)}`, label: 'wan', secure: true })
  })

  it('reads a lone label after the URL as the label, not as a fingerprint (wan escaped the WAN policy)', () => {
    const peer = parseStaticPeer(`${ID}=wss://relay.example:443|wan`)
    expect(peer.label).toBe('wan')
    expect(peer.tlsFingerprint).toBeUndefined()
    expect(parseStaticPeer(`${ID}=wss://relay.example:443||wan`).label).toBe('wan')
  })

  it('refuses a malformed pin, a pin without TLS and extra parts', () => {
    expect(() => parseStaticPeer(`${ID}=wss://relay.example:443|AB:CD|wan`)).toThrow(/64 hex digits/)
    expect(() => parseStaticPeer(`${ID}=ws://relay.example:80|sha256:${'ab'.repeat(32)}|wan`)).toThrow(
      /needs a wss:\/\/ URL/,
    )
    expect(() => parseStaticPeer(`${ID}=wss://relay.example:443|x|wan|more`)).toThrow(/separators/)
  })

  it('refuses bad IDs and labels with a clear message', () => {
    expect(() => parseStaticPeer('nope=ws://x:1')).toThrow(/starting with 12D3KooW/)
    expect(() => parseStaticPeer(`${ID}=ws://x:1||moon`)).toThrow(/label must be one of/)
    expect(() => parseStaticPeer('ws://x:1')).toThrow(/must look like/)
  })
})
