/** Per-request sampling settings, already resolved (generation_config.json < CLI flags < JSONL line). */
export interface SamplingParams {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  /** 0 = off. */
  minP: number;
  /** 1 = off. HF semantics, over prompt + generated tokens. */
  repetitionPenalty: number;
  /** 0 = off. OpenAI/vLLM semantics, over generated tokens. */
  presencePenalty: number;
  /** 0 = off. OpenAI/vLLM semantics, over generated tokens. */
  frequencyPenalty: number;
  /** Seed of this sample's generator; undefined = seeded from OS entropy (not reproducible). */
  seed: number | undefined;
  /** 0 = off; N > 0 = report the chosen token's logprob and the top-N alternatives per generated token. */
  logprobs: number;
}

export const GREEDY_PARAMS: Readonly<SamplingParams> = Object.freeze({
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  seed: undefined,
  logprobs: 0,
});

/** Greedy decoding: argmax, never touches the random generator. */
export function isGreedy(params: Pick<SamplingParams, 'temperature' | 'topK'>): boolean {
  return params.temperature === 0 || params.topK === 1;
}
