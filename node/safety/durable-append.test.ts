import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { appendLinesDurably, GroupCommitFile } from './durable-append.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clawmesh-append-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('GroupCommitFile', () => {
  it('writes lines appended while a write is in flight together, and resolves each once it is on disk', async () => {
    const path = join(dir, 'log.jsonl')
    const batches: string[][] = []
    const file = new GroupCommitFile(path, async (target, lines) => {
      batches.push([...lines])
      await appendLinesDurably(target, lines)
    })
    const appended = Array.from({ length: 10 }, (_, i) =>
      file.append(JSON.stringify({ i })).then(async () => {
        const onDisk = (await readFile(path, 'utf8')).trimEnd().split('\n')
        expect(onDisk).toContain(JSON.stringify({ i }))
      }),
    )
    await Promise.all(appended)
    expect(batches.length).toBeLessThan(10)
    expect(batches.flat()).toEqual(Array.from({ length: 10 }, (_, i) => JSON.stringify({ i })))
    expect((await readFile(path, 'utf8')).trimEnd().split('\n')).toEqual(batches.flat())
  })

  it('refuses every later append after a failed write (fail-stop), so no record follows a lost one', async () => {
    let fail = true
    const file = new GroupCommitFile(join(dir, 'log.jsonl'), async (target, lines) => {
      if (fail) throw new Error('disk full')
      await appendLinesDurably(target, lines)
    })
    await expect(file.append('{"a":1}')).rejects.toThrow('disk full')
    fail = false
    await expect(file.append('{"a":2}')).rejects.toThrow('no further records are accepted')
  })

  it('runs an exclusive task with no write in flight and holds later writes until it ends', async () => {
    const path = join(dir, 'log.jsonl')
    const file = new GroupCommitFile(path)
    await file.append('{"n":1}')
    const seen: string[] = []
    const exclusive = file.exclusive(async () => {
      seen.push(await readFile(path, 'utf8'))
      await new Promise((resolve) => setTimeout(resolve, 20))
      seen.push(await readFile(path, 'utf8'))
    })
    const second = file.append('{"n":2}')
    await Promise.all([exclusive, second])
    expect(seen).toEqual(['{"n":1}\n', '{"n":1}\n'])
    expect(await readFile(path, 'utf8')).toBe('{"n":1}\n{"n":2}\n')
  })
})
