import { maxLogit, partitionFunction } from './logitsMath';
import { topNIndices } from './topNSelection';

export interface TokenLogprob {
  tokenId: number;
  logprob: number;
}

export interface LogprobReport {
  /** log-softmax of the chosen token. */
  logprob: number;
  /** The `topN` most likely tokens, best first (ties: lower id first). */
  topLogprobs: TokenLogprob[];
}

/**
 * Log-probabilities as OpenAI and vLLM report them: log-softmax of the model's raw logits (before penalties,
 * temperature and truncation). O(V) for the normaliser plus O(V log N) for the top-N.
 */
export function computeLogprobs(rawLogits: Float32Array, chosenTokenId: number, topN: number): LogprobReport {
  const max = maxLogit(rawLogits);
  const logNormaliser = max + Math.log(partitionFunction(rawLogits, max));
  const topLogprobs = topNIndices(rawLogits, topN).map((tokenId) => ({
    tokenId,
    logprob: rawLogits[tokenId] - logNormaliser,
  }));
  return { logprob: rawLogits[chosenTokenId] - logNormaliser, topLogprobs };
}
