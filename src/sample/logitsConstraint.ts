/**
 * A per-row constraint on which tokens may come next (structured outputs: a JSON schema, a regex, a grammar). It is
 * stateful and belongs to one row: `prepare` computes the allowed set for the row's next token (asynchronously: the
 * engine can run it while the model step runs), the sampler masks the logits with it before anything else, and the
 * chosen token is accepted.
 */
export interface LogitsConstraint {
  /** Computes the allowed set for the next token from the tokens accepted so far. Idempotent until the next `accept`. */
  prepare(): Promise<void>;
  /**
   * Copies `logits` into `out` with every token the constraint forbids at -Infinity, and says whether only stop tokens are
   * allowed (the constrained text is complete). null when the constraint does not restrict this token (e.g. during
   * Qwen3 thinking): `out` is then untouched.
   */
  maskInto(logits: Float32Array, out: Float32Array): { onlyStopTokens: boolean } | null;
  /** Records the token chosen for this row; true once the constrained output is complete. */
  accept(tokenId: number): boolean;
}
