/**
 * What a frame's origin may speak for, as the RECEIVER's records say. A signature proves who sent a
 * frame, not that the sender may say it: a trusted device must not publish under another node's
 * name, report readings of a sensor the site assigns to another node, or report an execution of an
 * actuator it does not serve. Checked at every receiving node after the signature, before the frame
 * enters the world model; refused frames are counted like any other rejection.
 */
import type { SiteBindingsView } from '../safety/evidence.ts'
import type { Frame } from './frame.ts'

export type FrameAuthorityRefusal = 'origin-name-mismatch' | 'unbound-origin'

export type FrameAuthorityVerdict =
  | { readonly verdict: 'accept' }
  | { readonly verdict: 'reject'; readonly reason: FrameAuthorityRefusal; readonly detail: string }

export interface FrameAuthorityRecords {
  /** The name the receiver's records give this origin (its trust entry, or its own name); undefined
   * when they give none. */
  nameOf(origin: string): string | undefined
  readonly bindings: SiteBindingsView
}

export function checkFrameAuthority(frame: Frame, records: FrameAuthorityRecords): FrameAuthorityVerdict {
  const name = records.nameOf(frame.origin)
  if (name !== undefined && frame.originName !== name) {
    return reject('origin-name-mismatch', `${frame.origin} is "${name}" here, not "${frame.originName}"`)
  }
  if (frame.kind === 'observation' && frame.data.sensor !== undefined) {
    const binding = records.bindings.bySiteId(frame.data.sensor)
    // Refused when the site binds the device to ANOTHER known device. Unbound (no trusted device
    // answers to the site's node name), the reading is kept for display but never counts as
    // measured (protocol/safety/evidence.ts): the node says at start which names are unbound.
    if (binding?.deviceId !== undefined && binding.deviceId !== frame.origin) {
      return reject(
        'unbound-origin',
        `the site assigns ${frame.data.sensor} to ${binding.deviceId}, not ${frame.origin}`,
      )
    }
  }
  if (frame.kind === 'execution') {
    const capability = frame.data['capability']
    const binding =
      typeof capability === 'string' ? records.bindings.actuatorByCapability(capability) : undefined
    if (binding?.deviceId !== undefined && binding.deviceId !== frame.origin) {
      return reject(
        'unbound-origin',
        `the site assigns ${String(capability)} to ${binding.deviceId}, not ${frame.origin}`,
      )
    }
  }
  return { verdict: 'accept' }
}

function reject(reason: FrameAuthorityRefusal, detail: string): FrameAuthorityVerdict {
  return { verdict: 'reject', reason, detail }
}
