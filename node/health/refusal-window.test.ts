import { describe, expect, it } from 'vitest'
import { RECENT_REFUSAL_WINDOW_MS } from './health.ts'
import { RefusalWindow } from './refusal-window.ts'

describe('RefusalWindow', () => {
  it('counts refusals inside the window and forgets older ones', () => {
    let now = 1_000_000
    const window = new RefusalWindow(() => now)
    window.note()
    now += 1
    window.note()
    expect(window.recent()).toBe(2)
    now += RECENT_REFUSAL_WINDOW_MS - 1
    // The first refusal is now exactly one window old: still counted; a millisecond later it is not.
    expect(window.recent()).toBe(2)
    now += 1
    expect(window.recent()).toBe(1)
  })
})
