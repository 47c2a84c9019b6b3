import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { Counters } from '../runtime/counters.ts'
import { createRelayGater } from './relay-gater.ts'

const newPeer = async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

describe('relay gater', async () => {
  const [member, otherMember, stranger] = await Promise.all([newPeer(), newPeer(), newPeer()])
  const trusted = new Set([member.toString(), otherMember.toString()])
  const make = () => {
    const counters = new Counters()
    const lines: string[] = []
    const gater = createRelayGater({
      isTrusted: (deviceId) => trusted.has(deviceId),
      counters,
      log: (line) => lines.push(line),
    })
    return { gater, counters, lines }
  }

  it('refuses encrypted connections from untrusted keys and counts them', async () => {
    const { gater, counters } = make()
    expect(await gater.denyInboundEncryptedConnection?.(member, {} as never)).toBe(false)
    expect(await gater.denyInboundEncryptedConnection?.(stranger, {} as never)).toBe(true)
    expect(counters.get('refused.connection.inbound')).toBe(1)
  })

  it('grants reservations only to trusted peers', async () => {
    const { gater, counters, lines } = make()
    expect(await gater.denyInboundRelayReservation?.(member)).toBe(false)
    expect(await gater.denyInboundRelayReservation?.(stranger)).toBe(true)
    expect(counters.get('refused.reservation')).toBe(1)
    expect(lines).toEqual([`refused reservation: ${stranger} is not trusted`])
  })

  it('relays a connection only when both ends are trusted', async () => {
    const { gater, counters } = make()
    expect(await gater.denyOutboundRelayedConnection?.(member, otherMember)).toBe(false)
    expect(await gater.denyOutboundRelayedConnection?.(stranger, member)).toBe(true)
    expect(await gater.denyOutboundRelayedConnection?.(member, stranger)).toBe(true)
    expect(counters.get('refused.relayed-connection')).toBe(2)
    expect(counters.get('relayed-connections.accepted')).toBe(1)
  })

  it('follows the trust store: a peer removed while connected is refused its next relayed connection', async () => {
    const { gater } = make()
    trusted.delete(otherMember.toString())
    try {
      expect(await gater.denyOutboundRelayedConnection?.(member, otherMember)).toBe(true)
    } finally {
      trusted.add(otherMember.toString())
    }
  })

  it('lets an operator console reach a member through the relay, but hold no reservation and never reach another console', async () => {
    const [console, otherConsole] = await Promise.all([newPeer(), newPeer()])
    const operators = new Set([console.toString(), otherConsole.toString()])
    const counters = new Counters()
    const gater = createRelayGater({
      isTrusted: (deviceId) => trusted.has(deviceId) || operators.has(deviceId),
      isOperator: (deviceId) => operators.has(deviceId),
      counters,
      log: () => {},
    })
    expect(await gater.denyInboundEncryptedConnection?.(console, {} as never)).toBe(false)
    expect(await gater.denyOutboundRelayedConnection?.(console, member)).toBe(false)
    expect(await gater.denyInboundRelayReservation?.(console)).toBe(true)
    expect(await gater.denyOutboundRelayedConnection?.(console, otherConsole)).toBe(true)
    expect(counters.get('refused.reservation.operator')).toBe(1)
    expect(counters.get('refused.relayed-connection.operators')).toBe(1)
  })
})
