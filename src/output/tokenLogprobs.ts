import { TokenChoice } from '../engine/sequence';
import { TokenDecoder } from './incrementalDetokenizer';

export interface TokenLogprobEntry {
  token: string;
  token_id: number;
  logprob: number;
  top_logprobs: { token: string; token_id: number; logprob: number }[];
}

/**
 * Logprobs are rounded to 4 decimals: batched and solo logits agree to ~1e-6 on plain-attention graphs (different matmul
 * shapes round differently), and printing every digit of that noise would make output files differ across batch sizes
 * while the tokens are identical.
 */
function round(logprob: number): number {
  return Math.round(logprob * 1e4) / 1e4;
}

/** Per-token logprobs of a sample, with token texts, in the shape OpenAI's chat `logprobs.content` uses (plus ids). */
export function tokenLogprobs(tokenizer: TokenDecoder, choices: readonly TokenChoice[]): TokenLogprobEntry[] {
  const text = (id: number) => tokenizer.decode([id], { skip_special_tokens: false });
  return choices.map((choice) => ({
    token: text(choice.tokenId),
    token_id: choice.tokenId,
    logprob: round(choice.logprob ?? 0),
    top_logprobs: (choice.topLogprobs ?? []).map((alt) => ({ token: text(alt.tokenId), token_id: alt.tokenId, logprob: round(alt.logprob) })),
  }));
}
