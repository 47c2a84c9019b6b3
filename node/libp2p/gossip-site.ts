/**
 * A site's gossip runs through its command center.
 *
 * On a site every field node links to the command center and to a few neighbours. With every link
 * an equal gossip neighbour, each node forwards each batch over every link it has: in `site10` about
 * 32 copies crossed the site for 9 deliveries, each read, decrypted, decoded and hashed before it
 * could be dropped as a duplicate (docs/benchmarks-fanout.md). Here the command center is the `hub`
 * and every node that names its command centers a `spoke`:
 *
 * - a hub keeps every spoke that grafts it in its mesh (up to HUB_GOSSIP_MESH_MAX instead of
 *   gossipsub's 12, which would prune a larger site's nodes off their hub);
 * - while a hub is in a spoke's mesh, the spoke scores its other neighbours HUB_DETOUR_SCORE
 *   (negative: gossipsub's heartbeat prunes them and grafts nothing else) and publishes to the hub
 *   alone, so a batch goes publisher → hub → every other node, one copy each, two hops;
 * - the detour score stays at or above gossipsub's gossip threshold, so spokes still exchange
 *   IHAVE/IWANT: a hub that goes silent costs a heartbeat per hop, not the frames;
 * - with no hub in its mesh a spoke publishes and grafts as any gossipsub node (its neighbours
 *   regrafted once gossipsub's prune backoff has passed);
 * - a leaf (an operator console linked to the spoke, docs/console.md) gets the spoke's own
 *   publications straight away besides the hub: a console that dialled a field node takes that
 *   node's frames over its own link, not only through the hub or by a gossip IWANT race. A leaf is
 *   still scored as a detour, so it joins no mesh and is sent nothing the spoke only forwards.
 *
 * Who is a hub is this node's own configuration (its command centers), never what a peer says.
 * Every hop still validates every batch before forwarding it.
 */

/** How this node takes part in its site's gossip. Hubs and leaves are this node's own records (its
 * configured command centers, its trust store's operator entries), never what a peer says. */
export type GossipSite =
  | { role: 'hub' }
  | { role: 'spoke'; isHub: (deviceId: string) => boolean; isLeaf?: (deviceId: string) => boolean }

/** The hub's mesh holds up to this many nodes. */
export const HUB_GOSSIP_MESH_MAX = 256
/** A hub's gossip mesh degree: gossipsub's D and Dlo, and room for a whole site. */
export const HUB_GOSSIP_DEGREE = { D: 6, Dlo: 4, Dhi: HUB_GOSSIP_MESH_MAX } as const

/** A spoke's score for a neighbour other than its hub while a hub is in its mesh: below 0, so the
 * neighbour is pruned and not grafted; at or above gossipsub's gossip threshold (-10), so IHAVE and
 * IWANT still pass. */
export const HUB_DETOUR_SCORE = -5

/** The @libp2p/gossipsub release whose `getMeshPeers` and `selectPeersToPublish` this module relies
 * on; gossip-site.test.ts fails when the installed version differs, so the patch is re-checked. */
export const GOSSIPSUB_CHECKED_VERSION = '17.1.1'

/** The parts of gossipsub's implementation class used here (not on its exported interface). */
interface GossipsubInternals {
  getMeshPeers?(topic: string): string[]
  selectPeersToPublish?(topic: string, floodPublish?: boolean): { tosend: Set<string> }
}

/** The steering attached to each gossipsub instance, for `mesh.inspect`. */
const steeringOf = new WeakMap<object, SiteSteering>()

/** The site steering attached to `pubsub`, if any (see SiteSteering.attach). */
export function siteSteeringOf(pubsub: object): SiteSteering | undefined {
  return steeringOf.get(pubsub)
}

export class SiteSteering {
  readonly #site: GossipSite | undefined
  readonly #topic: string
  #pubsub: GossipsubInternals | undefined

  constructor(site: GossipSite | undefined, topic: string) {
    this.#site = site
    this.#topic = topic
  }

  get role(): GossipSite['role'] | undefined {
    return this.#site?.role
  }

  /** The mesh degree the site role asks for, if any. */
  get degree(): typeof HUB_GOSSIP_DEGREE | undefined {
    return this.#site?.role === 'hub' ? HUB_GOSSIP_DEGREE : undefined
  }

  /** Added to an accepted peer's gossip score. */
  scoreOf(peer: string): number {
    const site = this.#site
    if (site?.role !== 'spoke' || site.isHub(peer)) return 0
    return this.hubsInMesh().length > 0 ? HUB_DETOUR_SCORE : 0
  }

  /** The hubs in this node's mesh for the context topic (none for a hub or a node without a site). */
  hubsInMesh(): string[] {
    const site = this.#site
    if (site?.role !== 'spoke') return []
    return (this.#pubsub?.getMeshPeers?.(this.#topic) ?? []).filter((peer) => site.isHub(peer))
  }

  /** Once gossipsub exists: a spoke's publications on the context topic go to its hubs and leaves
   * alone while a hub is in its mesh (gossipsub would flood them to every neighbour). */
  attach(pubsub: object): void {
    const internals = pubsub as GossipsubInternals
    this.#pubsub = internals
    steeringOf.set(internals, this)
    const site = this.#site
    if (site?.role !== 'spoke') return
    const select = internals.selectPeersToPublish?.bind(internals)
    if (select === undefined) return
    internals.selectPeersToPublish = (topic, floodPublish) => {
      const selection = select(topic, floodPublish)
      if (topic !== this.#topic) return selection
      const hubs = this.hubsInMesh().filter((hub) => selection.tosend.has(hub))
      if (hubs.length === 0) return selection
      const leaves = [...selection.tosend].filter((peer) => site.isLeaf?.(peer) === true)
      selection.tosend.clear()
      for (const peer of [...hubs, ...leaves]) selection.tosend.add(peer)
      return selection
    }
  }
}
