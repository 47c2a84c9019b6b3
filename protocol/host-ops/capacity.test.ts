import { describe, expect, it } from 'vitest'
import { budgetSchema, capacityPlan, type NodeFacts, provisionPlan } from './capacity.ts'

const budget = budgetSchema.parse({
  reserve: { cpuFraction: 0.25, memFraction: 0.25, diskPct: 10 },
  workloads: { inference: { cpus: 1, memMb: 2048 }, etl: { cpus: 2, memMb: 1024, diskPct: 30 } },
  nodeTypes: [
    { name: 'small', cpus: 2, memMb: 4096, monthlyCost: 10 },
    { name: 'large', cpus: 8, memMb: 32768, monthlyCost: 30 },
  ],
  monthlyBudget: 50,
})
const facts: NodeFacts[] = [
  // 4 CPUs, 25% kept: 3 - load 1 = 2 free; 8 GiB, 2 GiB kept: 6144 - 2048 = 4096 MiB free.
  {
    node: 'jetson',
    cpus: 4,
    load1: 1,
    memTotalMb: 8192,
    memAvailableMb: 6144,
    diskFreePct: 50,
    checkedAt: 1,
  },
  // Saturated: no CPU above the reserve.
  { node: 'nas', cpus: 2, load1: 3, memTotalMb: 4096, memAvailableMb: 3000, checkedAt: 1 },
]

describe('capacity plans (plan only)', () => {
  it('headroom is above the reserve and never negative; unknown disk fits no disk-hungry workload', () => {
    const plan = capacityPlan(facts, budget)
    expect(plan.nodes[0]).toMatchObject({ node: 'jetson', cpusFree: 2, memFreeMb: 4096, diskFreePct: 40 })
    expect(plan.nodes[0]?.fits).toEqual({ inference: 2, etl: 1 })
    expect(plan.nodes[1]).toMatchObject({ node: 'nas', cpusFree: 0 })
    expect(plan.nodes[1]?.fits).toEqual({ inference: 0, etl: 0 })
    expect(plan.fleetFits).toEqual({ inference: 2, etl: 1 })
  })
  it('places on the fleet first, then names the cheapest node type for the rest and the budget', () => {
    const plan = provisionPlan(facts, budget, 'inference', 10)
    expect(plan.placements).toEqual([{ node: 'jetson', instances: 2 }])
    expect(plan.unplaced).toBe(8)
    // small holds 1 (1.5 CPUs, 3072 MiB free): 8 × 10 = 80; large holds 6 (6 CPUs, 24576 MiB): 2 × 30 = 60.
    expect(plan.additional).toEqual({ nodeType: 'large', nodes: 2, monthlyCost: 60, withinBudget: false })
    expect(provisionPlan(facts, budget, 'inference', 2).unplaced).toBe(0)
    expect(() => provisionPlan(facts, budget, 'mining', 1)).toThrow(RangeError)
  })
})
