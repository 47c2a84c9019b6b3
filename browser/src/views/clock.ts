/** A shared one-second clock, so ages ("12 s ago") tick without each view running its own timer. */
import { createRoot, createSignal } from 'solid-js'

export const now = createRoot(() => {
  const [time, setTime] = createSignal(Date.now())
  setInterval(() => setTime(Date.now()), 1_000)
  return time
})
