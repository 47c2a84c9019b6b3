import { describe, expect, it } from 'vitest'
import { fieldLinkViews } from './field-links.ts'

describe('the field links the operator sees', () => {
  it('pair each field node with its own link state and the frames it handed over', () => {
    const views = fieldLinkViews(
      [
        { deviceId: 'a', name: 'field-1' },
        { deviceId: 'b', name: 'field-2' },
      ],
      [
        { kind: 'connected', since: 1, address: '/webrtc' },
        { kind: 'connecting', attempt: 2 },
      ],
      { b: 5, cc: 40 },
    )
    expect(views).toEqual([
      {
        deviceId: 'a',
        name: 'field-1',
        state: { kind: 'connected', since: 1, address: '/webrtc' },
        frames: 0,
      },
      { deviceId: 'b', name: 'field-2', state: { kind: 'connecting', attempt: 2 }, frames: 5 },
    ])
  })
})
