/** Per-request generation parameters; absent means "use the CLI / generation_config.json default". */
export interface RequestParams {
  max_tokens?: number;
  min_tokens?: number;
  temperature?: number;
  top_k?: number;
  top_p?: number;
  min_p?: number;
  repetition_penalty?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
  stop?: string[];
  stop_token_ids?: number[];
  ignore_eos?: boolean;
  /** Number of top alternatives to report per generated token (0 = only the chosen token's logprob). */
  logprobs?: number;
  n?: number;
  enable_thinking?: boolean;
  include_stop_str_in_output?: boolean;
}
