import { maskBelow, maxLogit } from './logitsMath';

/**
 * Min-p (HF `MinPLogitsWarper` / vLLM): keeps tokens whose probability is at least `minP × max probability`.
 * Since p_i / p_max = exp(l_i - l_max), that is l_i ≥ l_max + ln(minP): no softmax needed. The most likely
 * token always survives. O(V).
 */
export function applyMinP(logits: Float32Array, minP: number): void {
  if (minP <= 0) return;
  const max = maxLogit(logits);
  if (max === -Infinity) return;
  maskBelow(logits, max + Math.log(Math.min(minP, 1)));
}
