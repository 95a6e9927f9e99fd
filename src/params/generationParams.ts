import type { RequestParams } from './requestParams';

/**
 * THE list of generation parameters. Everything else is derived from it: the JSONL validation (input/params.ts), the
 * OpenAI Batch body mapping (input/openaiBatchLine.ts), the CLI options (cli/paramOptions.ts), the defaults
 * (job/generationDefaults.ts), --echo-params (job/preparedRequest.ts) and the README's parameter table
 * (params/paramTableMarkdown.ts; a test keeps README.md equal to it). Ranges follow vLLM / the OpenAI API.
 */
export type ParamName = keyof RequestParams;

export type ParamType =
  | { kind: 'number' | 'integer'; min?: number; minExclusive?: boolean; max?: number; note?: string }
  | { kind: 'boolean' }
  | { kind: 'stop' }
  | { kind: 'token_ids' }
  /** Structured outputs (params/constraintParams.ts): OpenAI's response_format, a JSON Schema, a list of choices. */
  | { kind: 'response_format' }
  | { kind: 'json_schema' }
  | { kind: 'choices' }
  /** A non-empty string (a regular expression, an EBNF grammar). */
  | { kind: 'text' };

/** Where a parameter's default comes from when neither the line nor a CLI flag gives it. */
export interface ParamDefault {
  value: number | boolean | string[] | null;
  /** generation_config.json key read first (only when `do_sample` is true if `sampling`). */
  generationConfig?: string;
  sampling?: boolean;
}

export interface CliFlag {
  /** commander flags, e.g. "--top-p <p>" or "--no-thinking". */
  flags: string;
  help: string;
  /** Repeatable, each use adds one value (`--stop A --stop B`). */
  repeatable?: boolean;
  /** The flag takes no value and sets this one: `--ignore-eos` → true, `--no-thinking` → false, `--json` → an object. */
  switchValue?: unknown;
  /**
   * The flag's text reads `\n`, `\t` and `\\` as a newline, a tab and one backslash (what `--stop "\n\n"` means in a
   * shell, which passes the backslashes through); any other backslash is kept as typed.
   */
  escapes?: boolean;
  /** The flag's value names a file whose content is the parameter's value (`json`: parsed as JSON). */
  file?: 'json' | 'text';
}

export interface ParamSpec {
  /** JSONL field (also the --echo-params key). */
  name: ParamName;
  type: ParamType;
  default: ParamDefault;
  /** Human text of the default, for help and the README. */
  defaultText: string;
  cli?: CliFlag;
  /** OpenAI Batch body fields that carry it; [] = not accepted in OpenAI lines. */
  openai: string[];
  help: string;
}

const gc = (key: string, fallback: number, sampling = true): ParamDefault => ({ value: fallback, generationConfig: key, sampling });

