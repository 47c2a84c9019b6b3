/**
 * Which device serves each sensor and actuator of the site, as THIS node's records say: the site
 * file names a node (and may pin its device ID); the node's own trust store says which device holds
 * that name. Evidence tiers, the origins a sensor's readings may come from, and the only device a
 * command for an actuator may go to are all read from here — never from what a device advertises
 * about itself (protocol/safety/evidence.ts).
 */
import { hostCapability, isHostCapability } from '../../protocol/host-ops/findings.ts'
import type { DeviceBinding, SiteBindingsView } from '../../protocol/safety/evidence.ts'
import type { TrustStore } from '../../runtime/trust/trust-store.ts'
import type { SiteModel } from './site-model.ts'

type Binding = DeviceBinding & { readonly kind: 'sensor' | 'actuator' }

export interface SiteBindingsInit {
  site: SiteModel | undefined
  trust: Pick<TrustStore, 'deviceNamed' | 'version'>
  self: { deviceId: string; name: string }
}

export class SiteBindings implements SiteBindingsView {
  readonly #init: SiteBindingsInit
  #builtAt = -1
  #bySiteId = new Map<string, Binding>()
  #byCapability = new Map<string, Binding>()

  constructor(init: SiteBindingsInit) {
    this.#init = init
  }

  bySiteId(siteId: string): Binding | undefined {
    this.#refresh()
    return this.#bySiteId.get(siteId)
  }

  actuatorByCapability(capability: string): Binding | undefined {
    this.#refresh()
    const binding = this.#byCapability.get(capability)
    return binding?.kind === 'actuator' ? binding : undefined
  }

  /** The device the site binds a capability (sensor or actuator) to, if this node can resolve it. */
  deviceFor(capability: string): string | undefined {
    this.#refresh()
    return this.#byCapability.get(capability)?.deviceId
  }

  /** The device whose own machine `host:<name>` is: this node for its own host capability, else the
   * one trusted device named `<name>` (host repairs rest only on that device's findings). */
  hostDevice(capability: string): string | undefined {
    if (!isHostCapability(capability)) return undefined
    if (hostCapability(this.#init.self.name) === capability) return this.#init.self.deviceId
    return this.#init.trust.deviceNamed(capability.slice('host:'.length))
  }

  /** True when the site binds the capability to a known device other than `deviceId`: that device
   * may not advertise, serve or report it. */
  boundElsewhere(capability: string, deviceId: string): boolean {
    const bound = this.deviceFor(capability)
    return bound !== undefined && bound !== deviceId
  }

  /** True when the site names this capability (so only its bound device may serve it). */
  binds(capability: string): boolean {
    this.#refresh()
    return this.#byCapability.has(capability)
  }

  /** Site node names no trusted device (nor this node) answers to: nothing served there counts as
   * measured, and commands for its actuators have nowhere to go until a device is trusted under
   * that name (`clawmesh trust add <id> --name <node>`). */
  unresolvedNodes(): string[] {
    this.#refresh()
    const names = new Set<string>()
    for (const site of [this.#init.site]) {
      for (const entry of [...(site?.sensors ?? []), ...(site?.actuators ?? [])]) {
        if (this.#resolve(entry) === undefined) names.add(entry.node)
      }
    }
    return [...names]
  }

  /** One line per unresolved site node name, saying what it means and the command that fixes it. */
  unresolvedWarnings(): string[] {
    return this.unresolvedNodes().map(
      (name) =>
        `the site assigns devices to "${name}", but no trusted device has that name: its readings are shown but never count as evidence, and its actuators get no commands until you run \`clawmesh trust add <device-id> --name ${name}\``,
    )
  }

  #resolve(entry: { node: string; deviceId?: string | undefined }): string | undefined {
    if (entry.deviceId !== undefined) return entry.deviceId
    if (entry.node === this.#init.self.name) return this.#init.self.deviceId
    return this.#init.trust.deviceNamed(entry.node)
  }

  #refresh(): void {
    const version = this.#init.trust.version
    if (version === this.#builtAt) return
    this.#builtAt = version
    this.#bySiteId = new Map()
    this.#byCapability = new Map()
    const site = this.#init.site
    if (site === undefined) return
    for (const sensor of site.sensors) {
      const binding: Binding = {
        kind: 'sensor',
        siteId: sensor.id,
        zone: sensor.zone,
        metric: sensor.metric,
        capability: sensor.capability,
        deviceId: this.#resolve(sensor),
      }
      this.#bySiteId.set(sensor.id, binding)
      this.#byCapability.set(sensor.capability, binding)
    }
    for (const actuator of site.actuators) {
      const binding: Binding = {
        kind: 'actuator',
        siteId: actuator.id,
        zone: actuator.zone,
        capability: actuator.capability,
        deviceId: this.#resolve(actuator),
      }
      this.#bySiteId.set(actuator.id, binding)
      this.#byCapability.set(actuator.capability, binding)
    }
  }
}
