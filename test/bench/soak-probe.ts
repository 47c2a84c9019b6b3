/**
 * Loaded into every soak worker with `--import` (test/bench/soak.bench.ts), beside the fan-out
 * worker it measures (test/bench/fanout-worker.ts, which it leaves untouched): answers the parent's
 * `sample` with the process's memory, open file descriptors and event-loop lag since the last
 * sample — with `liveHeap`, also the heap left after a full collection (the worker runs with
 * `--expose-gc`), the live set a leak grows whatever the point of the GC cycle — and `heap-snapshot` by writing a V8 heap snapshot (to find what holds a node's memory).
 */
import { readdirSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { writeHeapSnapshot } from 'node:v8'

export type ProbeRequest = { type: 'sample'; liveHeap?: boolean } | { type: 'heap-snapshot'; path: string }

export type ProbeReply =
  | {
      type: 'sample'
      rssBytes: number
      heapUsedBytes: number
      heapTotalBytes: number
      externalBytes: number
      arrayBuffersBytes: number
      /** Heap used right after a full collection (asked with `liveHeap`, and `--expose-gc`). */
      liveHeapBytes?: number
      openFds: number
      /** Event-loop delay since the previous sample, ms (perf_hooks histogram, 10 ms resolution). */
      lagP50Ms: number
      lagP99Ms: number
      lagMaxMs: number
    }
  | { type: 'heap-snapshot'; path: string; ms: number }

/** Coarse enough to cost nothing at 500 frames/s, fine enough to see a stall of tens of ms. */
const LAG_RESOLUTION_MS = 10

const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS })
lag.enable()

const nsToMs = (ns: number) => Math.round(ns / 1e4) / 100

// A worker whose bench is gone (killed, crashed) exits instead of publishing into the void.
process.on('disconnect', () => process.exit(0))

process.on('message', (message: ProbeRequest) => {
  if (message.type === 'sample') {
    const memory = process.memoryUsage()
    const gc = (globalThis as { gc?: () => void }).gc
    let liveHeapBytes: number | undefined
    if (message.liveHeap === true && gc !== undefined) {
      gc()
      liveHeapBytes = process.memoryUsage().heapUsed
    }
    const reply: ProbeReply = {
      type: 'sample',
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      externalBytes: memory.external,
      arrayBuffersBytes: memory.arrayBuffers,
      openFds: readdirSync('/proc/self/fd').length,
      lagP50Ms: nsToMs(lag.percentile(50)),
      lagP99Ms: nsToMs(lag.percentile(99)),
      lagMaxMs: nsToMs(lag.max),
      ...(liveHeapBytes === undefined ? {} : { liveHeapBytes }),
    }
    lag.reset()
    process.send?.(reply)
  } else if (message.type === 'heap-snapshot') {
    const started = performance.now()
    const path = writeHeapSnapshot(message.path)
    process.send?.({
      type: 'heap-snapshot',
      path,
      ms: Math.round(performance.now() - started),
    } satisfies ProbeReply)
  }
})
