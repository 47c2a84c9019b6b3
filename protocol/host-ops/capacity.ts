/**
 * `capacity-plan` and `provision-plan`: plans only. Fleet headroom comes from the host facts of each
 * node's latest `doctor` (CPUs, 1-minute load, available memory, free disk share) and a budget file
 * that names workloads, the reserve to keep free and node types one could add with their monthly
 * cost. Nothing here rents, creates or starts anything: the answer is a table for a person.
 */
import { z } from 'zod'

/** Workloads, node types and nodes a plan considers: a budget file is written by hand. */
export const BUDGET_ENTRIES_MAX = 64
/** Instances one provision plan places. */
export const PROVISION_COUNT_MAX = 1_000
/** Largest machine a budget file may describe: beyond any single host of today's fleets. */
export const BUDGET_CPUS_MAX = 1_024
export const BUDGET_MEM_MAX_MB = 16 * 1024 * 1024
/** Names of workloads and node types, and a currency code. */
export const BUDGET_NAME_MAX_CHARS = 64
export const CURRENCY_MAX_CHARS = 8
/** Kept free on every node unless the budget file says otherwise: a fifth of CPUs and memory (room
 * for a burst and the OS page cache) and a tenth of the root disk (logs, updates). */
export const DEFAULT_RESERVE_FRACTION = 0.2
export const DEFAULT_RESERVE_DISK_PCT = 10

const name = z.string().min(1).max(BUDGET_NAME_MAX_CHARS)

export const workloadSchema = z.strictObject({
  cpus: z.number().positive().max(BUDGET_CPUS_MAX),
  memMb: z
    .number()
    .int()
    .positive()
    .max(16 * 1024 * 1024),
  /** Share of a node's root disk one instance needs (percent). */
  diskPct: z.number().min(0).max(100).default(0),
})
export type Workload = z.infer<typeof workloadSchema>

export const budgetSchema = z.strictObject({
  /** Kept free on every node: a share of its CPUs and memory no workload is placed on. */
  reserve: z
    .strictObject({
      cpuFraction: z.number().min(0).max(1).default(DEFAULT_RESERVE_FRACTION),
      memFraction: z.number().min(0).max(1).default(DEFAULT_RESERVE_FRACTION),
      diskPct: z.number().min(0).max(100).default(DEFAULT_RESERVE_DISK_PCT),
    })
    .prefault({}),
  workloads: z.record(name, workloadSchema).refine((all) => Object.keys(all).length <= BUDGET_ENTRIES_MAX, {
    message: `at most ${BUDGET_ENTRIES_MAX} workloads`,
  }),
  /** What could be added, were it approved and bought: the plan names how many, never buys. */
  nodeTypes: z
    .array(
      z.strictObject({
        name,
        cpus: z.number().positive().max(BUDGET_CPUS_MAX),
        memMb: z
          .number()
          .int()
          .positive()
          .max(16 * 1024 * 1024),
        monthlyCost: z.number().nonnegative(),
      }),
    )
    .max(BUDGET_ENTRIES_MAX)
    .default([]),
  monthlyBudget: z.number().nonnegative().optional(),
  currency: z.string().min(1).max(CURRENCY_MAX_CHARS).default('EUR'),
})
export type Budget = z.output<typeof budgetSchema>

/** What a node's latest doctor said about its machine. */
export interface NodeFacts {
  readonly node: string
  readonly cpus: number
  readonly load1: number
  readonly memTotalMb: number
  readonly memAvailableMb: number
  readonly diskFreePct?: number
  readonly checkedAt: number
}

export interface NodeHeadroom {
  readonly node: string
  readonly cpusFree: number
  readonly memFreeMb: number
  readonly diskFreePct: number | undefined
  readonly checkedAt: number
}

/** Headroom above the reserve: CPUs not loaded, memory available, disk free — never negative. */
export function headroomOf(facts: NodeFacts, budget: Budget): NodeHeadroom {
  const round = (value: number) => Math.round(value * 100) / 100
  return {
    node: facts.node,
    cpusFree: round(Math.max(0, facts.cpus * (1 - budget.reserve.cpuFraction) - facts.load1)),
    memFreeMb: Math.max(0, Math.floor(facts.memAvailableMb - facts.memTotalMb * budget.reserve.memFraction)),
    diskFreePct:
      facts.diskFreePct === undefined
        ? undefined
        : round(Math.max(0, facts.diskFreePct - budget.reserve.diskPct)),
    checkedAt: facts.checkedAt,
  }
}

