/** Percentiles and the usual summary of a bench's samples (nearest rank, no interpolation). */

/** The p-th percentile of unsorted samples (nearest rank). */
export const percentile = (samples: readonly number[], p: number): number =>
  [...samples].sort((a, b) => a - b)[
    Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))
  ] as number

export const summarise = (samples: readonly number[]) => ({
  p50: percentile(samples, 50),
  p90: percentile(samples, 90),
  p99: percentile(samples, 99),
  min: Math.min(...samples),
  max: Math.max(...samples),
  mean: samples.reduce((sum, value) => sum + value, 0) / samples.length,
})
