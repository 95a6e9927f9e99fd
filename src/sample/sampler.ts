import { drawCategorical } from './categorical';
import { argmax } from './logitsMath';
import { TokenLogprob, computeLogprobs } from './logprobs';
import { SamplingHistory, processLogits } from './processLogits';
import { SamplingParams, isGreedy } from './samplingParams';
import { UniformRandom, createSeededRng } from './seededRng';

export interface SampledToken {
  tokenId: number;
  /** Present when params.logprobs > 0: log-softmax of the raw logits for the chosen token. */
  logprob?: number;
  topLogprobs?: TokenLogprob[];
}

/**
 * Masks the tokens not allowed next (a row's constraint): sets their logits to -Infinity, in place, on a working copy.
 * `active: false` skips it (and the copy it needs). `mask` returns true when only tokens that end the output are left
 * (the constrained text is complete): min_tokens then does not block them — it cannot lengthen an output past its grammar.
 */
export interface LogitsMask {
  readonly active?: boolean;
  mask(logits: Float32Array): boolean | void;
}

export interface RequestSamplerOptions {
  /** min_tokens: `minTokensBlockedIds` cannot be chosen until this many tokens have been generated. */
  minTokens?: number;
  /** Usually the eos ids plus the request's stop_token_ids. */
  minTokensBlockedIds?: readonly number[];
}

/**
 * Processing happens on a copy so the caller's logits (e.g. an onnxruntime output row) are never modified.
 * `next` is synchronous and does not keep the row, so all samplers can share one scratch buffer.
 */
let sharedScratch = new Float32Array(0);

function scratchCopy(logits: Float32Array): Float32Array {
  if (sharedScratch.length < logits.length) sharedScratch = new Float32Array(logits.length);
  const row = sharedScratch.subarray(0, logits.length);
  row.set(logits);
  return row;
}

/**
 * Chooses the tokens of one sample of one request. It owns everything a choice depends on — its parameters,
 * its own random generator, its prompt and generated tokens — so its output cannot depend on batch mates.
 * Greedy: argmax (first max on ties) after penalties, never touching the generator. Sampling: processors
 * (see processLogits) then one inverse-CDF draw, i.e. exactly one random number per generated token.
 */
export class RequestSampler {
  private readonly params: SamplingParams;
  private readonly seenTokenIds = new Set<number>();
  private readonly generatedCounts = new Map<number, number>();
  private readonly minTokens: number;
  private readonly minTokensBlockedIds: readonly number[];
  private rng: UniformRandom | undefined;
  private generated = 0;

  constructor(params: SamplingParams, promptTokenIds: readonly number[], options: RequestSamplerOptions = {}) {
    this.params = { ...params };
    for (const id of promptTokenIds) this.seenTokenIds.add(id);
    this.minTokens = options.minTokens ?? 0;
    this.minTokensBlockedIds = [...(options.minTokensBlockedIds ?? [])];
    if (!isGreedy(this.params)) this.rng = createSeededRng(this.params.seed); // validates the seed up front
  }

  get generatedCount(): number {
    return this.generated;
  }

  /**
   * Picks the next token from this row's next-token logits (read only) and records it as generated. `constraint`, when
   * given, masks a working copy first (before penalties and sampling).
   */
  next(logits: Float32Array, constraint?: LogitsMask): SampledToken {
    if (constraint?.active === false) constraint = undefined;
    let tokenId: number;
    if (!constraint && this.plainGreedy()) {
      // Nothing would change the row: the argmax of the runner's own buffer, no copy of the vocabulary.
      tokenId = argmax(logits);
      if (tokenId < 0) throw new Error('cannot choose a token: every logit is masked or NaN');
    } else {
      const row = scratchCopy(logits);
      const onlyEnding = constraint?.mask(row) === true;
      const processed = processLogits(row, this.params, this.history(onlyEnding));
      const index = isGreedy(this.params)
        ? argmax(processed.logits)
        : drawCategorical(processed.logits, this.generator().random());
      if (index < 0) throw new Error('cannot choose a token: every logit is masked or NaN');
      tokenId = processed.tokenIds === null ? index : processed.tokenIds[index];
    }
    this.record(tokenId);
    if (this.params.logprobs <= 0) return { tokenId };
    const { logprob, topLogprobs } = computeLogprobs(logits, tokenId, this.params.logprobs);
    return { tokenId, logprob, topLogprobs };
  }

  /**
   * Greedy with no processor that changes the row: no repetition, presence or frequency penalty, and min_tokens reached
   * (or nothing to block). processLogits would leave the row as it is, so the argmax can read the logits in place.
   */
  private plainGreedy(): boolean {
    const p = this.params;
    return isGreedy(p) && p.repetitionPenalty === 1 && p.presencePenalty === 0 && p.frequencyPenalty === 0 &&
      (this.generated >= this.minTokens || this.minTokensBlockedIds.length === 0);
  }

  private history(onlyEnding = false): SamplingHistory {
    return {
      seenTokenIds: this.seenTokenIds,
      generatedCounts: this.generatedCounts,
      generatedCount: this.generated,
      minTokens: onlyEnding ? 0 : this.minTokens,
      minTokensBlockedIds: this.minTokensBlockedIds,
    };
  }

  private generator(): UniformRandom {
    this.rng ??= createSeededRng(this.params.seed);
    return this.rng;
  }

  private record(tokenId: number): void {
    this.generated++;
    this.seenTokenIds.add(tokenId);
    this.generatedCounts.set(tokenId, (this.generatedCounts.get(tokenId) ?? 0) + 1);
  }
}
