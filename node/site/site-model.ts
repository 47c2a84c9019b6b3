/**
 * The site model: the farm (or any field site) as an operator describes it — zones, assets,
 * the sensors and actuators in them, which node serves each, and the operations each actuator
 * offers with their approval level and bounds. It is a JSON file so it can be edited by hand and
 * checked before a node starts; every reference inside it (zones, IDs, capabilities) is validated.
 */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { deviceIdSchema } from '../../protocol/device-id.ts'
import { capabilitySchema } from '../../protocol/roles.ts'
import { GUARD_COMPARISONS } from '../../protocol/safety/index.ts'
import { codeAsset } from '../../runtime/package-root.ts'

const idSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'IDs use lowercase letters, digits, ".", "_" and "-"')
const nameSchema = z.string().min(1).max(128)

export const SENSOR_METRICS = [
  'soil-moisture',
  'temperature',
  'humidity',
  'water-level',
  'flow',
  'rainfall',
  'light',
  'ph',
  'conductivity',
] as const

export const ACTUATOR_KINDS = ['valve', 'pump'] as const

/** Longest evidence age a site may declare for an operation: a day, as long as a proposal lives. */
const MAX_EVIDENCE_AGE_SEC = 24 * 3600

/** Longest silence a site may allow an actuator before it fails safe: a day. Longer is no watchdog. */
const MAX_FAIL_SAFE_AFTER_SEC = 24 * 3600

/** Guards one operation may declare: a handful of conditions is a rule, more is a program. */
const MAX_GUARDS_PER_OPERATION = 8

/** Approval levels of the safety model: L0 read-only, L1 bounded auto-execute, L2 one operator,
 * L3 two operators. */
export const APPROVAL_LEVELS = ['L0', 'L1', 'L2', 'L3'] as const
export type ApprovalLevel = (typeof APPROVAL_LEVELS)[number]

const thresholdsSchema = z
  .strictObject({ low: z.number().optional(), high: z.number().optional() })
  .refine((t) => t.low === undefined || t.high === undefined || t.low < t.high, {
    message: 'low must be below high',
  })

export const operationArgSchema = z
  .strictObject({
    type: z.enum(['number', 'integer']).default('number'),
    min: z.number().optional(),
    max: z.number().optional(),
    description: z.string().max(256).optional(),
  })
  .refine((arg) => arg.min === undefined || arg.max === undefined || arg.min <= arg.max, {
    message: 'min must not exceed max',
  })

export const operationSchema = z
  .strictObject({
    name: idSchema,
    level: z.enum(APPROVAL_LEVELS),
    args: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9]*$/), operationArgSchema).default({}),
    description: z.string().max(256).optional(),
    /** The operation moves the actuator to its safe state (close, stop): a certified operator may
     * run it at once, without evidence or a second person (stopping is never blocked). */
    safeState: z.boolean().default(false),
    /** The planner may auto-run this L1 operation inside its bounds (still on measured evidence).
     * Without it, L1 needs a certified operator as author. */
    plannerMayAutoRun: z.boolean().default(false),
    /** What counts as evidence for it: measured observations of the actuator's zone, of these
     * metrics (any metric when absent), at most maxAgeSec old when the proposal was made. */
    evidence: z
      .strictObject({
        metrics: z.array(z.enum(SENSOR_METRICS)).min(1).optional(),
        maxAgeSec: z.number().int().positive().max(MAX_EVIDENCE_AGE_SEC).optional(),
      })
      .optional(),
    /** Re-checked by the actuator just before it moves the device, on its own latest reading of each
     * named sensor (protocol/safety/execution-check.ts): e.g. open only while the pond is above 40. */
    guards: z
      .array(
        z.strictObject({
          sensor: idSchema,
          op: z.enum(GUARD_COMPARISONS),
          value: z.number().finite(),
        }),
      )
      .max(MAX_GUARDS_PER_OPERATION)
      .default([]),
  })
  .superRefine((operation, ctx) => {
    // L1 means "executes without a human", which is only acceptable inside declared bounds.
    if (operation.level !== 'L1') return
    for (const [name, arg] of Object.entries(operation.args)) {
      if (arg.max === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['args', name, 'max'],
          message: `L1 operation "${operation.name}" must declare a max for argument "${name}"`,
        })
      }
    }
  })
export type SiteOperation = z.infer<typeof operationSchema>

export const sensorSchema = z.strictObject({
  id: idSchema,
  zone: idSchema,
  metric: z.enum(SENSOR_METRICS),
  unit: z.string().min(1).max(16),
  node: nameSchema,
  /** The device ID of the node serving it, when the site pins it; otherwise the node is found by
   * its name in the trust store (node/site/site-bindings.ts). */
  deviceId: deviceIdSchema.optional(),
  thresholds: thresholdsSchema.default({}),
  capability: capabilitySchema,
  description: z.string().max(256).optional(),
})
export type SiteSensor = z.infer<typeof sensorSchema>

export const actuatorSchema = z.strictObject({
  id: idSchema,
  zone: idSchema,
  kind: z.enum(ACTUATOR_KINDS),
  node: nameSchema,
  deviceId: deviceIdSchema.optional(),
  capability: capabilitySchema,
  operations: z.array(operationSchema).min(1),
  /** Hardware watchdog: having heard from no command center for this long, the actuator goes to its
   * safe state by itself and says so (node/devices/fail-safe-watchdog.ts). Absent: no watchdog. */
  failSafeAfterSec: z.number().int().positive().max(MAX_FAIL_SAFE_AFTER_SEC).optional(),
  description: z.string().max(256).optional(),
})
export type SiteActuator = z.infer<typeof actuatorSchema>

