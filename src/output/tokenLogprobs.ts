import { TokenChoice } from '../engine/sequence';
import { TokenDecoder } from './incrementalDetokenizer';

export interface TokenLogprobEntry {
  token: string;
  token_id: number;
  logprob: number;
  top_logprobs: { token: string; token_id: number; logprob: number }[];
}

/** Per-token logprobs of a sample, with token texts, in the shape OpenAI's chat `logprobs.content` uses (plus ids). */
export function tokenLogprobs(tokenizer: TokenDecoder, choices: readonly TokenChoice[]): TokenLogprobEntry[] {
  const text = (id: number) => tokenizer.decode([id], { skip_special_tokens: false });
  return choices.map((choice) => ({
    token: text(choice.tokenId),
    token_id: choice.tokenId,
    logprob: choice.logprob ?? 0,
    top_logprobs: (choice.topLogprobs ?? []).map((alt) => ({ token: text(alt.tokenId), token_id: alt.tokenId, logprob: alt.logprob })),
  }));
}
