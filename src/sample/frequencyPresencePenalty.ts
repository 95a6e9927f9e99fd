/**
 * Presence and frequency penalties, OpenAI / vLLM semantics, over the generated tokens only:
 * `logit[t] -= frequencyPenalty * count[t] + presencePenalty * (count[t] > 0)`. O(#distinct generated tokens).
 */
export function applyFrequencyPresencePenalty(
  logits: Float32Array,
  generatedCounts: ReadonlyMap<number, number>,
  frequencyPenalty: number,
  presencePenalty: number,
): void {
  if (frequencyPenalty === 0 && presencePenalty === 0) return;
  for (const [id, count] of generatedCounts) {
    if (count <= 0 || id < 0 || id >= logits.length) continue;
    logits[id] -= frequencyPenalty * count + presencePenalty;
  }
}
