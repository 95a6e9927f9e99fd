/**
 * min_tokens (vLLM semantics): while fewer than `minTokens` tokens have been generated, the ids that would
 * end the request (eos ids, stop_token_ids) are masked so they cannot be chosen. O(#ids).
 */
export function applyMinTokensMask(
  logits: Float32Array,
  generatedCount: number,
  minTokens: number,
  blockedIds: readonly number[],
): void {
  if (generatedCount >= minTokens) return;
  for (const id of blockedIds) if (id >= 0 && id < logits.length) logits[id] = -Infinity;
}