export const siteFileSchema = z
  .strictObject({
    site: z.strictObject({
      id: idSchema,
      name: nameSchema,
      location: z
        .strictObject({
          description: z.string().max(256).optional(),
          latitude: z.number().min(-90).max(90).optional(),
          longitude: z.number().min(-180).max(180).optional(),
        })
        .optional(),
    }),
    zones: z
      .array(z.strictObject({ id: idSchema, name: nameSchema, kind: z.string().max(64).optional() }))
      .min(1),
    assets: z
      .array(
        z.strictObject({
          id: idSchema,
          name: nameSchema,
          zone: idSchema.optional(),
          kind: z.string().max(64).optional(),
        }),
      )
      .default([]),
    sensors: z.array(sensorSchema).default([]),
    actuators: z.array(actuatorSchema).default([]),
  })
  .superRefine((file, ctx) => {
    const zoneIds = new Set<string>()
    file.zones.forEach((zone, index) => {
      if (zoneIds.has(zone.id))
        ctx.addIssue({ code: 'custom', path: ['zones', index, 'id'], message: `duplicate zone ${zone.id}` })
      zoneIds.add(zone.id)
    })
    const deviceIds = new Set<string>()
    const capabilities = new Set<string>()
    const checkDevice = (
      section: 'sensors' | 'actuators',
      index: number,
      device: { id: string; zone: string; capability: string },
    ) => {
      if (!zoneIds.has(device.zone)) {
        ctx.addIssue({
          code: 'custom',
          path: [section, index, 'zone'],
          message: `unknown zone "${device.zone}"`,
        })
      }
      if (deviceIds.has(device.id)) {
        ctx.addIssue({
          code: 'custom',
          path: [section, index, 'id'],
          message: `duplicate device ID "${device.id}"`,
        })
      }
      deviceIds.add(device.id)
      if (capabilities.has(device.capability)) {
        ctx.addIssue({
          code: 'custom',
          path: [section, index, 'capability'],
          message: `capability "${device.capability}" is served by two devices`,
        })
      }
      capabilities.add(device.capability)
    }
    for (const [index, sensor] of file.sensors.entries()) checkDevice('sensors', index, sensor)
    for (const [index, actuator] of file.actuators.entries()) checkDevice('actuators', index, actuator)
    const sensorIds = new Set(file.sensors.map((sensor) => sensor.id))
    for (const [index, actuator] of file.actuators.entries()) {
      for (const [opIndex, operation] of actuator.operations.entries()) {
        for (const [guardIndex, guard] of operation.guards.entries()) {
          if (sensorIds.has(guard.sensor)) continue
          ctx.addIssue({
            code: 'custom',
            path: ['actuators', index, 'operations', opIndex, 'guards', guardIndex, 'sensor'],
            message: `guard names unknown sensor "${guard.sensor}"`,
          })
        }
      }
    }
    file.assets.forEach((asset, index) => {
      if (asset.zone !== undefined && !zoneIds.has(asset.zone)) {
        ctx.addIssue({
          code: 'custom',
          path: ['assets', index, 'zone'],
          message: `unknown zone "${asset.zone}"`,
        })
      }
    })
  })

export type SiteModel = z.infer<typeof siteFileSchema>

export class SiteFileError extends Error {
  static readonly NAME = 'SiteFileError'
  override readonly name = SiteFileError.NAME
  readonly path: string
  readonly issues: readonly string[]
  constructor(
    path: string,
    message: string,
    issues: readonly string[] = [],
    options: { cause?: unknown } = {},
  ) {
    super(message, options)
    this.path = path
    this.issues = issues
  }
}

/** Validates an already-parsed site file. `source` names it in errors. */
export function parseSiteFile(json: unknown, source: string): SiteModel {
  const parsed = siteFileSchema.safeParse(json)
  if (parsed.success) return parsed.data
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
  const shown = issues.slice(0, 8).join('; ')
  const more = issues.length > 8 ? ` (and ${issues.length - 8} more)` : ''
  throw new SiteFileError(
    source,
    `site file ${source} is invalid: ${shown}${more}. Fix these fields and start again.`,
    issues,
    {
      cause: parsed.error,
    },
  )
}

export async function loadSiteFile(path: string): Promise<SiteModel> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new SiteFileError(path, `cannot read site file ${path}: ${(error as Error).message}`, [], {
      cause: error,
    })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new SiteFileError(path, `site file ${path} is not valid JSON (${(error as Error).message})`, [], {
      cause: error,
    })
  }
  return parseSiteFile(json, path)
}

/** Capabilities a node serves according to the site file (its sensors and actuators). */
export function capabilitiesOfNode(site: SiteModel, node: string): string[] {
  return [...site.sensors, ...site.actuators]
    .filter((device) => device.node === node)
    .map((device) => device.capability)
}

export function sensorsOfNode(site: SiteModel, node: string): SiteSensor[] {
  return site.sensors.filter((sensor) => sensor.node === node)
}

export function actuatorsOfNode(site: SiteModel, node: string): SiteActuator[] {
  return site.actuators.filter((actuator) => actuator.node === node)
}

export function findOperation(
  site: SiteModel,
  capability: string,
  operation: string,
): { actuator: SiteActuator; operation: SiteOperation } | undefined {
  const actuator = site.actuators.find((candidate) => candidate.capability === capability)
  const found = actuator?.operations.find((candidate) => candidate.name === operation)
  return actuator === undefined || found === undefined ? undefined : { actuator, operation: found }
}

/** Path of the demo farm shipped with ClawMesh. */
export const DEMO_FARM_PATH = codeAsset('node/site/demo-farm.json')
