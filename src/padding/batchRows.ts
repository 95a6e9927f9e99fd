import { KvCache } from '../runtime/kvCache';

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

export function maskToInt64(mask: Uint8Array): BigInt64Array {
  const out = new BigInt64Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] ? 1n : 0n;
  return out;
}
