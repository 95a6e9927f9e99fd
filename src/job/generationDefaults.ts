import { JsonObject } from '../model/modelFolder';
import { RequestParams } from '../input/request';

/**
 * Defaults for every request, layered as Hugging Face does: generation_config.json is the base, CLI flags override it, and
 * each JSONL line overrides both (see requestSettings.ts). Only fields that change results belong here: they form the
 * settings fingerprint written on every output line.
 */
export interface GenerationDefaults {
  maxTokens: number;
  minTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
  /** --seed: combined with each request id (never batch position) for requests without their own seed. */
  seed: number;
  enableThinking: boolean;
  ignoreEos: boolean;
  stop: string[];
  escapeSpecialTokens: boolean;
}

/** CLI flags that override generation_config.json; undefined = not given. */
export type GenerationFlags = Partial<GenerationDefaults> & { greedy?: boolean };

function num(config: JsonObject | null, key: string): number | undefined {
  const value = config?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function resolveDefaults(generationConfig: JsonObject | null, flags: GenerationFlags): GenerationDefaults {
  const sampling = generationConfig?.do_sample === true;
  const base: GenerationDefaults = {
    maxTokens: 256,
    minTokens: 0,
    temperature: sampling ? num(generationConfig, 'temperature') ?? 1 : 0,
    topK: sampling ? num(generationConfig, 'top_k') ?? 0 : 0,
    topP: sampling ? num(generationConfig, 'top_p') ?? 1 : 1,
    minP: sampling ? num(generationConfig, 'min_p') ?? 0 : 0,
    repetitionPenalty: num(generationConfig, 'repetition_penalty') ?? 1,
    presencePenalty: 0,
    frequencyPenalty: 0,
    seed: 0,
    enableThinking: true,
    ignoreEos: false,
    stop: [],
    escapeSpecialTokens: false,
  };
  const merged: GenerationDefaults = { ...base };
  for (const [key, value] of Object.entries(flags)) {
    if (value !== undefined && key in base) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  if (flags.greedy) merged.temperature = 0;
  return merged;
}

/** The effective settings of one request: defaults overridden by the line's own parameters. */
export interface RequestSettings extends GenerationDefaults {
  n: number;
  logprobs: number;
  stopTokenIds: number[];
  includeStopStrInOutput: boolean;
  /** The request's own seed, when it gave one. */
  requestSeed?: number;
}

export function requestSettings(defaults: GenerationDefaults, params: RequestParams): RequestSettings {
  return {
    ...defaults,
    maxTokens: params.max_tokens ?? defaults.maxTokens,
    minTokens: params.min_tokens ?? defaults.minTokens,
    temperature: params.temperature ?? defaults.temperature,
    topK: params.top_k ?? defaults.topK,
    topP: params.top_p ?? defaults.topP,
    minP: params.min_p ?? defaults.minP,
    repetitionPenalty: params.repetition_penalty ?? defaults.repetitionPenalty,
    presencePenalty: params.presence_penalty ?? defaults.presencePenalty,
    frequencyPenalty: params.frequency_penalty ?? defaults.frequencyPenalty,
    enableThinking: params.enable_thinking ?? defaults.enableThinking,
    ignoreEos: params.ignore_eos ?? defaults.ignoreEos,
    stop: params.stop ?? defaults.stop,
    n: params.n ?? 1,
    logprobs: params.logprobs ?? 0,
    stopTokenIds: params.stop_token_ids ?? [],
    includeStopStrInOutput: params.include_stop_str_in_output ?? false,
    requestSeed: params.seed,
  };
}
