import { describe, expect, it } from 'vitest'
import { fitFramesToAnswer } from './answer-budget.ts'

describe('frames in an answer are bounded by bytes', () => {
  it('keeps the first frames that fit and says the answer was cut', () => {
    const frames = Array.from({ length: 10 }, (_, index) => ({ index, pad: 'x'.repeat(90) }))
    const size = JSON.stringify(frames[0]).length + 1
    const fitted = fitFramesToAnswer(frames, size * 3 + 2)
    expect(fitted.frames.map((frame) => frame.index)).toEqual([0, 1, 2])
    expect(fitted.truncated).toBe(true)
    expect(fitFramesToAnswer(frames, size * 10)).toEqual({ frames, truncated: false })
  })

  it('counts bytes, not characters (°C is two bytes)', () => {
    const frames = [{ unit: '°'.repeat(50) }, { unit: '°'.repeat(50) }]
    expect(fitFramesToAnswer(frames, 120).frames).toHaveLength(1)
  })
})
