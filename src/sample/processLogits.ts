import { applyFrequencyPresencePenalty } from './frequencyPresencePenalty';
import { applyMinP } from './minP';
import { applyMinTokensMask } from './minTokensMask';
import { applyRepetitionPenalty } from './repetitionPenalty';
import { SamplingParams, isGreedy } from './samplingParams';
import { applyTemperature } from './temperature';
import { topKSupport } from './topK';
import { applyTopP } from './topP';

/** What the processors need to know about the request so far. */
export interface SamplingHistory {
  /** Distinct ids of prompt + generated tokens (repetition penalty). */
  seenTokenIds: Iterable<number>;
  /** Count of each generated token id (presence / frequency penalties). */
  generatedCounts: ReadonlyMap<number, number>;
  generatedCount: number;
  /** min_tokens: ids masked while generatedCount < minTokens (eos, stop_token_ids). */
  minTokens: number;
  minTokensBlockedIds: readonly number[];
}

/**
 * The distribution to draw from: `logits[j]` belongs to token `tokenIds[j]` (ascending ids), or to token j
 * when `tokenIds` is null (the whole vocabulary). -Infinity = excluded.
 */
export interface ProcessedLogits {
  logits: Float32Array;
  tokenIds: Int32Array | null;
}

/**
 * Applies the logits processors to `row` (modified in place), in the order vLLM and Hugging Face use:
 *   1. min_tokens mask (vLLM applies it first)
 *   2. repetition penalty   (prompt + generated; HF/vLLM)
 *   3. frequency, then presence penalty (generated only; vLLM)
 *   — greedy stops here: the remaining steps never change the argmax —
 *   4. temperature
 *   5. top-k
 *   6. top-p
 *   7. min-p   (HF order: temperature, top_k, top_p, min_p; vLLM v0 likewise)
 * Speed: steps 1–4 cost O(V) cheap operations. When top-k is on, the row is then reduced to its k-token
 * support (gathered in id order) and steps 6–7 and the draw run on those k entries only; the result is the
 * same distribution as masking the full row.
 */
export function processLogits(row: Float32Array, params: SamplingParams, history: SamplingHistory): ProcessedLogits {
  applyMinTokensMask(row, history.generatedCount, history.minTokens, history.minTokensBlockedIds);
  applyRepetitionPenalty(row, history.seenTokenIds, params.repetitionPenalty);
  applyFrequencyPresencePenalty(row, history.generatedCounts, params.frequencyPenalty, params.presencePenalty);
  if (isGreedy(params)) return { logits: row, tokenIds: null };
  applyTemperature(row, params.temperature);
  const topKActive = params.topK > 0 && params.topK < row.length;
  const processed = topKActive ? gather(row, topKSupport(row, params.topK)) : { logits: row, tokenIds: null };
  applyTopP(processed.logits, params.topP);
  applyMinP(processed.logits, params.minP);
  return processed;
}

function gather(row: Float32Array, tokenIds: Int32Array): ProcessedLogits {
  const logits = new Float32Array(tokenIds.length);
  for (let j = 0; j < tokenIds.length; j++) logits[j] = row[tokenIds[j]];
  return { logits, tokenIds };
}

/** The processed distribution as a full vocabulary row (for inspection and tests). */
export function toVocabularyRow(processed: ProcessedLogits, vocabSize: number): Float32Array {
  if (processed.tokenIds === null) return Float32Array.from(processed.logits);
  const row = new Float32Array(vocabSize).fill(-Infinity);
  processed.tokenIds.forEach((id, j) => (row[id] = processed.logits[j]));
  return row;
}
