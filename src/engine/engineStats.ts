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
  prefillMs: number;
  decodeMs: number;
}

export function emptyEngineStats(): EngineStats {
  return {
    prefillSteps: 0, prefillPositions: 0, prefillRealTokens: 0,
    decodeSteps: 0, decodePositions: 0, decodeRealTokens: 0,
    decodeBatchSizes: {}, prefillBatchSizes: {}, rebuilds: 0, prefillMs: 0, decodeMs: 0,
  };
}
