/**
 * The terminal UI drawn with Ink: a header (node, mesh, planner mode), peers and links, alerts,
 * proposals awaiting a decision, live frames, the world summary, a chat line to the planner and
 * the key line. Written with `React.createElement` (the `h` alias), not JSX: Node runs this file by
 * type stripping, which does not transform JSX, and the repository's JSX setting belongs to the
 * Solid console. Keys and state live in tui-model.ts; this file only draws and runs actions.
 */
import { Box, Text, useApp, useInput, useStdout } from 'ink'
import { createElement as h, type ReactElement, useCallback, useEffect, useRef, useState } from 'react'
import { TUI_POLL_INTERVAL_MS, TUI_TWO_COLUMN_MIN_WIDTH } from './constants.ts'
import {
  bodyRows,
  confirmationPrompt,
  describeAlert,
  describeFrame,
  describePeer,
  describePlanner,
  describeProposal,
  HELP_LINES,
  INITIAL_UI_STATE,
  type Part,
  paneContentRows,
  pendingProposals,
  reduceKey,
  type TuiAction,
  type TuiSnapshot,
  type TuiUiState,
} from './tui-model.ts'
import type { TuiSource } from './tui-source.ts'

export interface TuiAppProps {
  readonly source: TuiSource
  readonly url: string
  readonly pollIntervalMs?: number
}

/** The terminal's size, following resizes (SIGWINCH reaches Ink's stdout as `resize`). */
function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout()
  const read = useCallback(
    () => ({ columns: stdout.columns > 0 ? stdout.columns : 80, rows: stdout.rows > 0 ? stdout.rows : 24 }),
    [stdout],
  )
  const [size, setSize] = useState(read)
  useEffect(() => {
    const onResize = () => setSize(read())
    stdout.on('resize', onResize)
    return () => {
      stdout.off('resize', onResize)
    }
  }, [stdout, read])
  return size
}

function lines<T>(value: Part<readonly T[]> | undefined, describe: (item: T) => string, empty: string) {
  if (value === undefined) return ['…']
  if (!value.ok) return [`unavailable: ${value.error}`]
  return value.value.length === 0 ? [empty] : value.value.map(describe)
}

function Pane(props: {
  title: string
  rows: number
  width?: number | string
  lines: readonly string[]
  selected?: number
}): ReactElement {
  const shown = props.lines.slice(0, props.rows)
  return h(
    Box,
    {
      flexDirection: 'column',
      borderStyle: 'single',
      height: props.rows + 3,
      overflow: 'hidden',
      ...(props.width === undefined ? { flexGrow: 1 } : { width: props.width }),
    },
    h(Text, { bold: true, wrap: 'truncate-end' }, props.title),
    ...shown.map((line, index) =>
      h(
        Text,
        { key: index, wrap: 'truncate-end', inverse: props.selected === index },
        props.selected === undefined ? line : `${props.selected === index ? '>' : ' '} ${line}`,
      ),
    ),
  )
}

