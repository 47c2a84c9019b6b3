/**
 * The terminal UI drawn by Ink in memory (ink-testing-library): keys in, frames out. The source is
 * a recording stand-in for the node (the real one is driven in test/tui-tmux.test.ts).
 */
import { render } from 'ink-testing-library'
import { createElement as h } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import { makeProposalRecord, NOW } from '../../test/helpers/safety-fixtures.ts'
import { TuiApp } from './tui-app.ts'
import type { Decision, TuiSnapshot } from './tui-model.ts'
import type { TuiSource } from './tui-source.ts'

const ENTER = '\r'
const ESCAPE = '\u001B'

function snapshot(overrides: Partial<TuiSnapshot> = {}): TuiSnapshot {
  return {
    at: NOW,
    status: {
      ok: true,
      value: { name: 'command-center', role: 'planner', meshName: 'farm', connections: [], deviceId: 'cc' },
    },
    peers: {
      ok: true,
      value: [
        {
          deviceId: '12D3KooWfield',
          name: 'field-1',
          trusted: true,
          state: 'connected',
          role: 'field',
          capabilities: [],
          addresses: [],
          latencyMs: 3,
        },
      ],
    },
    frames: { ok: true, value: [] },
    summary: { ok: true, value: 'zone-2 soil moisture 21%' },
    proposals: {
      ok: true,
      value: [
        makeProposalRecord({ proposal: { id: 'p-l2', level: 'L2', capability: 'actuator:valve:zone-2' } }),
      ],
    },
    planner: {
      ok: true,
      value: { mode: 'idle', queueDepth: 0, backend: 'rule-based', ruleBased: true, isLeader: true },
    },
    alerts: {
      ok: true,
      value: [{ seq: 4, at: NOW, level: 'warn', type: 'peer.refused', message: 'untrusted key' }],
    },
    ...overrides,
  }
}

class RecordingSource implements TuiSource {
  readonly decisions: Array<{ id: string; decision: Decision }> = []
  readonly questions: string[] = []
  estops = 0
  current = snapshot()
  async snapshot() {
    return this.current
  }
  async decide(id: string, decision: Decision) {
    this.decisions.push({ id, decision })
    return `approval of ${id}: allow`
  }
  async ask(text: string) {
    this.questions.push(text)
    return 'rule-based: zone-2 is dry'
  }
  async estop() {
    this.estops++
    return 'STOPPED: 2 actuator(s) safe and latched'
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 30))

async function until(
  lastFrame: () => string | undefined,
  wanted: string | ((frame: string) => boolean),
): Promise<string> {
  const matches = typeof wanted === 'string' ? (frame: string) => frame.includes(wanted) : wanted
  for (let i = 0; i < 100; i++) {
    const frame = lastFrame() ?? ''
    if (matches(frame)) return frame
    await tick()
  }
  throw new Error(`"${String(wanted)}" never appeared; last frame:\n${lastFrame()}`)
}

const widest = (frame: string) => Math.max(...frame.split('\n').map((line) => line.length))

let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

function start(source: TuiSource) {
  const app = render(h(TuiApp, { source, url: 'ws://127.0.0.1:18789', pollIntervalMs: 50 }))
  cleanup = app.unmount
  return app
}

/** What a terminal does on SIGWINCH: new size, then `resize` on the output stream. */
function resize(stdout: ReturnType<typeof render>['stdout'], columns: number, rows: number): void {
  Object.defineProperty(stdout, 'columns', { value: columns, configurable: true })
  Object.defineProperty(stdout, 'rows', { value: rows, configurable: true })
  stdout.emit('resize')
}

