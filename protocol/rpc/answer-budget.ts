/**
 * Frames in an RPC answer are bounded by bytes, not only by count: a query for 1,000 frames of
 * batch-proofed observations is several times RPC_MAX_MESSAGE_BYTES, and an answer over the limit
 * is refused whole (PAYLOAD_TOO_LARGE) — the caller would get nothing. The answer keeps the first
 * frames (the caller's order: newest first for queries) that fit and says it was cut.
 */
import { RPC_ANSWER_FRAMES_MAX_BYTES } from '../limits.ts'

const encoder = new TextEncoder()

export function fitFramesToAnswer<T>(
  frames: readonly T[],
  maxBytes: number = RPC_ANSWER_FRAMES_MAX_BYTES,
): { frames: T[]; truncated: boolean } {
  let used = 0
  for (const [index, frame] of frames.entries()) {
    // +1 for the comma between array members.
    used += encoder.encode(JSON.stringify(frame)).length + 1
    if (used > maxBytes) return { frames: frames.slice(0, index), truncated: true }
  }
  return { frames: [...frames], truncated: false }
}