/** How many instances of a workload fit a node's headroom (a node without a disk fact fits none
 * that needs disk: unknown is not free). */
export function instancesThatFit(headroom: NodeHeadroom, workload: Workload): number {
  const byCpu = Math.floor(headroom.cpusFree / workload.cpus)
  const byMem = Math.floor(headroom.memFreeMb / workload.memMb)
  const byDisk =
    workload.diskPct === 0
      ? Number.POSITIVE_INFINITY
      : headroom.diskFreePct === undefined
        ? 0
        : Math.floor(headroom.diskFreePct / workload.diskPct)
  return Math.max(0, Math.min(byCpu, byMem, byDisk))
}

export interface CapacityPlan {
  readonly nodes: readonly (NodeHeadroom & { readonly fits: Readonly<Record<string, number>> })[]
  readonly totals: { readonly cpusFree: number; readonly memFreeMb: number }
  /** Instances of each workload the whole fleet holds, placing greedily node by node. */
  readonly fleetFits: Readonly<Record<string, number>>
}

export function capacityPlan(facts: readonly NodeFacts[], budget: Budget): CapacityPlan {
  const nodes = facts.map((node) => {
    const headroom = headroomOf(node, budget)
    const fits: Record<string, number> = {}
    for (const [workload, need] of Object.entries(budget.workloads))
      fits[workload] = instancesThatFit(headroom, need)
    return { ...headroom, fits }
  })
  const fleetFits: Record<string, number> = {}
  for (const workload of Object.keys(budget.workloads))
    fleetFits[workload] = nodes.reduce((sum, node) => sum + (node.fits[workload] ?? 0), 0)
  return {
    nodes,
    totals: {
      cpusFree: Math.round(nodes.reduce((sum, node) => sum + node.cpusFree, 0) * 100) / 100,
      memFreeMb: nodes.reduce((sum, node) => sum + node.memFreeMb, 0),
    },
    fleetFits,
  }
}

export interface ProvisionPlan {
  readonly workload: string
  readonly count: number
  /** Instances placed on existing nodes, most headroom first. */
  readonly placements: readonly { readonly node: string; readonly instances: number }[]
  readonly unplaced: number
  /** For what does not fit: the cheapest node type that holds it, how many, what it would cost. */
  readonly additional?: {
    readonly nodeType: string
    readonly nodes: number
    readonly monthlyCost: number
    readonly withinBudget: boolean | undefined
  }
  /** Why the rest cannot be planned (no node type can hold one instance). */
  readonly note?: string
}

export function provisionPlan(
  facts: readonly NodeFacts[],
  budget: Budget,
  workload: string,
  count: number,
): ProvisionPlan {
  const need = budget.workloads[workload]
  if (need === undefined) throw new RangeError(`the budget file declares no workload "${workload}"`)
  const plan = capacityPlan(facts, budget)
  const byRoom = [...plan.nodes].sort((a, b) => (b.fits[workload] ?? 0) - (a.fits[workload] ?? 0))
  let left = count
  const placements: { node: string; instances: number }[] = []
  for (const node of byRoom) {
    const instances = Math.min(left, node.fits[workload] ?? 0)
    if (instances === 0) continue
    placements.push({ node: node.node, instances })
    left -= instances
  }
  if (left === 0) return { workload, count, placements, unplaced: 0 }
  // A new node keeps the same reserve as the fleet's.
  const options = budget.nodeTypes
    .map((type) => {
      const perNode = instancesThatFit(
        headroomOf(
          {
            node: type.name,
            cpus: type.cpus,
            load1: 0,
            memTotalMb: type.memMb,
            memAvailableMb: type.memMb,
            diskFreePct: 100,
            checkedAt: 0,
          },
          budget,
        ),
        need,
      )
      const nodes = perNode === 0 ? Number.POSITIVE_INFINITY : Math.ceil(left / perNode)
      return { type, nodes, cost: nodes * type.monthlyCost }
    })
    .filter((option) => Number.isFinite(option.nodes))
    .sort((a, b) => a.cost - b.cost)
  const cheapest = options[0]
  if (cheapest === undefined) {
    return {
      workload,
      count,
      placements,
      unplaced: left,
      note: 'no node type in the budget file can hold one instance',
    }
  }
  return {
    workload,
    count,
    placements,
    unplaced: left,
    additional: {
      nodeType: cheapest.type.name,
      nodes: cheapest.nodes,
      monthlyCost: Math.round(cheapest.cost * 100) / 100,
      withinBudget: budget.monthlyBudget === undefined ? undefined : cheapest.cost <= budget.monthlyBudget,
    },
  }
}
