/** OpenAI's `response_format` (chat completions): plain text, any JSON object, or JSON that follows a schema. */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema: JsonSchema; strict?: boolean; description?: string } };

/** A JSON Schema object, as the request gave it. */
export type JsonSchema = Record<string, unknown>;

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
  /** Structured outputs (at most one of the next five per request; see params/constraintParams.ts). */
  response_format?: ResponseFormat;
  guided_json?: JsonSchema;
  guided_regex?: string;
  guided_choice?: string[];
  guided_grammar?: string;
  /** JSON constraints: allow any whitespace between JSON tokens (default: one line, `, ` and `: ` separators). */
  json_any_whitespace?: boolean;
}