export function TuiApp(props: TuiAppProps): ReactElement {
  const { exit } = useApp()
  const { columns, rows } = useTerminalSize()
  const [snapshot, setSnapshot] = useState<TuiSnapshot | undefined>(undefined)
  const [ui, setUi] = useState<TuiUiState>(INITIAL_UI_STATE)
  const [message, setMessage] = useState('connected; ? for help')
  const polling = useRef(false)
  const { source } = props

  const poll = useCallback(async () => {
    if (polling.current) return
    polling.current = true
    try {
      setSnapshot(await source.snapshot())
    } finally {
      polling.current = false
    }
  }, [source])

  useEffect(() => {
    void poll()
    const timer = setInterval(() => void poll(), props.pollIntervalMs ?? TUI_POLL_INTERVAL_MS)
    return () => clearInterval(timer)
  }, [poll, props.pollIntervalMs])

  const run = useCallback(
    (action: TuiAction) => {
      if (action.kind === 'quit') return exit()
      const started =
        action.kind === 'decide'
          ? `${action.decision === 'approve' ? 'approving' : 'rejecting'} ${action.id}…`
          : action.kind === 'ask'
            ? `asking the planner: ${action.text}`
            : 'EMERGENCY STOP sent…'
      setMessage(started)
      const done =
        action.kind === 'decide'
          ? source.decide(action.id, action.decision)
          : action.kind === 'ask'
            ? source.ask(action.text)
            : source.estop()
      void done.then((line) => {
        setMessage(line)
        void poll()
      })
    },
    [source, exit, poll],
  )

  const pending = snapshot?.proposals.ok === true ? pendingProposals(snapshot.proposals.value) : []
  // Keys may arrive faster than React re-renders: each one reads the state the previous one left.
  const latest = useRef({ ui, pending })
  latest.current.pending = pending
  useInput((input, key) => {
    const outcome = reduceKey(latest.current.ui, input, key, latest.current.pending)
    latest.current.ui = outcome.state
    setUi(outcome.state)
    if (outcome.action !== undefined) run(outcome.action)
  })

  const now = snapshot?.at ?? Date.now()
  const status = snapshot?.status
  const header = `${status?.ok === true ? `${status.value.name} (${status.value.role}) · mesh ${status.value.meshName}` : props.url} · planner ${snapshot === undefined ? '…' : snapshot.planner.ok ? describePlanner(snapshot.planner.value) : 'none'}`
  const body = bodyRows(rows)
  const twoColumns = columns >= TUI_TWO_COLUMN_MIN_WIDTH
  // Stacked (narrow terminal): four panes share the body, each with its border and title.
  const paneRows = twoColumns
    ? paneContentRows(body)
    : { top: Math.max(Math.floor(body / 4) - 3, 1), bottom: 0 }
  const stackedRows = paneRows.top
  const connections = status?.ok === true ? status.value.connections : []

  const peersPane = h(Pane, {
    key: 'peers',
    title: 'Peers & links',
    rows: paneRows.top,
    lines: lines(snapshot?.peers, (peer) => describePeer(peer, connections), 'no peers'),
  })
  const alertsPane = h(Pane, {
    key: 'alerts',
    title: 'Alerts',
    rows: twoColumns ? paneRows.bottom : stackedRows,
    lines: lines(snapshot?.alerts, describeAlert, 'no alerts'),
  })
  const proposalLines =
    snapshot === undefined
      ? ['…']
      : !snapshot.proposals.ok
        ? [`unavailable: ${snapshot.proposals.error}`]
        : pending.length === 0
          ? ['none awaiting a decision']
          : pending.map((record) => describeProposal(record, now))
  const proposalsPane = h(Pane, {
    key: 'proposals',
    title: `Proposals awaiting decision (${pending.length}) · a approve · r reject`,
    rows: paneRows.top,
    lines: proposalLines,
    ...(pending.length > 0 ? { selected: Math.min(ui.selected, pending.length - 1) } : {}),
  })
  const framesPane = h(Pane, {
    key: 'frames',
    title: 'Live frames',
    rows: twoColumns ? paneRows.bottom : stackedRows,
    lines: lines(snapshot?.frames, (frame) => describeFrame(frame, now), 'no frames yet'),
  })

  const bodyElement =
    ui.mode.kind === 'help'
      ? h(Pane, { title: 'Keys (any key closes)', rows: body - 3, lines: HELP_LINES })
      : twoColumns
        ? h(
            Box,
            { flexDirection: 'row', height: body },
            h(Box, { flexDirection: 'column', width: '45%' }, peersPane, alertsPane),
            h(Box, { flexDirection: 'column', flexGrow: 1 }, proposalsPane, framesPane),
          )
        : h(Box, { flexDirection: 'column', height: body }, proposalsPane, peersPane, alertsPane, framesPane)

  const summary =
    snapshot === undefined ? '…' : snapshot.summary.ok ? snapshot.summary.value : snapshot.summary.error
  const prompt = confirmationPrompt(ui.mode, pending)
  const bottomLine =
    ui.mode.kind === 'chat'
      ? h(Text, { wrap: 'truncate-start' }, `ask the planner> ${ui.mode.draft}█`)
      : h(Text, { wrap: 'truncate-end' }, message)
  const keyLine =
    prompt !== undefined
      ? h(Text, { wrap: 'truncate-end', color: 'yellow', bold: true }, prompt)
      : h(
          Text,
          { wrap: 'truncate-end', dimColor: true },
          '↑↓ select  a approve  r reject  / ask  ! STOP  ? help  q quit',
        )

  return h(
    Box,
    { flexDirection: 'column', width: columns, height: rows },
    h(Text, { bold: true, wrap: 'truncate-end' }, header),
    bodyElement,
    h(Text, { wrap: 'truncate-end' }, `World: ${summary.replace(/\s+/g, ' ')}`),
    bottomLine,
    keyLine,
  )
}
