import { JsonObject } from '../model/modelFolder';
import { RequestParams } from '../input/request';
import { GENERATION_PARAMS, ParamDefault } from '../params/generationParams';
import { CONSTRAINT_PARAMS, constraintOf, RequestConstraint } from '../params/constraintParams';
import type { JsonSchema, ResponseFormat } from '../params/requestParams';
import { settingKey } from '../params/settingKey';
import { GREEDY_PARAMS } from '../sample/samplingParams';

/**
 * Defaults for every request, layered as Hugging Face does: generation_config.json is the base, CLI flags override it, and
 * each JSONL line overrides both. The run-level defaults are the parameters of the table that have a CLI flag (plus
 * --escape-special-tokens, a tokenization switch). Only fields that change results belong here: they form the settings
 * fingerprint written on every output line.
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
  /** Structured outputs (run-wide constraint: --json, --json-schema, --regex, --choice, --grammar; at most one is set). */
  responseFormat: ResponseFormat | null;
  guidedJson: JsonSchema | null;
  guidedRegex: string | null;
  guidedChoice: string[] | null;
  guidedGrammar: string | null;
  jsonAnyWhitespace: boolean;
  escapeSpecialTokens: boolean;
}

/** CLI flags that override generation_config.json; undefined = not given. */
export type GenerationFlags = Partial<GenerationDefaults> & { greedy?: boolean };

function defaultValue(source: ParamDefault, generationConfig: JsonObject | null): unknown {
  if (source.generationConfig !== undefined) {
    const sampling = generationConfig?.do_sample === true;
    const value = generationConfig?.[source.generationConfig];
    const usable = typeof value === 'number' && Number.isFinite(value);
    if (source.sampling && !sampling) return GREEDY_BASE[source.generationConfig] ?? source.value;
    return usable ? value : source.value;
  }
  return Array.isArray(source.value) ? [...source.value] : source.value;
}

/**
 * What the sampling parameters are when generation_config.json does not sample: greedy, every filter off (the sampler's
 * own greedy settings, by generation_config.json name).
 */
const GREEDY_BASE: Record<string, number> = {
  temperature: GREEDY_PARAMS.temperature,
  top_k: GREEDY_PARAMS.topK,
  top_p: GREEDY_PARAMS.topP,
  min_p: GREEDY_PARAMS.minP,
};

export function resolveDefaults(generationConfig: JsonObject | null, flags: GenerationFlags): GenerationDefaults {
  const merged: Record<string, unknown> = { escapeSpecialTokens: flags.escapeSpecialTokens ?? false };
  for (const spec of GENERATION_PARAMS) {
    if (!spec.cli) continue;
    const key = settingKey(spec.name);
    const flag = (flags as Record<string, unknown>)[key];
    merged[key] = flag !== undefined ? flag : defaultValue(spec.default, generationConfig);
  }
  if (flags.greedy) merged.temperature = 0;
  return merged as unknown as GenerationDefaults;
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
  const settings: Record<string, unknown> = { ...defaults };
  for (const spec of GENERATION_PARAMS) {
    const given = params[spec.name];
    if (spec.name === 'seed') {
      // The line's seed is the request's own; the run seed (--seed) stays alongside it.
      settings.requestSeed = given;
      continue;
    }
    const key = settingKey(spec.name);
    settings[key] = given ?? (spec.cli ? (defaults as unknown as Record<string, unknown>)[key] : defaultValue(spec.default, null));
  }
  // A request's own constraint replaces the run-wide one whatever its kind (`response_format` "text" removes it).
  if (CONSTRAINT_PARAMS.some((name) => params[name] !== undefined)) {
    for (const name of CONSTRAINT_PARAMS) settings[settingKey(name)] = params[name] ?? null;
  }
  return settings as unknown as RequestSettings;
}

/** The constraint of a request (or of the run's defaults), or null. */
export function constraintOfSettings(settings: GenerationDefaults): RequestConstraint | null {
  return constraintOf(
    {
      response_format: settings.responseFormat,
      guided_json: settings.guidedJson,
      guided_regex: settings.guidedRegex,
      guided_choice: settings.guidedChoice,
      guided_grammar: settings.guidedGrammar,
    },
    settings.jsonAnyWhitespace,
  );
}
