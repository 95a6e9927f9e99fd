import { KvCache } from './kvCache';

/** Tensors for one model step, as the padding protocol laid them out. */
export interface StepFeeds {
  batch: number;
  /** New tokens per row in this step. */
  seqLen: number;
  inputIds: BigInt64Array;
  /** [batch × maskWidth], covering past + new tokens: what the graph gets (the protocol keeps it as the next batch mask). */
  attentionMask: BigInt64Array;
  maskWidth: number;
  positionIds: BigInt64Array;
  /** For each row, the column (0..seqLen-1) of this step's output whose logits predict the row's next token. */
  logitColumns: number[];
  /** The cache before this step (consumed by the step), or null for a prefill from an empty cache. */
  past: KvCache | null;
}
