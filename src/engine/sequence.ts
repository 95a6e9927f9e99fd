export type FinishReason = 'stop' | 'length';

export interface TokenChoice {
  tokenId: number;
  logprob?: number;
  topLogprobs?: { tokenId: number; logprob: number }[];
}

/** Picks the next token of one sequence from its logits row; owns its own random state (never shared across rows). */
export interface TokenSampler {
  next(logits: Float32Array): TokenChoice;
}

/** Decides when one sequence is finished, from its generated tokens only. */
export interface StopPolicy {
  /** Returns why the sequence stops after `generated` (its last element just sampled), or null to go on. */
  check(generated: readonly number[]): { reason: FinishReason; stopTokenId?: number } | null;
}

/** One sequence to generate: a request (or one of its `n` samples) after tokenization. */
export interface SequenceSpec<R = unknown> {
  /** Carried through untouched to the output. */
  request: R;
  sampleIndex: number;
  promptIds: number[];
  /** The most tokens this sequence may generate (sizes its cache row for the memory budget). */
  maxTokens: number;
  sampler: TokenSampler;
  stop: StopPolicy;
}

export interface FinishedSequence<R = unknown> {
  spec: SequenceSpec<R>;
  tokenIds: number[];
  choices: TokenChoice[];
  finishReason: FinishReason;
  stopTokenId?: number;
}
