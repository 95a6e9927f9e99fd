/** Work counters of one engine run; the diagnostics report turns them into figures. */
export interface EngineStats {
  prefillSteps: number;
  /** Token positions computed at prefill: real prompt tokens plus pads. */
  prefillPositions: number;
  prefillRealTokens: number;
  decodeSteps: number;
  /** Token positions computed at decode (one per live row per step); finished rows are removed, so all are real. */
  decodePositions: number;
  decodeRealTokens: number;
  /** How many decode steps ran at each batch size. */
  decodeBatchSizes: Record<number, number>;
  /** How many prefill steps ran at each batch size. */
  prefillBatchSizes: Record<number, number>;
  rebuilds: number;
  /** Distinct prompts started from a prefix computed earlier (prefix cache hits). */
  prefixHits: number;
  /** Prompt tokens those hits did not compute. */
  prefixTokensReused: number;
  /** Prefixes computed to be cached (their tokens are in prefillRealTokens). */
  prefixComputations: number;
  /** Runs whose graph could not reuse a prefix exactly (prefix caching was then off). */
  prefixReuseInexact: number;
  /** Cached prefixes evicted (least recently used first) to make room within the cache budget. */
  prefixEvictions: number;
  /** By prefix length in tokens: the most distinct prompts one computed prefix of that length served (first use included). */
  prefixUses: Record<number, number>;
  prefillMs: number;
  decodeMs: number;
}

export function emptyEngineStats(): EngineStats {
  return {
    prefillSteps: 0, prefillPositions: 0, prefillRealTokens: 0,
    decodeSteps: 0, decodePositions: 0, decodeRealTokens: 0,
    decodeBatchSizes: {}, prefillBatchSizes: {}, rebuilds: 0,
    prefixHits: 0, prefixTokensReused: 0, prefixComputations: 0, prefixEvictions: 0, prefixReuseInexact: 0, prefixUses: {}, prefillMs: 0, decodeMs: 0,
  };
}

/** Counts prefill steps, each of `rows` rows: `positions` computed (pads included), `realTokens` of them prompt tokens. */
export function countPrefillSteps(stats: EngineStats, steps: readonly { rows: number; positions: number; realTokens: number }[]): void {
  for (const { rows, positions, realTokens } of steps) {
    stats.prefillSteps++;
    stats.prefillPositions += positions;
    stats.prefillRealTokens += realTokens;
    stats.prefillBatchSizes[rows] = (stats.prefillBatchSizes[rows] ?? 0) + 1;
  }
}

/** Counts one decode step of `rows` live rows (finished rows are removed, so every position is a real token). */
export function countDecodeStep(stats: EngineStats, rows: number): void {
  stats.decodeSteps++;
  stats.decodePositions += rows;
  stats.decodeRealTokens += rows;
  stats.decodeBatchSizes[rows] = (stats.decodeBatchSizes[rows] ?? 0) + 1;
}
