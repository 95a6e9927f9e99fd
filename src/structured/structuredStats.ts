import { CONSTRAINT_KINDS, ConstraintKind } from '../params/constraintParams';

/** What structured outputs cost in one run (the report's `figures.structured_output`). */
export interface StructuredStats {
  /** Requests (not samples) constrained, by kind. */
  requests: Record<ConstraintKind, number>;
  /** Distinct constraints compiled (each once per run). */
  grammarsCompiled: number;
  /** Building xgrammar's view of the tokenizer (once per run). */
  tokenizerInfoMs: number;
  /** Compiling the grammars (all of them). */
  compileMs: number;
  /** Computing the allowed-token bitmasks (xgrammar, on the JS thread; may overlap a model step). */
  bitmaskMs: number;
  /** Masking logits rows with those bitmasks and accepting the chosen tokens (before and after each choice). */
  applyMs: number;
  /** Waiting for bitmasks once a step's logits were ready (the bitmask time the step did not hide). */
  waitMs: number;
  /** Tokens chosen under a grammar (constrained rows × steps, thinking excluded). */
  maskedTokens: number;
}

export function emptyStructuredStats(): StructuredStats {
  return {
    requests: Object.fromEntries(CONSTRAINT_KINDS.map((kind) => [kind, 0])) as Record<ConstraintKind, number>,
    grammarsCompiled: 0,
    tokenizerInfoMs: 0,
    compileMs: 0,
    bitmaskMs: 0,
    applyMs: 0,
    waitMs: 0,
    maskedTokens: 0,
  };
}
