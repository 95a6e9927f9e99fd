import { NEG_INF, maskBelow } from './logitsMath';
import { kthLargestLogit } from './topNSelection';

/**
 * Top-k (HF `TopKLogitsWarper` / vLLM): keeps the logits ≥ the k-th largest, so tokens tied with the k-th
 * survive (as in HF and vLLM). k = 0 or k ≥ V is off. The vocabulary is never sorted: a size-k heap finds
 * the k-th value in O(V log k) worst case, O(V) in practice.
 */
export function applyTopK(logits: Float32Array, topK: number): void {
  if (topK <= 0 || topK >= logits.length) return;
  maskBelow(logits, kthLargestLogit(logits, topK));
}

let supportScratch = new Int32Array(0);

/**
 * The ids applyTopK would keep, ascending, without masking the row: the sampler continues on these few
 * entries instead of the whole vocabulary. Requires 0 < topK < V.
 */
export function topKSupport(logits: Float32Array, topK: number): Int32Array {
  const threshold = kthLargestLogit(logits, topK);
  if (supportScratch.length < logits.length) supportScratch = new Int32Array(logits.length);
  let count = 0;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (x >= threshold && x !== NEG_INF) supportScratch[count++] = i;
  }
  return supportScratch.slice(0, count);
}
