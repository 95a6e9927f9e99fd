/**
 * Repetition penalty, Hugging Face `RepetitionPenaltyLogitsProcessor` semantics (also vLLM's): for every
 * distinct token that occurs in the prompt or in the generated text, a positive logit is divided by the
 * penalty and a negative one multiplied by it (zero stays zero). Applied once per distinct token, whatever
 * its count. O(#distinct tokens).
 */
export function applyRepetitionPenalty(logits: Float32Array, seenTokenIds: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of seenTokenIds) {
    if (id < 0 || id >= logits.length) continue;
    const logit = logits[id];
    logits[id] = logit < 0 ? logit * penalty : logit / penalty;
  }
}
