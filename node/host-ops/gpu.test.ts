/** GPU parsers on hand-written fixtures in the tools' documented formats (test/fixtures/host-ops:
 * this machine has no GPU), and the finding they make. */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { GPU_TEMP_WARN_C } from './constants.ts'
import { gpuFinding, parseNvidiaSmiCsv, parseTegrastats, readGpuState } from './gpu.ts'

const fixture = (name: string) =>
  readFile(join(import.meta.dirname, '../../test/fixtures/host-ops', name), 'utf8')
const dataLine = (text: string) => text.split('\n').find((line) => line !== '' && !line.startsWith('#')) ?? ''

describe('nvidia-smi', () => {
  it('reads each GPU of the csv, skips the provenance line, and leaves [N/A] out', async () => {
    const gpus = parseNvidiaSmiCsv(await fixture('nvidia-smi-query-gpu.csv'))
    expect(gpus).toEqual([
      {
        index: 0,
        name: 'NVIDIA GeForce RTX 3090',
        utilizationPct: 34,
        memoryUsedMb: 5120,
        memoryTotalMb: 24576,
        temperatureC: 61,
        powerW: 187.45,
      },
      {
        index: 1,
        name: 'NVIDIA A100-SXM4-40GB',
        utilizationPct: 97,
        memoryUsedMb: 39800,
        memoryTotalMb: 40960,
        temperatureC: 88,
      },
    ])
  })

  it('warns on a GPU at or above the warning temperature, and names the models for list', async () => {
    const gpus = parseNvidiaSmiCsv(await fixture('nvidia-smi-query-gpu.csv'))
    const state = gpuFinding(gpus, 'nvidia-smi')
    expect(state.finding).toMatchObject({ id: 'gpu', status: 'warn', risk: 'medium' })
    expect(state.fact).toBe('2× NVIDIA GeForce RTX 3090 + NVIDIA A100-SXM4-40GB')
    const cool = gpuFinding(
      [{ ...gpus[0], index: 0, name: 'x', temperatureC: GPU_TEMP_WARN_C - 1 }],
      'nvidia-smi',
    )
    expect(cool.finding.status).toBe('ok')
  })
})

describe('tegrastats', () => {
  it('reads GR3D_FREQ, the GPU temperature, shared RAM and GPU power of JetPack 4', async () => {
    expect(parseTegrastats(dataLine(await fixture('tegrastats-jetpack4.txt')))).toEqual({
      index: 0,
      name: 'Tegra integrated GPU',
      utilizationPct: 46,
      memoryUsedMb: 2448,
      memoryTotalMb: 3964,
      temperatureC: 32,
      powerW: 0.412,
    })
  })

  it('reads the lower-case sensors of JetPack 6', async () => {
    expect(parseTegrastats(dataLine(await fixture('tegrastats-jetpack6.txt')))).toMatchObject({
      utilizationPct: 0,
      memoryUsedMb: 3581,
      memoryTotalMb: 7620,
      temperatureC: 45.718,
    })
  })

  it('is not fooled by a line without GR3D_FREQ', () => {
    expect(parseTegrastats('RAM 100/200MB CPU [1%@100]')).toBeUndefined()
  })
})

describe('this machine', () => {
  // Pins "absent is unavailable, never ok": the container these tests run in has no GPU tool.
  it('reports unavailable with the reason when no GPU tool answers', async () => {
    const state = await readGpuState()
    if (state.finding.status !== 'unavailable') return // a real GPU host: nothing to pin here
    expect(state.finding.evidence[0]?.fact).toMatch(/nvidia-smi|tegrastats/)
    expect(state.fact).toMatch(/none|present/)
  })
})
