import { describe, expect, it } from 'vitest'
import { NUMBER_LIST_CHUNK, NUMBER_LIST_INITIAL_CAPACITY, NumberList } from './number-list.ts'

function contents(list: NumberList): number[] {
  return Array.from({ length: list.length }, (_, index) => list.at(index) as number)
}

describe('NumberList', () => {
  it('keeps what an array would through pushes, shifts, inserts and removals across chunks', () => {
    const list = new NumberList()
    const model: number[] = []
    // Deterministic pseudo-random walk, long enough to cross several chunks in both directions.
    let state = 12_345
    const random = () => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
      return state / 2 ** 32
    }
    for (let step = 0; step < 40_000; step++) {
      const roll = random()
      if (roll < 0.6 || model.length === 0) {
        list.push(step)
        model.push(step)
      } else if (roll < 0.9) {
        list.shift()
        model.shift()
      } else if (roll < 0.95) {
        const index = Math.floor(random() * (model.length + 1))
        list.insert(index, -step)
        model.splice(index, 0, -step)
      } else {
        const index = Math.floor(random() * model.length)
        list.removeAt(index)
        model.splice(index, 1)
      }
      if (step % 997 === 0) expect(contents(list)).toEqual(model)
    }
    expect(model.length).toBeGreaterThan(2 * NUMBER_LIST_CHUNK)
    expect(contents(list)).toEqual(model)
    expect(list.last()).toBe(model[model.length - 1])
  })

  it('answers undefined outside the list and refuses an insert or removal outside it', () => {
    const list = new NumberList()
    expect(list.at(0)).toBeUndefined()
    expect(list.last()).toBeUndefined()
    list.shift() // nothing to drop: still empty
    expect(list.length).toBe(0)
    for (let index = 0; index < NUMBER_LIST_INITIAL_CAPACITY * 3; index++) list.push(index)
    expect(list.at(-1)).toBeUndefined()
    expect(list.at(list.length)).toBeUndefined()
    expect(() => list.insert(list.length + 1, 1)).toThrow(RangeError)
    expect(() => list.removeAt(list.length)).toThrow(RangeError)
  })

  it('starts again from empty after every number was shifted or removed', () => {
    const list = new NumberList()
    for (let index = 0; index < NUMBER_LIST_CHUNK + 5; index++) list.push(index)
    for (let index = 0; index < NUMBER_LIST_CHUNK + 5; index++) list.shift()
    expect(list.length).toBe(0)
    list.push(7)
    list.removeAt(0)
    list.push(8)
    expect(contents(list)).toEqual([8])
  })
})
