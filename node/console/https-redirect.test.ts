import { describe, expect, it } from 'vitest'
import { httpsRedirectFor, type OwnNames } from './https-redirect.ts'

const own: OwnNames = { has: (host) => ['localhost', 'cc.farm.example', '10.9.8.7', '::1'].includes(host) }

describe('httpsRedirectFor', () => {
  it('redirects to HTTPS on this port at one of the own names, whatever port the Host header gave', () => {
    expect(httpsRedirectFor('CC.farm.example:80', '/twin?x=1', own, 18443)).toEqual({
      outcome: 'accept',
      location: 'https://cc.farm.example:18443/twin?x=1',
    })
    expect(httpsRedirectFor('[::1]:18443', '/', own, 18443)).toEqual({
      outcome: 'accept',
      location: 'https://[::1]:18443/',
    })
    expect(httpsRedirectFor('10.9.8.7', undefined, own, 18443)).toEqual({
      outcome: 'accept',
      location: 'https://10.9.8.7:18443/',
    })
  })

  it('refuses a forged or missing Host header instead of redirecting there', () => {
    for (const forged of ['evil.example', 'evil.example:18443', 'localhost@evil.example', 'localhost/x', '%'])
      expect(httpsRedirectFor(forged, '/', own, 18443), forged).toEqual({
        outcome: 'reject',
        reason: 'host-unknown',
      })
    expect(httpsRedirectFor(undefined, '/', own, 18443)).toEqual({
      outcome: 'reject',
      reason: 'host-missing',
    })
  })

  it('keeps an absolute-form request target out of the Location', () => {
    expect(httpsRedirectFor('localhost', 'http://evil.example/', own, 18443)).toEqual({
      outcome: 'accept',
      location: 'https://localhost:18443/',
    })
  })
})
