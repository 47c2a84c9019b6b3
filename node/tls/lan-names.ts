/**
 * The names a browser on this machine or its LAN may use to reach the command center: localhost,
 * loopback, the hostname (and `<hostname>.local` for mDNS resolvers) and every LAN address. They go
 * into the server certificate's SANs.
 */

import { isIP } from 'node:net'
import { hostname, networkInterfaces } from 'node:os'

export interface SubjectNames {
  dns: string[]
  ips: string[]
}

export function localSubjectNames(extra: readonly string[] = []): SubjectNames {
  const dns = new Set<string>(['localhost'])
  const ips = new Set<string>(['127.0.0.1', '::1'])
  const host = hostname().toLowerCase()
  if (host !== '' && isIP(host) === 0) {
    dns.add(host)
    if (!host.includes('.')) dns.add(`${host}.local`)
  }
  for (const address of lanAddresses()) ips.add(address)
  for (const name of extra) {
    const trimmed = name.trim().toLowerCase()
    if (trimmed === '') continue
    if (isIP(trimmed) !== 0) ips.add(trimmed)
    else dns.add(trimmed)
  }
  return { dns: [...dns], ips: [...ips] }
}

/** Non-loopback unicast addresses of this machine. IPv6 link-local addresses are left out: a
 * browser cannot put their zone index in a URL. */
export function lanAddresses(): string[] {
  const addresses: string[] = []
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.internal) continue
      if (entry.family === 'IPv6' && entry.address.toLowerCase().startsWith('fe80')) continue
      addresses.push(entry.address)
    }
  }
  return addresses
}
