/**
 * What the console e2e tests do to a paired console's page the way an operator would: switch views
 * with the tab row, and read where the tab row and the status bar sit on screen.
 */
import type { Page } from 'puppeteer-core'

/** The console's views, as its tab row names them (browser/src/App.tsx `VIEWS`). */
export type ConsoleView = 'topology' | 'telemetry' | 'command' | 'twin' | 'alerts' | 'fleet'

/** Clicks the tab of `view` and waits until the console marks it selected: a click that missed the
 * tab (the page moved under the pointer) fails here, naming the tab, rather than later on an element
 * of the view that never rendered. */
export async function openTab(page: Page, view: ConsoleView): Promise<void> {
  await page.click(`[data-testid="tab-${view}"]`)
  await page.waitForSelector(`[data-testid="tab-${view}"][aria-selected="true"]`)
}

/** Puppeteer's default viewport, and a small phone's. */
export const WIDE_VIEWPORT = { width: 800, height: 600 } as const
export const NARROW_VIEWPORT = { width: 375, height: 667 } as const

export interface TabRowLayout {
  /** What the status bar showed when measured. */
  readonly link: string | null
  readonly staleBanner: boolean
  readonly reconnectButton: boolean
  /** Where the tab row starts, in CSS px from the top of the viewport. */
  readonly tabTop: number
  /** How far the page is wider than the viewport (0: no horizontal scrolling). */
  readonly horizontalOverflow: number
  /** The emergency stop is inside the viewport and the topmost element at its centre. */
  readonly estopReachable: boolean
  /** The Reconnect button, when shown, is the topmost element at its centre. */
  readonly reconnectReachable: boolean
}

/** Measured in the page: `document.elementFromPoint` tells whether a tap at a button's centre would
 * reach it (not clipped, not under another element). */
const MEASURE_TAB_ROW = `(() => {
  const reachable = (element) => {
    if (element === null) return false
    const box = element.getBoundingClientRect()
    if (box.width === 0 || box.left < 0 || box.right > window.innerWidth) return false
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2)
    return hit !== null && element.contains(hit)
  }
  const reconnect = document.querySelector('button[aria-label="Reconnect now"]')
  return {
    link: document.querySelector('[data-testid="link-status"]')?.getAttribute('data-state') ?? null,
    staleBanner: document.querySelector('[data-testid="stale-banner"]') !== null,
    reconnectButton: reconnect !== null,
    tabTop: document.querySelector('[data-testid="tab-command"]').getBoundingClientRect().top,
    horizontalOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    estopReachable: reachable(document.querySelector('[data-testid="estop-button"]')),
    reconnectReachable: reconnect === null || reachable(reconnect),
  }
})()`

/** The tab row's position and the status bar's reach at `viewport` (the page is resized to it). */
export async function tabRowLayout(
  page: Page,
  viewport: { readonly width: number; readonly height: number },
): Promise<TabRowLayout> {
  await page.setViewport(viewport)
  return (await page.evaluate(MEASURE_TAB_ROW)) as TabRowLayout
}
