import { NEG_INF, exp, maxLogit } from './logitsMath';

/**
 * One categorical draw by inverse CDF: with u ∈ [0, 1) from the generator, returns the first token (in id
 * order) whose cumulative probability exceeds u. Exactly one random number per token, so a request's
 * random stream advances identically whatever else is in the batch. O(V).
 *
 * Returns an index into `logits` (the sampler maps it to a token id when the row is a top-k support).
 * Overwrites `logits` with unnormalised probabilities (it is the sampler's scratch row).
 */
export function drawCategorical(logits: Float32Array, uniform: number): number {
  const max = maxLogit(logits);
  if (!(max > NEG_INF)) throw new Error('cannot sample: every token is masked');
  let total = 0;
  let lastPossible = -1;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    logits[i] = x === NEG_INF || x !== x ? 0 : exp(x - max);
    if (logits[i] > 0) {
      total += logits[i];
      lastPossible = i;
    }
  }
  const target = uniform * total;
  let cumulative = 0;
  for (let i = 0; i < logits.length; i++) {
    cumulative += logits[i];
    if (cumulative > target && logits[i] > 0) return i;
  }
  return lastPossible; // only reachable through rounding when uniform is next to 1
}
