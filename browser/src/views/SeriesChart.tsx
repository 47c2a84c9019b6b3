/** A uPlot time series of one metric: one line per sensor, redrawn as observations arrive. */
import { createEffect, onCleanup, onMount } from 'solid-js'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { ObservationPoint } from '../state/mesh-state.ts'

const PALETTE = ['#38bd94', '#f2a541', '#6aa9ff', '#e86a92', '#b38cff', '#9ad66b']

/** Aligns the readings of several sensors on one time axis (seconds), as uPlot expects. */
export function alignSeries(points: readonly ObservationPoint[]): {
  sources: string[]
  data: uPlot.AlignedData
} {
  const sources = [...new Set(points.map((point) => point.source))].sort()
  const times = [...new Set(points.map((point) => Math.round(point.at / 1_000)))].sort((a, b) => a - b)
  const index = new Map(times.map((time, position) => [time, position]))
  const columns = sources.map(() => new Array<number | null>(times.length).fill(null))
  for (const point of points) {
    const column = columns[sources.indexOf(point.source)]
    const position = index.get(Math.round(point.at / 1_000))
    if (column !== undefined && position !== undefined) column[position] = point.value
  }
  return { sources, data: [times, ...columns] as uPlot.AlignedData }
}

export function SeriesChart(props: { metric: string; unit: string; points: readonly ObservationPoint[] }) {
  let container!: HTMLDivElement
  let plot: uPlot | undefined
  let plottedSources = ''

  const draw = () => {
    const { sources, data } = alignSeries(props.points)
    const width = Math.max(280, container.clientWidth)
    if (plot !== undefined && plottedSources === sources.join('|')) {
      plot.setData(data)
      return
    }
    plot?.destroy()
    plottedSources = sources.join('|')
    plot = new uPlot(
      {
        width,
        height: 220,
        title: `${props.metric} (${props.unit})`,
        scales: { x: { time: true } },
        series: [
          {},
          ...sources.map((source, position) => ({
            label: source,
            stroke: PALETTE[position % PALETTE.length] ?? '#38bd94',
            width: 2,
            spanGaps: true,
          })),
        ],
        axes: [{ stroke: '#9fb3c8' }, { stroke: '#9fb3c8' }],
      },
      data,
      container,
    )
  }

  onMount(() => {
    draw()
    const resize = () => plot?.setSize({ width: Math.max(280, container.clientWidth), height: 220 })
    window.addEventListener('resize', resize)
    onCleanup(() => {
      window.removeEventListener('resize', resize)
      plot?.destroy()
    })
  })
  createEffect(() => {
    void props.points.length
    if (plot !== undefined || container !== undefined) draw()
  })
  return <div class="chart" data-testid="telemetry-chart" data-metric={props.metric} ref={container} />
}
