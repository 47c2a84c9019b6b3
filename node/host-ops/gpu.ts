/**
 * GPU facts for `doctor` and `clawmesh list`: `nvidia-smi --query-gpu=… --format=csv,noheader,nounits`
 * on NVIDIA hosts, one line of `tegrastats` on Jetson boards (whose integrated GPU nvidia-smi does not
 * report), else the DRM devices the kernel lists (/sys/class/drm: present, but no load to read).
 * `systeminformation` (which would list controllers the same way, through lspci) is not a dependency
 * of this project, so the kernel's own list stands in for it. No GPU, or none readable, is
 * `unavailable` with the reason — never `ok`.
 */
import { spawn } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import type { Finding } from '../../protocol/host-ops/findings.ts'
import { GPU_MEMORY_WARN_RATIO, GPU_TEMP_FAIL_C, GPU_TEMP_WARN_C, HOST_TOOL_TIMEOUT_MS } from './constants.ts'
import { runTool } from './run-tool.ts'
import { finding, unavailable } from './workflow-context.ts'

/** The fields asked of nvidia-smi, in the order it prints them. */
export const NVIDIA_SMI_FIELDS = [
  'index',
  'name',
  'utilization.gpu',
  'memory.used',
  'memory.total',
  'temperature.gpu',
  'power.draw',
] as const

export interface GpuReading {
  readonly index: number
  readonly name: string
  readonly utilizationPct?: number
  readonly memoryUsedMb?: number
  readonly memoryTotalMb?: number
  readonly temperatureC?: number
  readonly powerW?: number
}

/** A number, or undefined for nvidia-smi's "[N/A]" / "[Not Supported]" and anything unreadable. */
function reading(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value.trim())
  return value.trim() === '' || !Number.isFinite(number) ? undefined : number
}

/** `nvidia-smi --query-gpu=<NVIDIA_SMI_FIELDS> --format=csv,noheader,nounits`: one GPU a line,
 * comma-separated. Lines that are not a GPU (blank, `#` comments) are skipped. */
export function parseNvidiaSmiCsv(text: string): GpuReading[] {
  const gpus: GpuReading[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const cells = line.split(',').map((cell) => cell.trim())
    const index = reading(cells[0])
    if (index === undefined || cells.length < NVIDIA_SMI_FIELDS.length) continue
    const [, name, utilization, used, total, temperature, power] = cells
    const values = {
      utilizationPct: reading(utilization),
      memoryUsedMb: reading(used),
      memoryTotalMb: reading(total),
      temperatureC: reading(temperature),
      powerW: reading(power),
    }
    gpus.push({
      index,
      name: name ?? '',
      ...Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)),
    })
  }
  return gpus
}

/** One `tegrastats` line (Jetson). The GPU is `GR3D_FREQ n%` (JetPack 4 adds `@MHz`), its temperature
 * `GPU@t C` (JetPack 4) or `gpu@t C` (JetPack 5/6); memory is shared: `RAM used/totalMB`. Undefined
 * when the line has no GR3D_FREQ (not a tegrastats line). */
export function parseTegrastats(line: string): GpuReading | undefined {
  const load = /\bGR3D_FREQ (\d+)%/.exec(line)
  if (load === null) return undefined
  const temperature = /\bgpu@(-?[\d.]+)C/i.exec(line)
  const ram = /\bRAM (\d+)\/(\d+)MB/.exec(line)
  const power = /\b(?:POM_5V_GPU|VDD_GPU_SOC|VDD_GPU) (\d+)(?:mW)?\/(\d+)/.exec(line)
  return {
    index: 0,
    name: 'Tegra integrated GPU',
    utilizationPct: Number(load[1]),
    ...(ram === null ? {} : { memoryUsedMb: Number(ram[1]), memoryTotalMb: Number(ram[2]) }),
    ...(temperature === null ? {} : { temperatureC: Number(temperature[1]) }),
    ...(power === null ? {} : { powerW: Number(power[1]) / 1000 }),
  }
}

/** tegrastats prints a line every interval until stopped: the first line, then it is killed. */
function firstTegrastatsLine(): Promise<{ line: string } | { reason: string }> {
  return new Promise((resolve) => {
    const child = spawn('tegrastats', ['--interval', '500'], { stdio: ['ignore', 'pipe', 'ignore'] })
    let buffered = ''
    const done = (answer: { line: string } | { reason: string }) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      resolve(answer)
    }
    const timer = setTimeout(
      () => done({ reason: 'tegrastats printed no line within its time limit' }),
      HOST_TOOL_TIMEOUT_MS,
    )
    child.on('error', (error: NodeJS.ErrnoException) =>
      done({ reason: error.code === 'ENOENT' ? 'tegrastats is not installed' : error.message }),
    )
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      const end = buffered.indexOf('\n')
      if (end !== -1) done({ line: buffered.slice(0, end) })
    })
    child.on('exit', () => done({ reason: 'tegrastats exited without a line' }))
  })
}

