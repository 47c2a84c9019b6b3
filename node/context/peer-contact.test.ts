/**
 * PeerContact with an injected clock: the silence bound is where a gap begins (exact boundary), the
 * gap starts at the time the peer was last heard (not when the link was noticed down), and each
 * peer is tracked on its own.
 */
import { describe, expect, it } from 'vitest'
import { CATCHUP_AFTER_SILENCE_MS } from './constants.ts'
import { PeerContact } from './peer-contact.ts'

function clocked() {
  let now = 1_000_000
  const contact = new PeerContact({ now: () => now })
  return { contact, advance: (ms: number) => (now += ms), now: () => now }
}

describe('PeerContact', () => {
  it('a first message from a peer is no gap (its connect starts the catch-up)', () => {
    const { contact, now } = clocked()
    expect(contact.heard('peer-a')).toEqual({ gap: false })
    expect(contact.lastHeard('peer-a')).toBe(now())
  })

  it('a peer heard again just under the silence bound has no gap; at the bound it has one since it was last heard', () => {
    const { contact, advance } = clocked()
    contact.heard('peer-a')
    advance(CATCHUP_AFTER_SILENCE_MS - 1)
    expect(contact.heard('peer-a')).toEqual({ gap: false })
    const lastHeard = contact.lastHeard('peer-a') as number
    advance(CATCHUP_AFTER_SILENCE_MS)
    expect(contact.heard('peer-a')).toEqual({ gap: true, since: lastHeard })
    // Heard now: the next message a moment later is no gap.
    advance(10)
    expect(contact.heard('peer-a')).toEqual({ gap: false })
  })

  // Regression: the reconnect catch-up used to start from the disconnect, seconds after the cut
  // (the connection monitor's ping timeout), so frames published in between were never asked for.
  it('the point a reconnect catches up from is the last time the peer was heard, whatever happened after', () => {
    const { contact, advance } = clocked()
    contact.heard('peer-a')
    const cutAt = contact.lastHeard('peer-a')
    advance(15_000)
    expect(contact.lastHeard('peer-a')).toBe(cutAt)
  })

  it('peers are tracked each on its own', () => {
    const { contact, advance } = clocked()
    contact.heard('peer-a')
    contact.heard('peer-b')
    advance(CATCHUP_AFTER_SILENCE_MS)
    expect(contact.heard('peer-b')).toMatchObject({ gap: true })
    advance(1)
    expect(contact.heard('peer-b')).toEqual({ gap: false })
    expect(contact.heard('peer-a')).toMatchObject({ gap: true })
  })
})