export const GENERATION_PARAMS: readonly ParamSpec[] = [
  {
    name: 'max_tokens',
    type: { kind: 'integer', min: 1 },
    default: { value: 256 },
    defaultText: '256',
    cli: { flags: '--max-tokens <n>', help: 'default max_tokens per request' },
    openai: ['max_tokens', 'max_completion_tokens'],
    help: 'tokens generated at most (lowered to fit the context)',
  },
  {
    name: 'min_tokens',
    type: { kind: 'integer', min: 0 },
    default: { value: 0 },
    defaultText: '0',
    cli: { flags: '--min-tokens <n>', help: 'default min_tokens' },
    openai: ['min_tokens'],
    help: 'eos and stop token ids are blocked until this many tokens are generated',
  },
  {
    name: 'temperature',
    type: { kind: 'number', min: 0 },
    default: gc('temperature', 1),
    defaultText: 'generation_config.json when it samples (`do_sample`), else 0',
    cli: { flags: '--temperature <t>', help: 'default temperature (0 = greedy)' },
    openai: ['temperature'],
    help: '0 = greedy (argmax)',
  },
  {
    name: 'top_k',
    type: { kind: 'integer', min: 0, note: '0 disables it' },
    default: gc('top_k', 0),
    defaultText: 'generation_config.json when it samples, else 0 (off)',
    cli: { flags: '--top-k <k>', help: 'default top_k (0 = off)' },
    openai: ['top_k'],
    help: 'sample among the k most likely tokens',
  },
  {
    name: 'top_p',
    type: { kind: 'number', min: 0, minExclusive: true, max: 1 },
    default: gc('top_p', 1),
    defaultText: 'generation_config.json when it samples, else 1 (off)',
    cli: { flags: '--top-p <p>', help: 'default top_p (1 = off)' },
    openai: ['top_p'],
    help: 'nucleus sampling',
  },
  {
    name: 'min_p',
    type: { kind: 'number', min: 0, max: 1 },
    default: gc('min_p', 0),
    defaultText: 'generation_config.json when it samples, else 0 (off)',
    cli: { flags: '--min-p <p>', help: 'default min_p (0 = off)' },
    openai: ['min_p'],
    help: 'drop tokens below min_p × the top probability',
  },
  {
    name: 'repetition_penalty',
    type: { kind: 'number', min: 0, minExclusive: true },
    default: gc('repetition_penalty', 1, false),
    defaultText: 'generation_config.json, else 1 (off)',
    cli: { flags: '--repetition-penalty <x>', help: 'default repetition_penalty (1 = off)' },
    openai: ['repetition_penalty'],
    help: 'HF semantics, over prompt and generated tokens',
  },
  {
    name: 'presence_penalty',
    type: { kind: 'number', min: -2, max: 2 },
    default: { value: 0 },
    defaultText: '0',
    cli: { flags: '--presence-penalty <x>', help: 'default presence_penalty' },
    openai: ['presence_penalty'],
    help: 'OpenAI semantics, over generated tokens',
  },
  {
    name: 'frequency_penalty',
    type: { kind: 'number', min: -2, max: 2 },
    default: { value: 0 },
    defaultText: '0',
    cli: { flags: '--frequency-penalty <x>', help: 'default frequency_penalty' },
    openai: ['frequency_penalty'],
    help: 'OpenAI semantics, over generated tokens',
  },
  {
    name: 'seed',
    type: { kind: 'integer' },
    default: { value: 0 },
    defaultText: 'run seed 0, combined with the request id',
    cli: { flags: '--seed <n>', help: 'run seed, combined with each request id (default 0)' },
    openai: ['seed'],
    help: "the request's own seed; without it the run seed and the request id seed it",
  },
  {
    name: 'stop',
    type: { kind: 'stop' },
    default: { value: [] },
    defaultText: 'none',
    cli: {
      flags: '--stop <text>',
      help: 'default stop string (repeat for several); \\n, \\t and \\\\ in it are a newline, a tab and a backslash',
      repeatable: true,
      escapes: true,
    },
    openai: ['stop'],
    help: 'strings that end the completion (a string or an array)',
  },
  {
    name: 'stop_token_ids',
    type: { kind: 'token_ids' },
    default: { value: [] },
    defaultText: 'none (eos ids always stop)',
    openai: ['stop_token_ids'],
    help: 'extra token ids that end the completion',
  },
  {
    name: 'ignore_eos',
    type: { kind: 'boolean' },
    default: { value: false },
    defaultText: 'false',
    cli: { flags: '--ignore-eos', help: 'keep generating past eos tokens (benchmarks)', switchValue: true },
    openai: ['ignore_eos'],
    help: 'keep generating past eos tokens',
  },
  {
    name: 'logprobs',
    type: { kind: 'integer', min: 0, max: 20, note: 'the number of top alternatives reported per token' },
    default: { value: 0 },
    defaultText: 'off',
    openai: ['logprobs', 'top_logprobs'],
    help: 'report token logprobs and N alternatives (OpenAI: `logprobs: true` + `top_logprobs: N`)',
  },
  {
    name: 'n',
    type: { kind: 'integer', min: 1, max: 16 },
    default: { value: 1 },
    defaultText: '1',
    openai: ['n'],
    help: 'samples per request',
  },
  {
    name: 'enable_thinking',
    type: { kind: 'boolean' },
    default: { value: true },
    defaultText: 'true',
    cli: { flags: '--no-thinking', help: 'Qwen3 chat template with enable_thinking=false', switchValue: false },
    openai: ['enable_thinking', 'chat_template_kwargs.enable_thinking'],
    help: 'Qwen3 chat template switch (messages only)',
  },
  {
    name: 'include_stop_str_in_output',
    type: { kind: 'boolean' },
    default: { value: false },
    defaultText: 'false',
    openai: ['include_stop_str_in_output'],
    help: 'keep the matched stop string in the text',
  },
  {
    name: 'response_format',
    type: { kind: 'response_format' },
    default: { value: null },
    defaultText: 'none',
    cli: { flags: '--json', help: 'constrain every output to a JSON object (response_format json_object)', switchValue: { type: 'json_object' } },
    openai: ['response_format'],
    help: 'OpenAI structured output: `{"type": "json_object"}`, `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`, or `{"type": "text"}` (no constraint)',
  },
  {
    name: 'guided_json',
    type: { kind: 'json_schema' },
    default: { value: null },
    defaultText: 'none',
    cli: { flags: '--json-schema <file>', help: 'constrain every output to JSON valid against the JSON Schema in this file', file: 'json' },
    openai: ['guided_json'],
    help: 'vLLM: the output is JSON valid against this schema',
  },
  {
    name: 'guided_regex',
    type: { kind: 'text' },
    default: { value: null },
    defaultText: 'none',
    cli: { flags: '--regex <pattern>', help: 'constrain every output to match this regular expression' },
    openai: ['guided_regex'],
    help: 'vLLM: the output matches this regular expression (whole text)',
  },
  {
    name: 'guided_choice',
    type: { kind: 'choices' },
    default: { value: null },
    defaultText: 'none',
    cli: { flags: '--choice <text>', help: 'constrain every output to one of these strings (repeat for each choice)', repeatable: true },
    openai: ['guided_choice'],
    help: 'vLLM: the output is exactly one of these strings',
  },
  {
    name: 'guided_grammar',
    type: { kind: 'text' },
    default: { value: null },
    defaultText: 'none',
    cli: { flags: '--grammar <file>', help: 'constrain every output to the EBNF grammar in this file (xgrammar syntax, rule "root")', file: 'text' },
    openai: ['guided_grammar'],
    help: 'vLLM: the output follows this EBNF grammar (xgrammar syntax, start rule `root`)',
  },
  {
    name: 'json_any_whitespace',
    type: { kind: 'boolean' },
    default: { value: false },
    defaultText: 'false',
    cli: { flags: '--json-any-whitespace', help: 'let JSON constraints allow any whitespace (default: one line, ", " and ": " separators)', switchValue: true },
    openai: ['json_any_whitespace'],
    help: 'JSON constraints allow any whitespace between tokens (default: one line with `, ` and `: `, as Python\'s json.dumps)',
  },
];

export const PARAM_NAMES: readonly ParamName[] = GENERATION_PARAMS.map((spec) => spec.name);

const BY_NAME = new Map<string, ParamSpec>(GENERATION_PARAMS.map((spec) => [spec.name, spec]));

export function isParamName(key: string): key is ParamName {
  return BY_NAME.has(key);
}

export function paramSpec(name: ParamName): ParamSpec {
  return BY_NAME.get(name)!;
}

/** The long flag of a CLI option ("--top-p <p>" → "--top-p"). */
export function flagName(cli: CliFlag): string {
  return cli.flags.split(/[ ,]/)[0];
}
