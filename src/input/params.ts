import { fieldProblem, LineProblem } from './errors';
import type { RequestParams } from './request';

type ParamName = keyof RequestParams;

interface NumberRule {
  type: 'number' | 'integer';
  min?: number;
  /** When true, `min` itself is not allowed. */
  minExclusive?: boolean;
  max?: number;
  /** Appended to the requirement, e.g. what 0 means. */
  note?: string;
}

type Rule = NumberRule | { type: 'boolean' } | { type: 'stop' } | { type: 'token_ids' };

/** Ranges follow vLLM / the OpenAI API, so request files written for them validate the same way. */
const RULES: Record<ParamName, Rule> = {
  max_tokens: { type: 'integer', min: 1 },
  min_tokens: { type: 'integer', min: 0 },
  temperature: { type: 'number', min: 0 },
  top_k: { type: 'integer', min: 0, note: '0 disables it' },
  top_p: { type: 'number', min: 0, minExclusive: true, max: 1 },
  min_p: { type: 'number', min: 0, max: 1 },
  repetition_penalty: { type: 'number', min: 0, minExclusive: true },
  presence_penalty: { type: 'number', min: -2, max: 2 },
  frequency_penalty: { type: 'number', min: -2, max: 2 },
  seed: { type: 'integer' },
  stop: { type: 'stop' },
  stop_token_ids: { type: 'token_ids' },
  ignore_eos: { type: 'boolean' },
  logprobs: { type: 'integer', min: 0, max: 20, note: 'the number of top alternatives reported per token' },
  n: { type: 'integer', min: 1, max: 16 },
  enable_thinking: { type: 'boolean' },
  include_stop_str_in_output: { type: 'boolean' },
};

export const PARAM_NAMES: readonly ParamName[] = Object.keys(RULES) as ParamName[];

export function isParamName(key: string): key is ParamName {
  return Object.prototype.hasOwnProperty.call(RULES, key);
}

/**
 * Validates `value` for parameter `name` and stores the normalized value in `params`.
 * `field` is the path shown to users (e.g. "body.temperature").
 */
export function setParam(params: RequestParams, name: ParamName, value: unknown, field: string): void {
  const rule = RULES[name];
  const target = params as Record<ParamName, unknown>;
  switch (rule.type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw fieldProblem(field, 'must be true or false', value);
      target[name] = value;
      return;
    case 'stop':
      target[name] = checkStop(value, field);
      return;
    case 'token_ids':
      target[name] = checkArray(value, field, 'must be an array of token ids (integers ≥ 0)', (id, at) => {
        if (!Number.isSafeInteger(id) || (id as number) < 0) throw fieldProblem(at, 'must be a token id (an integer ≥ 0)', id);
      });
      return;
    default:
      target[name] = checkNumber(rule, value, field);
  }
}

/** Checks that span several parameters; run after all of them are set. */
export function checkParamCombination(params: RequestParams, fieldPrefix: string): void {
  const { min_tokens: minTokens, max_tokens: maxTokens } = params;
  if (minTokens !== undefined && maxTokens !== undefined && minTokens > maxTokens) {
    throw new LineProblem(
      'conflicting_fields',
      `field "${fieldPrefix}min_tokens" (${minTokens}) must not exceed "${fieldPrefix}max_tokens" (${maxTokens})`,
      `${fieldPrefix}min_tokens`,
    );
  }
}

function checkStop(value: unknown, field: string): string[] {
  if (typeof value === 'string') {
    if (value === '') throw fieldProblem(field, 'must be a non-empty string or an array of non-empty strings', value);
    return [value];
  }
  return checkArray(value, field, 'must be a non-empty string or an array of non-empty strings', (stop, at) => {
    if (typeof stop !== 'string' || stop === '') throw fieldProblem(at, 'must be a non-empty string', stop);
  });
}

/** Checks an array element by element, so the message can point at the bad element ("stop[1]"). */
function checkArray<T>(value: unknown, field: string, requirement: string, checkElement: (element: unknown, at: string) => void): T[] {
  if (!Array.isArray(value)) throw fieldProblem(field, requirement, value);
  value.forEach((element, i) => checkElement(element, `${field}[${i}]`));
  return [...(value as T[])];
}

function checkNumber(rule: NumberRule, value: unknown, field: string): number {
  const isInteger = rule.type === 'integer';
  const valid =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!isInteger || Number.isSafeInteger(value)) &&
    (rule.min === undefined || (rule.minExclusive ? value > rule.min : value >= rule.min)) &&
    (rule.max === undefined || value <= rule.max);
  if (!valid) throw fieldProblem(field, `must be ${describeRule(rule)}`, value);
  return value as number;
}

function describeRule(rule: NumberRule): string {
  const noun = rule.type === 'integer' ? 'an integer' : 'a number';
  let range = '';
  if (rule.min !== undefined && rule.max !== undefined) {
    range = rule.minExclusive ? ` > ${rule.min} and ≤ ${rule.max}` : ` from ${rule.min} to ${rule.max}`;
  } else if (rule.min !== undefined) {
    range = rule.minExclusive ? ` > ${rule.min}` : ` ≥ ${rule.min}`;
  }
  return `${noun}${range}${rule.note ? ` (${rule.note})` : ''}`;
}
