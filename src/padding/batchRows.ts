import { KvCache } from '../model/kvCache';

/**
 * The running batch as the padding protocol lays it out: the KV cache plus the attention mask that describes it.
 * `mask` is [batch × width] with 1 for a real token; `counts[b]` is row b's number of real tokens, which is also the
 * position id of its next token.
 */
export interface BatchRows {
  cache: KvCache;
  mask: Uint8Array;
  width: number;
  counts: number[];
}

/** Tensors for one model step, in the layout the protocol chose. */
export interface StepFeeds {
  batch: number;
  /** New tokens per row in this step. */
  seqLen: number;
  inputIds: BigInt64Array;
  /** [batch × maskWidth], covering past + new tokens: what the graph gets. */
  attentionMask: BigInt64Array;
  /** The same mask as bytes: the protocol keeps it as the next BatchRows mask without converting back. */
  mask: Uint8Array;
  maskWidth: number;
  positionIds: BigInt64Array;
  /** For each row, the column (0..seqLen-1) of this step's output whose logits predict the row's next token. */
  logitColumns: number[];
  past: KvCache;
}

export function maskToInt64(mask: Uint8Array): BigInt64Array {
  const out = new BigInt64Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] ? 1n : 0n;
  return out;
}
