/**
 * Who leads planning. The planner session asks this before running proactive triggers and before
 * answering operator input itself; the election (`planner.election`) implements it. A node that is
 * the only planner in its mesh uses `soleLeader`.
 */
export interface LeaderInfo {
  deviceId: string
  /** Monotonic leader term; actuators refuse proposals and commands issued under an older one. */
  term: number
}

export interface LeaderView {
  /** The current leader, or undefined while none is known (no live planner). */
  leader(): LeaderInfo | undefined
  isLeader(): boolean
  /** Called with the new leader whenever it changes. Returns an unsubscribe function. */
  onChange(listener: (leader: LeaderInfo | undefined) => void): () => void
}

/** This node plans alone: it is always the leader, at term 1. */
export function soleLeader(deviceId: string): LeaderView {
  const info: LeaderInfo = { deviceId, term: 1 }
  return { leader: () => info, isLeader: () => true, onChange: () => () => {} }
}
