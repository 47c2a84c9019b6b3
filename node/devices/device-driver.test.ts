/** The device-driver contract suite, run against every driver in this folder. */

import { readFileSync } from 'node:fs'
import { DEMO_FARM_PATH, parseSiteFile } from '../site/site-model.ts'
import { describeActuatorDriverContract } from './device-driver.contract.ts'
import { MockActuator } from './mock-actuator.ts'

const site = parseSiteFile(JSON.parse(readFileSync(DEMO_FARM_PATH, 'utf8')), DEMO_FARM_PATH)
const valve = site.actuators.find((actuator) => actuator.capability === 'actuator:valve:zone-1')
if (valve === undefined) throw new Error('the demo farm has no valve-zone-1')

describeActuatorDriverContract('MockActuator (valve)', (now) => ({
  driver: new MockActuator(valve, now),
  opening: { operation: 'open', durationArg: 'durationSec', maxDurationSec: 600 },
}))
