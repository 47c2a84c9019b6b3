import { describe, expect, it } from 'vitest'
import { claimsMoreLocalThan, classifyNodeUrl, classifyOperatorLink } from './operator-link.ts'

describe('one classifier for the link an approval came over', () => {
  it.each([
    ['/ip4/127.0.0.1/tcp/1/ws', 'local'],
    ['/ip4/192.168.1.9/tcp/1/ws', 'lan'],
    ['/ip4/10.0.0.2/tcp/1/wss', 'lan'],
    ['/ip4/172.20.0.2/tcp/1/ws', 'lan'],
    ['/ip4/172.32.0.2/tcp/1/ws', 'wan'],
    ['/ip4/203.0.113.5/tcp/1/ws', 'wan'],
    ['/ip4/10.0.0.2/tcp/1/ws/p2p/12D3KooWA/p2p-circuit', 'relay'],
    ['/ip4/10.0.0.2/udp/1/webrtc-direct', 'relay'],
  ])('%s is %s', (address, link) => {
    expect(classifyOperatorLink(address)).toBe(link)
  })

  it('the CLI never calls a public address lan', () => {
    expect(classifyNodeUrl('ws://127.0.0.1:18789')).toBe('local')
    expect(classifyNodeUrl('ws://192.168.1.39:18789')).toBe('lan')
    expect(classifyNodeUrl('wss://mesh.example.com')).toBe('wan')
    expect(classifyNodeUrl('wss://203.0.113.7:18789')).toBe('wan')
  })

  it('a claim may be less local than observed, never more', () => {
    expect(claimsMoreLocalThan('lan', 'relay')).toBe(true)
    expect(claimsMoreLocalThan('wan', 'lan')).toBe(false)
    expect(claimsMoreLocalThan('lan', 'lan')).toBe(false)
  })
})