const DRM_VENDORS: Readonly<Record<string, string>> = {
  '0x10de': 'NVIDIA',
  '0x1002': 'AMD',
  '0x8086': 'Intel',
  '0x13b5': 'ARM',
}

/** The display controllers the kernel's DRM lists (card0, card1 …; connectors like card0-HDMI-A-1
 * are not devices). */
async function drmDevices(root = '/sys/class/drm'): Promise<string[]> {
  const cards = (await readdir(root).catch(() => [] as string[])).filter((name) => /^card\d+$/.test(name))
  const devices: string[] = []
  for (const card of cards) {
    const vendor = (await readFile(`${root}/${card}/device/vendor`, 'utf8').catch(() => '')).trim()
    if (vendor !== '') devices.push(`${card} ${DRM_VENDORS[vendor] ?? `vendor ${vendor}`}`)
  }
  return devices
}

export interface GpuState {
  readonly finding: Finding
  /** For `clawmesh list`: model and count, or why there is none. */
  readonly fact: string
}

/** The `gpu` finding of one reading per GPU (nvidia-smi or tegrastats). */
export function gpuFinding(gpus: readonly GpuReading[], source: string): GpuState {
  const hot = gpus.filter((gpu) => (gpu.temperatureC ?? 0) >= GPU_TEMP_WARN_C)
  const burning = gpus.filter((gpu) => (gpu.temperatureC ?? 0) >= GPU_TEMP_FAIL_C)
  const full = gpus.filter(
    (gpu) =>
      gpu.memoryUsedMb !== undefined &&
      gpu.memoryTotalMb !== undefined &&
      gpu.memoryTotalMb > 0 &&
      gpu.memoryUsedMb / gpu.memoryTotalMb >= GPU_MEMORY_WARN_RATIO,
  )
  const status = burning.length > 0 ? 'fail' : hot.length > 0 || full.length > 0 ? 'warn' : 'ok'
  const describe = (gpu: GpuReading) =>
    [
      `#${gpu.index} ${gpu.name}`,
      gpu.utilizationPct === undefined ? undefined : `${gpu.utilizationPct}% busy`,
      gpu.memoryUsedMb === undefined ? undefined : `${gpu.memoryUsedMb}/${gpu.memoryTotalMb ?? '?'} MiB`,
      gpu.temperatureC === undefined ? undefined : `${gpu.temperatureC} °C`,
      gpu.powerW === undefined ? undefined : `${gpu.powerW} W`,
    ]
      .filter((part) => part !== undefined)
      .join(', ')
  const names = [...new Set(gpus.map((gpu) => gpu.name))]
  return {
    fact: `${gpus.length}× ${names.join(' + ')}`.slice(0, 120),
    finding: finding({
      id: 'gpu',
      check: 'gpu',
      status,
      risk: status === 'fail' ? 'high' : status === 'warn' ? 'medium' : 'low',
      summary: `${gpus.length} GPU(s): ${gpus.map(describe).join('; ')}`,
      evidence: gpus.map((gpu) => ({ source, fact: describe(gpu) })),
      recommendation:
        burning.length > 0
          ? `GPU at ${GPU_TEMP_FAIL_C} °C or more: it throttles or shuts down; check cooling and the workload`
          : hot.length > 0 || full.length > 0
            ? 'a GPU runs hot or its memory is nearly full: look at what runs on it (nvidia-smi)'
            : '',
    }),
  }
}

export async function readGpuState(): Promise<GpuState> {
  const query = `--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`
  const smi = await runTool('nvidia-smi', [query, '--format=csv,noheader,nounits'])
  const reasons: string[] = []
  if (smi.outcome === 'ok') {
    const gpus = parseNvidiaSmiCsv(smi.stdout)
    if (gpus.length > 0) return gpuFinding(gpus, 'nvidia-smi')
    reasons.push('nvidia-smi listed no GPU')
  } else
    reasons.push(
      smi.outcome === 'unavailable'
        ? smi.reason
        : `nvidia-smi exited ${smi.code}: ${`${smi.stdout}${smi.stderr}`.trim().slice(0, 120)}`,
    )
  const tegra = await firstTegrastatsLine()
  if ('line' in tegra) {
    const gpu = parseTegrastats(tegra.line)
    if (gpu !== undefined) return gpuFinding([gpu], 'tegrastats')
    reasons.push('tegrastats printed no GR3D_FREQ')
  } else reasons.push(tegra.reason)
  const devices = await drmDevices()
  if (devices.length > 0) {
    return {
      fact: `${devices.length} present, load unknown`,
      finding: unavailable(
        'gpu',
        'gpu',
        `${devices.join(', ')} present but nothing reads its load here (${reasons.join('; ')})`,
        '/sys/class/drm',
      ),
    }
  }
  return {
    fact: 'none',
    finding: unavailable(
      'gpu',
      'gpu',
      `no GPU found: ${reasons.join('; ')}; no DRM device`,
      'nvidia-smi/tegrastats',
    ),
  }
}
