import { describe, expect, it } from 'vitest'
import { observedLinkOf } from './safety-runtime.ts'

const OPERATOR = '12D3KooWOperatorOperatorOperatorOperatorOperatorOpera'
const PLANNER = '12D3KooWPlannerPlannerPlannerPlannerPlannerPlannerPla'
const DEVICE = '12D3KooWDeviceDeviceDeviceDeviceDeviceDeviceDeviceDev'
const approval = { body: { operatorCertificate: { body: { operatorId: OPERATOR } } } }
const isCommandCenter = (id: string) => id === PLANNER

describe('the link an approval arrived over, as the receiver observed it', () => {
  it('from its signer: the connection decides', () => {
    const arrival = { callerId: OPERATOR, remoteAddr: '/ip4/127.0.0.1/tcp/4/ws' }
    expect(observedLinkOf(approval, arrival, isCommandCenter)).toBe('local')
    expect(
      observedLinkOf(approval, { ...arrival, remoteAddr: '/ip4/203.0.113.9/tcp/4/ws' }, isCommandCenter),
    ).toBe('wan')
  })

  it('handed on by a planner this node obeys: that planner’s observation', () => {
    const arrival = {
      callerId: PLANNER,
      remoteAddr: '/ip4/127.0.0.1/tcp/4/ws',
      forwardedLink: 'lan' as const,
    }
    expect(observedLinkOf(approval, arrival, isCommandCenter)).toBe('lan')
  })

  it('handed on by a device, whatever it says it observed: relay', () => {
    const arrival = {
      callerId: DEVICE,
      remoteAddr: '/ip4/127.0.0.1/tcp/4/ws',
      forwardedLink: 'local' as const,
    }
    expect(observedLinkOf(approval, arrival, isCommandCenter)).toBe('relay')
  })
})