describe('tui app', () => {
  it('shows the node, planner mode, peers, alerts, proposals and the world summary', async () => {
    const { lastFrame } = start(new RecordingSource())
    const frame = await until(lastFrame, 'actuator:valve:zone-2')
    expect(frame).toContain('command-center (planner) · mesh farm')
    expect(frame).toContain('planner idle (rule-based, leader)')
    expect(frame).toContain('field-1 connected field 3ms')
    expect(frame).toContain('WARN peer.refused: untrusted key')
    expect(frame).toContain('> L2 open actuator:valve:zone-2')
    expect(frame).toContain('World: zone-2 soil moisture 21%')
  })

  it('approves an L2 only after y, and sends nothing when the confirmation is declined', async () => {
    const source = new RecordingSource()
    const { lastFrame, stdin } = start(source)
    await until(lastFrame, 'actuator:valve:zone-2')
    stdin.write('a')
    await until(lastFrame, 'Approve L2 open actuator:valve:zone-2? y approves')
    stdin.write('n')
    await until(lastFrame, '? help')
    expect(source.decisions).toEqual([])
    stdin.write('a')
    await until(lastFrame, 'y approves')
    stdin.write('y')
    await until(lastFrame, 'approval of p-l2: allow')
    expect(source.decisions).toEqual([{ id: 'p-l2', decision: 'approve' }])
  })

  it('sends a chat line to the planner and shows its answer', async () => {
    const source = new RecordingSource()
    const { lastFrame, stdin } = start(source)
    await until(lastFrame, 'actuator:valve:zone-2')
    stdin.write('/')
    await until(lastFrame, 'ask the planner>')
    stdin.write('is zone-2 dry')
    await until(lastFrame, 'ask the planner> is zone-2 dry')
    stdin.write(ENTER)
    await until(lastFrame, 'rule-based: zone-2 is dry')
    expect(source.questions).toEqual(['is zone-2 dry'])
  })

  it('the emergency stop asks first and goes on capital Y', async () => {
    const source = new RecordingSource()
    const { lastFrame, stdin } = start(source)
    await until(lastFrame, 'actuator:valve:zone-2')
    stdin.write('!')
    await until(lastFrame, 'EMERGENCY STOP every actuator')
    stdin.write(ESCAPE)
    await until(lastFrame, '? help')
    expect(source.estops).toBe(0)
    stdin.write('!')
    await until(lastFrame, 'EMERGENCY STOP every actuator')
    stdin.write('Y')
    await until(lastFrame, 'STOPPED: 2 actuator(s) safe and latched')
    expect(source.estops).toBe(1)
  })

  it('opens the key help on ?', async () => {
    const { lastFrame, stdin } = start(new RecordingSource())
    await until(lastFrame, 'actuator:valve:zone-2')
    stdin.write('?')
    const help = await until(lastFrame, 'Keys (any key closes)')
    expect(help).toContain('EMERGENCY STOP every actuator (asks for capital Y)')
    stdin.write('x')
    await until(lastFrame, 'Peers & links')
  })

  it('fits 80×24 and follows a resize', async () => {
    const { lastFrame, stdout } = start(new RecordingSource())
    await until(lastFrame, 'actuator:valve:zone-2')
    expect(widest(lastFrame() ?? '')).toBe(100)
    resize(stdout, 80, 24)
    const frame = await until(lastFrame, (text) => widest(text) <= 80)
    expect(frame.split('\n').length).toBeLessThanOrEqual(24)
    // Every pane is still there, and the selected proposal with its level and capability.
    for (const title of ['Peers & links', 'Alerts', 'Proposals awaiting', 'Live frames', 'World:'])
      expect(frame).toContain(title)
    expect(frame).toContain('> L2 open actuator:valve:zone-2')
    resize(stdout, 60, 30)
    // Narrow: the panes stack in one column, proposals first.
    const narrow = await until(lastFrame, (text) => widest(text) <= 60)
    const narrowLines = narrow.split('\n')
    expect(narrowLines.length).toBeLessThanOrEqual(30)
    expect(narrowLines.findIndex((line) => line.includes('Proposals awaiting'))).toBeLessThan(
      narrowLines.findIndex((line) => line.includes('Peers & links')),
    )
  })

  it('a part the node cannot answer is shown as unavailable; the rest still draws', async () => {
    const source = new RecordingSource()
    source.current = snapshot({ proposals: { ok: false, error: 'METHOD_NOT_FOUND proposal.list' } })
    const { lastFrame } = start(source)
    const frame = await until(lastFrame, 'unavailable: METHOD_NOT_FOUND')
    expect(frame).toContain('field-1 connected')
  })
})
