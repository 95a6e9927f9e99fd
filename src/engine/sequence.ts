export type FinishReason = 'stop' | 'length';

export interface TokenChoice {
  tokenId: number;
  logprob?: number;
  topLogprobs?: { tokenId: number; logprob: number }[];
}

/**
 * A per-row constraint consulted at every token (structured outputs): it narrows the choice before sampling and may end
 * the row after it. The engine knows nothing of what it enforces.
 */
export interface TokenConstraint {
  /**
   * False while it does not restrict the next token (say, inside a thinking block): the row is then sampled as if
   * unconstrained, and a plain greedy row keeps its no-copy path. `accept` still sees every token. Default true.
   */
  readonly active?: boolean;
  /**
   * Sets the logits of the tokens not allowed next to -Infinity, in place. It gets a working copy (never the runner's
   * buffer), before any other processing: penalties, temperature and the greedy argmax all see the masked row. Returns
   * true when only tokens that end the output are left (the constrained text is complete): min_tokens then does not block
   * them, since nothing else could follow.
   */
  mask(logits: Float32Array): boolean | void;
  /** Records the chosen token; true when the constrained output is complete (the row then stops: finish_reason "stop"). */
  accept(tokenId: number): boolean;
}

/** Picks the next token of one sequence from its logits row; owns its own random state (never shared across rows). */
export interface TokenSampler {
  /** `logits` is read only (it may be the runner's buffer); `constraint`, when given, masks a copy first. */
  next(logits: Float32Array, constraint?: TokenConstraint): TokenChoice;
}

/**
 * Text-level stopping (stop strings), for the sequences that have any: it sees each generated token and says when a stop
 * string has completed. Sequences without stop strings have none, so nothing detokenizes their tokens as they come.
 */
export interface TextStop {
  /** The token just generated (the `generated`-th); true when a stop string ends the sequence here. */
  push(tokenId: number, generated: number): boolean;
}

/** One sequence to generate: a request (or one of its `n` samples) after tokenization. */
export interface SequenceSpec<R = unknown> {
  /** Carried through untouched to the output. */
  request: R;
  sampleIndex: number;
  promptIds: number[];
  /** The most tokens this sequence may generate (sizes its cache row for the memory budget); then finish_reason "length". */
  maxTokens: number;
  /** Token ids that end the sequence (eos ids unless ignore_eos, and stop_token_ids); never part of its text. */
  stopTokenIds: ReadonlySet<number>;
  /** Stop token ids and stop strings count only from this many generated tokens on (min_tokens). */
  minTokens: number;
  sampler: TokenSampler;
  textStop?: TextStop;
  constraint?: TokenConstraint;
}

export interface FinishedSequence<R = unknown> {
  spec: SequenceSpec<R>;
  tokenIds: number[];
  choices: TokenChoice[];
  finishReason: FinishReason;
  stopTokenId?: number;
}
